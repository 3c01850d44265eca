//! Issuing workload certificates: from a CSR ([`CertificateAuthority::sign_csr`]) or with a
//! key made here ([`CertificateAuthority::issue_with_key`]).
//!
//! Whatever the CSR asks for, the certificate says exactly what the CA decides, as
//! Istio's CA does: an empty subject, the authenticated identity as the only URI SAN
//! (critical SAN extension, since the subject is empty), `CA:false`, key usages
//! digitalSignature + keyEncipherment, extended key usages serverAuth + clientAuth, a
//! random 128-bit serial, valid from a minute ago (clock skew) for the TTL — and never
//! outside the signing certificate's own validity.

use std::net::IpAddr;
use std::time::{Duration, SystemTime};

use rcgen::{
    CertificateParams, DistinguishedName, ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose,
    PKCS_ECDSA_P256_SHA256, PublicKeyData, SanType, SerialNumber,
};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use super::CaError;
use super::authority::{CLOCK_SKEW, CertificateAuthority};
use super::csr::Csr;
use super::pem::cert_pem;
use crate::SpiffeId;

/// A certificate chain issued by the CA: the leaf first, then the intermediates, then the
/// root (what `IstioCertificateResponse.cert_chain` carries).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedChain {
    der: Vec<CertificateDer<'static>>,
    pem: Vec<String>,
    not_before: SystemTime,
    not_after: SystemTime,
}

impl IssuedChain {
    /// Each certificate as one PEM block, leaf first.
    pub fn pem(&self) -> &[String] {
        &self.pem
    }

    /// Each certificate as one PEM block, leaf first.
    pub fn into_pem(self) -> Vec<String> {
        self.pem
    }

    /// Each certificate, DER, leaf first.
    pub fn der(&self) -> &[CertificateDer<'static>] {
        &self.der
    }

    /// The leaf certificate, PEM.
    pub fn leaf_pem(&self) -> &str {
        self.pem.first().map_or("", String::as_str)
    }

    /// The leaf's `notBefore`.
    pub fn not_before(&self) -> SystemTime {
        self.not_before
    }

    /// The leaf's `notAfter`.
    pub fn not_after(&self) -> SystemTime {
        self.not_after
    }
}

/// A certificate chain and the private key it certifies, both made by the CA.
pub struct IssuedKey {
    /// The chain, leaf first.
    pub chain: IssuedChain,
    key_pem: String,
    key_der: Vec<u8>,
}

impl std::fmt::Debug for IssuedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedKey").field("chain", &self.chain).field("key", &"[elided]").finish()
    }
}

impl IssuedKey {
    /// The private key, PKCS#8 PEM.
    pub fn key_pem(&self) -> &str {
        &self.key_pem
    }

    /// The private key, PKCS#8 DER.
    pub fn key_der(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key_der.clone()))
    }
}

impl CertificateAuthority {
    /// Parses `csr_pem`, checks it ([`Csr::from_pem`]) and issues a certificate for
    /// `identity` — the identity the caller proved, never one read from the CSR. A CSR
    /// whose URI SANs name anyone else is refused ([`CaError::IdentityMismatch`]). `ttl`:
    /// `None` or zero means the default; longer than the max is [`CaError::TtlTooLong`].
    pub fn sign_csr(&self, csr_pem: &str, identity: &SpiffeId, ttl: Option<Duration>) -> Result<IssuedChain, CaError> {
        let csr = Csr::from_pem(csr_pem)?;
        self.sign(&csr, identity, ttl)
    }

    /// [`CertificateAuthority::sign_csr`] for an already parsed CSR.
    pub fn sign(&self, csr: &Csr, identity: &SpiffeId, ttl: Option<Duration>) -> Result<IssuedChain, CaError> {
        if let Some(other) = csr.uri_sans().iter().find(|uri| uri.as_str() != identity.as_str()) {
            return Err(CaError::IdentityMismatch { requested: other.clone(), authenticated: identity.to_string() });
        }
        let ttl = self.ttl_for(ttl)?;
        self.issue_leaf(csr.public_key(), identity, &[], &[], ttl)
    }

    /// Makes a P-256 key and issues a certificate for it: `identity` as URI SAN, plus
    /// `dns_names` and `ip_addresses` (for servers reached by name or address, such as the
    /// CA's own listener). `ttl` as for [`CertificateAuthority::sign_csr`].
    pub fn issue_with_key(
        &self,
        identity: &SpiffeId,
        dns_names: &[String],
        ip_addresses: &[IpAddr],
        ttl: Option<Duration>,
    ) -> Result<IssuedKey, CaError> {
        let ttl = self.ttl_for(ttl)?;
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(CaError::signing)?;
        let chain = self.issue_leaf(&key, identity, dns_names, ip_addresses, ttl)?;
        Ok(IssuedKey { chain, key_pem: key.serialize_pem(), key_der: key.serialize_der() })
    }

    /// The lifetime a request gets: the default for `None` or zero (as Istio does for a
    /// missing or non-positive `validity_duration`), an error above the max.
    pub fn ttl_for(&self, requested: Option<Duration>) -> Result<Duration, CaError> {
        match requested {
            None => Ok(self.default_ttl),
            Some(ttl) if ttl.is_zero() => Ok(self.default_ttl),
            Some(ttl) if ttl > self.max_ttl => Err(CaError::TtlTooLong { requested: ttl, max: self.max_ttl }),
            Some(ttl) => Ok(ttl),
        }
    }

    pub(super) fn issue_leaf(
        &self,
        public_key: &impl PublicKeyData,
        identity: &SpiffeId,
        dns_names: &[String],
        ip_addresses: &[IpAddr],
        ttl: Duration,
    ) -> Result<IssuedChain, CaError> {
        let mut sans = Vec::with_capacity(1 + dns_names.len() + ip_addresses.len());
        sans.push(SanType::URI(identity.as_str().try_into().map_err(CaError::signing)?));
        for name in dns_names {
            let name = name.as_str().try_into().map_err(|e| CaError::Policy(format!("DNS name {name:?}: {e}")))?;
            sans.push(SanType::DnsName(name));
        }
        sans.extend(ip_addresses.iter().map(|ip| SanType::IpAddress(*ip)));

        let now = SystemTime::now();
        let not_before = (now - CLOCK_SKEW).max(self.signing_not_before);
        let not_after = now.checked_add(ttl).map_or(self.signing_not_after, |t| t.min(self.signing_not_after));
        let mut params = CertificateParams::default();
        params.distinguished_name = DistinguishedName::new();
        params.subject_alt_names = sans;
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth, ExtendedKeyUsagePurpose::ClientAuth];
        params.use_authority_key_identifier_extension = true;
        params.serial_number = Some(random_serial()?);
        params.not_before = not_before.into();
        params.not_after = not_after.into();
        let leaf = params.signed_by(public_key, &self.issuer).map_err(CaError::signing)?;

        let mut der = Vec::with_capacity(2 + self.chain_above.len());
        der.push(leaf.der().clone());
        der.push(self.signing_cert.clone());
        der.extend(self.chain_above.iter().cloned());
        let pem = der.iter().map(|d| cert_pem(d)).collect();
        // The encoding has whole seconds: report what the certificate says.
        let whole = |t: SystemTime| {
            let since = t.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
            SystemTime::UNIX_EPOCH + Duration::from_secs(since.as_secs())
        };
        Ok(IssuedChain { der, pem, not_before: whole(not_before), not_after: whole(not_after) })
    }
}

/// 16 random bytes from the system's CSPRNG, positive and without a leading zero byte.
pub(super) fn random_serial() -> Result<SerialNumber, CaError> {
    let mut bytes = [0u8; 16];
    rustls::crypto::ring::default_provider()
        .secure_random
        .fill(&mut bytes)
        .map_err(|_| CaError::Signing("the system random number generator failed".into()))?;
    bytes[0] = (bytes[0] & 0x7f) | 0x01;
    Ok(SerialNumber::from_slice(&bytes))
}
