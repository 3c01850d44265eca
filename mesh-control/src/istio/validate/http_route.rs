//! HTTP route rules: actions that exclude each other, matches, destinations, timeouts,
//! retries, faults, mirrors, CORS and headers.

use std::time::Duration;

use super::Findings;
use super::values::grpc_status_code;
use super::virtual_service::{destination, weights_sum_to_100};
use crate::istio::model::{FaultAbort, FaultDelay, HeaderOperations, Headers, HttpMatchRequest, HttpRoute};
use crate::istio::path::FieldPath;

const MILLISECOND: Duration = Duration::from_millis(1);

/// Checks one HTTP route at `at` (`spec.http[i]`).
pub(super) fn check_http_route(f: &mut Findings, at: FieldPath, r: &HttpRoute) {
    let actions = [!r.route.is_empty(), r.redirect.is_some(), r.direct_response.is_some(), r.delegate.is_some()];
    match actions.iter().filter(|a| **a).count() {
        0 => f.push(at.clone(), "one of route, redirect, directResponse or delegate is required"),
        1 => {}
        _ => f.push(at.clone(), "route, redirect, directResponse and delegate exclude each other"),
    }
    if r.rewrite.is_some() && r.redirect.is_some() {
        f.push(at.key("rewrite"), "rewrite cannot be combined with redirect");
    }
    for (j, m) in r.matches.iter().enumerate() {
        http_match(f, at.key("match").index(j), m);
    }
    for (k, d) in r.route.iter().enumerate() {
        let dest = at.key("route").index(k);
        destination(f, dest.key("destination"), &d.destination);
        if let Some(h) = &d.headers {
            headers(f, dest.key("headers"), h);
        }
    }
    let weights: Vec<Option<i32>> = r.route.iter().map(|d| d.weight).collect();
    weights_sum_to_100(f, &at.key("route"), &weights);

    f.duration(at.key("timeout"), r.timeout.as_ref(), Duration::ZERO);
    if let Some(retry) = &r.retries {
        let at = at.key("retries");
        if let Some(a) = retry.attempts
            && !(0..=100).contains(&a)
        {
            f.push(at.key("attempts"), format!("attempts {a} is not within [0, 100]"));
        }
        f.duration(at.key("perTryTimeout"), retry.per_try_timeout.as_ref(), MILLISECOND);
        f.duration(at.key("backoff"), retry.backoff.as_ref(), MILLISECOND);
        if let Some(on) = &retry.retry_on {
            f.retry_on(at.key("retryOn"), on);
        }
    }
    if let Some(fault) = &r.fault {
        let at = at.key("fault");
        if fault.delay.is_none() && fault.abort.is_none() {
            f.push(at.clone(), "a fault needs a delay, an abort, or both");
        }
        if let Some(d) = &fault.delay {
            delay(f, at.key("delay"), d);
        }
        if let Some(a) = &fault.abort {
            abort(f, at.key("abort"), a);
        }
    }
    if let Some(m) = &r.mirror {
        destination(f, at.key("mirror"), m);
    }
    for (k, m) in r.mirrors.iter().enumerate() {
        let at = at.key("mirrors").index(k);
        destination(f, at.key("destination"), &m.destination);
        f.percent(at.key("percentage"), m.percentage.as_ref());
    }
    if let Some(p) = r.mirror_percent
        && p > 100
    {
        f.push(at.key("mirrorPercent"), format!("percentage {p} is not within [0, 100]"));
    }
    f.percent(at.key("mirrorPercentage"), r.mirror_percentage.as_ref());
    if let Some(c) = &r.cors_policy {
        let at = at.key("corsPolicy");
        for (k, o) in c.allow_origins.iter().enumerate() {
            f.string_match(at.key("allowOrigins").index(k), o, false);
        }
        f.duration(at.key("maxAge"), c.max_age.as_ref(), Duration::ZERO);
    }
    if let Some(h) = &r.headers {
        headers(f, at.key("headers"), h);
    }
    if let Some(rd) = &r.redirect {
        let at = at.key("redirect");
        if let Some(code) = rd.redirect_code
            && ![301, 302, 303, 307, 308].contains(&code)
        {
            f.push(at.key("redirectCode"), format!("redirect code {code} is not one of 301, 302, 303, 307, 308"));
        }
        f.optional_port(at.key("port"), rd.port);
    }
    if let Some(dr) = &r.direct_response
        && !(200..=599).contains(&dr.status)
    {
        f.push(at.key("directResponse").key("status"), format!("status {} is not within [200, 599]", dr.status));
    }
    if let Some(rw) = &r.rewrite
        && let Some(re) = &rw.uri_regex_rewrite
    {
        let at = at.key("rewrite");
        if rw.uri.is_some() {
            f.push(at.key("uriRegexRewrite"), "uri and uriRegexRewrite exclude each other");
        }
        let at = at.key("uriRegexRewrite");
        f.regex(at.key("match"), &re.pattern);
        // The substitution as clients apply it (RE2: `\1`…`\9`, `\\`), against the pattern.
        if let Err(e) = mesh_core::route::RegexRewrite::new(&re.pattern, &re.rewrite)
            && e.field == "substitution"
        {
            f.push(at.key("rewrite"), e.reason);
        }
    }
}

fn http_match(f: &mut Findings, at: FieldPath, m: &HttpMatchRequest) {
    for (name, value) in [("uri", &m.uri), ("scheme", &m.scheme), ("method", &m.method), ("authority", &m.authority)] {
        if let Some(value) = value {
            f.string_match(at.key(name), value, false);
        }
    }
    for (field, map) in [("headers", &m.headers), ("withoutHeaders", &m.without_headers)] {
        for (name, value) in map {
            let at = at.key(field).key(name);
            if name.is_empty() {
                f.push(at.clone(), "header name must not be empty");
            } else if name.chars().any(|c| c.is_ascii_uppercase()) {
                f.push(at.clone(), format!("header name {name:?} must be lower case"));
            }
            f.string_match(at, value, true);
        }
    }
    for (name, value) in &m.query_params {
        f.string_match(at.key("queryParams").key(name), value, true);
    }
    f.optional_port(at.key("port"), m.port);
    f.labels(at.key("sourceLabels"), &m.source_labels);
}

fn delay(f: &mut Findings, at: FieldPath, d: &FaultDelay) {
    if d.exponential_delay.is_some() {
        f.push(at.key("exponentialDelay"), "exponentialDelay is not supported (use fixedDelay)");
    }
    match &d.fixed_delay {
        None if d.exponential_delay.is_none() => f.push(at.key("fixedDelay"), "fixedDelay is required"),
        None => {}
        Some(_) => _ = f.duration(at.key("fixedDelay"), d.fixed_delay.as_ref(), MILLISECOND),
    }
    f.percent(at.key("percentage"), d.percentage.as_ref());
    f.int_percent(at.key("percent"), d.percent);
}

fn abort(f: &mut Findings, at: FieldPath, a: &FaultAbort) {
    let kinds = [a.http_status.is_some(), a.grpc_status.is_some(), a.http2_error.is_some()];
    match kinds.iter().filter(|k| **k).count() {
        0 => f.push(at.clone(), "one of httpStatus or grpcStatus is required"),
        1 => {}
        _ => f.push(at.clone(), "httpStatus, grpcStatus and http2Error exclude each other"),
    }
    if a.http2_error.is_some() {
        f.push(at.key("http2Error"), "http2Error is not supported (use httpStatus or grpcStatus)");
    }
    if let Some(s) = a.http_status
        && !(200..=599).contains(&s)
    {
        f.push(at.key("httpStatus"), format!("HTTP status {s} is not within [200, 599]"));
    }
    if let Some(name) = &a.grpc_status {
        match grpc_status_code(name) {
            None => f.push(
                at.key("grpcStatus"),
                format!("unknown gRPC status {name:?} (use a name such as UNAVAILABLE or INTERNAL)"),
            ),
            Some(0) => f.push(at.key("grpcStatus"), "aborting with OK is not an error; use another status"),
            Some(_) => {}
        }
    }
    f.percent(at.key("percentage"), a.percentage.as_ref());
    f.int_percent(at.key("percent"), a.percent);
}

fn headers(f: &mut Findings, at: FieldPath, h: &Headers) {
    for (name, ops) in [("request", &h.request), ("response", &h.response)] {
        if let Some(ops) = ops {
            operations(f, at.key(name), ops);
        }
    }
}

fn operations(f: &mut Findings, at: FieldPath, ops: &HeaderOperations) {
    for (field, names) in [("set", ops.set.keys().collect::<Vec<_>>()), ("add", ops.add.keys().collect())] {
        if names.iter().any(|n| n.is_empty()) {
            f.push(at.key(field), "header names must not be empty");
        }
    }
    if ops.remove.iter().any(String::is_empty) {
        f.push(at.key("remove"), "header names must not be empty");
    }
}
