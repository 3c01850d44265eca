//! Certificates from the mesh CA, renewed before they expire.
//!
//! The private key is generated here and never leaves the process: each renewal makes a
//! fresh P-256 key and a CSR, sends the CSR to a [`CertificateSigner`] (Istio's
//! `CreateCertificate` in production, see [`IstioCaSigner`](crate::ca::client::IstioCaSigner)),
//! and installs the chain in the [`IdentityStore`]. Renewal happens at half of the
//! certificate's lifetime ± a jitter (default ± 5 % of the lifetime), so that a fleet
//! started together does not hit the CA together. If the CA fails, the current
//! certificate stays in use and the request is retried with exponential backoff (with
//! jitter) until it succeeds; once the current certificate has expired it is no longer
//! presented (fail closed), and the next success restores service. The last certificate
//! of a returned chain is the CA's root: it is added to the trust bundle, so a new root
//! is trusted as soon as the CA signs with it.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use rcgen::{CertificateParams, KeyPair, SanType};

use super::{IdentityStore, TrustBundle, WorkloadCertificate, certs_from_pem};
use crate::{SpiffeId, TlsError};

/// A boxed future returned by [`CertificateSigner::sign`].
pub type SignFuture<'a> = Pin<Box<dyn Future<Output = Result<Vec<String>, TlsError>> + Send + 'a>>;

/// Something that turns a CSR into a PEM chain (leaf first, root last).
pub trait CertificateSigner: Send + Sync + 'static {
    /// Signs `csr_pem` for `ttl` (or the CA's default). The signer authenticates itself.
    fn sign(&self, csr_pem: String, ttl: Option<Duration>) -> SignFuture<'_>;
}

/// How certificates are requested and renewed.
#[derive(Debug, Clone)]
pub struct RotationConfig {
    /// The identity put in the CSR's URI SAN (the CA decides from the caller's
    /// credential anyway and refuses a mismatch). `None` lets the CA choose.
    pub identity: Option<SpiffeId>,
    /// Requested lifetime; `None` = the CA's default (24 h in Istio).
    pub ttl: Option<Duration>,
    /// Renew when this share of the lifetime has passed (default 0.5).
    pub renew_at: f64,
    /// ± this share of the lifetime, uniformly random per renewal (default 0.05).
    pub jitter: f64,
    /// First retry delay after a failure (default 1 s), doubled per failure.
    pub min_backoff: Duration,
    /// Longest retry delay (default 60 s).
    pub max_backoff: Duration,
}

impl Default for RotationConfig {
    fn default() -> Self {
        Self {
            identity: None,
            ttl: None,
            renew_at: 0.5,
            jitter: 0.05,
            min_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(60),
        }
    }
}

/// Generates a key and a CSR, has it signed and installs the result. Returns the
/// installed certificate.
pub async fn obtain(
    store: &IdentityStore,
    signer: &dyn CertificateSigner,
    config: &RotationConfig,
) -> Result<Arc<WorkloadCertificate>, TlsError> {
    let key = KeyPair::generate().map_err(|e| TlsError::Key(e.to_string()))?;
    let mut params = CertificateParams::new(Vec::<String>::new()).map_err(|e| TlsError::Key(e.to_string()))?;
    if let Some(id) = &config.identity {
        let uri = id.as_str().try_into().map_err(|e: rcgen::Error| TlsError::Key(e.to_string()))?;
        params.subject_alt_names = vec![SanType::URI(uri)];
    }
    let csr = params.serialize_request(&key).map_err(|e| TlsError::Key(e.to_string()))?;
    let csr_pem = csr.pem().map_err(|e| TlsError::Key(e.to_string()))?;
    let chain = signer.sign(csr_pem, config.ttl).await?;
    let chain_pem = chain.join("\n");
    let cert = WorkloadCertificate::from_pem(&chain_pem, &key.serialize_pem())?;
    if let Some(want) = &config.identity
        && cert.identity() != Some(want)
    {
        return Err(TlsError::Ca(format!(
            "issued certificate is for {}, expected {want}",
            cert.identity().map_or("no SPIFFE ID", |i| i.as_str())
        )));
    }
    // The chain's last certificate is the signing root: trust it from now on.
    if chain.len() > 1
        && let Some(root_pem) = chain.last()
        && let Ok(root) = certs_from_pem("CA root", root_pem).and_then(TrustBundle::from_der)
    {
        let bundle = store.trust_bundle();
        if root.roots().iter().any(|r| !bundle.roots().contains(r)) {
            store.set_trust_bundle(bundle.union(&root));
        }
    }
    store.set_certificate(cert);
    store.certificate().ok_or_else(|| TlsError::Ca("certificate vanished".into()))
}

/// When to renew `cert`, received at `received`: `renew_at ± jitter` of the lifetime
/// counted from the later of `not_before` and `received` (CAs back-date `not_before` to
/// absorb clock skew; that slack must not shorten the renewal).
pub fn renewal_time(cert: &WorkloadCertificate, received: SystemTime, config: &RotationConfig) -> SystemTime {
    let start = cert.not_before().max(received);
    let life = cert.not_after().duration_since(start).unwrap_or_default();
    let jitter = (fastrand::f64() * 2.0 - 1.0) * config.jitter;
    let share = (config.renew_at + jitter).clamp(0.05, 0.95);
    start + life.mul_f64(share)
}

/// The running renewal task; stops when dropped.
#[derive(Debug)]
pub struct Rotation {
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Rotation {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Obtains a first certificate (retrying with backoff) and keeps renewing it, in a task.
/// Wait for the first certificate with [`IdentityStore::subscribe`].
pub fn spawn(store: Arc<IdentityStore>, signer: Arc<dyn CertificateSigner>, config: RotationConfig) -> Rotation {
    let task = tokio::spawn(async move {
        let mut failures: u32 = 0;
        loop {
            match obtain(&store, signer.as_ref(), &config).await {
                Ok(cert) => {
                    failures = 0;
                    let at = renewal_time(&cert, SystemTime::now(), &config);
                    let wait = at.duration_since(SystemTime::now()).unwrap_or_default();
                    tracing::debug!(?wait, "next certificate renewal");
                    tokio::time::sleep(wait).await;
                }
                Err(e) => {
                    failures = failures.saturating_add(1);
                    let wait = backoff(&config, failures);
                    let valid = store.usable_certificate().is_some();
                    tracing::warn!(error = %e, ?wait, keeps_current = valid, "certificate request failed; retrying");
                    tokio::time::sleep(wait).await;
                }
            }
        }
    });
    Rotation { task }
}

fn backoff(config: &RotationConfig, failures: u32) -> Duration {
    let exp = config.min_backoff.saturating_mul(1u32 << failures.saturating_sub(1).min(16));
    let capped = exp.min(config.max_backoff);
    // ±20 % jitter.
    capped.mul_f64(0.8 + fastrand::f64() * 0.4)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_caps() {
        let c = RotationConfig::default();
        let b1 = backoff(&c, 1);
        assert!(b1 >= Duration::from_millis(800) && b1 <= Duration::from_millis(1200));
        let b3 = backoff(&c, 3);
        assert!(b3 >= Duration::from_millis(3200) && b3 <= Duration::from_millis(4800));
        assert!(backoff(&c, 40) <= Duration::from_secs(72));
    }
}
