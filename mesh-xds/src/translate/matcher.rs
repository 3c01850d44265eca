//! `RouteMatch` → [`mesh_core::route::RouteMatch`]: path, case, headers, query
//! parameters and methods.
//!
//! Envoy matches the method as the `:method` pseudo-header; a plain exact matcher on it
//! becomes [`RouteMatch::with_methods`]. Other pseudo-headers are not visible to the
//! client's matchers and are rejected. `grpc: {}` becomes a `content-type` prefix match
//! on `application/grpc`, which is how Envoy decides that a request is gRPC.

use envoy_types::pb::envoy::config::route::v3 as pb;
use envoy_types::pb::envoy::config::route::v3::header_matcher::HeaderMatchSpecifier;
use envoy_types::pb::envoy::config::route::v3::query_parameter_matcher::QueryParameterMatchSpecifier;
use envoy_types::pb::envoy::config::route::v3::route_match::PathSpecifier;
use envoy_types::pb::envoy::r#type::matcher::v3::string_matcher::MatchPattern;
use envoy_types::pb::envoy::r#type::matcher::v3::{RegexMatcher, StringMatcher as PbStringMatcher};
use mesh_core::matcher::{HeaderMatch, HeaderMatcher, QueryParamMatch, QueryParamMatcher, StringMatcher};
use mesh_core::route::{PathMatch, RouteMatch};

use super::field::{At, FieldResult, reject, unsupported};
use super::value::fraction;

/// Translates a route's `match`.
pub(super) fn route_match(m: &pb::RouteMatch) -> FieldResult<RouteMatch> {
    let ignore_case = m.case_sensitive.as_ref().is_some_and(|c| !c.value);
    let (path, path_field) = match &m.path_specifier {
        Some(PathSpecifier::Prefix(p)) => (PathMatch::Prefix(p.clone()), "prefix"),
        Some(PathSpecifier::Path(p)) => (PathMatch::Exact(p.clone()), "path"),
        Some(PathSpecifier::SafeRegex(re)) => (PathMatch::Regex(regex(re).at("safe_regex")?), "safe_regex"),
        Some(PathSpecifier::PathSeparatedPrefix(p)) => {
            (PathMatch::Regex(separated_prefix(p, ignore_case).at("path_separated_prefix")?), "path_separated_prefix")
        }
        Some(PathSpecifier::ConnectMatcher(_)) => {
            return reject("connect_matcher", "CONNECT matching is not supported");
        }
        Some(PathSpecifier::PathMatchPolicy(_)) => {
            return reject("path_match_policy", "path match policies (URI templates) are not supported");
        }
        None => return reject("", "one of prefix, path, safe_regex or path_separated_prefix is required"),
    };
    if let Some(r) = &m.runtime_fraction {
        let all = fraction(r.default_value.as_ref(), "runtime_fraction.default_value")?;
        if r.default_value.is_none() || all.value() < 100.0 {
            return reject("runtime_fraction", "only 100 % is supported (a partial match changes which route serves)");
        }
    }
    unsupported(m.tls_context.is_some(), "tls_context", "matching on TLS context")?;
    unsupported(!m.dynamic_metadata.is_empty(), "dynamic_metadata", "matching on dynamic metadata")?;
    unsupported(!m.filter_state.is_empty(), "filter_state", "matching on filter state")?;
    unsupported(!m.cookies.is_empty(), "cookies", "matching on cookies")?;

    let mut headers = Vec::with_capacity(m.headers.len() + 1);
    let mut methods = Vec::new();
    for (i, h) in m.headers.iter().enumerate() {
        let at = format!("headers[{i}]");
        match header(h).at(&at)? {
            Header::Method(method) if methods.is_empty() => methods.push((method, at)),
            Header::Method(_) => return reject(at, "only one :method matcher is supported"),
            Header::Other(h) => headers.push(h),
        }
    }
    if m.grpc.is_some() {
        let grpc = HeaderMatch::Value(StringMatcher::prefix("application/grpc"));
        headers.push(HeaderMatcher::new("content-type", grpc, false).at("grpc")?);
    }
    let params = m
        .query_parameters
        .iter()
        .enumerate()
        .map(|(i, q)| query_param(q).at(format!("query_parameters[{i}]")))
        .collect::<FieldResult<Vec<_>>>()?;
    let matcher =
        RouteMatch::new(path, ignore_case).for_field(path_field)?.with_headers(headers).with_query_params(params);
    match methods.pop() {
        None => Ok(matcher),
        Some((method, at)) => matcher.with_methods(vec![method]).for_field(at),
    }
}

/// `path_separated_prefix`: the path is the prefix, or the prefix then `/…`.
fn separated_prefix(prefix: &str, ignore_case: bool) -> FieldResult<StringMatcher> {
    if prefix.is_empty() || !prefix.starts_with('/') || prefix.ends_with('/') || prefix.contains(['?', '#']) {
        return reject("", format!("{prefix:?} must start with '/', not end with '/' and contain no '?' or '#'"));
    }
    let flags = if ignore_case { "(?is)" } else { "(?s)" };
    StringMatcher::regex(&format!("{flags}{}(?:/.*)?", regex_escape(prefix)))
}

fn regex_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 2);
    for c in s.chars() {
        if "\\.+*?()|[]{}^$#&-~".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A `RegexMatcher` (RE2 syntax; the `regex` crate accepts the same constructs and,
/// like RE2, matches in linear time).
pub(super) fn regex(re: &RegexMatcher) -> FieldResult<StringMatcher> {
    StringMatcher::regex(&re.regex).at("regex")
}

/// A `type.matcher.v3.StringMatcher`.
pub(super) fn string_matcher(m: &PbStringMatcher) -> FieldResult<StringMatcher> {
    let matcher = match &m.match_pattern {
        Some(MatchPattern::Exact(v)) => StringMatcher::exact(v),
        Some(MatchPattern::Prefix(v)) => StringMatcher::prefix(v),
        Some(MatchPattern::Suffix(v)) => StringMatcher::suffix(v),
        Some(MatchPattern::Contains(v)) => StringMatcher::contains(v),
        // `ignore_case` has no effect on regexes in Envoy either (use `(?i)`).
        Some(MatchPattern::SafeRegex(re)) => return regex(re).at("safe_regex"),
        Some(MatchPattern::Custom(_)) => return reject("custom", "custom string matchers are not supported"),
        None => return reject("", "one of exact, prefix, suffix, contains or safe_regex is required"),
    };
    Ok(matcher.ignore_case(m.ignore_case))
}

enum Header {
    Method(String),
    Other(HeaderMatcher),
}

// The legacy `*_match` fields are deprecated but still sent by control planes.
#[allow(deprecated)]
fn header(h: &pb::HeaderMatcher) -> FieldResult<Header> {
    unsupported(h.treat_missing_header_as_empty, "treat_missing_header_as_empty", "treat_missing_header_as_empty")?;
    if h.name == ":method" {
        let exact = match &h.header_match_specifier {
            Some(HeaderMatchSpecifier::ExactMatch(v)) => Some(v),
            Some(HeaderMatchSpecifier::StringMatch(PbStringMatcher {
                match_pattern: Some(MatchPattern::Exact(v)),
                ignore_case: false,
            })) => Some(v),
            _ => None,
        };
        return match exact {
            Some(method) if !h.invert_match => Ok(Header::Method(method.clone())),
            _ => reject("", ":method can only be matched exactly (string_match.exact, no invert_match)"),
        };
    }
    if h.name.starts_with(':') {
        return reject("name", format!("pseudo-header {:?} cannot be matched (only :method)", h.name));
    }
    let kind = match &h.header_match_specifier {
        // Envoy: no specifier means "present".
        None | Some(HeaderMatchSpecifier::PresentMatch(true)) => HeaderMatch::Present,
        Some(HeaderMatchSpecifier::PresentMatch(false)) => HeaderMatch::Absent,
        Some(HeaderMatchSpecifier::ExactMatch(v)) => HeaderMatch::Value(StringMatcher::exact(v)),
        Some(HeaderMatchSpecifier::PrefixMatch(v)) => HeaderMatch::Value(StringMatcher::prefix(v)),
        Some(HeaderMatchSpecifier::SuffixMatch(v)) => HeaderMatch::Value(StringMatcher::suffix(v)),
        Some(HeaderMatchSpecifier::ContainsMatch(v)) => HeaderMatch::Value(StringMatcher::contains(v)),
        Some(HeaderMatchSpecifier::SafeRegexMatch(re)) => HeaderMatch::Value(regex(re).at("safe_regex_match")?),
        Some(HeaderMatchSpecifier::StringMatch(m)) => HeaderMatch::Value(string_matcher(m).at("string_match")?),
        Some(HeaderMatchSpecifier::RangeMatch(_)) => return reject("range_match", "range matching is not supported"),
    };
    Ok(Header::Other(HeaderMatcher::new(&h.name, kind, h.invert_match)?))
}

fn query_param(q: &pb::QueryParameterMatcher) -> FieldResult<QueryParamMatcher> {
    let kind = match &q.query_parameter_match_specifier {
        None | Some(QueryParameterMatchSpecifier::PresentMatch(true)) => QueryParamMatch::Present,
        Some(QueryParameterMatchSpecifier::PresentMatch(false)) => {
            return reject("present_match", "matching an absent query parameter is not supported");
        }
        Some(QueryParameterMatchSpecifier::StringMatch(m)) => {
            QueryParamMatch::Value(string_matcher(m).at("string_match")?)
        }
    };
    QueryParamMatcher::new(&q.name, kind)
}
