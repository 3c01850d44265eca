use std::time::Duration;

use crate::ConfigError;

/// Outlier detection settings of a cluster (Envoy's `OutlierDetection`). `Default` is
/// Envoy's defaults; [`validate`](Self::validate) checks Envoy's bounds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutlierDetection {
    /// 5xx responses (and, unsplit, local-origin failures) in a row that eject (default
    /// 5; 0 never ejects).
    pub consecutive_5xx: u32,
    /// Percent chance that a consecutive-5xx ejection is enforced (default 100).
    pub enforcing_consecutive_5xx: u32,
    /// 502/503/504 responses (and, unsplit, local-origin failures) in a row that eject
    /// (default 5).
    pub consecutive_gateway_failure: u32,
    /// Percent chance that a gateway-failure ejection is enforced (default 0).
    pub enforcing_consecutive_gateway_failure: u32,
    /// Count connection failures and timeouts apart from HTTP statuses (default false).
    pub split_external_local_origin_errors: bool,
    /// Local-origin failures in a row that eject, when split (default 5).
    pub consecutive_local_origin_failure: u32,
    /// Percent chance that a local-origin ejection is enforced (default 100).
    pub enforcing_consecutive_local_origin_failure: u32,
    /// How often ejections are reviewed (default 10 s).
    pub interval: Duration,
    /// The time of a first ejection (default 30 s).
    pub base_ejection_time: Duration,
    /// The longest ejection (default 300 s, or `base_ejection_time` if longer).
    pub max_ejection_time: Duration,
    /// Up to this much random time is added to each ejection (default 0).
    pub max_ejection_time_jitter: Duration,
    /// At most this percent of the cluster's endpoints are ejected at once (default 10).
    pub max_ejection_percent: u32,
    /// Eject one endpoint even when `max_ejection_percent` allows none (default false).
    pub always_eject_one_host: bool,
    /// Success-rate ejection.
    pub success_rate: SuccessRateEjection,
    /// Failure-percentage ejection.
    pub failure_percentage: FailurePercentageEjection,
}

/// Ejects endpoints whose success rate over the last interval is below the cluster's
/// mean minus `stdev_factor / 1000` standard deviations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SuccessRateEjection {
    /// Endpoints with enough requests needed before it runs (default 5).
    pub minimum_hosts: u32,
    /// Requests an endpoint needs in the interval to be considered (default 100).
    pub request_volume: u32,
    /// Standard deviations × 1000 (default 1900).
    pub stdev_factor: u32,
    /// Percent chance that an ejection is enforced (default 100; 0 turns it off).
    pub enforcing: u32,
    /// The same for local-origin success rate, when split (default 100).
    pub enforcing_local_origin: u32,
}

/// Ejects endpoints whose failure percentage over the last interval is at least
/// `threshold`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailurePercentageEjection {
    /// Failure percentage that ejects (default 85).
    pub threshold: u32,
    /// Endpoints with enough requests needed before it runs (default 5).
    pub minimum_hosts: u32,
    /// Requests an endpoint needs in the interval to be considered (default 50).
    pub request_volume: u32,
    /// Percent chance that an ejection is enforced (default 0: off).
    pub enforcing: u32,
    /// The same for local-origin failures, when split (default 0).
    pub enforcing_local_origin: u32,
}

impl Default for OutlierDetection {
    fn default() -> Self {
        Self {
            consecutive_5xx: 5,
            enforcing_consecutive_5xx: 100,
            consecutive_gateway_failure: 5,
            enforcing_consecutive_gateway_failure: 0,
            split_external_local_origin_errors: false,
            consecutive_local_origin_failure: 5,
            enforcing_consecutive_local_origin_failure: 100,
            interval: Duration::from_secs(10),
            base_ejection_time: Duration::from_secs(30),
            max_ejection_time: Duration::from_secs(300),
            max_ejection_time_jitter: Duration::ZERO,
            max_ejection_percent: 10,
            always_eject_one_host: false,
            success_rate: SuccessRateEjection::default(),
            failure_percentage: FailurePercentageEjection::default(),
        }
    }
}

impl Default for SuccessRateEjection {
    fn default() -> Self {
        Self { minimum_hosts: 5, request_volume: 100, stdev_factor: 1900, enforcing: 100, enforcing_local_origin: 100 }
    }
}

impl Default for FailurePercentageEjection {
    fn default() -> Self {
        Self { threshold: 85, minimum_hosts: 5, request_volume: 50, enforcing: 0, enforcing_local_origin: 0 }
    }
}

impl OutlierDetection {
    /// Checks Envoy's bounds: durations greater than zero, `max_ejection_time` not below
    /// `base_ejection_time`, percentages within 0..=100.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let positive = [
            ("interval", self.interval),
            ("base_ejection_time", self.base_ejection_time),
            ("max_ejection_time", self.max_ejection_time),
        ];
        for (field, d) in positive {
            if d.is_zero() {
                return Err(ConfigError::new(field, "must be greater than 0"));
            }
        }
        if self.max_ejection_time < self.base_ejection_time {
            return Err(ConfigError::new(
                "max_ejection_time",
                format!(
                    "{:?} is shorter than base_ejection_time {:?}",
                    self.max_ejection_time, self.base_ejection_time
                ),
            ));
        }
        let percents = [
            ("enforcing_consecutive_5xx", self.enforcing_consecutive_5xx),
            ("enforcing_consecutive_gateway_failure", self.enforcing_consecutive_gateway_failure),
            ("enforcing_consecutive_local_origin_failure", self.enforcing_consecutive_local_origin_failure),
            ("max_ejection_percent", self.max_ejection_percent),
            ("enforcing_success_rate", self.success_rate.enforcing),
            ("enforcing_local_origin_success_rate", self.success_rate.enforcing_local_origin),
            ("failure_percentage_threshold", self.failure_percentage.threshold),
            ("enforcing_failure_percentage", self.failure_percentage.enforcing),
            ("enforcing_failure_percentage_local_origin", self.failure_percentage.enforcing_local_origin),
        ];
        for (field, p) in percents {
            if p > 100 {
                return Err(ConfigError::new(field, format!("{p} is not a percentage within [0, 100]")));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envoy_defaults_are_valid_and_bounds_are_named() {
        assert_eq!(OutlierDetection::default().validate(), Ok(()));
        let mut o = OutlierDetection { max_ejection_percent: 101, ..Default::default() };
        assert_eq!(o.validate().map_err(|e| e.field), Err("max_ejection_percent".into()));
        o = OutlierDetection { interval: Duration::ZERO, ..Default::default() };
        assert_eq!(o.validate().map_err(|e| e.field), Err("interval".into()));
        o = OutlierDetection { base_ejection_time: Duration::from_secs(400), ..Default::default() };
        assert_eq!(o.validate().map_err(|e| e.field), Err("max_ejection_time".into()));
    }
}
