use std::sync::Arc;

use http::Request;
use mesh_core::Snapshot;
use mesh_core::matcher::RequestAttributes;
use mesh_core::route::{Destination, Route};

use super::cluster::Resolved;

/// The routing decision for a request, carried in its extensions from the route stage
/// down. It holds the configuration the request started with, so later stages (and
/// retries) use that same configuration even if a new one is swapped in meanwhile.
#[derive(Clone)]
pub struct RouteDecision {
    pub(crate) resolved: Arc<Resolved>,
    pub(crate) vhost: usize,
    pub(crate) route: usize,
    pub(crate) destination: usize,
    /// Set on the copy of a request sent to the route's mirror at this index: the
    /// cluster and balance stages then serve the mirror's destination, and retries
    /// leave the copy alone.
    pub(crate) mirror: Option<usize>,
    pub(crate) hash: Option<u64>,
    pub(crate) grpc: bool,
}

impl RouteDecision {
    /// The configuration the request is served with.
    pub fn snapshot(&self) -> &Arc<Snapshot> {
        &self.resolved.snapshot
    }
    /// The matched route.
    pub fn route(&self) -> &Route {
        self.resolved.snapshot.routes().route_at(self.vhost, self.route)
    }
    /// The chosen destination (for a mirrored copy, the mirror's).
    pub fn destination(&self) -> &Destination {
        let action = self.route().action();
        match self.mirror {
            Some(i) => &action.mirrors[i].destination,
            None => &action.destinations.entries()[self.destination].0,
        }
    }
    /// Whether this is the copy of a request sent to a mirror.
    pub fn is_mirror(&self) -> bool {
        self.mirror.is_some()
    }
    /// Whether the request is gRPC (`content-type: application/grpc*`).
    pub fn is_grpc(&self) -> bool {
        self.grpc
    }
}

impl std::fmt::Debug for RouteDecision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RouteDecision")
            .field("version", &self.resolved.snapshot.version())
            .field("route", &self.route().name())
            .field("destination", self.destination())
            .field("mirror", &self.mirror.is_some())
            .finish()
    }
}

/// The deadline of the current attempt, written as `grpc-timeout` on gRPC requests.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Deadline(pub(crate) tokio::time::Instant);

/// Whether the request is gRPC.
pub(crate) fn is_grpc<B>(req: &Request<B>) -> bool {
    req.headers().get(http::header::CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(b"application/grpc"))
}

/// A view of an `http::Request` for the matchers.
pub(crate) struct HttpAttributes<'a, B>(pub(crate) &'a Request<B>);

impl<B> RequestAttributes for HttpAttributes<'_, B> {
    fn authority(&self) -> &str {
        match self.0.uri().authority() {
            Some(a) => a.as_str(),
            None => self.0.headers().get(http::header::HOST).and_then(|h| h.to_str().ok()).unwrap_or(""),
        }
    }
    fn path(&self) -> &str {
        self.0.uri().path()
    }
    fn query(&self) -> Option<&str> {
        self.0.uri().query()
    }
    fn method(&self) -> &str {
        self.0.method().as_str()
    }
    fn for_each_header_value(&self, name: &str, f: &mut dyn FnMut(&str)) {
        for v in self.0.headers().get_all(name) {
            if let Ok(s) = v.to_str() {
                f(s);
            }
        }
    }
}
