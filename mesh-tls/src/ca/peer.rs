//! Checking a certificate someone presents to the CA (a client certificate on the CA port):
//! it must chain to the CA's trust bundle (webpki: signatures, validity, CA constraints,
//! clientAuth usage) and name exactly one SPIFFE ID. That ID is who the caller is, which
//! lets a workload renew its certificate with the certificate itself instead of a token.

use std::time::{SystemTime, UNIX_EPOCH};

use rustls_pki_types::{CertificateDer, UnixTime};
use webpki::{EndEntityCert, KeyUsage};
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::{FromDer, X509Certificate};

use super::CaError;
use super::authority::CertificateAuthority;
use crate::SpiffeId;

impl CertificateAuthority {
    /// Verifies `chain` (leaf first, then any intermediates the peer sent) as a client
    /// certificate at `now` against the trust bundle, and returns the leaf's SPIFFE ID.
    pub fn verify_issued(&self, chain: &[CertificateDer<'_>], now: SystemTime) -> Result<SpiffeId, CaError> {
        let now = UnixTime::since_unix_epoch(now.duration_since(UNIX_EPOCH).unwrap_or_default());
        self.verify_chain(chain, now)
    }

    pub(super) fn verify_chain(&self, chain: &[CertificateDer<'_>], now: UnixTime) -> Result<SpiffeId, CaError> {
        let Some((leaf, intermediates)) = chain.split_first() else {
            return Err(CaError::Untrusted("no certificate".into()));
        };
        let anchors = self
            .roots
            .iter()
            .map(|root| webpki::anchor_from_trusted_cert(root))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| CaError::Untrusted(format!("unusable root in the trust bundle: {e}")))?;
        let end_entity = EndEntityCert::try_from(leaf)
            .map_err(|e| CaError::Untrusted(format!("the certificate does not parse: {e}")))?;
        end_entity
            .verify_for_usage(
                webpki::ALL_VERIFICATION_ALGS,
                &anchors,
                intermediates,
                now,
                KeyUsage::client_auth(),
                None,
                None,
            )
            .map_err(|e| CaError::Untrusted(format!("not issued by this CA's trust bundle: {e}")))?;
        spiffe_id(leaf)
    }
}

/// The only URI SAN of `leaf`, as a SPIFFE ID.
fn spiffe_id(leaf: &CertificateDer<'_>) -> Result<SpiffeId, CaError> {
    let (_, cert) = X509Certificate::from_der(leaf)
        .map_err(|e| CaError::Untrusted(format!("the certificate does not parse: {e}")))?;
    let san = cert
        .subject_alternative_name()
        .map_err(|e| CaError::Untrusted(format!("malformed subjectAltName: {e}")))?
        .ok_or_else(|| CaError::Untrusted("no subjectAltName, so no SPIFFE ID".into()))?;
    let mut uris = san.value.general_names.iter().filter_map(|name| match name {
        GeneralName::URI(uri) => Some(*uri),
        _ => None,
    });
    match (uris.next(), uris.next()) {
        (Some(uri), None) => SpiffeId::parse(uri).map_err(|e| CaError::Untrusted(e.to_string())),
        (None, _) => Err(CaError::Untrusted("no URI SAN, so no SPIFFE ID".into())),
        (Some(_), Some(_)) => Err(CaError::Untrusted("several URI SANs; a SPIFFE certificate has one".into())),
    }
}
