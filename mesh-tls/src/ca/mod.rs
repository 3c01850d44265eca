//! The mesh certificate authority — what Citadel is inside istiod — and Istio's protocol
//! to reach it.
//!
//! - [`CertificateAuthority`]: a signing certificate and key (a generated self-signed root,
//!   or the user's root or intermediate from files), the trust bundle, and the lifetime
//!   policy; signs CSRs for the identity the caller proved ([`CertificateAuthority::sign_csr`])
//!   and checks certificates it issued ([`CertificateAuthority::verify_issued`]).
//! - [`Csr`]: a PKCS#10 request, parsed and its signature verified (untrusted input;
//!   fuzzed).
//! - the CA directory ([`CertificateAuthority::load_or_generate`],
//!   [`CertificateAuthority::persist`]): Istio's plug-in CA files `ca-cert.pem`,
//!   `ca-key.pem`, `cert-chain.pem`, `root-cert.pem`.
//! - [`proto`]: `istio.v1.auth.IstioCertificateService/CreateCertificate`, messages, client
//!   and server, wire-compatible with Istio's.
//! - [`client`]: a rustls channel to a CA and [`IstioCaSigner`](client::IstioCaSigner), the
//!   signer certificate rotation uses.
//!
//! The service that authenticates callers and serves this over TLS is in `mesh-control`
//! (`mesh_control::ca`). This module decides what a certificate says; it trusts its caller
//! to have authenticated the identity it asks to sign for.
//!
//! ```
//! use mesh_tls::SpiffeId;
//! use mesh_tls::ca::{CertificateAuthority, DEFAULT_ROOT_TTL};
//!
//! let ca = CertificateAuthority::generate_root("cluster.local", DEFAULT_ROOT_TTL)?;
//! let id = SpiffeId::workload("cluster.local", "default", "sleep")?;
//! let issued = ca.issue_with_key(&id, &[], &[], None)?; // or ca.sign_csr(csr_pem, &id, None)
//! assert_eq!(issued.chain.pem().len(), 2); // leaf, root
//! assert_eq!(ca.verify_issued(issued.chain.der(), std::time::SystemTime::now())?, id);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod authority;
pub mod client;
mod csr;
mod error;
mod peer;
mod pem;
pub mod proto;
mod sign;
mod store;

pub use authority::{
    CLOCK_SKEW, CertificateAuthority, DEFAULT_MAX_WORKLOAD_CERT_TTL, DEFAULT_ROOT_TTL, DEFAULT_WORKLOAD_CERT_TTL,
};
pub use csr::{Csr, MAX_CSR_BYTES};
pub use error::CaError;
pub use sign::{IssuedChain, IssuedKey};
pub use store::{CA_CERT_FILE, CA_KEY_FILE, CERT_CHAIN_FILE, ROOT_CERT_FILE};
