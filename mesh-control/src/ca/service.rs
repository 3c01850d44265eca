//! [`CaService`]: `CreateCertificate` — authenticate the caller, parse the CSR, sign it for
//! the caller's identity, answer the chain — with Istio's status codes:
//!
//! | case | status |
//! |---|---|
//! | no credential, unknown token, untrusted certificate | UNAUTHENTICATED |
//! | the CSR asks for another identity | PERMISSION_DENIED (naming both) |
//! | the CSR does not parse or its signature does not verify | INVALID_ARGUMENT (why) |
//! | `validity_duration` above the max | INVALID_ARGUMENT |
//! | the CA fails | INTERNAL |

use std::sync::Arc;
use std::time::Duration;

use mesh_tls::ca::proto::{IstioCertificateRequest, IstioCertificateResponse, IstioCertificateService};
use mesh_tls::ca::{CaError, CertificateAuthority, Csr};
use tonic::{Request, Response, Status};

use super::auth::Authenticator;
use super::metrics::CaMetrics;
use super::tls::ConnInfo;

/// The CA behind `istio.v1.auth.IstioCertificateService`.
#[derive(Debug, Clone)]
pub(crate) struct CaService {
    pub(crate) ca: Arc<CertificateAuthority>,
    pub(crate) auth: Authenticator,
    pub(crate) metrics: CaMetrics,
}

impl IstioCertificateService for CaService {
    async fn create_certificate(
        &self,
        request: Request<IstioCertificateRequest>,
    ) -> Result<Response<IstioCertificateResponse>, Status> {
        self.metrics.csr.inc();
        let conn = request.extensions().get::<ConnInfo>();
        let peer = conn.and_then(ConnInfo::chain);
        let remote = conn.and_then(|c| c.remote);
        let caller = match self.auth.authenticate(request.metadata(), peer, &self.ca) {
            Ok(caller) => caller,
            Err(e) => {
                self.metrics.authentication_failure.inc();
                tracing::warn!(error = %e, ?remote, "CSR refused: not authenticated");
                return Err(Status::unauthenticated(e.to_string()));
            }
        };
        let request = request.into_inner();
        let csr = match Csr::from_pem(&request.csr) {
            Ok(csr) => csr,
            Err(e) => {
                self.metrics.csr_parsing_err.inc();
                tracing::warn!(error = %e, identity = %caller.identity, "CSR refused");
                return Err(Status::invalid_argument(e.to_string()));
            }
        };
        // Istio: a missing or non-positive validity asks for the default.
        let ttl = u64::try_from(request.validity_duration).ok().filter(|s| *s > 0).map(Duration::from_secs);
        let chain = self.ca.sign(&csr, &caller.identity, ttl).map_err(|e| {
            tracing::warn!(error = %e, identity = %caller.identity, "CSR refused");
            status(&e)
        })?;
        self.metrics.success_cert_issuance.inc();
        tracing::info!(
            identity = %caller.identity,
            credential = ?caller.credential,
            not_after = ?chain.not_after(),
            "certificate issued"
        );
        Ok(Response::new(IstioCertificateResponse { cert_chain: chain.into_pem() }))
    }
}

fn status(e: &CaError) -> Status {
    match e {
        CaError::IdentityMismatch { .. } => Status::permission_denied(e.to_string()),
        CaError::InvalidCsr { .. } | CaError::TtlTooLong { .. } => Status::invalid_argument(e.to_string()),
        _ => Status::internal(e.to_string()),
    }
}
