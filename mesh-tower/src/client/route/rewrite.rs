//! What a route changes: request and response headers, the path (prefix or regex) and
//! the authority (applied after the route is chosen), and redirects (answered here).
//!
//! `prefix_rewrite` only applies to routes that match a path prefix: the matched prefix
//! is replaced, the rest of the path and the query are kept. Envoy would also rewrite
//! exact-path matches; here other path matches leave the path alone.

use http::header::{HOST, LOCATION};
use http::uri::{Authority, PathAndQuery, Scheme};
use http::{HeaderMap, HeaderName, HeaderValue, Request, Response, StatusCode, Uri};
use mesh_core::route::{HeaderMutation, PathMatch, Redirect, RouteAction, RouteMatch, rewrite_prefix};

use super::super::body::{RequestBody, ResponseBody};

/// Applies `m` to `headers`: remove, then set (replace), then add (append).
pub(super) fn apply_headers(m: &HeaderMutation, headers: &mut HeaderMap) {
    for name in m.removes() {
        headers.remove(name.as_str());
    }
    for (name, value) in m.sets() {
        if let (Ok(n), Ok(v)) = (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_str(value)) {
            headers.insert(n, v);
        }
    }
    for (name, value) in m.adds() {
        if let (Ok(n), Ok(v)) = (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_str(value)) {
            headers.append(n, v);
        }
    }
}

fn matched_prefix(m: &RouteMatch) -> Option<&str> {
    match m.path() {
        PathMatch::Prefix(p) => Some(p.as_str()),
        PathMatch::Exact(_) | PathMatch::Regex(_) => None,
    }
}

/// Request header changes, path (prefix or regex) rewrite and host rewrite of `action`.
pub(super) fn rewrite_request(req: &mut Request<RequestBody>, action: &RouteAction, matcher: &RouteMatch) {
    apply_headers(&action.request_headers, req.headers_mut());
    if action.prefix_rewrite.is_none() && action.regex_rewrite.is_none() && action.host_rewrite.is_none() {
        return;
    }
    let mut parts = req.uri().clone().into_parts();
    let old = parts.path_and_query.as_ref().map_or("/", PathAndQuery::as_str);
    // Configuration guarantees at most one path rewrite; a prefix rewrite would win (Envoy's order).
    let new = match (&action.prefix_rewrite, matched_prefix(matcher), &action.regex_rewrite) {
        (Some(replacement), Some(prefix), _) => Some(rewrite_prefix(old, Some(prefix), replacement)),
        (None, _, Some(re)) => Some(re.rewrite(old)),
        _ => None,
    };
    if let Some(mut new) = new {
        if !new.starts_with('/') {
            new.insert(0, '/');
        }
        match new.parse::<PathAndQuery>() {
            Ok(pq) => parts.path_and_query = Some(pq),
            Err(e) => tracing::debug!(%e, new, "path rewrite gave an invalid path; kept the original"),
        }
    }
    if let Some(host) = &action.host_rewrite
        && let Ok(authority) = host.parse::<Authority>()
    {
        if parts.scheme.is_none() {
            parts.scheme = Some(Scheme::HTTP);
        }
        if parts.path_and_query.is_none() {
            parts.path_and_query = Some(PathAndQuery::from_static("/"));
        }
        parts.authority = Some(authority);
        if let Ok(v) = HeaderValue::from_str(host) {
            req.headers_mut().insert(HOST, v);
        }
    }
    match Uri::from_parts(parts) {
        Ok(uri) => *req.uri_mut() = uri,
        Err(e) => tracing::debug!(%e, "rewritten URI is invalid; kept the original"),
    }
}

/// The redirect answer for `req`.
pub(super) fn redirect(req: &Request<RequestBody>, r: &Redirect, matcher: &RouteMatch) -> Response<ResponseBody> {
    let authority = match req.uri().authority() {
        Some(a) => a.as_str(),
        None => req.headers().get(HOST).and_then(|h| h.to_str().ok()).unwrap_or(""),
    };
    let scheme = req.uri().scheme_str().unwrap_or("http");
    let pq = req.uri().path_and_query().map_or("/", PathAndQuery::as_str);
    let location = r.location(scheme, authority, pq, matched_prefix(matcher));
    let mut resp = Response::new(ResponseBody::empty());
    *resp.status_mut() = StatusCode::from_u16(r.code.status()).unwrap_or(StatusCode::MOVED_PERMANENTLY);
    if let Ok(v) = HeaderValue::from_str(&location) {
        resp.headers_mut().insert(LOCATION, v);
    }
    resp
}
