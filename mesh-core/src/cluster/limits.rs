//! Circuit breakers: how much a client may ask of one cluster at once.
//!
//! Envoy's `CircuitBreakers.Thresholds` (DEFAULT priority), Istio's `connectionPool`.
//! Every limit is per cluster, over all of its endpoints, and `None` means unlimited.
//! What a request meets over a limit:
//!
//! - `max_requests`: requests in flight (from the pick until the response ends). A
//!   request over the limit fails at once with an overflow error (HTTP 503 with
//!   `x-envoy-overloaded: true`, gRPC `UNAVAILABLE`) and is never retried, as in Envoy.
//! - `max_connections`: connections open to the endpoints. HTTP/1.1 requests that find
//!   no idle connection wait for one (they are *pending*); an endpoint with no connection
//!   at all may always open one, so no endpoint is starved by the others (Envoy's rule).
//!   HTTP/2 uses one connection per endpoint anyway.
//! - `max_pending_requests`: requests waiting for a connection (an idle HTTP/1.1 one, or
//!   one being established). Over the limit: the same overflow error.
//! - `max_retries`: retries in progress (from the decision to retry until that attempt's
//!   outcome is known). Used only when the cluster has no retry budget, as in Envoy;
//!   a retry over the limit is not made and the last outcome is returned.
//!
//! Why unset means unlimited here, whereas Envoy and gRPC default to 1024 (and Envoy to 3
//! retries): istiod always sends explicit "unlimited" thresholds (2³²−1), and so does
//! mesh-control, so an Istio user never meets those implicit defaults; for retries the
//! mesh's default is a retry budget (see [`crate::retry`]).

/// A cluster's circuit-breaking thresholds; `None` is unlimited.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct CircuitBreakers {
    /// Connections to all endpoints of the cluster.
    pub max_connections: Option<u32>,
    /// Requests waiting for a connection.
    pub max_pending_requests: Option<u32>,
    /// Requests in flight.
    pub max_requests: Option<u32>,
    /// Retries in progress (when the cluster has no retry budget).
    pub max_retries: Option<u32>,
}

impl CircuitBreakers {
    /// No limit at all.
    pub const UNLIMITED: Self =
        Self { max_connections: None, max_pending_requests: None, max_requests: None, max_retries: None };

    /// Whether a limit applies to connections (the HTTP/1.1 pool must then count them
    /// and queue requests): `max_connections` or `max_pending_requests` is set.
    pub fn limits_connections(&self) -> bool {
        self.max_connections.is_some() || self.max_pending_requests.is_some()
    }

    /// Whether any limit is set.
    pub fn is_limited(&self) -> bool {
        *self != Self::UNLIMITED
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_limited() {
        assert!(!CircuitBreakers::default().is_limited());
        let requests = CircuitBreakers { max_requests: Some(10), ..Default::default() };
        assert!(requests.is_limited() && !requests.limits_connections());
        let pending = CircuitBreakers { max_pending_requests: Some(0), ..Default::default() };
        assert!(pending.limits_connections());
    }
}
