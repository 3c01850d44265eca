//! Load-balancing pickers: pure, synchronous functions over a *ready set*.
//!
//! A picker is built once per ready set (when endpoints, weights or health change) and
//! then answers "which index?" for each request, reading only each endpoint's weight
//! and current in-flight count through [`LbEndpoint`]. It does no I/O and holds no
//! endpoint handles, which keeps it trivially unit-testable and benchmarkable, and lets
//! later policies (outlier ejection, health, locality priority) work by shaping the
//! ready set the picker is built over rather than by changing the pickers.
//!
//! Costs per pick: P2C and random are `O(1)` whatever the number of endpoints (an alias
//! table draws weighted candidates), ring hash is `O(log n)`, weighted round robin is
//! `O(log n)` (Envoy's EDF scheduler) and unweighted round robin is `O(1)`.

mod alias;
mod p2c;
mod ring_hash;
mod round_robin;

use std::borrow::Cow;

pub use alias::AliasTable;
pub use p2c::P2cPicker;
pub use ring_hash::{RingHashPicker, hash_key};
pub use round_robin::RoundRobinPicker;

use crate::ConfigError;

/// A cluster's load-balancing policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LbPolicy {
    /// Least request with `choice_count` random choices (P2C for 2), Envoy's
    /// `LEAST_REQUEST`. The default: it adapts to slow endpoints.
    LeastRequest {
        /// How many candidates to draw (≥ 2).
        choice_count: u32,
    },
    /// Weighted round robin.
    RoundRobin,
    /// Weighted random.
    Random,
    /// Consistent hashing on a ring (Envoy's `RING_HASH`, Istio's `consistentHash`).
    RingHash {
        /// Minimum ring entries (default 1024).
        min_ring_size: u64,
        /// Maximum ring entries (default 8M).
        max_ring_size: u64,
    },
}

impl Default for LbPolicy {
    fn default() -> Self {
        Self::LeastRequest { choice_count: 2 }
    }
}

impl LbPolicy {
    /// Least request with `choice_count` choices.
    pub fn least_request(choice_count: u32) -> Result<Self, ConfigError> {
        if choice_count < 2 {
            return Err(ConfigError::new("choice_count", "must be at least 2"));
        }
        Ok(Self::LeastRequest { choice_count })
    }

    /// Ring hash with explicit sizes.
    pub fn ring_hash(min_ring_size: u64, max_ring_size: u64) -> Result<Self, ConfigError> {
        if min_ring_size == 0 || max_ring_size > 8 * 1024 * 1024 || min_ring_size > max_ring_size {
            return Err(ConfigError::new("ring_hash", "need 1 <= minimum_ring_size <= maximum_ring_size <= 8388608"));
        }
        Ok(Self::RingHash { min_ring_size, max_ring_size })
    }

    /// Ring hash with Envoy's default sizes.
    pub fn ring_hash_default() -> Self {
        Self::RingHash { min_ring_size: 1024, max_ring_size: 8 * 1024 * 1024 }
    }
}

/// What a picker reads from an endpoint.
pub trait LbEndpoint {
    /// Load-balancing weight (≥ 1).
    fn weight(&self) -> u32;
    /// Requests currently in flight to the endpoint.
    fn in_flight(&self) -> u64;
    /// A stable identity for consistent hashing (e.g. `10.0.0.1:8080`).
    fn hash_key(&self) -> Cow<'_, str>;
}

/// Per-request input to a pick.
#[derive(Debug, Clone, Copy, Default)]
pub struct PickContext {
    /// The request hash for ring hash (from the route's hash policy).
    pub hash: Option<u64>,
}

/// A picker for one ready set. Build with [`Picker::build`]; pick with [`Picker::pick`]
/// passing the *same* endpoints in the same order.
#[derive(Debug)]
pub enum Picker {
    /// No endpoint to pick.
    Empty,
    /// Least request.
    P2c(P2cPicker),
    /// Round robin.
    RoundRobin(RoundRobinPicker),
    /// Weighted random.
    Random(AliasTable),
    /// Ring hash.
    RingHash(RingHashPicker),
}

impl Picker {
    /// Precomputes what `policy` needs over `endpoints`.
    pub fn build<E: LbEndpoint>(policy: &LbPolicy, endpoints: &[E]) -> Self {
        if endpoints.is_empty() {
            return Self::Empty;
        }
        match *policy {
            LbPolicy::LeastRequest { choice_count } => Self::P2c(P2cPicker::new(endpoints, choice_count)),
            LbPolicy::RoundRobin => Self::RoundRobin(RoundRobinPicker::new(endpoints)),
            LbPolicy::Random => Self::Random(AliasTable::new(endpoints.iter().map(LbEndpoint::weight))),
            LbPolicy::RingHash { min_ring_size, max_ring_size } => {
                Self::RingHash(RingHashPicker::new(endpoints, min_ring_size, max_ring_size))
            }
        }
    }

    /// Picks an index into `endpoints`; `None` only when the set is empty.
    pub fn pick<E: LbEndpoint>(&self, endpoints: &[E], ctx: &PickContext, rng: &mut fastrand::Rng) -> Option<usize> {
        if endpoints.is_empty() {
            return None;
        }
        if self.len() != endpoints.len() {
            // Built over another set: never index out of bounds; degrade to uniform.
            return Some(rng.usize(..endpoints.len()));
        }
        let i = match self {
            Self::Empty => return None,
            Self::P2c(p) => p.pick(endpoints, rng),
            Self::RoundRobin(p) => p.pick(),
            Self::Random(t) => t.sample(rng),
            Self::RingHash(p) => p.pick(ctx.hash.unwrap_or_else(|| rng.u64(..))),
        };
        Some(i.min(endpoints.len() - 1))
    }

    /// The size of the set the picker was built over.
    pub fn len(&self) -> usize {
        match self {
            Self::Empty => 0,
            Self::P2c(p) => p.len(),
            Self::RoundRobin(p) => p.len(),
            Self::Random(t) => t.len(),
            Self::RingHash(p) => p.len(),
        }
    }

    /// Whether it was built over an empty set.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
pub(crate) mod test_support {
    use std::borrow::Cow;

    use super::LbEndpoint;

    /// An endpoint for picker tests.
    #[derive(Debug, Clone)]
    pub(crate) struct Ep {
        pub(crate) weight: u32,
        pub(crate) in_flight: u64,
        pub(crate) key: String,
    }

    impl LbEndpoint for Ep {
        fn weight(&self) -> u32 {
            self.weight
        }
        fn in_flight(&self) -> u64 {
            self.in_flight
        }
        fn hash_key(&self) -> Cow<'_, str> {
            Cow::Borrowed(&self.key)
        }
    }

    pub(crate) fn eps(weights: &[u32]) -> Vec<Ep> {
        weights
            .iter()
            .enumerate()
            .map(|(i, &w)| Ep { weight: w, in_flight: 0, key: format!("10.0.0.{i}:80") })
            .collect()
    }
}
