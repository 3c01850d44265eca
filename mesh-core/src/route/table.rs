use std::collections::HashMap;
use std::fmt;

use crate::ConfigError;
use crate::matcher::{HostMatcher, RequestAttributes};

use super::{RouteAction, RouteMatch};

/// A named route: a match and an action.
#[derive(Debug, Clone)]
pub struct Route {
    name: String,
    matcher: RouteMatch,
    action: RouteAction,
}

impl Route {
    /// A route; `name` is used in logs, metrics and errors.
    pub fn new(name: impl Into<String>, matcher: RouteMatch, action: RouteAction) -> Self {
        Self { name: name.into(), matcher, action }
    }
    /// The route's name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// The match conditions.
    pub fn matcher(&self) -> &RouteMatch {
        &self.matcher
    }
    /// What to do with a matched request.
    pub fn action(&self) -> &RouteAction {
        &self.action
    }
}

/// A set of domains and the ordered routes that serve them.
#[derive(Debug, Clone)]
pub struct VirtualHost {
    name: String,
    domains: Vec<HostMatcher>,
    routes: Vec<Route>,
}

impl VirtualHost {
    /// A virtual host; `domains` use Envoy's syntax (`exact`, `*.suffix`, `prefix.*`, `*`).
    pub fn new(name: impl Into<String>, domains: &[&str], routes: Vec<Route>) -> Result<Self, ConfigError> {
        let name = name.into();
        if domains.is_empty() {
            return Err(ConfigError::new("domains", "at least one domain is required"));
        }
        let domains = domains
            .iter()
            .enumerate()
            .map(|(i, d)| HostMatcher::parse(d).map_err(|e| e.within(format!("domains[{i}]"))))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self { name, domains, routes })
    }
    /// The virtual host's name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// Its routes, in evaluation order.
    pub fn routes(&self) -> &[Route] {
        &self.routes
    }
    /// Its domain patterns.
    pub fn domains(&self) -> &[HostMatcher] {
        &self.domains
    }
}

/// Why no route was found; carries what the caller needs to understand it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoRoute {
    /// The request authority.
    pub host: String,
    /// The request path.
    pub path: String,
    /// Whether a virtual host matched the authority (then no route of it matched).
    pub host_matched: bool,
}

impl fmt::Display for NoRoute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host_matched {
            write!(f, "no route matched host {:?} path {:?}", self.host, self.path)
        } else {
            write!(f, "no virtual host for host {:?} (path {:?})", self.host, self.path)
        }
    }
}

impl std::error::Error for NoRoute {}

/// All virtual hosts, indexed for lookup by authority.
#[derive(Debug, Clone, Default)]
pub struct RouteTable {
    hosts: Vec<VirtualHost>,
    exact: HashMap<String, usize>,
    /// (rank, host index) for wildcard domains, best rank first.
    wildcards: Vec<(HostMatcher, usize)>,
}

impl RouteTable {
    /// Builds the table; a domain may belong to one virtual host only (as in Envoy).
    pub fn new(hosts: Vec<VirtualHost>) -> Result<Self, ConfigError> {
        let mut exact = HashMap::new();
        let mut wildcards = Vec::new();
        let mut seen: HashMap<HostMatcher, usize> = HashMap::new();
        for (i, vh) in hosts.iter().enumerate() {
            for (j, d) in vh.domains.iter().enumerate() {
                if let Some(prev) = seen.insert(d.clone(), i) {
                    return Err(ConfigError::new(
                        format!("virtual_hosts[{i}].domains[{j}]"),
                        format!("domain {d:?} is already used by virtual host {:?}", hosts[prev].name),
                    ));
                }
                match d {
                    HostMatcher::Exact(s) => {
                        exact.insert(s.clone(), i);
                    }
                    other => wildcards.push((other.clone(), i)),
                }
            }
        }
        wildcards.sort_by_key(|w| std::cmp::Reverse(w.0.rank()));
        Ok(Self { hosts, exact, wildcards })
    }

    /// The virtual hosts.
    pub fn virtual_hosts(&self) -> &[VirtualHost] {
        &self.hosts
    }

    /// Finds the virtual host for an authority, by Envoy's precedence (exact, longest
    /// suffix wildcard, longest prefix wildcard, `*`); within each class the authority is
    /// tried with its port, then without, so `reviews` serves `reviews:9080` unless a
    /// domain names the port.
    pub fn virtual_host(&self, authority: &str) -> Option<&VirtualHost> {
        self.virtual_host_index(authority).map(|i| &self.hosts[i])
    }

    fn virtual_host_index(&self, authority: &str) -> Option<usize> {
        let lowered;
        let host = if authority.bytes().any(|b| b.is_ascii_uppercase()) {
            lowered = authority.to_ascii_lowercase();
            lowered.as_str()
        } else {
            authority
        };
        // Each precedence class is tried with the port, then without, before the next
        // class: `reviews` (exact) must win over `*` for `reviews:9080`.
        let bare = strip_port(host);
        if let Some(i) = self.exact.get(host).or_else(|| bare.and_then(|h| self.exact.get(h))) {
            return Some(*i);
        }
        self.wildcards.iter().find(|(m, _)| m.matches(host) || bare.is_some_and(|h| m.matches(h))).map(|(_, i)| *i)
    }

    /// The first route that matches, with its virtual host.
    pub fn route(&self, req: &dyn RequestAttributes) -> Result<(&VirtualHost, &Route), NoRoute> {
        let (v, r) = self.route_index(req)?;
        let vh = &self.hosts[v];
        Ok((vh, &vh.routes[r]))
    }

    /// Like [`route`](Self::route), as indices (virtual host, route) that
    /// [`route_at`](Self::route_at) resolves; lets a caller keep a decision next to an
    /// `Arc` of the table without borrowing it.
    pub fn route_index(&self, req: &dyn RequestAttributes) -> Result<(usize, usize), NoRoute> {
        let no_route =
            |host_matched| NoRoute { host: req.authority().to_string(), path: req.path().to_string(), host_matched };
        let v = self.virtual_host_index(req.authority()).ok_or_else(|| no_route(false))?;
        let r = self.hosts[v].routes.iter().position(|r| r.matcher.matches(req)).ok_or_else(|| no_route(true))?;
        Ok((v, r))
    }

    /// The route at indices returned by [`route_index`](Self::route_index).
    ///
    /// # Panics
    /// If the indices do not come from this table.
    pub fn route_at(&self, vhost: usize, route: usize) -> &Route {
        &self.hosts[vhost].routes[route]
    }

    /// Calls `f` on the action of every route, in table order.
    ///
    /// For policies that arrive apart from the table and apply to the routes that set
    /// none themselves: an xDS listener's `max_stream_duration` and fault filter config
    /// cover the routes of a route configuration fetched separately over RDS. Only
    /// actions can change — domains and matchers stay as validated, so the host index
    /// stays valid.
    pub fn for_each_action_mut(&mut self, mut f: impl FnMut(&mut RouteAction)) {
        for vh in &mut self.hosts {
            for r in &mut vh.routes {
                f(&mut r.action);
            }
        }
    }
}

fn strip_port(host: &str) -> Option<&str> {
    // `[::1]:80` → `[::1]`; `a:80` → `a`; a bare IPv6 address has no port.
    if let Some(rest) = host.strip_prefix('[') {
        let end = rest.find(']')?;
        let after = &rest[end + 1..];
        return after.starts_with(':').then(|| &host[..end + 2]);
    }
    let (h, port) = host.rsplit_once(':')?;
    (!h.contains(':') && port.bytes().all(|b| b.is_ascii_digit())).then_some(h)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_ports() {
        assert_eq!(strip_port("a:80"), Some("a"));
        assert_eq!(strip_port("a"), None);
        assert_eq!(strip_port("[::1]:80"), Some("[::1]"));
        assert_eq!(strip_port("::1"), None);
    }
}
