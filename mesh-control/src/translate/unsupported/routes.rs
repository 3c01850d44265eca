//! VirtualService features mesh clients do not honour yet.

use super::super::virtual_services::applies_to_mesh;
use super::super::warnings::{NOT_SUPPORTED, Warnings, who};
use crate::istio::{Headers, HttpMatchRequest, Named, VirtualService};

/// Adds the warnings about one VirtualService.
pub(super) fn virtual_service(vs: &Named<VirtualService>, w: &mut Warnings) {
    let me = who(vs);
    if !applies_to_mesh(&vs.spec.gateways) {
        w.add(&me, format!("bound to gateways {:?} only (not `mesh`): not served to mesh clients", vs.spec.gateways));
        return;
    }
    if !vs.spec.tcp.is_empty() {
        w.add(&me, "spec.tcp: TCP routes are not served to proxyless clients (HTTP routes only)");
    }
    if !vs.spec.tls.is_empty() {
        w.add(&me, "spec.tls: TLS routes are not served to proxyless clients (HTTP routes only)");
    }
    for (i, r) in vs.spec.http.iter().enumerate() {
        let at = format!("spec.http[{i}]");
        let mut unsupported = |field: &str, what: &str| w.add(&me, format!("{at}.{field}: {what} {NOT_SUPPORTED}"));
        // Rule- and destination-level headers, rewrites (uri, authority, regex), redirects
        // and mirrors are honoured.
        if r.direct_response.is_some() {
            unsupported("directResponse", "direct responses are");
        }
        let destination_headers = r.route.iter().enumerate().map(|(k, d)| (format!("route[{k}].headers"), &d.headers));
        for (field, headers) in std::iter::once(("headers".to_string(), &r.headers)).chain(destination_headers) {
            for name in formatted_values(headers.as_ref()) {
                unsupported(
                    &format!("{field}.{name}"),
                    "a value with %…% (an Envoy substitution formatter; write % as %%) is",
                );
            }
        }
        if r.retries.as_ref().and_then(|r| r.retry_remote_localities) == Some(true) {
            unsupported("retries.retryRemoteLocalities", "retrying in other localities (retry priority) is");
        }
        if r.delegate.is_some() {
            w.add(&me, format!("{at}.delegate: delegation is not supported; the rule is skipped"));
        }
        if r.cors_policy.is_some() {
            w.add(&me, format!("{at}.corsPolicy: CORS is enforced by servers, not by proxyless clients; ignored"));
        }
        for (j, m) in r.matches.iter().enumerate() {
            matches(&me, &format!("{at}.match[{j}]"), m, w);
        }
    }
}

fn matches(me: &str, at: &str, m: &HttpMatchRequest, w: &mut Warnings) {
    if m.authority.is_some() {
        w.add(me, format!("{at}.authority: authority matching is not supported by mesh clients yet; the condition is ignored (each service's routes only see requests for that service)"));
    }
    if m.scheme.is_some() {
        w.add(me, format!("{at}.scheme: scheme matching is {NOT_SUPPORTED}"));
    }
    if m.method.as_ref().is_some_and(|s| s.exact.is_none()) {
        w.add(me, format!("{at}.method: only exact method matching is supported; prefix/regex {NOT_SUPPORTED}"));
    }
    if !m.source_labels.is_empty() || m.source_namespace.is_some() {
        w.add(
            me,
            format!("{at}: sourceLabels/sourceNamespace cannot be honoured (every client is sent the same routes); the match is dropped"),
        );
    }
}

/// `request.set.x-a`-style paths of header values that hold a `%` other than `%%`: Envoy
/// reads them as substitution formatters, which mesh clients do not implement.
fn formatted_values(h: Option<&Headers>) -> Vec<String> {
    let Some(h) = h else { return Vec::new() };
    let mut out = Vec::new();
    for (side, ops) in [("request", &h.request), ("response", &h.response)] {
        let Some(ops) = ops else { continue };
        for (op, map) in [("set", &ops.set), ("add", &ops.add)] {
            out.extend(
                map.iter().filter(|(_, v)| v.replace("%%", "").contains('%')).map(|(k, _)| format!("{side}.{op}.{k}")),
            );
        }
    }
    out
}
