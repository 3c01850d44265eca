//! # mesh-tower
//!
//! The mesh as a stack of tower layers, in-process. The client side
//! ([`client::MeshChannel`]) routes, injects faults, enforces deadlines, retries,
//! selects a cluster and subset, balances over endpoints and speaks HTTP/1.1 or HTTP/2
//! to them — what an Envoy sidecar does for Istio, without the sidecar.
//!
//! Configuration arrives through a [`client::ConfigHandle`], from code, a static file or
//! (with `mesh-xds`) a control plane; all three feed the same atomic swap, so a change is
//! applied between requests, never within one.
//!
//! Errors are typed ([`MeshError`]): a caller tells "no route" from "no healthy endpoint"
//! from "timeout" from "retry budget exhausted" by matching, not by parsing strings.

pub mod client;
mod error;
pub mod server;

pub use error::{BoxError, ErrorKind, Limit, MeshError, Origin, TimeoutScope};
