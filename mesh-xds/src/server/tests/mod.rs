//! Tests of the ADS server: the cache alone, then a real tonic server on loopback driven by
//! raw clients that speak the protocol by hand and wait on [`ServerEvent`](super::ServerEvent)s.

mod cache;
mod delta;
mod harness;
mod sotw;
