//! [`CaMetrics`]: the CA's Prometheus metrics, under Istio's names (istiod's Citadel):
//!
//! | metric | type | meaning |
//! |---|---|---|
//! | `citadel_server_csr_count` | counter | `CreateCertificate` requests received |
//! | `citadel_server_authentication_failure_count` | counter | requests refused as UNAUTHENTICATED |
//! | `citadel_server_csr_parsing_err_count` | counter | requests whose CSR could not be parsed or verified |
//! | `citadel_server_success_cert_issuance_count` | counter | certificates issued |
//! | `citadel_server_cert_chain_expiry_timestamp` | gauge | when the CA's signing certificate expires (Unix seconds) |
//!
//! The exposition is OpenMetrics, which suffixes counters with `_total`
//! (`citadel_server_csr_count_total`); Istio's Prometheus text omits the suffix.

use std::time::{SystemTime, UNIX_EPOCH};

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

/// The CA's counters; clones share them.
#[derive(Debug, Clone, Default)]
pub struct CaMetrics {
    pub(crate) csr: Counter,
    pub(crate) authentication_failure: Counter,
    pub(crate) csr_parsing_err: Counter,
    pub(crate) success_cert_issuance: Counter,
    pub(crate) cert_chain_expiry: Gauge,
}

impl CaMetrics {
    /// New counters at zero.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds every metric to `registry` (the admin server's, for `/metrics`).
    pub fn register(&self, registry: &mut Registry) {
        registry.register("citadel_server_csr_count", "The number of CSRs received by the CA", self.csr.clone());
        registry.register(
            "citadel_server_authentication_failure_count",
            "The number of authentication failures",
            self.authentication_failure.clone(),
        );
        registry.register(
            "citadel_server_csr_parsing_err_count",
            "The number of errors when parsing or verifying CSRs",
            self.csr_parsing_err.clone(),
        );
        registry.register(
            "citadel_server_success_cert_issuance_count",
            "The number of certificates issued",
            self.success_cert_issuance.clone(),
        );
        registry.register(
            "citadel_server_cert_chain_expiry_timestamp",
            "The unix timestamp, in seconds, when the CA's signing certificate expires",
            self.cert_chain_expiry.clone(),
        );
    }

    /// Requests received.
    pub fn csr_count(&self) -> u64 {
        self.csr.get()
    }

    /// Requests refused as UNAUTHENTICATED.
    pub fn authentication_failure_count(&self) -> u64 {
        self.authentication_failure.get()
    }

    /// Requests with an unusable CSR.
    pub fn csr_parsing_err_count(&self) -> u64 {
        self.csr_parsing_err.get()
    }

    /// Certificates issued.
    pub fn success_cert_issuance_count(&self) -> u64 {
        self.success_cert_issuance.get()
    }

    pub(crate) fn set_expiry(&self, at: SystemTime) {
        let secs = at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        self.cert_chain_expiry.set(i64::try_from(secs).unwrap_or(i64::MAX));
    }
}
