//! The RBAC model: filters of named policies, each a set of permissions (what is asked)
//! and principals (who asks), as Envoy's `envoy.config.rbac.v3.RBAC`.

use crate::ConfigError;
use crate::matcher::{HeaderMatcher, StringMatcher};

use super::Cidr;

/// What an RBAC filter does when one of its policies matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RbacAction {
    /// Let a request through only when a policy matches (no match: denied).
    Allow,
    /// Deny a request when a policy matches.
    Deny,
    /// Never deny; record the matching policy (Istio's `AUDIT`).
    Log,
}

/// One RBAC filter: an action and its policies.
#[derive(Debug, Clone)]
pub struct Rbac {
    /// The action.
    pub action: RbacAction,
    /// The policies, in evaluation order. Envoy keeps them in a map ordered by name, and
    /// reports the first that matches; [`Rbac::new`] sorts them the same way.
    pub policies: Vec<(String, Policy)>,
}

impl Rbac {
    /// A filter; the policies are sorted by name. Duplicate names are rejected (they are
    /// keys of a map in Envoy's config).
    pub fn new(action: RbacAction, policies: impl IntoIterator<Item = (String, Policy)>) -> Result<Self, ConfigError> {
        let mut policies: Vec<(String, Policy)> = policies.into_iter().collect();
        policies.sort_by(|a, b| a.0.cmp(&b.0));
        if let Some(w) = policies.windows(2).find(|w| w[0].0 == w[1].0) {
            return Err(ConfigError::new(format!("policies[{:?}]", w[0].0), "duplicate policy name"));
        }
        Ok(Self { action, policies })
    }
}

/// A policy: it matches a request when some permission and some principal match.
#[derive(Debug, Clone)]
pub struct Policy {
    /// What is asked for; matched as an OR.
    pub permissions: Vec<Permission>,
    /// Who asks; matched as an OR.
    pub principals: Vec<Principal>,
}

/// A condition on what the request asks for (Envoy's `Permission`).
#[derive(Debug, Clone)]
pub enum Permission {
    /// Every request.
    Any,
    /// All of these (an empty list matches).
    And(Vec<Permission>),
    /// One of these (an empty list does not match).
    Or(Vec<Permission>),
    /// Not this.
    Not(Box<Permission>),
    /// A request header, or the `:method`, `:path` (with the query) or `:authority`
    /// pseudo-header.
    Header(HeaderMatcher),
    /// The normalized path, without the query.
    UrlPath(StringMatcher),
    /// The port the connection was accepted on.
    DestinationPort(u16),
    /// A port in `[start, end)` (an empty range matches nothing).
    DestinationPortRange {
        /// First port of the range.
        start: u16,
        /// One past the last port of the range.
        end: u16,
    },
    /// The TLS SNI the client sent (`""` when none, as Envoy).
    RequestedServerName(StringMatcher),
}

/// A condition on who sends the request (Envoy's `Principal`).
#[derive(Debug, Clone)]
pub enum Principal {
    /// Everyone.
    Any,
    /// All of these (an empty list matches).
    And(Vec<Principal>),
    /// One of these (an empty list does not match).
    Or(Vec<Principal>),
    /// Not this.
    Not(Box<Principal>),
    /// A TLS peer with a verified client certificate; `None`: any such peer; `Some(m)`: its
    /// identity (the URI SAN, e.g. `spiffe://cluster.local/ns/a/sa/b`) matches `m`.
    Authenticated(Option<StringMatcher>),
    /// The address of the TCP peer.
    DirectRemoteIp(Cidr),
    /// The address of the original client (from `x-forwarded-for` when trusted, see
    /// [`RemoteAddress`](super::RemoteAddress)); the TCP peer otherwise.
    RemoteIp(Cidr),
    /// A request header or pseudo-header, as [`Permission::Header`].
    Header(HeaderMatcher),
    /// The normalized path, without the query.
    UrlPath(StringMatcher),
    /// The principal of a request credential (a JWT's `iss/sub`, Istio's
    /// `request.auth.principal`); never matches when there is none.
    RequestPrincipal(StringMatcher),
}

impl Permission {
    /// Ports `[start, end)` from Envoy's `int32` range: `end` may be 65536 (the range then
    /// includes port 65535), an empty or inverted range matches nothing.
    pub fn port_range(start: i32, end: i32) -> Self {
        let clamp = |p: i32| p.clamp(0, 65_536);
        let (start, end) = (clamp(start), clamp(end));
        if start >= end {
            return Self::DestinationPortRange { start: 0, end: 0 };
        }
        // In range by the clamp above; 65536 is handled below.
        let s = u16::try_from(start).unwrap_or(u16::MAX);
        match u16::try_from(end) {
            Ok(e) => Self::DestinationPortRange { start: s, end: e },
            // `end` is 65536: the range includes port 65535.
            Err(_) if s == u16::MAX => Self::DestinationPort(u16::MAX),
            Err(_) => {
                Self::Or(vec![Self::DestinationPortRange { start: s, end: u16::MAX }, Self::DestinationPort(u16::MAX)])
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn empty() -> Policy {
        Policy { permissions: vec![], principals: vec![] }
    }

    #[test]
    fn policies_are_sorted_by_name_and_unique() {
        let r = Rbac::new(RbacAction::Deny, [("b".to_string(), empty()), ("a".to_string(), empty())]).expect("valid");
        let names: Vec<_> = r.policies.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["a", "b"]);
        let dup = Rbac::new(RbacAction::Allow, [("a".to_string(), empty()), ("a".to_string(), empty())]);
        assert!(dup.expect_err("duplicate").field.contains("\"a\""));
    }

    #[test]
    fn port_ranges_cover_the_int32_proto_range() {
        assert!(matches!(Permission::port_range(80, 90), Permission::DestinationPortRange { start: 80, end: 90 }));
        assert!(matches!(Permission::port_range(90, 80), Permission::DestinationPortRange { start: 0, end: 0 }));
        assert!(matches!(Permission::port_range(-5, 10), Permission::DestinationPortRange { start: 0, end: 10 }));
        assert!(matches!(Permission::port_range(65_535, 70_000), Permission::DestinationPort(65_535)));
        match Permission::port_range(1000, 65_536) {
            Permission::Or(v) => assert_eq!(v.len(), 2),
            other => panic!("{other:?}"),
        }
    }
}
