//! # mesh
//!
//! A proxyless service mesh for Rust. Istio gives services traffic management by
//! putting an Envoy sidecar beside each one; `mesh` gives a Rust service the same
//! capabilities in-process, as a tower stack: routing on host / path / headers / query /
//! method, weighted and subset destinations, P2C least-request balancing, retries with
//! budgets, timeouts and fault injection.
//!
//! ```no_run
//! # async fn demo() -> Result<(), mesh::BoxError> {
//! use mesh::{ConfigHandle, MeshChannel};
//!
//! // Routes and clusters from a static file (the xDS client feeds the same handle).
//! let config = ConfigHandle::from_file("mesh.yaml")?;
//! let channel = MeshChannel::builder(config).authority("reviews:9080")?.build();
//! // `channel` is a tower Service<http::Request<B>> and a tonic GrpcService:
//! // let mut client = ReviewsClient::new(channel);
//! # Ok(()) }
//! ```
//!
//! Crates behind this facade:
//! - [`core`] (`mesh-core`): the validated configuration model and pure decisions
//!   (matching, pickers, retry policy);
//! - [`xds`] (`mesh-xds`): the xDS client (`XdsClient`, `MeshChannel::from_xds`),
//!   bootstrap, translation of Envoy resources, ADS server building blocks;
//! - [`tls`] (`mesh-tls`): SPIFFE identities, the certificate authority, rustls
//!   configurations and verifiers, certificate rotation;
//! - [`tower`] (`mesh-tower`, feature `client`): the client stack.

pub use mesh_core as core;
pub use mesh_core::{ConfigError, Snapshot};
pub use mesh_tls as tls;
pub use mesh_xds as xds;

#[cfg(feature = "client")]
pub use mesh_tower as tower;
#[cfg(feature = "client")]
pub use mesh_tower::client::{ConfigHandle, LoadError, MeshChannel, MeshChannelBuilder, RouteDecision};
#[cfg(feature = "client")]
pub use mesh_tower::{BoxError, ErrorKind, Limit, MeshError, Origin, TimeoutScope};
