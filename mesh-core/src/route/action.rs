use std::time::Duration;

use crate::fault::FaultPolicy;
use crate::retry::RetryPolicy;

use super::{HeaderMutation, Redirect, RegexRewrite, RequestMirror, WeightedDestinations};

/// What makes up the hash for consistent-hash load balancing (Envoy's `hash_policy`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HashPolicy {
    /// Hash the value of this request header (lower case). Absent header: no hash.
    Header(String),
}

/// What happens to a request that matched a route.
#[derive(Debug, Clone)]
pub struct RouteAction {
    /// Where it goes.
    pub destinations: WeightedDestinations,
    /// Overall deadline for the request including retries (Istio `timeout`).
    pub timeout: Option<Duration>,
    /// Retry policy, if retries are enabled.
    pub retry: Option<RetryPolicy>,
    /// Fault injection, if any.
    pub fault: Option<FaultPolicy>,
    /// Hash inputs for ring-hash balancing; the first that yields a value is used.
    pub hash_policy: Vec<HashPolicy>,
    /// Header changes to the request before it is sent (after the route is chosen).
    pub request_headers: HeaderMutation,
    /// Header changes to the response before it is returned.
    pub response_headers: HeaderMutation,
    /// Replaces the matched prefix of a prefix-matched route (Envoy `prefix_rewrite`;
    /// ignored for other path matches). Starts with '/' or is empty. Excludes
    /// `regex_rewrite` (see [`check_path_rewrites`](Self::check_path_rewrites)).
    pub prefix_rewrite: Option<String>,
    /// Rewrites the path by regex (Envoy `regex_rewrite`, Istio `uriRegexRewrite`).
    pub regex_rewrite: Option<RegexRewrite>,
    /// Replaces the authority (URI and `Host`) of the request (Envoy `host_rewrite_literal`).
    pub host_rewrite: Option<String>,
    /// When set, the request is answered with this redirect and never forwarded;
    /// `destinations` is then empty.
    pub redirect: Option<Redirect>,
    /// Copies of a share of the requests, sent fire and forget (Envoy
    /// `request_mirror_policies`, Istio `mirror`/`mirrors`).
    pub mirrors: Vec<RequestMirror>,
}

impl RouteAction {
    /// An action that sends everything to `destinations` with no policies.
    pub fn new(destinations: WeightedDestinations) -> Self {
        Self {
            destinations,
            timeout: None,
            retry: None,
            fault: None,
            hash_policy: Vec::new(),
            request_headers: HeaderMutation::default(),
            response_headers: HeaderMutation::default(),
            prefix_rewrite: None,
            regex_rewrite: None,
            host_rewrite: None,
            redirect: None,
            mirrors: Vec::new(),
        }
    }

    /// Checks that at most one path rewrite is set (as Envoy requires of `prefix_rewrite`
    /// and `regex_rewrite`); the error names `regex_rewrite`. Were both set anyway, the
    /// prefix rewrite would apply (Envoy's order).
    pub fn check_path_rewrites(&self) -> Result<(), crate::ConfigError> {
        if self.prefix_rewrite.is_some() && self.regex_rewrite.is_some() {
            return Err(crate::ConfigError::new("regex_rewrite", "cannot be combined with a prefix rewrite"));
        }
        Ok(())
    }

    /// An action that answers every request with `redirect` (no destinations).
    pub fn redirect(redirect: Redirect) -> Result<Self, crate::ConfigError> {
        redirect.validate()?;
        Ok(Self { redirect: Some(redirect), ..Self::new(WeightedDestinations::none()) })
    }
}
