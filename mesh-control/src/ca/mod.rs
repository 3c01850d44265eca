//! The control plane's certificate authority: Istio's
//! `istio.v1.auth.IstioCertificateService/CreateCertificate` (what Citadel serves inside
//! istiod), over TLS on its own port.
//!
//! ```text
//! workload ──TLS (client cert optional)──► tls.rs: rustls, server cert issued by the CA
//!            CreateCertificate{csr, validity_duration}        │
//!                                                             ▼
//!          auth.rs: caller = client certificate's SPIFFE ID (chains to the trust bundle)
//!                   or the identity of `authorization: Bearer <token>` (tokens file)
//!                                                             ▼
//!          service.rs: parse + verify the CSR; refuse one asking for another identity;
//!                      mesh_tls::ca::CertificateAuthority signs for the caller's identity
//!                                                             ▼
//!          cert_chain: leaf, intermediates, root              (metrics.rs: citadel_server_*)
//! ```
//!
//! The signing itself, the CA directory and the protocol types live in
//! [`mesh_tls::ca`]; this module decides *who* is asking. Started by the control plane
//! when configured ([`CaConfig`], `mesh-control serve --ca-addr …`), or on its own with
//! [`serve`]:
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use mesh_control::ca::{self, Authenticator};
//! use mesh_tls::ca::CertificateAuthority;
//!
//! let authority = CertificateAuthority::load_or_generate("/var/lib/mesh/ca".as_ref(), "cluster.local")?;
//! let auth = Authenticator::new("cluster.local")?.with_token_file("/etc/mesh/tokens.yaml".as_ref())?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:15012").await?;
//! let running = ca::serve(listener, Arc::new(authority), auth).await?;
//! // … workloads call CreateCertificate on running.local_addr() …
//! running.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! # The tokens file
//!
//! A YAML list of `{token, namespace, serviceAccount}`; each token proves the identity
//! `spiffe://<trust domain>/ns/<namespace>/sa/<serviceAccount>`. Tokens are at least 16
//! printable ASCII characters and unique. The file is validated whole when loaded
//! ([`TokenFileError`] names the file, the entry and the field) and re-read when it
//! changes; a broken edit is logged and the previous tokens stay in force.
//!
//! ```yaml
//! - token: 6f1c0d4e9b7a4c2f8e3d5a1b
//!   namespace: default
//!   serviceAccount: sleep
//! ```

mod auth;
mod metrics;
mod server;
mod service;
mod tls;
mod tokens;

pub use auth::{AuthError, Authenticator, Caller, Credential};
pub use metrics::CaMetrics;
pub use server::{CaConfig, CaServeError, CaServerOptions, CaStartError, RunningCa, serve, serve_with, start};
pub use tokens::TokenFileError;
