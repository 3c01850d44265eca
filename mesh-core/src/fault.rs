//! Fault injection policy (Istio `HTTPFaultInjection`, Envoy's HTTP fault filter).
//!
//! Faults let a team test how callers cope with a slow or failing dependency without
//! touching it: a delay or an abort applied to a percentage of requests, client-side.

use std::time::Duration;

use crate::ConfigError;

/// A percentage in `[0, 100]`, with fractions (Istio's `percentage.value`).
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Percent(f64);

impl Percent {
    /// 100 %.
    pub const ALL: Self = Self(100.0);

    /// Validates `value` ∈ [0, 100].
    pub fn new(value: f64) -> Result<Self, ConfigError> {
        if !(0.0..=100.0).contains(&value) {
            return Err(ConfigError::new("percentage", format!("{value} is not within [0, 100]")));
        }
        Ok(Self(value))
    }
    /// The value in [0, 100].
    pub fn value(self) -> f64 {
        self.0
    }
    /// Whether a uniformly random `u64` falls within the percentage.
    pub fn hit(self, random: u64) -> bool {
        // 1e6 buckets: resolution of 0.0001 %, as Envoy's FractionalPercent MILLION.
        let bucket = random % 1_000_000;
        (bucket as f64) < self.0 * 10_000.0
    }
}

/// How an aborted request fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AbortKind {
    /// An HTTP response with this status (200..=599, as Istio validates).
    Http(u16),
    /// A gRPC trailers-only response with this `grpc-status` (1..=16).
    Grpc(u8),
}

/// A delay applied before the request is forwarded.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FaultDelay {
    /// How long.
    pub duration: Duration,
    /// To which share of requests.
    pub percentage: Percent,
}

/// An abort that answers in place of the destination.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FaultAbort {
    /// With what.
    pub kind: AbortKind,
    /// To which share of requests.
    pub percentage: Percent,
}

/// Delay and/or abort.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct FaultPolicy {
    /// Optional delay.
    pub delay: Option<FaultDelay>,
    /// Optional abort.
    pub abort: Option<FaultAbort>,
}

impl FaultAbort {
    /// Validates the abort code.
    pub fn new(kind: AbortKind, percentage: Percent) -> Result<Self, ConfigError> {
        match kind {
            AbortKind::Http(s) if !(200..=599).contains(&s) => {
                Err(ConfigError::new("http_status", format!("{s} is not within [200, 599]")))
            }
            AbortKind::Grpc(c) if !(1..=16).contains(&c) => {
                Err(ConfigError::new("grpc_status", format!("{c} is not a gRPC error code (1..=16)")))
            }
            _ => Ok(Self { kind, percentage }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_bounds() {
        assert!(Percent::new(-0.1).is_err());
        assert!(Percent::new(100.1).is_err());
        let zero = Percent::new(0.0).expect("valid");
        let all = Percent::new(100.0).expect("valid");
        for r in [0, 1, 999_999, u64::MAX] {
            assert!(!zero.hit(r));
            assert!(all.hit(r));
        }
    }
}
