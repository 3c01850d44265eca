use std::time::Duration;

use crate::ConfigError;

use super::{AttemptOutcome, RetryOn};

/// Exponential backoff with full jitter (Envoy's algorithm): before retry `n` (0-based)
/// wait a uniformly random time in `[0, min(base · 2ⁿ, max))`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    base: Duration,
    max: Duration,
}

impl Default for Backoff {
    /// Envoy's defaults: 25 ms base, 10× base maximum.
    fn default() -> Self {
        Self { base: Duration::from_millis(25), max: Duration::from_millis(250) }
    }
}

impl Backoff {
    /// `base > 0` and `max >= base`; `max` defaults to 10 × `base`.
    pub fn new(base: Duration, max: Option<Duration>) -> Result<Self, ConfigError> {
        if base.is_zero() {
            return Err(ConfigError::new("base_interval", "must be greater than 0"));
        }
        let max = max.unwrap_or(base * 10);
        if max < base {
            return Err(ConfigError::new("max_interval", "must not be less than base_interval"));
        }
        Ok(Self { base, max })
    }

    /// The wait before retry number `retry` (0 = first retry); `random` is a uniform `u64`.
    pub fn delay(&self, retry: u32, random: u64) -> Duration {
        let ceiling = self.base.saturating_mul(1u32 << retry.min(20)).min(self.max);
        let nanos = ceiling.as_nanos() as u64;
        if nanos == 0 { Duration::ZERO } else { Duration::from_nanos(random % nanos) }
    }

    /// The upper bound of any delay.
    pub fn max(&self) -> Duration {
        self.max
    }
}

/// When and how often to retry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    max_retries: u32,
    retry_on: RetryOn,
    retriable_status_codes: Vec<u16>,
    per_try_timeout: Option<Duration>,
    backoff: Backoff,
}

impl RetryPolicy {
    /// Up to `max_retries` retries (Istio's `attempts`) for the `retry_on` conditions.
    pub fn new(max_retries: u32, retry_on: RetryOn) -> Result<Self, ConfigError> {
        if max_retries > 100 {
            return Err(ConfigError::new("attempts", format!("{max_retries} retries is more than the maximum of 100")));
        }
        Ok(Self {
            max_retries,
            retry_on,
            retriable_status_codes: Vec::new(),
            per_try_timeout: None,
            backoff: Backoff::default(),
        })
    }

    /// Status codes retried under `retriable-status-codes`.
    pub fn with_retriable_status_codes(mut self, codes: Vec<u16>) -> Result<Self, ConfigError> {
        if let Some((i, c)) = codes.iter().enumerate().find(|(_, c)| !(100..=599).contains(*c)) {
            return Err(ConfigError::new(format!("retriable_status_codes[{i}]"), format!("{c} is not an HTTP status")));
        }
        self.retriable_status_codes = codes;
        Ok(self)
    }

    /// Timeout of each attempt.
    pub fn with_per_try_timeout(mut self, t: Duration) -> Result<Self, ConfigError> {
        if t.is_zero() {
            return Err(ConfigError::new("per_try_timeout", "must be greater than 0"));
        }
        self.per_try_timeout = Some(t);
        Ok(self)
    }

    /// Backoff between attempts.
    #[must_use]
    pub fn with_backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// Maximum number of retries (attempts = retries + 1).
    pub fn max_retries(&self) -> u32 {
        self.max_retries
    }
    /// The conditions.
    pub fn retry_on(&self) -> RetryOn {
        self.retry_on
    }
    /// Per-try timeout.
    pub fn per_try_timeout(&self) -> Option<Duration> {
        self.per_try_timeout
    }
    /// Backoff.
    pub fn backoff(&self) -> &Backoff {
        &self.backoff
    }

    /// Whether an attempt with this outcome should be retried under this policy
    /// (ignoring attempt counts and budgets, which the caller tracks).
    pub fn should_retry(&self, outcome: AttemptOutcome) -> bool {
        let on = self.retry_on;
        match outcome {
            AttemptOutcome::ConnectFailure => {
                on.contains(RetryOn::CONNECT_FAILURE) || on.contains(RetryOn::FIVE_XX) || on.contains(RetryOn::RESET)
            }
            AttemptOutcome::RefusedStream => {
                on.contains(RetryOn::REFUSED_STREAM) || on.contains(RetryOn::FIVE_XX) || on.contains(RetryOn::RESET)
            }
            AttemptOutcome::Reset => on.contains(RetryOn::RESET) || on.contains(RetryOn::FIVE_XX),
            AttemptOutcome::PerTryTimeout => {
                on.contains(RetryOn::FIVE_XX) || on.contains(RetryOn::GATEWAY_ERROR) || on.contains(RetryOn::RESET)
            }
            AttemptOutcome::Response { status, grpc_status } => {
                if let Some(g) = grpc_status {
                    let bit = match g {
                        1 => RetryOn::GRPC_CANCELLED,
                        4 => RetryOn::GRPC_DEADLINE_EXCEEDED,
                        8 => RetryOn::GRPC_RESOURCE_EXHAUSTED,
                        13 => RetryOn::GRPC_INTERNAL,
                        14 => RetryOn::GRPC_UNAVAILABLE,
                        _ => RetryOn::empty(),
                    };
                    if on.contains(bit) {
                        return true;
                    }
                }
                (status >= 500 && on.contains(RetryOn::FIVE_XX))
                    || (matches!(status, 502..=504) && on.contains(RetryOn::GATEWAY_ERROR))
                    || (status == 409 && on.contains(RetryOn::RETRIABLE_4XX))
                    || (on.contains(RetryOn::RETRIABLE_STATUS_CODES) && self.retriable_status_codes.contains(&status))
            }
        }
    }
}

/// How much extra load retries may add (see the module docs for why).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryBudgetPolicy {
    /// Retries allowed as a fraction of regular requests (0.2 = 20 %).
    pub retry_ratio: f32,
    /// Retries per second always allowed, whatever the ratio.
    pub min_retries_per_sec: u32,
    /// Window over which requests and retries are counted.
    pub ttl: Duration,
}

impl Default for RetryBudgetPolicy {
    /// Linkerd's and Envoy's defaults: 20 % extra load, 10 retries/s floor, 10 s window.
    fn default() -> Self {
        Self { retry_ratio: 0.2, min_retries_per_sec: 10, ttl: Duration::from_secs(10) }
    }
}

impl RetryBudgetPolicy {
    /// Validates the policy.
    pub fn new(retry_ratio: f32, min_retries_per_sec: u32, ttl: Duration) -> Result<Self, ConfigError> {
        if !(0.0..=1000.0).contains(&retry_ratio) {
            return Err(ConfigError::new("retry_ratio", format!("{retry_ratio} is not within [0, 1000]")));
        }
        if !(Duration::from_secs(1)..=Duration::from_secs(60)).contains(&ttl) {
            return Err(ConfigError::new("ttl", "must be between 1s and 60s"));
        }
        Ok(Self { retry_ratio, min_retries_per_sec, ttl })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(on: &str) -> RetryPolicy {
        RetryPolicy::new(2, RetryOn::parse(on).expect("valid")).expect("valid")
    }

    #[test]
    fn http_conditions() {
        let r = |status| AttemptOutcome::Response { status, grpc_status: None };
        assert!(policy("5xx").should_retry(r(500)));
        assert!(policy("5xx").should_retry(AttemptOutcome::Reset));
        assert!(!policy("gateway-error").should_retry(r(500)));
        assert!(policy("gateway-error").should_retry(r(503)));
        assert!(policy("gateway-error").should_retry(AttemptOutcome::PerTryTimeout));
        assert!(!policy("connect-failure").should_retry(AttemptOutcome::Reset));
        assert!(policy("connect-failure").should_retry(AttemptOutcome::ConnectFailure));
        assert!(policy("retriable-4xx").should_retry(r(409)));
        assert!(!policy("5xx").should_retry(r(404)));
        let codes = policy("retriable-status-codes").with_retriable_status_codes(vec![418]).expect("valid");
        assert!(codes.should_retry(r(418)));
        assert!(!codes.should_retry(r(500)));
    }

    #[test]
    fn grpc_conditions() {
        let g = |code| AttemptOutcome::Response { status: 200, grpc_status: Some(code) };
        assert!(policy("unavailable").should_retry(g(14)));
        assert!(!policy("unavailable").should_retry(g(13)));
        assert!(policy("internal,cancelled").should_retry(g(1)));
        assert!(!policy("5xx").should_retry(g(14)), "grpc codes are not 5xx");
    }

    #[test]
    fn unknown_condition_is_named() {
        let err = RetryOn::parse("5xx,bogus").expect_err("bogus");
        assert!(err.reason.contains("\"bogus\""), "{err}");
    }

    #[test]
    fn backoff_is_bounded_and_grows() {
        let b = Backoff::new(Duration::from_millis(10), Some(Duration::from_millis(100))).expect("valid");
        for retry in 0..10 {
            let cap = Duration::from_millis(10 * (1 << retry)).min(Duration::from_millis(100));
            for r in [0, 1, u64::MAX / 3, u64::MAX] {
                assert!(b.delay(retry, r) < cap);
            }
        }
        assert!(Backoff::new(Duration::ZERO, None).is_err());
    }
}
