//! Test support for mesh: real tonic and axum backends on loopback whose behaviour a
//! test can script (fail the next N requests, hold each request for a while, count
//! what arrived), and a hand-written gRPC `Echo` service.
//!
//! The gRPC service is written out by hand in the shape `tonic-build` generates, so that
//! no `protoc` is needed at build time; it is a real tonic server and client.
//! Shared by the facade's tests, benches and examples; not published.

mod backend;
mod control_plane;
mod echo;
mod mesh_backend;
pub mod pki;
pub mod xds;

pub use backend::{Backend, BackendState, Failure};
pub use control_plane::ControlPlane;
pub use echo::{EchoClient, EchoReply, EchoRequest, EchoServer};
pub use mesh_backend::MeshBackend;
