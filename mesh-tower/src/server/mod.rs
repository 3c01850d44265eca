//! The server side of the mesh: what Envoy does in front of an Istio workload, in
//! process.
//!
//! ```text
//! TcpListener
//!   └─ MeshListener      PeerAuthentication mode per connection: STRICT (mTLS only),
//!                        PERMISSIVE (mTLS or plaintext, told apart by the first byte),
//!                        DISABLE (plaintext); SPIFFE identity of the peer → PeerInfo
//!        └─ MeshServerLayer   path normalization → AuthorizationPolicy (RBAC: DENY,
//!                             then ALLOW, AUDIT logged) → the normalized path forwarded
//!             └─ the application (tonic service / axum Router)
//! ```
//!
//! With tonic: `Server::builder().layer(MeshServerLayer::new(policy.clone()))
//! .add_service(svc).serve_with_incoming(MeshListener::new(tcp, policy).with_identity(&store).incoming())`
//! — tonic puts [`PeerInfo`] in each request's extensions (it is the connection's
//! `ConnectInfo`). With axum or any hyper service: [`serve`]`(listener, router.layer(MeshServerLayer::new(policy)))`.
//! The policy comes from code ([`ServerPolicyHandle::new`]) or from the control plane
//! (an inbound Listener resource, see `mesh_xds`).

mod authz;
mod listener;
mod peer;
mod policy;
mod serve;
mod xds;

pub use authz::{MeshServerLayer, MeshServerService, ServerBody, ServerFuture};
pub use listener::{MeshIncoming, MeshIo, MeshListener};
pub use peer::PeerInfo;
pub use policy::{ServerPolicyHandle, ServerStats};
pub use serve::serve;
pub use xds::ServerXdsError;
