//! # mesh-core
//!
//! The validated configuration model of the mesh and the pure decisions made on it:
//! which route a request takes, which endpoint a picker chooses, whether an attempt is
//! retried and after how long. Nothing here does I/O, spawns tasks or knows about
//! protobuf: configuration arrives from a static file, from code or (in `mesh-xds`) from
//! a control plane, and is turned into these types through validating constructors.
//! Once a [`Snapshot`] exists it is internally consistent — every route points at a
//! cluster and subset that exist — so the request path never has to re-check it.
//!
//! Layout, in the order a request meets it:
//! - [`route`]: virtual hosts, routes, matchers and weighted destinations;
//! - [`fault`]: delay / abort injection policy;
//! - [`retry`]: retry policy, retry conditions, backoff and the retry budget policy;
//! - [`cluster`] and [`endpoint`]: clusters with subsets, circuit breakers and outlier
//!   detection settings, endpoints with labels, weights, localities and health;
//! - [`outlier`]: the outlier-detection state machine (which endpoints to eject, and
//!   until when), driven with explicit instants;
//! - [`lb`]: load-balancing pickers (P2C least-request, round robin, random, ring hash)
//!   as pure synchronous functions over a ready set;
//! - [`config`]: the static YAML file format, translated into a [`Snapshot`];
//! - [`authz`]: the server side: Envoy RBAC (Istio `AuthorizationPolicy`), path
//!   normalization, and the per-listener server policy (mTLS mode + RBAC chain).

pub mod authz;
pub mod cluster;
pub mod config;
pub mod duration;
pub mod endpoint;
mod error;
pub mod fault;
pub mod lb;
pub mod matcher;
pub mod outlier;
pub mod retry;
pub mod route;
mod snapshot;

pub use error::ConfigError;
pub use snapshot::Snapshot;
