//! `HTTPMatchRequest` → Envoy `RouteMatch`, as Istio translates it.
//!
//! - `uri`: `exact` → `path`, `prefix` → `prefix`, `regex` → `safe_regex` (RE2, whole
//!   path); none → prefix `/`. `ignoreUriCase` → `case_sensitive: false`.
//! - `headers`: `exact`/`prefix`/`regex` → `string_match`; an empty match → present.
//!   `withoutHeaders`: the same, inverted. The keys `uri`, `scheme`, `method` and
//!   `authority` are ignored there, as Istio documents.
//! - `method` → a `:method` header matcher; `scheme` → `:scheme`.
//! - `queryParams` → query parameter matchers (an empty match → present).
//! - `authority` is not emitted: mesh clients cannot match it yet, and every service
//!   port has its own route configuration, so it rarely narrows anything (warned).

use envoy_types::pb::envoy::config::route::v3::header_matcher::HeaderMatchSpecifier;
use envoy_types::pb::envoy::config::route::v3::query_parameter_matcher::QueryParameterMatchSpecifier;
use envoy_types::pb::envoy::config::route::v3::route_match::PathSpecifier;
use envoy_types::pb::envoy::config::route::v3::{HeaderMatcher, QueryParameterMatcher, RouteMatch};
use envoy_types::pb::envoy::r#type::matcher::v3::string_matcher::MatchPattern;
use envoy_types::pb::envoy::r#type::matcher::v3::{RegexMatcher, StringMatcher};
use envoy_types::pb::google::protobuf::BoolValue;

use crate::istio::{HttpMatchRequest, StringMatch};

/// Header keys Istio ignores in `headers` (they are fields of the match).
const RESERVED_HEADERS: &[&str] = &["uri", "scheme", "method", "authority"];

/// Matches every request.
pub(super) fn catch_all() -> RouteMatch {
    RouteMatch { path_specifier: Some(PathSpecifier::Prefix("/".into())), ..Default::default() }
}

/// The Envoy match of an Istio match.
pub(super) fn route_match(m: &HttpMatchRequest) -> RouteMatch {
    let path = match &m.uri {
        Some(StringMatch { exact: Some(p), .. }) => PathSpecifier::Path(p.clone()),
        Some(StringMatch { prefix: Some(p), .. }) => PathSpecifier::Prefix(p.clone()),
        Some(StringMatch { regex: Some(re), .. }) => PathSpecifier::SafeRegex(regex(re)),
        _ => PathSpecifier::Prefix("/".into()),
    };
    let mut headers = Vec::new();
    if let Some(method) = &m.method {
        headers.push(header(":method", method, false));
    }
    if let Some(scheme) = &m.scheme {
        headers.push(header(":scheme", scheme, false));
    }
    for (without, map) in [(false, &m.headers), (true, &m.without_headers)] {
        for (name, value) in map.iter().filter(|(n, _)| !RESERVED_HEADERS.contains(&n.as_str())) {
            headers.push(header(name, value, without));
        }
    }
    let query_parameters = m
        .query_params
        .iter()
        .map(|(name, value)| QueryParameterMatcher {
            name: name.clone(),
            query_parameter_match_specifier: Some(match string_matcher(value) {
                Some(s) => QueryParameterMatchSpecifier::StringMatch(s),
                None => QueryParameterMatchSpecifier::PresentMatch(true),
            }),
        })
        .collect();
    RouteMatch {
        path_specifier: Some(path),
        case_sensitive: (m.ignore_uri_case == Some(true)).then_some(BoolValue { value: false }),
        headers,
        query_parameters,
        ..Default::default()
    }
}

fn header(name: &str, value: &StringMatch, invert_match: bool) -> HeaderMatcher {
    let specifier = match string_matcher(value) {
        Some(s) => HeaderMatchSpecifier::StringMatch(s),
        None => HeaderMatchSpecifier::PresentMatch(true),
    };
    HeaderMatcher {
        name: name.to_string(),
        header_match_specifier: Some(specifier),
        invert_match,
        ..Default::default()
    }
}

/// An Envoy string matcher; `None` for an empty Istio match ("present").
fn string_matcher(m: &StringMatch) -> Option<StringMatcher> {
    let pattern = match m {
        StringMatch { exact: Some(v), .. } => MatchPattern::Exact(v.clone()),
        StringMatch { prefix: Some(v), .. } => MatchPattern::Prefix(v.clone()),
        StringMatch { regex: Some(v), .. } => MatchPattern::SafeRegex(regex(v)),
        _ => return None,
    };
    Some(StringMatcher { match_pattern: Some(pattern), ignore_case: false })
}

/// An RE2 regex matcher (the default engine).
pub(super) fn regex(pattern: &str) -> RegexMatcher {
    RegexMatcher { regex: pattern.to_string(), engine_type: None }
}
