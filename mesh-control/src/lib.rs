//! # mesh-control
//!
//! The control plane — what istiod is to Istio, without Kubernetes: it reads the Istio
//! manifests a team already has (`networking.istio.io` VirtualService, DestinationRule,
//! ServiceEntry, WorkloadEntry, Gateway, Sidecar; `security.istio.io` PeerAuthentication,
//! AuthorizationPolicy, RequestAuthentication), validates them (Galley's job), translates
//! them into xDS resources for proxyless clients and servers (Pilot's gRPC generator:
//! client listeners and routes, and the servers' inbound listeners carrying mTLS mode and
//! RBAC), and serves them over ADS (SotW and Delta) to our clients and to any standard
//! xDS client (grpc-go, grpcio, tonic-xds, Envoy).
//!
//! ```text
//! config dir ──watch+debounce──► istio::load ──► ConfigSet (validated) ─┐
//! registration API ──► Registry (endpoints) ────────────────────────────┤
//!                                                                       ▼
//!                                      translate::translate ──► resources by type
//!                                                                       ▼
//!                                      mesh_xds::server::SnapshotCache ──► AdsServer (ADS)
//! admin HTTP: /ready /metrics /debug/config_dump /debug/syncz
//! ```
//!
//! Modules: [`istio`] (model, parsing with file:line, validation), [`translate`]
//! (Istio → Envoy resources), [`registry`] (runtime endpoint registration), [`runtime`]
//! (the running control plane: watcher, servers), [`admin`] (HTTP admin page + metrics).

pub mod admin;
pub mod ca;
pub mod istio;
pub mod registry;
pub mod runtime;
pub mod translate;

pub use runtime::{ControlPlane, ControlPlaneBuilder, RunningControlPlane};
