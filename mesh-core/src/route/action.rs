use std::time::Duration;

use crate::fault::FaultPolicy;
use crate::retry::RetryPolicy;

use super::WeightedDestinations;

/// What makes up the hash for consistent-hash load balancing (Envoy's `hash_policy`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HashPolicy {
    /// Hash the value of this request header (lower case). Absent header: no hash.
    Header(String),
}

/// What happens to a request that matched a route.
#[derive(Debug, Clone)]
pub struct RouteAction {
    /// Where it goes.
    pub destinations: WeightedDestinations,
    /// Overall deadline for the request including retries (Istio `timeout`).
    pub timeout: Option<Duration>,
    /// Retry policy, if retries are enabled.
    pub retry: Option<RetryPolicy>,
    /// Fault injection, if any.
    pub fault: Option<FaultPolicy>,
    /// Hash inputs for ring-hash balancing; the first that yields a value is used.
    pub hash_policy: Vec<HashPolicy>,
}

impl RouteAction {
    /// An action that sends everything to `destinations` with no policies.
    pub fn new(destinations: WeightedDestinations) -> Self {
        Self { destinations, timeout: None, retry: None, fault: None, hash_policy: Vec::new() }
    }
}
