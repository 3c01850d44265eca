//! The client stack. A request passes these stages, one module each, in this order:
//!
//! ```text
//! MeshChannel          erase the body; default authority; errors → tonic::Status for gRPC
//!   route     match host/path/headers/query/method → RouteDecision (request extension)
//!   fault     optional delay / abort
//!   mirror    copies a share of requests to mirror destinations, fire and forget
//!   timeout   overall deadline: route timeout ∧ caller's grpc-timeout
//!   retry     attempts, retry_on, per-try timeout, backoff, retry budget
//!   cluster   decision → the (cluster, subset) balancer of the request's config
//!   balance   P2C least-request (or RR / random / ring hash) over the ready set
//!   endpoint  pooled HTTP/1.1 or multiplexed HTTP/2 connection to the endpoint
//! ```
//!
//! Retry sits above cluster and balance so that a retry can pick another endpoint.
//! Every stage reads the request's [`RouteDecision`], which pins the configuration the
//! request started with: a config swap never changes a request in flight.

pub mod balance;
mod body;
mod channel;
pub mod cluster;
mod config;
pub mod endpoint;
pub mod fault;
mod future;
pub mod mirror;
mod request;
pub mod retry;
pub mod route;
pub mod timeout;
mod xds;

pub use body::{RequestBody, ResponseBody};
pub use channel::{MeshChannel, MeshChannelBuilder, ResponseFuture};
pub use config::{ConfigHandle, LoadError};
pub use request::RouteDecision;
