//! # mesh-tls
//!
//! Identity and transport security for the mesh, in-process (what Citadel and Envoy's TLS
//! stack do for Istio):
//! - [`spiffe`]: SPIFFE identities (`spiffe://<trust-domain>/ns/<ns>/sa/<sa>`) as a
//!   validated type;
//! - [`ca`]: a certificate authority (root or intermediate) that signs workload CSRs for
//!   the identity its caller proved, and Istio's `IstioCertificateService` protocol;
//! - [`identity`]: the workload's certificate and trust bundle, hot-swappable under live
//!   rustls configurations, and the sources that keep them fresh (CA rotation, files);
//! - [`verify`]: rustls verifiers that check the chain against the current trust bundle
//!   and the peer's SPIFFE ID against what the control plane expects.
//!
//! It sits between `mesh-core` and `mesh-xds` (certificate providers come from the
//! bootstrap) and does no routing.

pub mod ca;
mod error;
pub mod identity;
pub mod spiffe;
pub mod verify;

pub use error::TlsError;
pub use spiffe::{DEFAULT_TRUST_DOMAIN, SpiffeId, SpiffeIdError};
