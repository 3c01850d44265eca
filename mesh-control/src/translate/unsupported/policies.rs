//! DestinationRule features mesh clients do not honour yet.

use super::super::warnings::{NOT_ENFORCED, NOT_SUPPORTED, Warnings, who};
use super::resilience;
use crate::istio::{
    ClientTlsSettings, ConnectionPoolSettings, DestinationRule, LoadBalancerSettings, Named, OutlierDetection,
    SimpleLb, TrafficPolicy,
};

/// Adds the warnings about one DestinationRule.
pub(super) fn destination_rule(dr: &Named<DestinationRule>, w: &mut Warnings) {
    let me = who(dr);
    if dr.spec.workload_selector.is_some() {
        w.add(&me, "spec.workloadSelector: a rule for some clients only cannot be honoured (every client is sent the same clusters); the rule is not applied");
        return;
    }
    if let Some(p) = &dr.spec.traffic_policy {
        policy(&me, "spec.trafficPolicy", p, w);
    }
    for (i, s) in dr.spec.subsets.iter().enumerate() {
        if let Some(p) = &s.traffic_policy {
            policy(&me, &format!("spec.subsets[{i}].trafficPolicy"), p, w);
        }
    }
}

fn policy(me: &str, at: &str, p: &TrafficPolicy, w: &mut Warnings) {
    parts(
        me,
        at,
        p.load_balancer.as_ref(),
        p.connection_pool.as_ref(),
        p.outlier_detection.as_ref(),
        p.tls.as_ref(),
        w,
    );
    for (k, pl) in p.port_level_settings.iter().enumerate() {
        let at = format!("{at}.portLevelSettings[{k}]");
        parts(
            me,
            &at,
            pl.load_balancer.as_ref(),
            pl.connection_pool.as_ref(),
            pl.outlier_detection.as_ref(),
            pl.tls.as_ref(),
            w,
        );
    }
    if p.tunnel.is_some() {
        w.add(me, format!("{at}.tunnel: TCP tunneling does not apply to proxyless HTTP clients; ignored"));
    }
    if p.proxy_protocol.is_some() {
        w.add(me, format!("{at}.proxyProtocol: the PROXY protocol does not apply to proxyless HTTP clients; ignored"));
    }
}

fn parts(
    me: &str,
    at: &str,
    lb: Option<&LoadBalancerSettings>,
    pool: Option<&ConnectionPoolSettings>,
    outlier: Option<&OutlierDetection>,
    tls: Option<&ClientTlsSettings>,
    w: &mut Warnings,
) {
    if let Some(lb) = lb {
        load_balancer(me, &format!("{at}.loadBalancer"), lb, w);
    }
    if let Some(pool) = pool {
        resilience::connection_pool(me, &format!("{at}.connectionPool"), pool, w);
    }
    if let Some(o) = outlier {
        resilience::outlier_detection(me, &format!("{at}.outlierDetection"), o, w);
    }
    if tls.is_some_and(|t| t.credential_name.is_some()) {
        w.add(me, format!("{at}.tls.credentialName: credentials from secrets (SDS) are not supported; not emitted"));
    }
}

fn load_balancer(me: &str, at: &str, lb: &LoadBalancerSettings, w: &mut Warnings) {
    if lb.simple == Some(SimpleLb::Passthrough) {
        w.add(me, format!("{at}.simple: PASSTHROUGH needs the caller's original address, which proxyless clients do not have; LEAST_REQUEST is used"));
    }
    if let Some(ch) = &lb.consistent_hash {
        let at = format!("{at}.consistentHash");
        if ch.http_cookie.is_some() {
            w.add(me, format!("{at}.httpCookie: hashing on a cookie is {NOT_SUPPORTED}"));
        }
        if ch.use_source_ip == Some(true) {
            w.add(me, format!("{at}.useSourceIp: hashing on the source IP is {NOT_SUPPORTED}"));
        }
        if ch.http_query_parameter_name.is_some() {
            w.add(me, format!("{at}.httpQueryParameterName: hashing on a query parameter is {NOT_SUPPORTED}"));
        }
        if ch.maglev.is_some() {
            w.add(me, format!("{at}.maglev: Maglev is {NOT_SUPPORTED}"));
        }
    }
    if lb.locality_lb_setting.is_some() {
        w.add(me, format!("{at}.localityLbSetting: {NOT_ENFORCED}"));
    }
    if lb.warmup.is_some() || lb.warmup_duration_secs.is_some() {
        w.add(me, format!("{at}.warmup: slow start is {NOT_ENFORCED}"));
    }
}
