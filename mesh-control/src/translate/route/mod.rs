//! RDS: the `RouteConfiguration` named `host:port` for one service port — one virtual
//! host answering to the service's names, with the routes of its VirtualService.
//!
//! Each HTTP route of the VirtualService becomes one Envoy route per match that applies
//! to mesh clients on this port (a rule without matches becomes one catch-all route),
//! in order, all sharing the rule's action. Matches restricted to other ports or to
//! gateways are left out; matches restricted to source workloads are left out too, since
//! every client is sent the same routes (a warning says so). Without a VirtualService,
//! or when none of its rules applies to the port, there is one route: prefix `/` to the
//! whole service, with Istio's defaults (no timeout, Istio's default retry policy).
//!
//! Files: `matching.rs` (conditions), `action.rs` (destinations, timeout, hash policy),
//! `retry.rs`, `fault.rs`, `extras.rs` (headers, rewrites, redirects, mirrors).

mod action;
mod extras;
mod fault;
mod matching;
mod retry;

use envoy_types::pb::envoy::config::route::v3::{Route, RouteConfiguration, VirtualHost};

use super::Ctx;
use super::names::{domains, listener_name};
use super::services::{Service, ServicePort};
use super::virtual_services::{self, applies_to_mesh};
use super::warnings::Warnings;
use crate::istio::{HttpMatchRequest, HttpRoute, Named, VirtualService};

/// A route configuration, and whether a route of it injects faults (the listener then
/// runs the fault filter).
pub(crate) struct Routes {
    pub(crate) config: RouteConfiguration,
    pub(crate) uses_fault: bool,
}

/// The route configuration of `service` on `port`.
pub(crate) fn route_configuration(ctx: &Ctx<'_>, service: &Service, port: &ServicePort, w: &mut Warnings) -> Routes {
    let name = listener_name(&service.host, port.number);
    let mut routes = match virtual_services::for_host(ctx.config, &service.host, ctx.domain, w) {
        Some(vs) => virtual_service_routes(ctx, vs, service, port, w),
        None => Vec::new(),
    };
    if routes.is_empty() {
        routes.push(action::default_route(ctx, service, port));
    }
    let uses_fault = routes.iter().any(|r| !r.typed_per_filter_config.is_empty());
    let config = RouteConfiguration {
        name: name.clone(),
        virtual_hosts: vec![VirtualHost {
            name,
            domains: domains(&service.host, port.number, ctx.domain),
            routes,
            ..Default::default()
        }],
        ..Default::default()
    };
    Routes { config, uses_fault }
}

fn virtual_service_routes(
    ctx: &Ctx<'_>,
    vs: &Named<VirtualService>,
    service: &Service,
    port: &ServicePort,
    w: &mut Warnings,
) -> Vec<Route> {
    let mut routes = Vec::new();
    for r in &vs.spec.http {
        if r.delegate.is_some() {
            continue;
        }
        let applicable: Vec<&HttpMatchRequest> = r.matches.iter().filter(|m| applies(m, port.number)).collect();
        if !r.matches.is_empty() && applicable.is_empty() {
            continue;
        }
        let template = action::route_template(ctx, vs, r, service, port, w);
        if applicable.is_empty() {
            routes.push(Route { name: route_name(r, None), r#match: Some(matching::catch_all()), ..template });
            continue;
        }
        for m in applicable {
            let r#match = Some(matching::route_match(m));
            routes.push(Route { name: route_name(r, Some(m)), r#match, ..template.clone() });
        }
    }
    routes
}

/// Whether a match applies to mesh clients of port `port`.
fn applies(m: &HttpMatchRequest, port: u16) -> bool {
    m.port.is_none_or(|p| p == u32::from(port))
        && applies_to_mesh(&m.gateways)
        && m.source_labels.is_empty()
        && m.source_namespace.is_none()
}

/// `route.match` names, as Istio joins them (empty: the client numbers the route).
fn route_name(r: &HttpRoute, m: Option<&HttpMatchRequest>) -> String {
    let route = r.name.as_deref().unwrap_or_default();
    let matched = m.and_then(|m| m.name.as_deref()).unwrap_or_default();
    match (route.is_empty(), matched.is_empty()) {
        (false, false) => format!("{route}.{matched}"),
        (false, true) => route.to_string(),
        (true, _) => matched.to_string(),
    }
}
