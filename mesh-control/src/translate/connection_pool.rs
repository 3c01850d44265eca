//! A DestinationRule's `connectionPool` and `outlierDetection` → the cluster's circuit
//! breakers, HTTP protocol options and outlier detection, exactly as istiod's cluster
//! builder maps them (`applyConnectionPool`, `applyH2Upgrade`, `applyOutlierDetection`):
//!
//! - circuit breakers, on every cluster: one DEFAULT-priority threshold, every limit
//!   2³²−1 ("unlimited") with `track_remaining`, overridden by `tcp.maxConnections`,
//!   `http.http1MaxPendingRequests`, `http.http2MaxRequests`, `http.maxRetries` when
//!   greater than 0 (Istio cannot tell 0 from unset either);
//! - `HttpProtocolOptions.common_http_protocol_options`: `idle_timeout`
//!   (`http.idleTimeout`, else `tcp.idleTimeout`), `max_requests_per_connection`,
//!   `max_connection_duration`; `http.maxConcurrentStreams` on an explicit HTTP/2 config;
//!   `http.useClientProtocol` → use the downstream protocol; `h2UpgradePolicy: UPGRADE`
//!   → HTTP/2 (decided in `cluster.rs`);
//! - `tcp.tcpKeepalive` → `upstream_connection_options.tcp_keepalive`;
//! - outlier detection: success-rate ejection off (`enforcing_success_rate` 0),
//!   `consecutive5xxErrors` / `consecutiveGatewayErrors` with enforcement 100 % when
//!   greater than 0 (and 0 % when 0), `interval`, `baseEjectionTime`,
//!   `maxEjectionPercent` (when > 0), `splitExternalLocalOriginErrors` with
//!   `consecutiveLocalOriginFailures`, and `common_lb_config.healthy_panic_threshold` =
//!   `minHealthPercent` (0 when unset: no panic routing). The deprecated
//!   `consecutiveErrors` is ignored, as istiod ignores it.
//!
//! Mesh clients enforce the circuit breakers and outlier detection; the connection
//! management options are for Envoy (warned in `unsupported/`).

use envoy_types::pb::envoy::config::cluster::v3::circuit_breakers::Thresholds;
use envoy_types::pb::envoy::config::cluster::v3::cluster::CommonLbConfig;
use envoy_types::pb::envoy::config::cluster::v3::{
    CircuitBreakers, Cluster, OutlierDetection as PbOutlierDetection, UpstreamConnectionOptions,
};
use envoy_types::pb::envoy::config::core::v3::{HttpProtocolOptions as CommonOptions, TcpKeepalive};
use envoy_types::pb::envoy::extensions::upstreams::http::v3::HttpProtocolOptions;
use envoy_types::pb::envoy::extensions::upstreams::http::v3::http_protocol_options::explicit_http_config::ProtocolConfig;
use envoy_types::pb::envoy::extensions::upstreams::http::v3::http_protocol_options::{
    UpstreamProtocolOptions, UseDownstreamHttpConfig,
};
use envoy_types::pb::envoy::r#type::v3::Percent;
use envoy_types::pb::google::protobuf::{Duration as PbDuration, UInt32Value};
use mesh_core::duration::parse_duration;

use super::proto::duration;
use crate::istio::{ConnectionPoolSettings, OutlierDetection};

fn u32_value(value: u32) -> Option<UInt32Value> {
    Some(UInt32Value { value })
}

/// A positive Istio integer; 0 and negatives mean "unset".
fn positive(v: Option<i32>) -> Option<u32> {
    v.and_then(|v| u32::try_from(v).ok()).filter(|v| *v > 0)
}

/// A valid Istio duration (validation has checked it) as a protobuf one.
fn pb_duration(v: Option<&String>) -> Option<PbDuration> {
    v.and_then(|s| parse_duration(s).ok()).map(duration)
}

/// istiod's default thresholds with the pool's limits.
pub(crate) fn circuit_breakers(pool: Option<&ConnectionPoolSettings>) -> CircuitBreakers {
    let mut t = Thresholds {
        max_connections: u32_value(u32::MAX),
        max_pending_requests: u32_value(u32::MAX),
        max_requests: u32_value(u32::MAX),
        max_retries: u32_value(u32::MAX),
        track_remaining: true,
        ..Default::default()
    };
    if let Some(http) = pool.and_then(|p| p.http.as_ref()) {
        if let Some(v) = positive(http.http2_max_requests) {
            t.max_requests = u32_value(v);
        }
        if let Some(v) = positive(http.http1_max_pending_requests) {
            t.max_pending_requests = u32_value(v);
        }
        if let Some(v) = positive(http.max_retries) {
            t.max_retries = u32_value(v);
        }
    }
    if let Some(v) = positive(pool.and_then(|p| p.tcp.as_ref()).and_then(|t| t.max_connections)) {
        t.max_connections = u32_value(v);
    }
    CircuitBreakers { thresholds: vec![t], ..Default::default() }
}

/// The pool's HTTP connection options, merged into `options` (which may carry the
/// explicit HTTP/2 config); `None` when nothing is set and there was nothing before.
pub(crate) fn http_options(
    pool: Option<&ConnectionPoolSettings>,
    options: Option<HttpProtocolOptions>,
) -> Option<HttpProtocolOptions> {
    let (http, tcp) = (pool.and_then(|p| p.http.as_ref()), pool.and_then(|p| p.tcp.as_ref()));
    let idle_timeout = pb_duration(http.and_then(|h| h.idle_timeout.as_ref()))
        .or_else(|| pb_duration(tcp.and_then(|t| t.idle_timeout.as_ref())));
    let per_connection = positive(http.and_then(|h| h.max_requests_per_connection));
    let max_duration = pb_duration(tcp.and_then(|t| t.max_connection_duration.as_ref()));
    let streams = positive(http.and_then(|h| h.max_concurrent_streams));
    let client_protocol = http.and_then(|h| h.use_client_protocol) == Some(true);
    let common = idle_timeout.is_some() || per_connection.is_some() || max_duration.is_some();
    if !common && streams.is_none() && !client_protocol {
        return options;
    }
    let mut o = options.unwrap_or_default();
    if common {
        let c = o.common_http_protocol_options.get_or_insert_with(CommonOptions::default);
        c.idle_timeout = idle_timeout.or(c.idle_timeout);
        c.max_requests_per_connection = per_connection.map(|value| UInt32Value { value });
        c.max_connection_duration = max_duration;
    }
    if let Some(v) = streams
        && let Some(UpstreamProtocolOptions::ExplicitHttpConfig(e)) = &mut o.upstream_protocol_options
        && let Some(ProtocolConfig::Http2ProtocolOptions(h2)) = &mut e.protocol_config
    {
        h2.max_concurrent_streams = u32_value(v);
    }
    if client_protocol {
        o.upstream_protocol_options =
            Some(UpstreamProtocolOptions::UseDownstreamProtocolConfig(UseDownstreamHttpConfig::default()));
    }
    Some(o)
}

/// `tcp.tcpKeepalive` → `upstream_connection_options`.
pub(crate) fn tcp_keepalive(c: &mut Cluster, pool: Option<&ConnectionPoolSettings>) {
    let Some(k) = pool.and_then(|p| p.tcp.as_ref()).and_then(|t| t.tcp_keepalive.as_ref()) else { return };
    let secs = |v: Option<&String>| {
        v.and_then(|s| parse_duration(s).ok()).map(|d| u32::try_from(d.as_secs()).unwrap_or(u32::MAX))
    };
    c.upstream_connection_options = Some(UpstreamConnectionOptions {
        tcp_keepalive: Some(TcpKeepalive {
            keepalive_probes: k.probes.and_then(u32_value),
            keepalive_time: secs(k.time.as_ref()).and_then(u32_value),
            keepalive_interval: secs(k.interval.as_ref()).and_then(u32_value),
        }),
        ..Default::default()
    });
}

/// `outlierDetection` → the cluster's, and the panic threshold.
pub(crate) fn outlier_detection(c: &mut Cluster, o: Option<&OutlierDetection>) {
    let Some(o) = o else { return };
    let enforcing = |v: u32| u32_value(if v > 0 { 100 } else { 0 });
    let mut out = PbOutlierDetection { enforcing_success_rate: u32_value(0), ..Default::default() };
    if let Some(v) = o.consecutive_5xx_errors {
        out.consecutive_5xx = u32_value(v);
        out.enforcing_consecutive_5xx = enforcing(v);
    }
    if let Some(v) = o.consecutive_gateway_errors {
        out.consecutive_gateway_failure = u32_value(v);
        out.enforcing_consecutive_gateway_failure = enforcing(v);
    }
    out.interval = pb_duration(o.interval.as_ref());
    out.base_ejection_time = pb_duration(o.base_ejection_time.as_ref());
    out.max_ejection_percent = positive(o.max_ejection_percent).and_then(u32_value);
    if o.split_external_local_origin_errors == Some(true) {
        out.split_external_local_origin_errors = true;
        if let Some(v) = o.consecutive_local_origin_failures.filter(|v| *v > 0) {
            out.consecutive_local_origin_failure = u32_value(v);
            out.enforcing_consecutive_local_origin_failure = u32_value(100);
        }
        out.enforcing_local_origin_success_rate = u32_value(0);
    }
    c.outlier_detection = Some(out);
    let min_health = o.min_health_percent.unwrap_or(0);
    if min_health >= 0 {
        c.common_lb_config.get_or_insert_with(CommonLbConfig::default).healthy_panic_threshold =
            Some(Percent { value: f64::from(min_health) });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::istio::{HttpSettings, TcpKeepalive as IstioKeepalive, TcpSettings};

    #[test]
    fn pool_settings_as_istiod_maps_them() {
        let pool = ConnectionPoolSettings {
            tcp: Some(TcpSettings {
                max_connections: Some(10),
                idle_timeout: Some("30s".into()),
                tcp_keepalive: Some(IstioKeepalive { probes: Some(3), time: Some("60s".into()), interval: None }),
                ..Default::default()
            }),
            http: Some(HttpSettings {
                http1_max_pending_requests: Some(5),
                // 0 is "unset" to istiod.
                http2_max_requests: Some(0),
                max_retries: Some(2),
                max_requests_per_connection: Some(100),
                idle_timeout: Some("5s".into()),
                ..Default::default()
            }),
        };
        let t = &circuit_breakers(Some(&pool)).thresholds[0];
        let v = |x: &Option<UInt32Value>| x.as_ref().map(|v| v.value);
        assert_eq!(
            (v(&t.max_connections), v(&t.max_pending_requests), v(&t.max_requests), v(&t.max_retries)),
            (Some(10), Some(5), Some(u32::MAX), Some(2))
        );
        assert!(t.track_remaining);
        let o = http_options(Some(&pool), None).expect("common options");
        let c = o.common_http_protocol_options.expect("common");
        assert_eq!(c.idle_timeout.map(|d| d.seconds), Some(5), "http.idleTimeout wins over tcp.idleTimeout");
        assert_eq!(v(&c.max_requests_per_connection), Some(100));
        assert!(http_options(None, None).is_none());

        let mut cl = Cluster::default();
        tcp_keepalive(&mut cl, Some(&pool));
        let k = cl.upstream_connection_options.and_then(|u| u.tcp_keepalive).expect("keepalive");
        assert_eq!((v(&k.keepalive_probes), v(&k.keepalive_time), v(&k.keepalive_interval)), (Some(3), Some(60), None));
    }

    #[test]
    fn outlier_detection_as_istiod_maps_it() {
        let mut c = Cluster::default();
        let o = OutlierDetection {
            consecutive_5xx_errors: Some(0),
            consecutive_gateway_errors: Some(3),
            split_external_local_origin_errors: Some(true),
            consecutive_local_origin_failures: Some(2),
            base_ejection_time: Some("1m".into()),
            max_ejection_percent: Some(50),
            ..Default::default()
        };
        outlier_detection(&mut c, Some(&o));
        let out = c.outlier_detection.expect("emitted");
        let v = |x: &Option<UInt32Value>| x.as_ref().map(|v| v.value);
        assert_eq!((v(&out.consecutive_5xx), v(&out.enforcing_consecutive_5xx)), (Some(0), Some(0)), "0 disables");
        assert_eq!(
            (v(&out.consecutive_gateway_failure), v(&out.enforcing_consecutive_gateway_failure)),
            (Some(3), Some(100))
        );
        assert_eq!((v(&out.enforcing_success_rate), v(&out.enforcing_local_origin_success_rate)), (Some(0), Some(0)));
        assert!(out.split_external_local_origin_errors);
        assert_eq!(v(&out.consecutive_local_origin_failure), Some(2));
        assert_eq!((out.base_ejection_time.map(|d| d.seconds), v(&out.max_ejection_percent)), (Some(60), Some(50)));
        assert_eq!(out.interval, None, "unset: Envoy's default");
        let panic = c.common_lb_config.and_then(|l| l.healthy_panic_threshold).map(|p| p.value);
        assert_eq!(panic, Some(0.0), "minHealthPercent unset: panic routing off");
    }
}
