//! # mesh-proxy
//!
//! Will hold a thin sidecar / gateway binary built on `mesh-tower` for workloads that are
//! not written in Rust: an inbound listener that applies the server stack and an outbound
//! listener that applies the client stack.
//!
//! It is a skeleton today: later issues fill it in.
