//! SPIFFE identities: `spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>`.
//!
//! Istio names every workload this way, and both ends of a mesh connection check the
//! other's certificate for such a URI SAN. The type is validated once, when parsed, so
//! code that holds a [`SpiffeId`] never re-checks it. Validation follows the SPIFFE ID
//! spec: lowercase trust domain of `[a-z0-9.-_]`, path segments of
//! `[A-Za-z0-9.-_]` that are neither empty, `.` nor `..`, no query, fragment, port or
//! user info, at most 2,048 bytes.

use std::fmt;
use std::str::FromStr;

/// The default trust domain, as in Istio.
pub const DEFAULT_TRUST_DOMAIN: &str = "cluster.local";

/// Why a string is not a SPIFFE ID (or not an Istio workload one).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid SPIFFE ID {id:?}: {reason}")]
pub struct SpiffeIdError {
    /// The rejected input (truncated to 200 bytes).
    pub id: String,
    /// Why.
    pub reason: &'static str,
}

/// A validated SPIFFE ID.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SpiffeId {
    uri: String,
    /// Byte offset of the path (the `/` after the trust domain) in `uri`, or its length.
    path_at: usize,
}

const SCHEME: &str = "spiffe://";

impl SpiffeId {
    /// Parses and validates `spiffe://<trust-domain>[/<path>]`.
    pub fn parse(s: &str) -> Result<Self, SpiffeIdError> {
        let err = |reason| SpiffeIdError { id: s.chars().take(200).collect(), reason };
        if s.len() > 2048 {
            return Err(err("longer than 2048 bytes"));
        }
        let rest = s.strip_prefix(SCHEME).ok_or_else(|| err("scheme must be spiffe://"))?;
        let (domain, path) = match rest.find('/') {
            Some(i) => rest.split_at(i),
            None => (rest, ""),
        };
        if domain.is_empty() {
            return Err(err("trust domain is empty"));
        }
        if !domain.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'_')) {
            return Err(err("trust domain may hold only lowercase letters, digits, '.', '-' and '_'"));
        }
        if !path.is_empty() {
            for segment in path[1..].split('/') {
                match segment {
                    "" => return Err(err("path has an empty segment or a trailing '/'")),
                    "." | ".." => return Err(err("path segments may not be '.' or '..'")),
                    _ => {}
                }
                if !segment.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_')) {
                    return Err(err("path may hold only letters, digits, '.', '-' and '_'"));
                }
            }
        }
        Ok(Self { uri: s.to_string(), path_at: SCHEME.len() + domain.len() })
    }

    /// Parses an Istio workload identity: `spiffe://<td>/ns/<ns>/sa/<sa>`.
    pub fn parse_workload(s: &str) -> Result<Self, SpiffeIdError> {
        let id = Self::parse(s)?;
        if id.namespace().is_none() {
            return Err(SpiffeIdError {
                id: s.chars().take(200).collect(),
                reason: "not an Istio workload identity (spiffe://<trust-domain>/ns/<ns>/sa/<sa>)",
            });
        }
        Ok(id)
    }

    /// The workload identity of service account `sa` in namespace `ns`.
    pub fn workload(trust_domain: &str, ns: &str, sa: &str) -> Result<Self, SpiffeIdError> {
        Self::parse_workload(&format!("{SCHEME}{trust_domain}/ns/{ns}/sa/{sa}"))
    }

    /// The whole URI.
    pub fn as_str(&self) -> &str {
        &self.uri
    }

    /// The trust domain (`cluster.local`).
    pub fn trust_domain(&self) -> &str {
        &self.uri[SCHEME.len()..self.path_at]
    }

    /// The path, starting with `/` (empty for a trust-domain ID).
    pub fn path(&self) -> &str {
        &self.uri[self.path_at..]
    }

    /// The identity without its scheme (`cluster.local/ns/default/sa/sleep`): what
    /// Istio's AuthorizationPolicy calls a principal.
    pub fn principal(&self) -> &str {
        &self.uri[SCHEME.len()..]
    }

    fn workload_parts(&self) -> Option<(&str, &str)> {
        let mut it = self.path().strip_prefix('/')?.split('/');
        match (it.next(), it.next(), it.next(), it.next(), it.next()) {
            (Some("ns"), Some(ns), Some("sa"), Some(sa), None) => Some((ns, sa)),
            _ => None,
        }
    }

    /// The namespace of an Istio workload identity.
    pub fn namespace(&self) -> Option<&str> {
        self.workload_parts().map(|(ns, _)| ns)
    }

    /// The service account of an Istio workload identity.
    pub fn service_account(&self) -> Option<&str> {
        self.workload_parts().map(|(_, sa)| sa)
    }
}

impl FromStr for SpiffeId {
    type Err = SpiffeIdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for SpiffeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.uri)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workload_identity_parts() {
        let id = SpiffeId::parse("spiffe://cluster.local/ns/default/sa/sleep").unwrap();
        assert_eq!(id.trust_domain(), "cluster.local");
        assert_eq!(id.path(), "/ns/default/sa/sleep");
        assert_eq!(id.namespace(), Some("default"));
        assert_eq!(id.service_account(), Some("sleep"));
        assert_eq!(id.principal(), "cluster.local/ns/default/sa/sleep");
        assert_eq!(SpiffeId::workload("cluster.local", "default", "sleep").unwrap(), id);
    }

    #[test]
    fn non_workload_ids() {
        let id = SpiffeId::parse("spiffe://example.org").unwrap();
        assert_eq!(id.path(), "");
        assert_eq!(id.namespace(), None);
        assert!(SpiffeId::parse_workload("spiffe://example.org/ns/a/sa/b/c").is_err());
        assert!(SpiffeId::parse_workload("spiffe://example.org/ns/a").is_err());
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "http://cluster.local/ns/a/sa/b",
            "spiffe://",
            "spiffe:///ns/a",
            "spiffe://Cluster.local/ns/a/sa/b",
            "spiffe://cluster.local:8080/ns/a/sa/b",
            "spiffe://user@cluster.local/ns/a/sa/b",
            "spiffe://cluster.local/ns//sa/b",
            "spiffe://cluster.local/ns/a/sa/b/",
            "spiffe://cluster.local/ns/../sa/b",
            "spiffe://cluster.local/ns/a/sa/b?x=1",
            "spiffe://cluster.local/ns/a/sa/b#f",
            "spiffe://cluster.local/ns/a b/sa/b",
        ] {
            assert!(SpiffeId::parse(bad).is_err(), "{bad} accepted");
        }
        assert!(SpiffeId::parse(&format!("spiffe://a/{}", "x".repeat(2100))).is_err());
    }
}
