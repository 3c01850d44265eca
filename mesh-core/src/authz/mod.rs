//! Server-side authorization: Envoy's RBAC model (what Istio's `AuthorizationPolicy` is
//! compiled into), the path normalization that runs before it, and the per-listener
//! server policy (mTLS mode + RBAC chain + path settings) a mesh server enforces.
//!
//! Where it sits: `mesh-xds` translates the inbound `Listener` a control plane serves
//! (gRFC A36 + A41 shape) into a [`ServerPolicy`]; the server layer in `mesh-tower`
//! normalizes each request's path with [`normalize_path`], builds an [`AuthzRequest`]
//! from the request and its connection and asks the [`AuthzChain`] for a [`Decision`].
//! Everything here is pure: no I/O, no HTTP types, no protobuf.
//!
//! Why Envoy's semantics exactly: a policy must mean the same thing to a mesh server as
//! to a sidecar, and the path the policy matched must be the path the application gets
//! (normalize, then match, then forward the normalized path).
//!
//! Files: `model.rs` (filters, policies, permissions, principals), `evaluate.rs` (the
//! request view and the decision), `path.rs` (normalization), `cidr.rs` (address
//! ranges), `server.rs` (mTLS mode, per-connection policies, certificate providers,
//! remote address).

mod cidr;
mod evaluate;
mod model;
mod path;
mod server;

#[cfg(test)]
mod evaluate_tests;

pub use cidr::Cidr;
pub use evaluate::{AuthzChain, AuthzRequest, Decision};
pub use model::{Permission, Policy, Principal, Rbac, RbacAction};
pub use path::{EscapedSlashes, NormalizedPath, PathNormalization, PathRejection, is_normalized, normalize_path};
pub use server::{CertProviderInstance, CertProviders, ConnectionPolicy, MtlsMode, RemoteAddress, ServerPolicy};
