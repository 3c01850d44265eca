//! The live identity of a process: its current certificate and trust bundle, swapped
//! atomically under every rustls configuration built from it.
//!
//! rustls asks a resolver for the certificate at each handshake and our verifiers read
//! the trust bundle at each handshake, so a rotation is one `ArcSwap::store`: new
//! handshakes use the new material, established connections keep going untouched. That
//! is why rotation never drops a connection. An expired certificate is never offered
//! (fail closed): the handshake fails instead of presenting something peers must refuse.

use std::sync::Arc;
use std::time::SystemTime;

use arc_swap::{ArcSwap, ArcSwapOption};
use rustls::SignatureScheme;
use rustls::client::ResolvesClientCert;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use tokio::sync::watch;

use super::{TrustBundle, WorkloadCertificate};

/// The current certificate and trust bundle, shared by every TLS configuration of a
/// process (client and server side).
#[derive(Debug)]
pub struct IdentityStore {
    certificate: ArcSwapOption<WorkloadCertificate>,
    bundle: ArcSwap<TrustBundle>,
    changes: watch::Sender<u64>,
}

impl IdentityStore {
    /// A store with no certificate yet and `bundle` as trust.
    pub fn new(bundle: TrustBundle) -> Arc<Self> {
        Arc::new(Self {
            certificate: ArcSwapOption::empty(),
            bundle: ArcSwap::from_pointee(bundle),
            changes: watch::channel(0).0,
        })
    }

    /// A store holding `certificate` and trusting `bundle`.
    pub fn with_certificate(certificate: WorkloadCertificate, bundle: TrustBundle) -> Arc<Self> {
        let store = Self::new(bundle);
        store.set_certificate(certificate);
        store
    }

    /// Replaces the certificate (new handshakes use it at once).
    pub fn set_certificate(&self, certificate: WorkloadCertificate) {
        tracing::info!(
            identity = certificate.identity().map(|i| i.as_str()).unwrap_or("-"),
            not_after = ?certificate.not_after(),
            "workload certificate installed"
        );
        self.certificate.store(Some(Arc::new(certificate)));
        self.changes.send_modify(|n| *n += 1);
    }

    /// Replaces the trust bundle.
    pub fn set_trust_bundle(&self, bundle: TrustBundle) {
        tracing::info!(roots = bundle.roots().len(), "trust bundle installed");
        self.bundle.store(Arc::new(bundle));
        self.changes.send_modify(|n| *n += 1);
    }

    /// The current certificate, valid or not.
    pub fn certificate(&self) -> Option<Arc<WorkloadCertificate>> {
        self.certificate.load_full()
    }

    /// The current certificate if it is valid now (what handshakes present).
    pub fn usable_certificate(&self) -> Option<Arc<WorkloadCertificate>> {
        self.certificate.load_full().filter(|c| c.is_valid_at(SystemTime::now()))
    }

    /// The current trust bundle.
    pub fn trust_bundle(&self) -> Arc<TrustBundle> {
        self.bundle.load_full()
    }

    /// A receiver that changes whenever the certificate or the bundle is replaced.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }

    fn certified_key(&self) -> Option<Arc<CertifiedKey>> {
        let cert = self.usable_certificate();
        if cert.is_none() && self.certificate.load().is_some() {
            tracing::warn!("workload certificate expired or not yet valid: refusing to present it");
        }
        cert.map(|c| c.certified_key().clone())
    }
}

/// The rustls certificate resolver (client and server side) backed by an [`IdentityStore`].
#[derive(Debug, Clone)]
pub struct StoreResolver(pub Arc<IdentityStore>);

impl ResolvesServerCert for StoreResolver {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.0.certified_key()
    }
}

impl ResolvesClientCert for StoreResolver {
    fn resolve(&self, _hints: &[&[u8]], _schemes: &[SignatureScheme]) -> Option<Arc<CertifiedKey>> {
        self.0.certified_key()
    }

    fn has_certs(&self) -> bool {
        self.0.usable_certificate().is_some()
    }
}
