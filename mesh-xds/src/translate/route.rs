//! `RouteConfiguration` → [`RouteConfig`]: virtual hosts (Envoy's domain precedence),
//! routes in order, and the clusters they reference.
//!
//! Fields that change where a request goes, what is sent or how it is answered and that
//! the client cannot honour are rejected (direct responses, header manipulation and
//! mirroring above the route level, TLS requirements, VHDS, …). Route-level and
//! weighted-cluster header manipulation, regex rewrites and redirects (see
//! [`rewrite`](super::rewrite)) and route-level mirroring (see [`mirror`](super::mirror))
//! are honoured. Fields that only matter with an HTTP filter the listener does not run
//! (CORS, rate limits) or only to a proxy's own bookkeeping (stats, tracing, decorators,
//! metadata, buffer limits, attempt-count headers, `most_specific_header_mutations_wins`,
//! which only orders levels the client rejects) are ignored.

use std::collections::BTreeSet;

use envoy_types::pb::envoy::config::route::v3 as pb;
use envoy_types::pb::envoy::config::route::v3::route::Action;
use mesh_core::fault::FaultPolicy;
use mesh_core::retry::RetryPolicy;
use mesh_core::route::{Route, RouteAction, RouteTable, VirtualHost};

use super::action::route_action;
use super::fault::per_filter_fault;
use super::field::{At, FieldResult, reject, unsupported};
use super::matcher::route_match;
use super::retry::retry_policy;
use super::rewrite::{header_mutation, redirect};
use super::{ResourceError, RouteConfig};

impl TryFrom<&pb::RouteConfiguration> for RouteConfig {
    type Error = ResourceError;

    fn try_from(rc: &pb::RouteConfiguration) -> Result<Self, ResourceError> {
        route_config(rc).map_err(|e| ResourceError::of(&rc.name, e))
    }
}

/// Translates a route configuration (from RDS or inline in a listener).
pub(super) fn route_config(rc: &pb::RouteConfiguration) -> FieldResult<RouteConfig> {
    unsupported(rc.vhds.is_some(), "vhds", "VHDS")?;
    header_mutations([
        rc.request_headers_to_add.len(),
        rc.request_headers_to_remove.len(),
        rc.response_headers_to_add.len(),
        rc.response_headers_to_remove.len(),
    ])?;
    unsupported(!rc.request_mirror_policies.is_empty(), "request_mirror_policies", "mirroring above the route level")?;
    unsupported(!rc.vhost_header.is_empty(), "vhost_header", "choosing the virtual host by another header")?;
    unsupported(!rc.route_specifiers.is_empty(), "route_specifiers", "route specifiers")?;
    unsupported(
        rc.ignore_path_parameters_in_path_matching,
        "ignore_path_parameters_in_path_matching",
        "ignoring path parameters",
    )?;
    let fault = per_filter_fault(&rc.typed_per_filter_config)?;
    let mut cluster_names = BTreeSet::new();
    let hosts = rc
        .virtual_hosts
        .iter()
        .enumerate()
        .map(|(i, vh)| virtual_host(vh, fault, &mut cluster_names).at(format!("virtual_hosts[{i}]")))
        .collect::<FieldResult<Vec<_>>>()?;
    Ok(RouteConfig { name: rc.name.clone(), routes: RouteTable::new(hosts)?, cluster_names })
}

/// Rejects header manipulation above the route level (the lengths of
/// `request_headers_to_add`, `request_headers_to_remove`, `response_headers_to_add`,
/// `response_headers_to_remove`).
fn header_mutations(lengths: [usize; 4]) -> FieldResult<()> {
    let fields = [
        "request_headers_to_add",
        "request_headers_to_remove",
        "response_headers_to_add",
        "response_headers_to_remove",
    ];
    match lengths.iter().zip(fields).find(|(n, _)| **n > 0) {
        Some((_, field)) => reject(field, "header manipulation above the route level is not supported"),
        None => Ok(()),
    }
}

fn virtual_host(
    vh: &pb::VirtualHost,
    inherited_fault: Option<FaultPolicy>,
    clusters: &mut BTreeSet<String>,
) -> FieldResult<VirtualHost> {
    unsupported(vh.matcher.is_some(), "matcher", "the matcher API")?;
    unsupported(vh.require_tls != 0, "require_tls", "requiring TLS (redirects to https)")?;
    header_mutations([
        vh.request_headers_to_add.len(),
        vh.request_headers_to_remove.len(),
        vh.response_headers_to_add.len(),
        vh.response_headers_to_remove.len(),
    ])?;
    unsupported(vh.hedge_policy.is_some(), "hedge_policy", "hedging")?;
    unsupported(vh.retry_policy_typed_config.is_some(), "retry_policy_typed_config", "typed retry policies")?;
    unsupported(!vh.request_mirror_policies.is_empty(), "request_mirror_policies", "mirroring above the route level")?;
    unsupported(!vh.route_specifiers.is_empty(), "route_specifiers", "route specifiers")?;
    let retry = vh.retry_policy.as_ref().map(retry_policy).transpose().at("retry_policy")?;
    let fault = per_filter_fault(&vh.typed_per_filter_config)?.or(inherited_fault);
    let routes = vh
        .routes
        .iter()
        .enumerate()
        .map(|(j, r)| route(r, j, retry.as_ref(), fault, clusters).at(format!("routes[{j}]")))
        .collect::<FieldResult<Vec<_>>>()?;
    let domains: Vec<&str> = vh.domains.iter().map(String::as_str).collect();
    VirtualHost::new(&vh.name, &domains, routes)
}

fn route(
    r: &pb::Route,
    index: usize,
    vhost_retry: Option<&RetryPolicy>,
    inherited_fault: Option<FaultPolicy>,
    clusters: &mut BTreeSet<String>,
) -> FieldResult<Route> {
    let request_headers = header_mutation("request", &r.request_headers_to_add, &r.request_headers_to_remove)?;
    let response_headers = header_mutation("response", &r.response_headers_to_add, &r.response_headers_to_remove)?;
    unsupported(!r.route_specifiers.is_empty(), "route_specifiers", "route specifiers")?;
    let Some(m) = &r.r#match else { return reject("match", "is required") };
    let matcher = route_match(m).at("match")?;
    let fault = per_filter_fault(&r.typed_per_filter_config)?.or(inherited_fault);
    let mut action = match &r.action {
        Some(Action::Route(a)) => route_action(a, vhost_retry, fault, clusters).at("route")?,
        Some(Action::Redirect(a)) => redirect(a).and_then(RouteAction::redirect).at("redirect")?,
        Some(Action::DirectResponse(_)) => return reject("direct_response", "direct responses are not supported"),
        Some(Action::FilterAction(_)) => return reject("filter_action", "filter actions are not supported"),
        Some(Action::NonForwardingAction(_)) => {
            return reject("non_forwarding_action", "non-forwarding actions are not supported");
        }
        None => return reject("", "one of route, redirect or direct_response is required"),
    };
    action.request_headers = request_headers;
    action.response_headers = response_headers;
    let name = if r.name.is_empty() { format!("route-{index}") } else { r.name.clone() };
    Ok(Route::new(name, matcher, action))
}
