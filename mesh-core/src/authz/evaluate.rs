//! Evaluating a chain of RBAC filters against one request, with Envoy's semantics.
//!
//! Filters run in order. A `DENY` filter denies when one of its policies matches; an
//! `ALLOW` filter denies when none does (so a chain with an `ALLOW` filter is
//! default-deny); a `LOG` filter never denies and records the first of its policies
//! that matches (by name, as Envoy's `shadow_effective_policy_id`). The first denial
//! ends the evaluation. An empty chain allows everything.

use std::fmt;
use std::net::IpAddr;

use crate::matcher::RequestAttributes;

use super::{Permission, Policy, Principal, Rbac, RbacAction};

/// What RBAC looks at in a request and its connection.
///
/// Header matchers see the real headers plus the `:method`, `:path` (path and query,
/// as Envoy's `:path` header) and `:authority` pseudo-headers, answered from the fields
/// below. `:scheme` is not known here and never present.
#[derive(Clone, Copy)]
pub struct AuthzRequest<'a> {
    /// Method (`GET`, `POST`).
    pub method: &'a str,
    /// The normalized path (see [`normalize_path`](super::normalize_path)), without the query.
    pub path: &'a str,
    /// The query string without `?`, if any (only visible through the `:path` header).
    pub query: Option<&'a str>,
    /// The request authority (`:authority` or `Host`).
    pub authority: &'a str,
    /// The request's real headers (names lower case).
    pub headers: &'a dyn RequestAttributes,
    /// The local port the connection was accepted on.
    pub destination_port: u16,
    /// The TCP peer's address.
    pub direct_remote: Option<IpAddr>,
    /// The original client's address (see [`RemoteAddress`](super::RemoteAddress)).
    pub remote: Option<IpAddr>,
    /// The peer's identity from its verified client certificate (URI SAN, e.g.
    /// `spiffe://cluster.local/ns/a/sa/b`); `None` for plaintext or no URI SAN.
    pub principal: Option<&'a str>,
    /// The connection is TLS with a verified client certificate.
    pub authenticated: bool,
    /// The TLS SNI the client sent.
    pub sni: Option<&'a str>,
    /// The principal of a verified request credential (a JWT's `iss/sub`).
    pub request_principal: Option<&'a str>,
}

impl fmt::Debug for AuthzRequest<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthzRequest")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("query", &self.query)
            .field("authority", &self.authority)
            .field("destination_port", &self.destination_port)
            .field("direct_remote", &self.direct_remote)
            .field("remote", &self.remote)
            .field("principal", &self.principal)
            .field("authenticated", &self.authenticated)
            .field("sni", &self.sni)
            .field("request_principal", &self.request_principal)
            .finish_non_exhaustive()
    }
}

/// Header view for matchers: the real headers plus the pseudo-headers Envoy has.
impl RequestAttributes for AuthzRequest<'_> {
    fn authority(&self) -> &str {
        self.authority
    }
    fn path(&self) -> &str {
        self.path
    }
    fn query(&self) -> Option<&str> {
        self.query
    }
    fn method(&self) -> &str {
        self.method
    }
    fn for_each_header_value(&self, name: &str, f: &mut dyn FnMut(&str)) {
        match name {
            ":method" => f(self.method),
            ":authority" => f(self.authority),
            ":path" => match self.query {
                None => f(self.path),
                Some(q) => f(&format!("{}?{q}", self.path)),
            },
            _ => self.headers.for_each_header_value(name, f),
        }
    }
}

/// The outcome of a chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// The request may proceed.
    Allow {
        /// For each `LOG` filter with a matching policy, that policy's name (Istio's AUDIT).
        logged: Vec<String>,
    },
    /// The request is denied (HTTP 403, gRPC `PERMISSION_DENIED`).
    Deny {
        /// [`RbacAction::Deny`]: a `DENY` policy matched; [`RbacAction::Allow`]: an
        /// `ALLOW` filter had no matching policy.
        action: RbacAction,
        /// The `DENY` policy that matched.
        policy: Option<String>,
        /// `LOG` matches recorded before the denial.
        logged: Vec<String>,
    },
}

impl Decision {
    /// Whether the request may proceed.
    pub fn is_allowed(&self) -> bool {
        matches!(self, Self::Allow { .. })
    }
}

/// RBAC filters, evaluated in order.
#[derive(Debug, Clone, Default)]
pub struct AuthzChain {
    /// The filters (istiod's order: AUDIT, then DENY, then ALLOW).
    pub filters: Vec<Rbac>,
}

impl AuthzChain {
    /// A chain of `filters`.
    pub fn new(filters: Vec<Rbac>) -> Self {
        Self { filters }
    }

    /// Decides on `req`.
    pub fn evaluate(&self, req: &AuthzRequest<'_>) -> Decision {
        let mut logged = Vec::new();
        for filter in &self.filters {
            let matched = filter.first_match(req);
            match (filter.action, matched) {
                (RbacAction::Allow, Some(_)) | (RbacAction::Deny, None) | (RbacAction::Log, None) => {}
                (RbacAction::Allow, None) => {
                    return Decision::Deny { action: RbacAction::Allow, policy: None, logged };
                }
                (RbacAction::Deny, Some(name)) => {
                    return Decision::Deny { action: RbacAction::Deny, policy: Some(name.to_string()), logged };
                }
                (RbacAction::Log, Some(name)) => logged.push(name.to_string()),
            }
        }
        Decision::Allow { logged }
    }
}

impl Rbac {
    /// The name of the first policy (in order) that matches `req`.
    pub fn first_match(&self, req: &AuthzRequest<'_>) -> Option<&str> {
        self.policies.iter().find(|(_, p)| p.matches(req)).map(|(name, _)| name.as_str())
    }
}

impl Policy {
    /// Whether some permission and some principal match.
    pub fn matches(&self, req: &AuthzRequest<'_>) -> bool {
        self.permissions.iter().any(|p| p.matches(req)) && self.principals.iter().any(|p| p.matches(req))
    }
}

impl Permission {
    /// Whether the request matches.
    pub fn matches(&self, req: &AuthzRequest<'_>) -> bool {
        match self {
            Self::Any => true,
            Self::And(all) => all.iter().all(|p| p.matches(req)),
            Self::Or(any) => any.iter().any(|p| p.matches(req)),
            Self::Not(p) => !p.matches(req),
            Self::Header(h) => h.matches(req),
            Self::UrlPath(m) => m.matches(req.path),
            Self::DestinationPort(port) => req.destination_port == *port,
            Self::DestinationPortRange { start, end } => (*start..*end).contains(&req.destination_port),
            Self::RequestedServerName(m) => m.matches(req.sni.unwrap_or("")),
        }
    }
}

impl Principal {
    /// Whether the request's sender matches.
    pub fn matches(&self, req: &AuthzRequest<'_>) -> bool {
        match self {
            Self::Any => true,
            Self::And(all) => all.iter().all(|p| p.matches(req)),
            Self::Or(any) => any.iter().any(|p| p.matches(req)),
            Self::Not(p) => !p.matches(req),
            // Envoy matches the URI SAN, else the subject; a certificate without a URI SAN
            // is matched as "" here (the subject is not carried), which no Istio matcher
            // (`spiffe://…`, `.+`) accepts.
            Self::Authenticated(m) => {
                req.authenticated && m.as_ref().is_none_or(|m| m.matches(req.principal.unwrap_or("")))
            }
            Self::DirectRemoteIp(c) => req.direct_remote.is_some_and(|ip| c.contains(ip)),
            Self::RemoteIp(c) => req.remote.is_some_and(|ip| c.contains(ip)),
            Self::Header(h) => h.matches(req),
            Self::UrlPath(m) => m.matches(req.path),
            Self::RequestPrincipal(m) => req.request_principal.is_some_and(|p| m.matches(p)),
        }
    }
}
