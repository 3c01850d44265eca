//! Request mirroring (Istio's `mirror`/`mirrors` + `mirrorPercentage`, Envoy's
//! `request_mirror_policies`): a share of a route's requests is copied to another
//! destination, fire and forget.
//!
//! Why model the shadow's authority here? Envoy appends `-shadow` to the host of the
//! mirrored request (before the port: `reviews:9080` becomes `reviews-shadow:9080`) so
//! that the receiving side can tell shadow traffic from real traffic in its logs, and
//! tooling built around Istio relies on that. The rule is pure string work, so it lives
//! next to the policy and is tested here.

use crate::fault::Percent;

use super::Destination;

/// What the mirrored copy carries as its authority (and `Host`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum MirrorHost {
    /// The request's authority with `-shadow` appended to the host (Envoy's default).
    #[default]
    ShadowSuffix,
    /// The request's authority unchanged (Envoy's `disable_shadow_host_suffix_append`).
    Unchanged,
    /// This authority (Envoy's `host_rewrite_literal` on the mirror policy).
    Literal(String),
}

/// Copies a share of a route's requests to `destination`.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestMirror {
    /// Where the copies go.
    pub destination: Destination,
    /// Which share of the route's requests is copied (default 100 %).
    pub percentage: Percent,
    /// The copies' authority.
    pub host: MirrorHost,
}

impl RequestMirror {
    /// Mirrors every request to `destination`, with the `-shadow` host suffix.
    pub fn new(destination: Destination) -> Self {
        Self { destination, percentage: Percent::ALL, host: MirrorHost::ShadowSuffix }
    }

    /// Mirrors only `percentage` of the requests.
    #[must_use]
    pub fn with_percentage(mut self, percentage: Percent) -> Self {
        self.percentage = percentage;
        self
    }

    /// Sets the copies' authority.
    #[must_use]
    pub fn with_host(mut self, host: MirrorHost) -> Self {
        self.host = host;
        self
    }

    /// The authority of the copy of a request to `authority`.
    pub fn authority(&self, authority: &str) -> String {
        match &self.host {
            MirrorHost::ShadowSuffix => shadow_authority(authority),
            MirrorHost::Unchanged => authority.to_string(),
            MirrorHost::Literal(a) => a.clone(),
        }
    }
}

/// `host[:port]` → `host-shadow[:port]`, as Envoy forms a shadow request's host (the
/// port is what follows the last `:` after any IPv6 literal's `]`).
pub fn shadow_authority(authority: &str) -> String {
    let port_start = match authority.rfind(':') {
        Some(i) if !authority[..i].contains(':') || authority[..i].ends_with(']') => Some(i),
        _ => None,
    };
    match port_start {
        Some(i) => format!("{}-shadow{}", &authority[..i], &authority[i..]),
        None => format!("{authority}-shadow"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shadow_suffix_goes_before_the_port() {
        assert_eq!(shadow_authority("reviews"), "reviews-shadow");
        assert_eq!(shadow_authority("reviews:9080"), "reviews-shadow:9080");
        assert_eq!(shadow_authority("[::1]:80"), "[::1]-shadow:80");
        assert_eq!(shadow_authority("[::1]"), "[::1]-shadow");
    }

    #[test]
    fn hosts() {
        let m = RequestMirror::new(Destination::new("c", None));
        assert_eq!(m.percentage, Percent::ALL);
        assert_eq!(m.authority("a:1"), "a-shadow:1");
        assert_eq!(m.clone().with_host(MirrorHost::Unchanged).authority("a:1"), "a:1");
        assert_eq!(m.with_host(MirrorHost::Literal("b".into())).authority("a:1"), "b");
    }
}
