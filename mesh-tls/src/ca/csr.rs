//! [`Csr`]: a PKCS#10 certificate signing request, parsed and its signature checked.
//!
//! Only two things of a CSR matter to the CA: the public key to certify (which the CSR's
//! signature proves the requester holds) and the URI SANs it asks for (so that a request
//! for someone else's identity can be refused rather than silently rewritten). Subject,
//! DNS/IP SANs, key usages and any other requested extension are ignored: the CA decides
//! what goes into the certificate. Input comes from the network, so parsing is bounded
//! ([`MAX_CSR_BYTES`]) and never panics (fuzzed: `fuzz/fuzz_targets/csr.rs`, and a
//! proptest in `mesh-tls/tests/ca_csr.rs`).

use rcgen::SubjectPublicKeyInfo;
use rustls_pki_types::CertificateSigningRequestDer;
use rustls_pki_types::pem::PemObject;
use x509_parser::certification_request::X509CertificationRequest;
use x509_parser::cri_attributes::ParsedCriAttribute;
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::oid_registry::OID_X509_EXT_SUBJECT_ALT_NAME;
use x509_parser::prelude::FromDer;
use x509_parser::public_key::PublicKey;

use super::CaError;

/// The largest CSR accepted, PEM or DER (a P-256 CSR is ~500 bytes, RSA 4096 ~1.7 KB).
pub const MAX_CSR_BYTES: usize = 64 * 1024;

/// The smallest RSA modulus accepted, in bits.
const MIN_RSA_BITS: usize = 2048;

/// A parsed CSR whose signature verifies with its own public key.
#[derive(Debug, Clone)]
pub struct Csr {
    public_key: SubjectPublicKeyInfo,
    uri_sans: Vec<String>,
}

impl Csr {
    /// Parses a PEM `CERTIFICATE REQUEST` (the first one, if there are several) and checks
    /// it as [`Csr::from_der`] does.
    pub fn from_pem(pem: &str) -> Result<Self, CaError> {
        if pem.len() > MAX_CSR_BYTES {
            return Err(CaError::csr(format!("{} bytes, more than the {MAX_CSR_BYTES} allowed", pem.len())));
        }
        let der = CertificateSigningRequestDer::from_pem_slice(pem.as_bytes()).map_err(|e| match e {
            rustls_pki_types::pem::Error::NoItemsFound => CaError::csr("no \"CERTIFICATE REQUEST\" PEM block"),
            e => CaError::csr(format!("not valid PEM: {e}")),
        })?;
        Self::from_der(der.as_ref())
    }

    /// Parses a DER CSR and verifies its signature; refuses trailing bytes, unsupported or
    /// weak keys (RSA under 2048 bits) and a malformed subjectAltName request.
    pub fn from_der(der: &[u8]) -> Result<Self, CaError> {
        if der.len() > MAX_CSR_BYTES {
            return Err(CaError::csr(format!("{} bytes, more than the {MAX_CSR_BYTES} allowed", der.len())));
        }
        let (rest, csr) =
            X509CertificationRequest::from_der(der).map_err(|e| CaError::csr(format!("not a PKCS#10 request: {e}")))?;
        if !rest.is_empty() {
            return Err(CaError::csr(format!("{} bytes of trailing data after the request", rest.len())));
        }
        csr.verify_signature().map_err(|e| CaError::csr(format!("the signature does not verify: {e}")))?;
        let info = &csr.certification_request_info;
        if let Ok(PublicKey::RSA(rsa)) = info.subject_pki.parsed() {
            let bits = rsa_bits(rsa.modulus);
            if bits < MIN_RSA_BITS {
                return Err(CaError::csr(format!("RSA key of {bits} bits is too weak (at least {MIN_RSA_BITS})")));
            }
        }
        let public_key = SubjectPublicKeyInfo::from_der(info.subject_pki.raw).map_err(|_| {
            CaError::csr(format!("unsupported public key algorithm {}", info.subject_pki.algorithm.algorithm))
        })?;
        let mut uri_sans = Vec::new();
        for attribute in info.iter_attributes() {
            let ParsedCriAttribute::ExtensionRequest(request) = attribute.parsed_attribute() else {
                continue;
            };
            for extension in &request.extensions {
                if extension.oid != OID_X509_EXT_SUBJECT_ALT_NAME {
                    continue;
                }
                match extension.parsed_extension() {
                    ParsedExtension::SubjectAlternativeName(san) => {
                        for name in &san.general_names {
                            if let GeneralName::URI(uri) = name {
                                uri_sans.push((*uri).to_owned());
                            }
                        }
                    }
                    other => {
                        let why = other.error().map_or_else(|| "unreadable".to_owned(), ToString::to_string);
                        return Err(CaError::csr(format!("malformed subjectAltName request: {why}")));
                    }
                }
            }
        }
        Ok(Self { public_key, uri_sans })
    }

    /// The URI SANs the request asks for, in order.
    pub fn uri_sans(&self) -> &[String] {
        &self.uri_sans
    }

    /// The public key to certify.
    pub(crate) fn public_key(&self) -> &SubjectPublicKeyInfo {
        &self.public_key
    }
}

/// Bits of a big-endian modulus, leading zeros not counted.
fn rsa_bits(modulus: &[u8]) -> usize {
    let trimmed: &[u8] = match modulus.iter().position(|b| *b != 0) {
        Some(i) => &modulus[i..],
        None => return 0,
    };
    trimmed.len() * 8 - trimmed[0].leading_zeros() as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rsa_bits_ignore_leading_zeros() {
        assert_eq!(rsa_bits(&[0, 0x80, 0, 0]), 24);
        assert_eq!(rsa_bits(&[0x01, 0xff]), 9);
        assert_eq!(rsa_bits(&[0, 0]), 0);
        assert_eq!(rsa_bits(&[]), 0);
    }
}
