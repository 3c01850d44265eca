//! A cluster's `outlier_detection` → [`OutlierDetection`], with Envoy's defaults for
//! unset fields (`consecutive_5xx` 5, `interval` 10 s, `base_ejection_time` 30 s,
//! `max_ejection_percent` 10, success-rate ejection on, …; see `mesh_core::outlier`).
//! Every field the client implements is taken: the consecutive 5xx / gateway /
//! local-origin rules, success rate, failure percentage, ejection times, jitter,
//! `always_eject_one_host`.
//!
//! Rejected: `monitors` (outlier-detection extensions). Ignored:
//! `successful_active_health_check_uneject_host` (the client runs no active health
//! checks), and the cluster's `common_lb_config.healthy_panic_threshold` (istiod sets it
//! from `minHealthPercent`): like gRPC, the client never routes to ejected endpoints in
//! "panic"; when every endpoint is ejected, requests fail with "no healthy endpoint".

use std::time::Duration;

use envoy_types::pb::envoy::config::cluster::v3::OutlierDetection as PbOutlierDetection;
use envoy_types::pb::google::protobuf::{Duration as PbDuration, UInt32Value};
use mesh_core::outlier::OutlierDetection;

use super::field::{FieldResult, reject};
use super::value::duration;

pub(super) fn outlier_detection(o: &PbOutlierDetection) -> FieldResult<OutlierDetection> {
    if !o.monitors.is_empty() {
        return reject("monitors", "outlier-detection extension monitors are not supported");
    }
    let d = OutlierDetection::default();
    let u = |v: &Option<UInt32Value>, default: u32| v.as_ref().map_or(default, |v| v.value);
    let t = |v: &Option<PbDuration>, field: &str, default: Duration| -> FieldResult<Duration> {
        v.as_ref().map_or(Ok(default), |v| duration(v, field))
    };
    let base_ejection_time = t(&o.base_ejection_time, "base_ejection_time", d.base_ejection_time)?;
    let mut od = OutlierDetection {
        consecutive_5xx: u(&o.consecutive_5xx, d.consecutive_5xx),
        enforcing_consecutive_5xx: u(&o.enforcing_consecutive_5xx, d.enforcing_consecutive_5xx),
        consecutive_gateway_failure: u(&o.consecutive_gateway_failure, d.consecutive_gateway_failure),
        enforcing_consecutive_gateway_failure: u(
            &o.enforcing_consecutive_gateway_failure,
            d.enforcing_consecutive_gateway_failure,
        ),
        split_external_local_origin_errors: o.split_external_local_origin_errors,
        consecutive_local_origin_failure: u(&o.consecutive_local_origin_failure, d.consecutive_local_origin_failure),
        enforcing_consecutive_local_origin_failure: u(
            &o.enforcing_consecutive_local_origin_failure,
            d.enforcing_consecutive_local_origin_failure,
        ),
        interval: t(&o.interval, "interval", d.interval)?,
        base_ejection_time,
        // Envoy: unset is 300 s, or the base ejection time if that is longer.
        max_ejection_time: t(&o.max_ejection_time, "max_ejection_time", d.max_ejection_time.max(base_ejection_time))?,
        max_ejection_time_jitter: t(&o.max_ejection_time_jitter, "max_ejection_time_jitter", Duration::ZERO)?,
        max_ejection_percent: u(&o.max_ejection_percent, d.max_ejection_percent),
        always_eject_one_host: o.always_eject_one_host.as_ref().is_some_and(|b| b.value),
        ..d
    };
    let sr = &mut od.success_rate;
    sr.minimum_hosts = u(&o.success_rate_minimum_hosts, sr.minimum_hosts);
    sr.request_volume = u(&o.success_rate_request_volume, sr.request_volume);
    sr.stdev_factor = u(&o.success_rate_stdev_factor, sr.stdev_factor);
    sr.enforcing = u(&o.enforcing_success_rate, sr.enforcing);
    sr.enforcing_local_origin = u(&o.enforcing_local_origin_success_rate, sr.enforcing_local_origin);
    let fp = &mut od.failure_percentage;
    fp.threshold = u(&o.failure_percentage_threshold, fp.threshold);
    fp.minimum_hosts = u(&o.failure_percentage_minimum_hosts, fp.minimum_hosts);
    fp.request_volume = u(&o.failure_percentage_request_volume, fp.request_volume);
    fp.enforcing = u(&o.enforcing_failure_percentage, fp.enforcing);
    fp.enforcing_local_origin = u(&o.enforcing_failure_percentage_local_origin, fp.enforcing_local_origin);
    od.validate()?;
    Ok(od)
}
