//! DestinationRule rules: the host, subsets (named, unique), and traffic policies at
//! every level (rule, subset, port).

use std::collections::BTreeSet;
use std::time::Duration;

use super::Findings;
use crate::istio::model::{
    ClientTlsMode, ClientTlsSettings, ConnectionPoolSettings, DestinationRule, LoadBalancerSettings, OutlierDetection,
    TrafficPolicy,
};
use crate::istio::path::FieldPath;

const MILLISECOND: Duration = Duration::from_millis(1);

/// Checks one DestinationRule.
pub(crate) fn check_destination_rule(dr: &DestinationRule) -> Findings {
    let mut f = Findings::default();
    let spec = FieldPath::spec();
    f.host(spec.key("host"), &dr.host);
    if let Some(p) = &dr.traffic_policy {
        traffic_policy(&mut f, spec.key("trafficPolicy"), p);
    }
    let mut names = BTreeSet::new();
    for (i, s) in dr.subsets.iter().enumerate() {
        let at = spec.key("subsets").index(i);
        if s.name.is_empty() {
            f.push(at.key("name"), "subset name is required");
        } else if !names.insert(s.name.as_str()) {
            f.push(at.key("name"), format!("duplicate subset name {:?}", s.name));
        }
        f.labels(at.key("labels"), &s.labels);
        if let Some(p) = &s.traffic_policy {
            traffic_policy(&mut f, at.key("trafficPolicy"), p);
        }
    }
    if let Some(sel) = &dr.workload_selector {
        f.labels(spec.key("workloadSelector").key("matchLabels"), &sel.match_labels);
    }
    f
}

fn traffic_policy(f: &mut Findings, at: FieldPath, p: &TrafficPolicy) {
    policy_parts(
        f,
        &at,
        p.load_balancer.as_ref(),
        p.connection_pool.as_ref(),
        p.outlier_detection.as_ref(),
        p.tls.as_ref(),
    );
    let mut ports = BTreeSet::new();
    for (i, pl) in p.port_level_settings.iter().enumerate() {
        let at = at.key("portLevelSettings").index(i);
        match pl.port.and_then(|p| p.number) {
            None => f.push(at.key("port"), "port.number is required"),
            Some(n) => {
                f.port(at.key("port").key("number"), n);
                if !ports.insert(n) {
                    f.push(at.key("port").key("number"), format!("duplicate settings for port {n}"));
                }
            }
        }
        policy_parts(
            f,
            &at,
            pl.load_balancer.as_ref(),
            pl.connection_pool.as_ref(),
            pl.outlier_detection.as_ref(),
            pl.tls.as_ref(),
        );
    }
    if let Some(t) = &p.tunnel {
        let at = at.key("tunnel");
        if t.target_host.is_empty() {
            f.push(at.key("targetHost"), "targetHost is required");
        }
        f.port(at.key("targetPort"), t.target_port);
        if let Some(proto) = &t.protocol
            && proto != "CONNECT"
            && proto != "POST"
        {
            f.push(at.key("protocol"), format!("tunnel protocol {proto:?} is not CONNECT or POST"));
        }
    }
    if let Some(pp) = &p.proxy_protocol
        && let Some(v) = &pp.version
        && v != "V1"
        && v != "V2"
    {
        f.push(at.key("proxyProtocol").key("version"), format!("version {v:?} is not V1 or V2"));
    }
}

fn policy_parts(
    f: &mut Findings,
    at: &FieldPath,
    lb: Option<&LoadBalancerSettings>,
    pool: Option<&ConnectionPoolSettings>,
    outlier: Option<&OutlierDetection>,
    tls: Option<&ClientTlsSettings>,
) {
    if let Some(lb) = lb {
        load_balancer(f, at.key("loadBalancer"), lb);
    }
    if let Some(pool) = pool {
        connection_pool(f, at.key("connectionPool"), pool);
    }
    if let Some(o) = outlier {
        outlier_detection(f, at.key("outlierDetection"), o);
    }
    if let Some(t) = tls {
        client_tls(f, at.key("tls"), t);
    }
}

fn load_balancer(f: &mut Findings, at: FieldPath, lb: &LoadBalancerSettings) {
    if lb.simple.is_some() && lb.consistent_hash.is_some() {
        f.push(at.clone(), "simple and consistentHash exclude each other");
    }
    if let Some(ch) = &lb.consistent_hash {
        let at = at.key("consistentHash");
        let keys = [
            ch.http_header_name.is_some(),
            ch.http_cookie.is_some(),
            ch.use_source_ip.unwrap_or(false),
            ch.http_query_parameter_name.is_some(),
        ];
        match keys.iter().filter(|k| **k).count() {
            0 => f.push(
                at.clone(),
                "one of httpHeaderName, httpCookie, useSourceIp or httpQueryParameterName is required",
            ),
            1 => {}
            _ => f.push(
                at.clone(),
                "httpHeaderName, httpCookie, useSourceIp and httpQueryParameterName exclude each other",
            ),
        }
        if ch.http_header_name.as_ref().is_some_and(String::is_empty) {
            f.push(at.key("httpHeaderName"), "header name must not be empty");
        }
        if let Some(c) = &ch.http_cookie {
            if c.name.is_empty() {
                f.push(at.key("httpCookie").key("name"), "cookie name is required");
            }
            f.duration(at.key("httpCookie").key("ttl"), c.ttl.as_ref(), Duration::ZERO);
        }
        if ch.ring_hash.is_some() && ch.maglev.is_some() {
            f.push(at.clone(), "ringHash and maglev exclude each other");
        }
        if ch.minimum_ring_size.is_some() && (ch.ring_hash.is_some() || ch.maglev.is_some()) {
            f.push(
                at.key("minimumRingSize"),
                "the deprecated minimumRingSize cannot be combined with ringHash or maglev",
            );
        }
    }
    if let Some(l) = &lb.locality_lb_setting
        && !l.distribute.is_empty()
        && !l.failover.is_empty()
    {
        f.push(at.key("localityLbSetting"), "distribute and failover exclude each other");
    }
    f.duration(at.key("warmupDurationSecs"), lb.warmup_duration_secs.as_ref(), Duration::ZERO);
    if let Some(w) = &lb.warmup {
        let at = at.key("warmup");
        f.duration(at.key("duration"), w.duration.as_ref(), MILLISECOND);
        if let Some(p) = w.minimum_percent {
            f.percentage(at.key("minimumPercent"), p);
        }
    }
}

fn connection_pool(f: &mut Findings, at: FieldPath, pool: &ConnectionPoolSettings) {
    if let Some(tcp) = &pool.tcp {
        let at = at.key("tcp");
        non_negative(f, at.key("maxConnections"), tcp.max_connections);
        f.duration(at.key("connectTimeout"), tcp.connect_timeout.as_ref(), MILLISECOND);
        f.duration(at.key("maxConnectionDuration"), tcp.max_connection_duration.as_ref(), MILLISECOND);
        f.duration(at.key("idleTimeout"), tcp.idle_timeout.as_ref(), Duration::ZERO);
        if let Some(k) = &tcp.tcp_keepalive {
            f.duration(at.key("tcpKeepalive").key("time"), k.time.as_ref(), MILLISECOND);
            f.duration(at.key("tcpKeepalive").key("interval"), k.interval.as_ref(), MILLISECOND);
        }
    }
    if let Some(http) = &pool.http {
        let at = at.key("http");
        non_negative(f, at.key("http1MaxPendingRequests"), http.http1_max_pending_requests);
        non_negative(f, at.key("http2MaxRequests"), http.http2_max_requests);
        non_negative(f, at.key("maxRequestsPerConnection"), http.max_requests_per_connection);
        non_negative(f, at.key("maxRetries"), http.max_retries);
        non_negative(f, at.key("maxConcurrentStreams"), http.max_concurrent_streams);
        f.duration(at.key("idleTimeout"), http.idle_timeout.as_ref(), MILLISECOND);
    }
}

fn non_negative(f: &mut Findings, at: FieldPath, value: Option<i32>) {
    if let Some(v) = value
        && v < 0
    {
        f.push(at, format!("{v} must not be negative"));
    }
}

fn outlier_detection(f: &mut Findings, at: FieldPath, o: &OutlierDetection) {
    non_negative(f, at.key("consecutiveErrors"), o.consecutive_errors);
    f.duration(at.key("interval"), o.interval.as_ref(), MILLISECOND);
    f.duration(at.key("baseEjectionTime"), o.base_ejection_time.as_ref(), MILLISECOND);
    f.int_percent(at.key("maxEjectionPercent"), o.max_ejection_percent);
    f.int_percent(at.key("minHealthPercent"), o.min_health_percent);
}

fn client_tls(f: &mut Findings, at: FieldPath, t: &ClientTlsSettings) {
    let files = [&t.client_certificate, &t.private_key, &t.ca_certificates, &t.ca_crl];
    match t.mode {
        Some(ClientTlsMode::Mutual) if t.credential_name.is_none() => {
            if t.client_certificate.is_none() {
                f.push(at.key("clientCertificate"), "MUTUAL needs clientCertificate (or credentialName)");
            }
            if t.private_key.is_none() {
                f.push(at.key("privateKey"), "MUTUAL needs privateKey (or credentialName)");
            }
        }
        Some(ClientTlsMode::IstioMutual | ClientTlsMode::Disable) if files.iter().any(|v| v.is_some()) => {
            f.push(at.clone(), "certificate files are only used with SIMPLE and MUTUAL");
        }
        _ => {}
    }
}
