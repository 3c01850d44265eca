//! `clusters[].circuit_breakers` and `clusters[].outlier_detection` of the static file.

use std::time::Duration;

use crate::ConfigError;
use crate::cluster::CircuitBreakers;
use crate::duration::parse_duration;
use crate::error::Within;
use crate::outlier::OutlierDetection;

use super::file::{CircuitBreakersFile, OutlierDetectionFile};

pub(super) fn circuit_breakers(f: &CircuitBreakersFile) -> CircuitBreakers {
    CircuitBreakers {
        max_connections: f.max_connections,
        max_pending_requests: f.max_pending_requests,
        max_requests: f.max_requests,
        max_retries: f.max_retries,
    }
}

/// Envoy's defaults for what is not set; validated when the cluster is built.
pub(super) fn outlier_detection(f: &OutlierDetectionFile) -> Result<OutlierDetection, ConfigError> {
    let d = OutlierDetection::default();
    let duration = |field: &str, v: &Option<String>, default: Duration| {
        v.as_deref().map(parse_duration).transpose().within(field).map(|v| v.unwrap_or(default))
    };
    let base_ejection_time = duration("base_ejection_time", &f.base_ejection_time, d.base_ejection_time)?;
    let mut od = OutlierDetection {
        consecutive_5xx: f.consecutive_5xx.unwrap_or(d.consecutive_5xx),
        enforcing_consecutive_5xx: f.enforcing_consecutive_5xx.unwrap_or(d.enforcing_consecutive_5xx),
        consecutive_gateway_failure: f.consecutive_gateway_failure.unwrap_or(d.consecutive_gateway_failure),
        enforcing_consecutive_gateway_failure: f
            .enforcing_consecutive_gateway_failure
            .unwrap_or(d.enforcing_consecutive_gateway_failure),
        split_external_local_origin_errors: f.split_external_local_origin_errors.unwrap_or(false),
        consecutive_local_origin_failure: f
            .consecutive_local_origin_failure
            .unwrap_or(d.consecutive_local_origin_failure),
        enforcing_consecutive_local_origin_failure: f
            .enforcing_consecutive_local_origin_failure
            .unwrap_or(d.enforcing_consecutive_local_origin_failure),
        interval: duration("interval", &f.interval, d.interval)?,
        base_ejection_time,
        // Envoy: unset is 300 s, or the base ejection time if that is longer.
        max_ejection_time: duration(
            "max_ejection_time",
            &f.max_ejection_time,
            d.max_ejection_time.max(base_ejection_time),
        )?,
        max_ejection_time_jitter: duration("max_ejection_time_jitter", &f.max_ejection_time_jitter, Duration::ZERO)?,
        max_ejection_percent: f.max_ejection_percent.unwrap_or(d.max_ejection_percent),
        always_eject_one_host: f.always_eject_one_host.unwrap_or(false),
        ..d
    };
    if let Some(sr) = &f.success_rate {
        let s = &mut od.success_rate;
        s.minimum_hosts = sr.minimum_hosts.unwrap_or(s.minimum_hosts);
        s.request_volume = sr.request_volume.unwrap_or(s.request_volume);
        s.stdev_factor = sr.stdev_factor.unwrap_or(s.stdev_factor);
        s.enforcing = sr.enforcing.unwrap_or(s.enforcing);
        s.enforcing_local_origin = sr.enforcing_local_origin.unwrap_or(s.enforcing_local_origin);
    }
    if let Some(fp) = &f.failure_percentage {
        let p = &mut od.failure_percentage;
        p.threshold = fp.threshold.unwrap_or(p.threshold);
        p.minimum_hosts = fp.minimum_hosts.unwrap_or(p.minimum_hosts);
        p.request_volume = fp.request_volume.unwrap_or(p.request_volume);
        p.enforcing = fp.enforcing.unwrap_or(p.enforcing);
        p.enforcing_local_origin = fp.enforcing_local_origin.unwrap_or(p.enforcing_local_origin);
    }
    Ok(od)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::config::from_yaml;

    #[test]
    fn limits_and_outlier_detection_with_envoy_defaults() {
        let s = from_yaml(
            "clusters:
  - name: c
    circuit_breakers: { max_requests: 10, max_retries: 2 }
    outlier_detection: { consecutive_5xx: 3, interval: 1s, base_ejection_time: 400s, success_rate: { enforcing: 0 } }",
        )
        .expect("valid");
        let c = s.cluster("c").expect("cluster");
        assert_eq!((c.circuit_breakers().max_requests, c.circuit_breakers().max_retries), (Some(10), Some(2)));
        assert_eq!(c.circuit_breakers().max_connections, None, "unset is unlimited");
        let od = c.outlier_detection().expect("outlier detection");
        assert_eq!((od.consecutive_5xx, od.interval), (3, Duration::from_secs(1)));
        assert_eq!(od.max_ejection_time, Duration::from_secs(400), "at least the base ejection time");
        assert_eq!((od.max_ejection_percent, od.success_rate.enforcing), (10, 0));
        assert!(
            from_yaml("clusters: [{ name: c }]").expect("valid").cluster("c").expect("c").outlier_detection().is_none()
        );
    }

    #[test]
    fn errors_name_the_field() {
        let e =
            from_yaml("clusters: [{ name: c, outlier_detection: { max_ejection_percent: 150 } }]").expect_err("bad");
        assert_eq!(e.field, "clusters[0].outlier_detection.max_ejection_percent");
        let e = from_yaml("clusters: [{ name: c, outlier_detection: { interval: soon } }]").expect_err("bad");
        assert_eq!(e.field, "clusters[0].outlier_detection.interval");
        let e = from_yaml("clusters: [{ name: c, circuit_breakers: { max_streams: 1 } }]").expect_err("unknown");
        assert!(e.reason.contains("max_streams"), "{e}");
    }
}
