//! What a route changes about a request or its response (Envoy's
//! `request_headers_to_add`/`_remove`, `response_headers_to_add`/`_remove`,
//! `prefix_rewrite`, `host_rewrite_literal`) and how it redirects (`redirect`).

use crate::ConfigError;
use crate::matcher::validate_header_name;

/// Header changes, applied in this order: remove, set (replace), add (append).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HeaderMutation {
    set: Vec<(String, String)>,
    add: Vec<(String, String)>,
    remove: Vec<String>,
}

fn name(n: &str) -> Result<String, ConfigError> {
    validate_header_name(n)?;
    if n.starts_with(':') {
        return Err(ConfigError::new("", format!("pseudo-header {n:?} cannot be changed")));
    }
    Ok(n.to_ascii_lowercase())
}

fn value(v: &str) -> Result<String, ConfigError> {
    if v.bytes().any(|b| (b < 0x20 && b != b'\t') || b == 0x7f) {
        return Err(ConfigError::new("", format!("{v:?} is not a valid header value")));
    }
    Ok(v.to_string())
}

impl HeaderMutation {
    /// No changes.
    pub fn new() -> Self {
        Self::default()
    }

    /// Replaces header `n` (lower-cased) with `v`, adding it when absent.
    pub fn set(mut self, n: &str, v: &str) -> Result<Self, ConfigError> {
        self.set.push((name(n)?, value(v)?));
        Ok(self)
    }

    /// Appends a value `v` to header `n` (lower-cased), keeping existing values.
    pub fn add(mut self, n: &str, v: &str) -> Result<Self, ConfigError> {
        self.add.push((name(n)?, value(v)?));
        Ok(self)
    }

    /// Removes header `n` (lower-cased).
    pub fn remove(mut self, n: &str) -> Result<Self, ConfigError> {
        self.remove.push(name(n)?);
        Ok(self)
    }

    /// Whether there is nothing to do.
    pub fn is_empty(&self) -> bool {
        self.set.is_empty() && self.add.is_empty() && self.remove.is_empty()
    }

    /// Headers replaced.
    pub fn sets(&self) -> &[(String, String)] {
        &self.set
    }

    /// Headers appended.
    pub fn adds(&self) -> &[(String, String)] {
        &self.add
    }

    /// Headers removed.
    pub fn removes(&self) -> &[String] {
        &self.remove
    }
}

/// A redirect's status code.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum RedirectCode {
    /// 301 (the default).
    #[default]
    MovedPermanently,
    /// 302.
    Found,
    /// 303.
    SeeOther,
    /// 307.
    TemporaryRedirect,
    /// 308.
    PermanentRedirect,
}

impl RedirectCode {
    /// From an HTTP status: 301, 302, 303, 307 or 308.
    pub fn from_status(code: u16) -> Result<Self, ConfigError> {
        Ok(match code {
            301 => Self::MovedPermanently,
            302 => Self::Found,
            303 => Self::SeeOther,
            307 => Self::TemporaryRedirect,
            308 => Self::PermanentRedirect,
            _ => {
                return Err(ConfigError::new("", format!("{code} is not a redirect status (301, 302, 303, 307, 308)")));
            }
        })
    }

    /// The HTTP status.
    pub fn status(self) -> u16 {
        match self {
            Self::MovedPermanently => 301,
            Self::Found => 302,
            Self::SeeOther => 303,
            Self::TemporaryRedirect => 307,
            Self::PermanentRedirect => 308,
        }
    }
}

/// How the path of a redirect's `location` is formed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RedirectPath {
    /// The whole path (the query is kept unless the path has one).
    Path(String),
    /// Replaces the matched prefix of a prefix-matched route.
    Prefix(String),
}

/// Answers the request with a redirect instead of forwarding it (Envoy's
/// `RedirectAction`). Unset parts keep the request's own.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Redirect {
    /// New scheme (`http`/`https`).
    pub scheme: Option<String>,
    /// New host (without port).
    pub host: Option<String>,
    /// New port.
    pub port: Option<u16>,
    /// New path.
    pub path: Option<RedirectPath>,
    /// Status.
    pub code: RedirectCode,
}

impl Redirect {
    /// Checks the parts.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if let Some(s) = &self.scheme
            && !s.eq_ignore_ascii_case("http")
            && !s.eq_ignore_ascii_case("https")
        {
            return Err(ConfigError::new("scheme", format!("{s:?} must be http or https")));
        }
        if let Some(h) = &self.host
            && (h.is_empty() || h.contains(['/', '?', '#', '@', ' ']))
        {
            return Err(ConfigError::new("host", format!("{h:?} is not a valid host")));
        }
        match &self.path {
            Some(RedirectPath::Path(p)) if !p.starts_with('/') => {
                Err(ConfigError::new("path", format!("{p:?} must start with '/'")))
            }
            Some(RedirectPath::Prefix(p)) if !p.is_empty() && !p.starts_with('/') => {
                Err(ConfigError::new("prefix", format!("{p:?} must start with '/'")))
            }
            _ => Ok(()),
        }
    }

    /// The `location` for a request to `scheme://authority` + `path_and_query`; `prefix`
    /// is the route's matched path prefix when it is a prefix match.
    pub fn location(&self, scheme: &str, authority: &str, path_and_query: &str, prefix: Option<&str>) -> String {
        let scheme = self.scheme.as_deref().unwrap_or(scheme).to_ascii_lowercase();
        let (req_host, req_port) = split_port(authority);
        let host = self.host.as_deref().unwrap_or(req_host);
        let port = match self.port {
            Some(p) => Some(p.to_string()),
            // A scheme change drops the request's port (Envoy does, for the default ports).
            None if self.scheme.is_some() => None,
            None => req_port.map(str::to_string),
        };
        let default_port = if scheme == "https" { "443" } else { "80" };
        let port = port.filter(|p| p != default_port).map(|p| format!(":{p}")).unwrap_or_default();
        let path = match &self.path {
            None => path_and_query.to_string(),
            Some(RedirectPath::Path(p)) if p.contains('?') => p.clone(),
            Some(RedirectPath::Path(p)) => match path_and_query.split_once('?') {
                Some((_, q)) => format!("{p}?{q}"),
                None => p.clone(),
            },
            Some(RedirectPath::Prefix(p)) => rewrite_prefix(path_and_query, prefix, p),
        };
        format!("{scheme}://{host}{port}{path}")
    }
}

fn split_port(authority: &str) -> (&str, Option<&str>) {
    match authority.rsplit_once(':') {
        Some((h, p))
            if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) && (h.ends_with(']') || !h.contains(':')) =>
        {
            (h, Some(p))
        }
        _ => (authority, None),
    }
}

/// Replaces `prefix` (the route's matched prefix; None: nothing is replaced) at the start
/// of `path_and_query` with `replacement`. Case-insensitive prefixes match any case.
pub fn rewrite_prefix(path_and_query: &str, prefix: Option<&str>, replacement: &str) -> String {
    match prefix {
        Some(p) if path_and_query.len() >= p.len() && path_and_query.is_char_boundary(p.len()) => {
            format!("{replacement}{}", &path_and_query[p.len()..])
        }
        _ => path_and_query.to_string(),
    }
}

/// Checks a `prefix_rewrite` value.
pub fn validate_prefix_rewrite(p: &str) -> Result<(), ConfigError> {
    if !p.is_empty() && !p.starts_with('/') {
        return Err(ConfigError::new("", format!("{p:?} must start with '/'")));
    }
    Ok(())
}

/// Checks a `host_rewrite` value (an authority: host and optional port).
pub fn validate_authority(a: &str) -> Result<(), ConfigError> {
    let bad = |b: u8| !(b.is_ascii_alphanumeric() || b"-._~:[]!$&'()*+,;=%".contains(&b));
    if a.is_empty() || a.bytes().any(bad) {
        return Err(ConfigError::new("", format!("{a:?} is not a valid authority")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mutations_validate_and_lower_case() {
        let m = HeaderMutation::new().set("X-A", "1").unwrap().add("x-b", "2").unwrap().remove("X-C").unwrap();
        assert_eq!(m.sets(), &[("x-a".to_string(), "1".to_string())]);
        assert_eq!(m.removes(), &["x-c".to_string()]);
        assert!(HeaderMutation::new().set("bad name", "1").is_err());
        assert!(HeaderMutation::new().set(":path", "/").is_err());
        assert!(HeaderMutation::new().add("x", "a\nb").is_err());
    }

    #[test]
    fn locations() {
        let r = Redirect { host: Some("new.example".into()), ..Default::default() };
        assert_eq!(r.location("http", "old:8080", "/a?q=1", None), "http://new.example:8080/a?q=1");
        let r = Redirect {
            scheme: Some("https".into()),
            path: Some(RedirectPath::Prefix("/v2/".into())),
            code: RedirectCode::from_status(308).unwrap(),
            ..Default::default()
        };
        assert_eq!(r.location("http", "h:80", "/api/x", Some("/api/")), "https://h/v2/x");
        let r = Redirect { path: Some(RedirectPath::Path("/p".into())), port: Some(9), ..Default::default() };
        assert_eq!(r.location("http", "h", "/a?q", None), "http://h:9/p?q");
        assert!(RedirectCode::from_status(200).is_err());
        assert!(Redirect { scheme: Some("ftp".into()), ..Default::default() }.validate().is_err());
    }
}
