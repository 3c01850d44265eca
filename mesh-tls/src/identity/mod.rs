//! The workload's identity material and the sources that keep it fresh.
//!
//! - [`WorkloadCertificate`] / [`TrustBundle`]: parsed once, used by handshakes;
//! - [`IdentityStore`]: the live pair, hot-swapped under rustls (see [`StoreResolver`]);
//! - [`rotation`]: obtains certificates from the mesh CA (key generated locally, CSR, Istio's
//!   `CreateCertificate`), renews at half-life ± jitter, retries with backoff;
//! - [`files`]: gRPC's `file_watcher` certificate provider — certificate, key and roots
//!   from files, re-read on change.

mod certificate;
pub mod files;
mod providers;
pub mod rotation;
mod store;

pub(crate) use certificate::certs_from_pem;
pub use certificate::{TrustBundle, WorkloadCertificate, spiffe_id_from_der};
pub use providers::CertificateProviders;
pub use store::{IdentityStore, StoreResolver};
