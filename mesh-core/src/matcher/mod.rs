//! Request matchers: strings, headers, query parameters and hosts.
//!
//! These follow Envoy's `StringMatcher` / `HeaderMatcher` / `QueryParameterMatcher`
//! semantics, which is what Istio's `HTTPMatchRequest` translates into: so a rule means
//! the same thing whether it came from a static file, from Istio YAML or from xDS.
//! Regexes use the `regex` crate, whose matching is linear in the input — a route table
//! cannot be turned into a denial-of-service by a crafted path.

mod header;
mod host;
mod string;

pub(crate) use header::validate_header_name;
pub use header::{HeaderMatch, HeaderMatcher, QueryParamMatch, QueryParamMatcher};
pub use host::HostMatcher;
pub use string::StringMatcher;

/// What a matcher may read from a request.
///
/// Implemented by `mesh-tower` for `http::request::Parts`; kept as a trait so that this
/// crate stays free of HTTP types and tests can match plain structs.
pub trait RequestAttributes {
    /// The request authority (`:authority` or `Host`), possibly with a port.
    fn authority(&self) -> &str;
    /// The path without the query string.
    fn path(&self) -> &str;
    /// The raw query string (without `?`), if any.
    fn query(&self) -> Option<&str>;
    /// The method, upper case (`GET`).
    fn method(&self) -> &str;
    /// Calls `f` with each value of header `name` (lower case), in order.
    /// Values that are not valid UTF-8 are skipped.
    fn for_each_header_value(&self, name: &str, f: &mut dyn FnMut(&str));
}
