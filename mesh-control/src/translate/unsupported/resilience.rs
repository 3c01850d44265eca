//! `connectionPool` and `outlierDetection` settings mesh clients do not enforce.
//!
//! Mesh clients enforce the circuit breakers (`tcp.maxConnections`,
//! `http.http1MaxPendingRequests`, `http.http2MaxRequests`, `http.maxRetries`),
//! `tcp.connectTimeout`, `h2UpgradePolicy`, `useClientProtocol` and outlier detection;
//! the connection-management options below are emitted for Envoy and warned about.

use super::super::warnings::{EMITTED_NOT_ENFORCED, Warnings};
use crate::istio::{ConnectionPoolSettings, OutlierDetection};

pub(super) fn connection_pool(me: &str, at: &str, pool: &ConnectionPoolSettings, w: &mut Warnings) {
    let mut warn = |field: &str| w.add(me, format!("{at}.{field}: {EMITTED_NOT_ENFORCED}"));
    if let Some(tcp) = &pool.tcp {
        if tcp.tcp_keepalive.is_some() {
            warn("tcp.tcpKeepalive");
        }
        if tcp.max_connection_duration.is_some() {
            warn("tcp.maxConnectionDuration");
        }
        if tcp.idle_timeout.is_some() {
            warn("tcp.idleTimeout");
        }
    }
    if let Some(http) = &pool.http {
        if http.idle_timeout.is_some() {
            warn("http.idleTimeout");
        }
        if http.max_requests_per_connection.is_some_and(|v| v > 0) {
            warn("http.maxRequestsPerConnection");
        }
        if http.max_concurrent_streams.is_some_and(|v| v > 0) {
            warn("http.maxConcurrentStreams");
        }
    }
}

pub(super) fn outlier_detection(me: &str, at: &str, o: &OutlierDetection, w: &mut Warnings) {
    if o.consecutive_errors.is_some() {
        w.add(
            me,
            format!("{at}.consecutiveErrors: deprecated and ignored, as by istiod (use consecutive5xxErrors or consecutiveGatewayErrors)"),
        );
    }
    if o.min_health_percent.is_some_and(|p| p > 0) {
        w.add(
            me,
            format!("{at}.minHealthPercent: emitted as the panic threshold; mesh clients never route to ejected endpoints (no panic mode)"),
        );
    }
}
