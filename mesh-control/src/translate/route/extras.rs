//! The parts of a rule beyond destinations, emitted with the standard Envoy fields.
//! Mesh clients honour rule- and destination-level header manipulation (a weighted
//! cluster's own lists, or the route's when there is one destination), `rewrite.uri` /
//! `authority` / `uriRegexRewrite`, redirects and mirrors (`runtime_fraction` per
//! million, the `-shadow` host suffix); they still reject direct responses, header
//! values with `%` substitution formatters, and hash policies on anything but a header,
//! which other xDS clients get all the same. `unsupported/` warns about those.

use envoy_types::pb::envoy::config::core::v3::data_source::Specifier;
use envoy_types::pb::envoy::config::core::v3::header_value_option::HeaderAppendAction;
use envoy_types::pb::envoy::config::core::v3::{DataSource, HeaderValue, HeaderValueOption, RuntimeFractionalPercent};
use envoy_types::pb::envoy::config::route::v3::redirect_action::{
    PathRewriteSpecifier, RedirectResponseCode, SchemeRewriteSpecifier,
};
use envoy_types::pb::envoy::config::route::v3::route_action::hash_policy::{
    ConnectionProperties, Cookie, Header, PolicySpecifier, QueryParameter,
};
use envoy_types::pb::envoy::config::route::v3::route_action::{HashPolicy, HostRewriteSpecifier, RequestMirrorPolicy};
use envoy_types::pb::envoy::config::route::v3::weighted_cluster::ClusterWeight;
use envoy_types::pb::envoy::config::route::v3::{DirectResponseAction, RedirectAction, Route, RouteAction};
use envoy_types::pb::envoy::r#type::matcher::v3::RegexMatchAndSubstitute;
use mesh_core::duration::parse_duration;

use super::matching::regex;
use crate::istio::{
    ConsistentHashLb, Destination, HeaderOperations, Headers, HttpDirectResponse, HttpRedirect, HttpRewrite, HttpRoute,
};
use crate::translate::proto::{duration, per_million};

/// Header operations as Envoy's four lists.
struct Mutations {
    request_add: Vec<HeaderValueOption>,
    request_remove: Vec<String>,
    response_add: Vec<HeaderValueOption>,
    response_remove: Vec<String>,
}

fn mutations(h: &Headers) -> Mutations {
    let (request_add, request_remove) = operations(h.request.as_ref());
    let (response_add, response_remove) = operations(h.response.as_ref());
    Mutations { request_add, request_remove, response_add, response_remove }
}

/// `set` overwrites, `add` appends (Istio's mapping).
fn operations(ops: Option<&HeaderOperations>) -> (Vec<HeaderValueOption>, Vec<String>) {
    let Some(ops) = ops else { return (Vec::new(), Vec::new()) };
    let option = |key: &String, value: &String, action: HeaderAppendAction| HeaderValueOption {
        header: Some(HeaderValue { key: key.clone(), value: value.clone(), ..Default::default() }),
        append_action: action as i32,
        ..Default::default()
    };
    let mut add: Vec<HeaderValueOption> =
        ops.set.iter().map(|(k, v)| option(k, v, HeaderAppendAction::OverwriteIfExistsOrAdd)).collect();
    add.extend(ops.add.iter().map(|(k, v)| option(k, v, HeaderAppendAction::AppendIfExistsOrAdd)));
    (add, ops.remove.clone())
}

/// Adds header manipulation to a route.
pub(super) fn route_headers(route: &mut Route, headers: Option<&Headers>) {
    let Some(h) = headers else { return };
    let m = mutations(h);
    route.request_headers_to_add.extend(m.request_add);
    route.request_headers_to_remove.extend(m.request_remove);
    route.response_headers_to_add.extend(m.response_add);
    route.response_headers_to_remove.extend(m.response_remove);
}

/// Adds header manipulation to one weighted destination.
pub(super) fn cluster_headers(cluster: &mut ClusterWeight, headers: Option<&Headers>) {
    let Some(h) = headers else { return };
    let m = mutations(h);
    cluster.request_headers_to_add = m.request_add;
    cluster.request_headers_to_remove = m.request_remove;
    cluster.response_headers_to_add = m.response_add;
    cluster.response_headers_to_remove = m.response_remove;
}

/// `redirect` → a redirect action.
pub(super) fn redirect(r: &HttpRedirect) -> RedirectAction {
    let response_code = match r.redirect_code {
        Some(302) => RedirectResponseCode::Found,
        Some(303) => RedirectResponseCode::SeeOther,
        Some(307) => RedirectResponseCode::TemporaryRedirect,
        Some(308) => RedirectResponseCode::PermanentRedirect,
        _ => RedirectResponseCode::MovedPermanently,
    };
    RedirectAction {
        host_redirect: r.authority.clone().unwrap_or_default(),
        port_redirect: r.port.unwrap_or_default(),
        response_code: response_code as i32,
        scheme_rewrite_specifier: r.scheme.clone().map(SchemeRewriteSpecifier::SchemeRedirect),
        path_rewrite_specifier: r.uri.clone().map(PathRewriteSpecifier::PathRedirect),
        ..Default::default()
    }
}

/// `directResponse` → a direct response action.
pub(super) fn direct_response(d: &HttpDirectResponse) -> DirectResponseAction {
    let body = d.body.as_ref().and_then(|b| {
        let specifier = match (&b.string, &b.bytes) {
            (Some(s), _) => Specifier::InlineString(s.clone()),
            (None, Some(b64)) => Specifier::InlineBytes(base64(b64)),
            (None, None) => return None,
        };
        Some(DataSource { specifier: Some(specifier), ..Default::default() })
    });
    DirectResponseAction { status: d.status, body, ..Default::default() }
}

/// `rewrite` → prefix, host and regex rewrites.
pub(super) fn rewrite(action: &mut RouteAction, rewrite: Option<&HttpRewrite>) {
    let Some(r) = rewrite else { return };
    if let Some(uri) = &r.uri {
        action.prefix_rewrite = uri.clone();
    }
    if let Some(authority) = &r.authority {
        action.host_rewrite_specifier = Some(HostRewriteSpecifier::HostRewriteLiteral(authority.clone()));
    }
    if let Some(re) = &r.uri_regex_rewrite {
        action.regex_rewrite =
            Some(RegexMatchAndSubstitute { pattern: Some(regex(&re.pattern)), substitution: re.rewrite.clone() });
    }
}

/// `mirror` / `mirrors` → mirror policies; `cluster` names a destination's cluster.
pub(super) fn mirrors(r: &HttpRoute, mut cluster: impl FnMut(&Destination) -> String) -> Vec<RequestMirrorPolicy> {
    let mut out = Vec::new();
    if let Some(m) = &r.mirror {
        let percent = r.mirror_percentage.map(|p| p.value).or(r.mirror_percent.map(f64::from)).unwrap_or(100.0);
        out.push(mirror(cluster(m), percent));
    }
    for m in &r.mirrors {
        out.push(mirror(cluster(&m.destination), m.percentage.map_or(100.0, |p| p.value)));
    }
    out
}

fn mirror(cluster: String, percent: f64) -> RequestMirrorPolicy {
    RequestMirrorPolicy {
        cluster,
        runtime_fraction: Some(RuntimeFractionalPercent {
            default_value: Some(per_million(percent)),
            runtime_key: String::new(),
        }),
        ..Default::default()
    }
}

/// `consistentHash` → the route's hash policy.
pub(super) fn hash_policy(ch: &ConsistentHashLb) -> Option<HashPolicy> {
    let specifier = if let Some(name) = &ch.http_header_name {
        PolicySpecifier::Header(Header { header_name: name.clone(), regex_rewrite: None })
    } else if let Some(c) = &ch.http_cookie {
        PolicySpecifier::Cookie(Cookie {
            name: c.name.clone(),
            ttl: c.ttl.as_deref().and_then(|t| parse_duration(t).ok()).map(duration),
            path: c.path.clone().unwrap_or_default(),
            ..Default::default()
        })
    } else if ch.use_source_ip == Some(true) {
        PolicySpecifier::ConnectionProperties(ConnectionProperties { source_ip: true })
    } else if let Some(name) = &ch.http_query_parameter_name {
        PolicySpecifier::QueryParameter(QueryParameter { name: name.clone() })
    } else {
        return None;
    };
    Some(HashPolicy { policy_specifier: Some(specifier), terminal: false })
}

/// Decodes standard base64 (the `bytes` of a direct response body; validated as YAML
/// text only, so invalid characters are skipped).
fn base64(text: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' | b'-' => Some(62),
        b'/' | b'_' => Some(63),
        _ => None,
    };
    let sextets: Vec<u8> = text.bytes().filter_map(value).collect();
    let mut out = Vec::with_capacity(sextets.len() * 3 / 4);
    for chunk in sextets.chunks(4) {
        let n = chunk.iter().enumerate().fold(0u32, |acc, (i, s)| acc | (u32::from(*s) << (18 - 6 * i)));
        let bytes = n.to_be_bytes();
        out.extend_from_slice(&bytes[1..chunk.len()]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_base64() {
        assert_eq!(base64("aGVsbG8="), b"hello");
        assert_eq!(base64("aGk="), b"hi");
        assert_eq!(base64("YWJj"), b"abc");
    }
}
