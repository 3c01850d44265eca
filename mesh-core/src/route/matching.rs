use crate::ConfigError;
use crate::matcher::{HeaderMatcher, QueryParamMatcher, RequestAttributes, StringMatcher};

/// How the path is matched (Envoy's `path_specifier`).
#[derive(Debug, Clone)]
pub enum PathMatch {
    /// Path starts with the prefix (`/` matches everything).
    Prefix(String),
    /// Path equals the value.
    Exact(String),
    /// The whole path matches the regex.
    Regex(StringMatcher),
}

/// Everything a route requires of a request; all conditions must hold.
#[derive(Debug, Clone)]
pub struct RouteMatch {
    path: PathMatch,
    ignore_case: bool,
    headers: Vec<HeaderMatcher>,
    query_params: Vec<QueryParamMatcher>,
    methods: Vec<String>,
}

impl Default for RouteMatch {
    fn default() -> Self {
        Self::any()
    }
}

impl RouteMatch {
    /// Matches every request (prefix `/`).
    pub fn any() -> Self {
        Self {
            path: PathMatch::Prefix("/".into()),
            ignore_case: false,
            headers: Vec::new(),
            query_params: Vec::new(),
            methods: Vec::new(),
        }
    }

    /// A matcher on `path`; `ignore_case` applies to prefix and exact paths.
    pub fn new(path: PathMatch, ignore_case: bool) -> Result<Self, ConfigError> {
        match &path {
            PathMatch::Prefix(p) | PathMatch::Exact(p) if !p.is_empty() && !p.starts_with('/') => {
                return Err(ConfigError::new("path", format!("{p:?} must start with '/'")));
            }
            _ => {}
        }
        let path = match path {
            PathMatch::Prefix(p) if ignore_case => PathMatch::Prefix(p.to_ascii_lowercase()),
            PathMatch::Exact(p) if ignore_case => PathMatch::Exact(p.to_ascii_lowercase()),
            other => other,
        };
        Ok(Self { path, ignore_case, ..Self::any() })
    }

    /// How the path is matched (a prefix is lower-cased when `ignore_case`).
    pub fn path(&self) -> &PathMatch {
        &self.path
    }

    /// Also require header matchers.
    #[must_use]
    pub fn with_headers(mut self, headers: Vec<HeaderMatcher>) -> Self {
        self.headers = headers;
        self
    }

    /// Also require query-parameter matchers.
    #[must_use]
    pub fn with_query_params(mut self, params: Vec<QueryParamMatcher>) -> Self {
        self.query_params = params;
        self
    }

    /// Restrict to these methods (empty: any).
    pub fn with_methods(mut self, methods: Vec<String>) -> Result<Self, ConfigError> {
        for (i, m) in methods.iter().enumerate() {
            if m.is_empty() || !m.bytes().all(|b| b.is_ascii_alphabetic()) {
                return Err(ConfigError::new(format!("methods[{i}]"), format!("{m:?} is not an HTTP method")));
            }
        }
        self.methods = methods.into_iter().map(|m| m.to_ascii_uppercase()).collect();
        Ok(self)
    }

    /// Whether the request matches every condition.
    pub fn matches(&self, req: &dyn RequestAttributes) -> bool {
        let path = req.path();
        let path_ok = match &self.path {
            PathMatch::Prefix(p) => {
                path.len() >= p.len()
                    && path.is_char_boundary(p.len())
                    && if self.ignore_case {
                        path[..p.len()].eq_ignore_ascii_case(p)
                    } else {
                        path.starts_with(p.as_str())
                    }
            }
            PathMatch::Exact(p) => {
                if self.ignore_case {
                    path.eq_ignore_ascii_case(p)
                } else {
                    path == p
                }
            }
            PathMatch::Regex(re) => re.matches(path),
        };
        path_ok
            && (self.methods.is_empty() || self.methods.iter().any(|m| m == req.method()))
            && self.headers.iter().all(|h| h.matches(req))
            && self.query_params.iter().all(|q| q.matches(req))
    }
}
