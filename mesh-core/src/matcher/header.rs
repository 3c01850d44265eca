use crate::ConfigError;

use super::{RequestAttributes, StringMatcher};

/// How a header is matched.
#[derive(Debug, Clone)]
pub enum HeaderMatch {
    /// The header is present (any value).
    Present,
    /// The header is absent.
    Absent,
    /// The header's value (several values joined with `,`, as Envoy does) matches.
    Value(StringMatcher),
}

/// A header matcher, optionally inverted (`invert_match` in Envoy).
#[derive(Debug, Clone)]
pub struct HeaderMatcher {
    name: String,
    kind: HeaderMatch,
    invert: bool,
}

impl HeaderMatcher {
    /// A matcher for header `name` (case-insensitive).
    pub fn new(name: &str, kind: HeaderMatch, invert: bool) -> Result<Self, ConfigError> {
        validate_header_name(name).map_err(|e| e.within("name"))?;
        Ok(Self { name: name.to_ascii_lowercase(), kind, invert })
    }

    /// The lower-cased header name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether the request matches.
    pub fn matches(&self, req: &dyn RequestAttributes) -> bool {
        let mut joined: Option<String> = None;
        req.for_each_header_value(&self.name, &mut |v| match &mut joined {
            None => joined = Some(v.to_string()),
            Some(j) => {
                j.push(',');
                j.push_str(v);
            }
        });
        let hit = match (&self.kind, joined) {
            (HeaderMatch::Present, v) => v.is_some(),
            (HeaderMatch::Absent, v) => v.is_none(),
            (HeaderMatch::Value(_), None) => {
                // Envoy: an absent header never matches a value matcher, inverted or not.
                return false;
            }
            (HeaderMatch::Value(m), Some(v)) => m.matches(&v),
        };
        hit != self.invert
    }
}

pub(crate) fn validate_header_name(name: &str) -> Result<(), ConfigError> {
    if name.is_empty() {
        return Err(ConfigError::new("", "header name must not be empty"));
    }
    if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~:".contains(&b)) {
        return Err(ConfigError::new("", format!("{name:?} is not a valid header name")));
    }
    Ok(())
}

/// How a query parameter is matched.
#[derive(Debug, Clone)]
pub enum QueryParamMatch {
    /// The parameter is present.
    Present,
    /// The (first) value matches.
    Value(StringMatcher),
}

/// A query-parameter matcher (Envoy's `QueryParameterMatcher`).
#[derive(Debug, Clone)]
pub struct QueryParamMatcher {
    name: String,
    kind: QueryParamMatch,
}

impl QueryParamMatcher {
    /// A matcher for query parameter `name` (case-sensitive, as Envoy).
    pub fn new(name: &str, kind: QueryParamMatch) -> Result<Self, ConfigError> {
        if name.is_empty() {
            return Err(ConfigError::new("name", "query parameter name must not be empty"));
        }
        Ok(Self { name: name.to_string(), kind })
    }

    /// Whether the request matches.
    pub fn matches(&self, req: &dyn RequestAttributes) -> bool {
        let Some(query) = req.query() else { return false };
        for pair in query.split('&') {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            if k == self.name {
                return match &self.kind {
                    QueryParamMatch::Present => true,
                    QueryParamMatch::Value(m) => m.matches(v),
                };
            }
        }
        false
    }
}
