//! A workload certificate (chain + key + SPIFFE ID + validity) and a trust bundle, parsed
//! and checked once so that handshakes only clone `Arc`s.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, TrustAnchor};
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::{SpiffeId, TlsError};

/// The workload's certificate chain (leaf first), its private key and what the leaf says.
#[derive(Debug, Clone)]
pub struct WorkloadCertificate {
    certified: Arc<CertifiedKey>,
    identity: Option<SpiffeId>,
    not_before: SystemTime,
    not_after: SystemTime,
}

impl WorkloadCertificate {
    /// Parses a PEM chain (leaf first) and a PEM private key (PKCS#8, SEC1 or PKCS#1)
    /// and checks that the key belongs to the leaf.
    pub fn from_pem(chain_pem: &str, key_pem: &str) -> Result<Self, TlsError> {
        let chain = certs_from_pem("certificate chain", chain_pem)?;
        let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes())
            .map_err(|e| TlsError::Pem { what: "private key".into(), reason: e.to_string() })?;
        Self::from_der(chain, key)
    }

    /// Builds from DER: `chain` leaf first.
    pub fn from_der(chain: Vec<CertificateDer<'static>>, key: PrivateKeyDer<'static>) -> Result<Self, TlsError> {
        let leaf = chain
            .first()
            .ok_or_else(|| TlsError::Pem { what: "certificate chain".into(), reason: "holds no certificate".into() })?;
        let facts = LeafFacts::parse(leaf)?;
        let provider = rustls::crypto::ring::default_provider();
        let certified = CertifiedKey::from_der(chain, key, &provider).map_err(|e| TlsError::Key(e.to_string()))?;
        Ok(Self {
            certified: Arc::new(certified),
            identity: facts.spiffe,
            not_before: facts.not_before,
            not_after: facts.not_after,
        })
    }

    /// The chain and signing key, as rustls uses them.
    pub fn certified_key(&self) -> &Arc<CertifiedKey> {
        &self.certified
    }

    /// The certificates, leaf first.
    pub fn chain(&self) -> &[CertificateDer<'static>] {
        &self.certified.cert
    }

    /// The SPIFFE ID in the leaf's URI SAN, if it has one.
    pub fn identity(&self) -> Option<&SpiffeId> {
        self.identity.as_ref()
    }

    /// Start of validity.
    pub fn not_before(&self) -> SystemTime {
        self.not_before
    }

    /// End of validity.
    pub fn not_after(&self) -> SystemTime {
        self.not_after
    }

    /// Total validity period.
    pub fn lifetime(&self) -> Duration {
        self.not_after.duration_since(self.not_before).unwrap_or_default()
    }

    /// Whether `now` is inside the validity period.
    pub fn is_valid_at(&self, now: SystemTime) -> bool {
        self.not_before <= now && now < self.not_after
    }
}

/// What the mesh reads from a leaf certificate.
#[derive(Debug, Clone)]
struct LeafFacts {
    spiffe: Option<SpiffeId>,
    not_before: SystemTime,
    not_after: SystemTime,
}

impl LeafFacts {
    fn parse(der: &CertificateDer<'_>) -> Result<Self, TlsError> {
        let bad = |reason: String| TlsError::Certificate { what: "leaf certificate".into(), reason };
        let (_, cert) = X509Certificate::from_der(der.as_ref()).map_err(|e| bad(e.to_string()))?;
        let spiffe = spiffe_id_of(&cert).map_err(bad)?;
        let to_system = |t: i64| UNIX_EPOCH + Duration::from_secs(t.max(0) as u64);
        Ok(Self {
            spiffe,
            not_before: to_system(cert.validity().not_before.timestamp()),
            not_after: to_system(cert.validity().not_after.timestamp()),
        })
    }
}

/// The SPIFFE ID of a parsed certificate: its one `spiffe://` URI SAN. Several SPIFFE
/// URIs are an error (the SPIFFE X.509-SVID spec allows exactly one).
fn spiffe_id_of(cert: &X509Certificate<'_>) -> Result<Option<SpiffeId>, String> {
    let Ok(Some(san)) = cert.subject_alternative_name() else {
        return Ok(None);
    };
    let mut found = None;
    for name in &san.value.general_names {
        if let GeneralName::URI(uri) = name
            && uri.starts_with("spiffe://")
        {
            if found.is_some() {
                return Err("has more than one spiffe:// URI SAN".into());
            }
            found = Some(SpiffeId::parse(uri).map_err(|e| e.to_string())?);
        }
    }
    Ok(found)
}

/// The SPIFFE ID in a DER certificate's URI SAN (`None` when it has none or is malformed).
pub fn spiffe_id_from_der(der: &[u8]) -> Option<SpiffeId> {
    let (_, cert) = X509Certificate::from_der(der).ok()?;
    spiffe_id_of(&cert).ok().flatten()
}

pub(crate) fn certs_from_pem(what: &str, pem: &str) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::Pem { what: what.into(), reason: e.to_string() })?;
    if certs.is_empty() {
        return Err(TlsError::Pem { what: what.into(), reason: "holds no CERTIFICATE block".into() });
    }
    Ok(certs)
}

/// The set of root certificates a peer's chain must lead to. Several roots are normal
/// while a root is being rotated (old and new trusted together).
#[derive(Debug, Clone, Default)]
pub struct TrustBundle {
    roots: Vec<CertificateDer<'static>>,
    anchors: Vec<TrustAnchor<'static>>,
}

impl TrustBundle {
    /// Parses one or more PEM root certificates.
    pub fn from_pem(pem: &str) -> Result<Self, TlsError> {
        Self::from_der(certs_from_pem("trust bundle", pem)?)
    }

    /// Builds from DER roots (duplicates removed).
    pub fn from_der(roots: Vec<CertificateDer<'static>>) -> Result<Self, TlsError> {
        let mut bundle = Self::default();
        for root in roots {
            bundle.add(root)?;
        }
        Ok(bundle)
    }

    fn add(&mut self, root: CertificateDer<'static>) -> Result<(), TlsError> {
        if self.roots.contains(&root) {
            return Ok(());
        }
        let anchor = webpki::anchor_from_trusted_cert(&root)
            .map_err(|e| TlsError::Certificate { what: "trust bundle root".into(), reason: format!("{e:?}") })?
            .to_owned();
        self.roots.push(root);
        self.anchors.push(anchor);
        Ok(())
    }

    /// This bundle plus the roots of `other`.
    pub fn union(&self, other: &TrustBundle) -> Self {
        let mut out = self.clone();
        for (root, anchor) in other.roots.iter().zip(&other.anchors) {
            if !out.roots.contains(root) {
                out.roots.push(root.clone());
                out.anchors.push(anchor.clone());
            }
        }
        out
    }

    /// The root certificates.
    pub fn roots(&self) -> &[CertificateDer<'static>] {
        &self.roots
    }

    /// The roots as webpki trust anchors.
    pub fn anchors(&self) -> &[TrustAnchor<'static>] {
        &self.anchors
    }

    /// Whether the bundle holds no root (nothing verifies).
    pub fn is_empty(&self) -> bool {
        self.roots.is_empty()
    }
}
