use crate::ConfigError;

/// One entry of a virtual host's `domains`, with Envoy's precedence.
///
/// Envoy picks the virtual host by: exact domain, then the longest suffix wildcard
/// (`*.example.com`), then the longest prefix wildcard (`example.*`), then `*`. Matching
/// is case-insensitive.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum HostMatcher {
    /// `reviews.default.svc.cluster.local`, `reviews:9080`.
    Exact(String),
    /// `*.example.com` (stored without the `*`).
    Suffix(String),
    /// `example.*` (stored without the `*`).
    Prefix(String),
    /// `*`.
    Any,
}

impl HostMatcher {
    /// Parses a domain pattern.
    pub fn parse(domain: &str) -> Result<Self, ConfigError> {
        let d = domain.trim().to_ascii_lowercase();
        if d.is_empty() {
            return Err(ConfigError::new("", "domain must not be empty"));
        }
        let stars = d.matches('*').count();
        let m = if d == "*" {
            Self::Any
        } else if stars == 0 {
            Self::Exact(d)
        } else if stars == 1 && d.starts_with('*') {
            Self::Suffix(d[1..].to_string())
        } else if stars == 1 && d.ends_with('*') {
            Self::Prefix(d[..d.len() - 1].to_string())
        } else {
            return Err(ConfigError::new(
                "",
                format!("domain {domain:?}: a wildcard may only be the first or last character"),
            ));
        };
        Ok(m)
    }

    /// Precedence class and length: higher wins.
    pub(crate) fn rank(&self) -> (u8, usize) {
        match self {
            Self::Exact(s) => (3, s.len()),
            Self::Suffix(s) => (2, s.len()),
            Self::Prefix(s) => (1, s.len()),
            Self::Any => (0, 0),
        }
    }

    /// Whether the (already lower-cased) host matches.
    pub fn matches(&self, host: &str) -> bool {
        match self {
            Self::Exact(s) => host == s,
            Self::Suffix(s) => host.len() > s.len() && host.ends_with(s.as_str()),
            Self::Prefix(s) => host.len() > s.len() && host.starts_with(s.as_str()),
            Self::Any => true,
        }
    }
}
