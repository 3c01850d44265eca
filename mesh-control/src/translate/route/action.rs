//! An HTTP rule's action: where requests go (`outbound|PORT|SUBSET|HOST`, weighted when
//! several), the timeout, retries, hash policy and fault — or a redirect or a direct
//! response instead.
//!
//! The destination port is `destination.port.number`; else this service port when the
//! destination is this service; else the destination service's only port; else this
//! port number (warned when the destination does not have it).
//!
//! Timeouts follow Istio: none means disabled, written explicitly as `timeout: 0s`
//! (Envoy would otherwise default to 15 s), and mirrored in `max_stream_duration`
//! (`max_stream_duration` and `grpc_timeout_header_max`), which is where gRPC clients
//! read the deadline (gRFC A31).
//!
//! Destinations of weight 0 are dropped when there are several (they receive nothing,
//! and Envoy rejects an all-zero split).

use std::collections::HashMap;
use std::time::Duration;

use envoy_types::pb::envoy::config::route::v3::route::Action;
use envoy_types::pb::envoy::config::route::v3::route_action::{ClusterSpecifier, HashPolicy, MaxStreamDuration};
use envoy_types::pb::envoy::config::route::v3::weighted_cluster::ClusterWeight;
use envoy_types::pb::envoy::config::route::v3::{Route, RouteAction, WeightedCluster};
use envoy_types::pb::google::protobuf::UInt32Value;
use mesh_core::duration::parse_duration;

use super::super::Ctx;
use super::super::names::cluster_name;
use super::super::services::{Service, ServicePort};
use super::super::warnings::{Warnings, who};
use super::{extras, fault, retry};
use crate::istio::{Destination, HttpRoute, Named, VirtualService, resolve_host};
use crate::translate::proto::{duration, pack};

const FAULT_FILTER: &str = "envoy.filters.http.fault";

/// The route for a service without VirtualService: everything to the whole service.
pub(crate) fn default_route(ctx: &Ctx<'_>, service: &Service, port: &ServicePort) -> Route {
    let cluster = cluster_name(port.number, "", &service.host);
    let hash = hash_policy(ctx, &service.host, None, port.number);
    let mut action = forwarding(ClusterSpecifier::Cluster(cluster), Duration::ZERO);
    action.retry_policy = retry::retry_policy(None, hash.is_some());
    action.hash_policy = hash.into_iter().collect();
    Route {
        name: "default".into(),
        r#match: Some(super::matching::catch_all()),
        action: Some(Action::Route(action)),
        ..Default::default()
    }
}

/// A route with everything of rule `r` but its name and match.
pub(super) fn route_template(
    ctx: &Ctx<'_>,
    vs: &Named<VirtualService>,
    r: &HttpRoute,
    service: &Service,
    port: &ServicePort,
    w: &mut Warnings,
) -> Route {
    let mut route = Route::default();
    extras::route_headers(&mut route, r.headers.as_ref());
    if let Some(f) = &r.fault {
        route.typed_per_filter_config = HashMap::from([(FAULT_FILTER.to_string(), pack(&fault::http_fault(f)))]);
    }
    if let Some(rd) = &r.redirect {
        route.action = Some(Action::Redirect(extras::redirect(rd)));
        return route;
    }
    if let Some(dr) = &r.direct_response {
        route.action = Some(Action::DirectResponse(extras::direct_response(dr)));
        return route;
    }
    let targets: Vec<(Target, u32, usize)> = r
        .route
        .iter()
        .enumerate()
        .map(|(k, d)| (target(ctx, vs, &d.destination, service, port, w), d.weight.unwrap_or(0).max(0) as u32, k))
        .collect();
    let kept: Vec<&(Target, u32, usize)> = if targets.len() > 1 {
        targets.iter().filter(|(_, weight, _)| *weight > 0).collect()
    } else {
        targets.iter().collect()
    };
    let specifier = match kept.as_slice() {
        [(t, _, k)] => {
            extras::route_headers(&mut route, r.route[*k].headers.as_ref());
            ClusterSpecifier::Cluster(t.cluster.clone())
        }
        _ => ClusterSpecifier::WeightedClusters(WeightedCluster {
            clusters: kept
                .iter()
                .map(|(t, weight, k)| {
                    let mut c = ClusterWeight {
                        name: t.cluster.clone(),
                        weight: Some(UInt32Value { value: *weight }),
                        ..Default::default()
                    };
                    extras::cluster_headers(&mut c, r.route[*k].headers.as_ref());
                    c
                })
                .collect(),
            ..Default::default()
        }),
    };
    let timeout = r.timeout.as_deref().and_then(|t| parse_duration(t).ok()).unwrap_or(Duration::ZERO);
    let mut action = forwarding(specifier, timeout);
    let hashes: Vec<Option<HashPolicy>> =
        kept.iter().map(|(t, _, _)| hash_policy(ctx, &t.host, t.subset.as_deref(), t.port)).collect();
    let hash = match hashes.first() {
        Some(first) if hashes.iter().all(|h| h == first) => first.clone(),
        _ => {
            w.add(
                &who(vs),
                "destinations with different consistent-hash settings: no hash policy is set on their route",
            );
            None
        }
    };
    action.retry_policy = retry::retry_policy(r.retries.as_ref(), hash.is_some());
    action.hash_policy = hash.into_iter().collect();
    extras::rewrite(&mut action, r.rewrite.as_ref());
    action.request_mirror_policies = extras::mirrors(r, |d| target(ctx, vs, d, service, port, w).cluster);
    route.action = Some(Action::Route(action));
    route
}

fn forwarding(specifier: ClusterSpecifier, timeout: Duration) -> RouteAction {
    let t = duration(timeout);
    RouteAction {
        cluster_specifier: Some(specifier),
        timeout: Some(t),
        max_stream_duration: Some(MaxStreamDuration {
            max_stream_duration: Some(t),
            grpc_timeout_header_max: Some(t),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// A destination's cluster.
pub(super) struct Target {
    pub(super) cluster: String,
    pub(super) host: String,
    pub(super) port: u16,
    pub(super) subset: Option<String>,
}

fn target(
    ctx: &Ctx<'_>,
    vs: &Named<VirtualService>,
    d: &Destination,
    service: &Service,
    port: &ServicePort,
    w: &mut Warnings,
) -> Target {
    let found = ctx.catalog.find(&d.host, &vs.namespace, ctx.domain);
    let host = found.map_or_else(|| resolve_host(&d.host, &vs.namespace, ctx.domain), |s| s.host.clone());
    let explicit = d.port.and_then(|p| p.number).and_then(|n| u16::try_from(n).ok());
    let number = match (explicit, found) {
        (Some(n), _) => n,
        (None, _) if host == service.host => port.number,
        (None, Some(s)) if s.ports.len() == 1 => s.ports.keys().next().copied().unwrap_or(port.number),
        (None, _) => port.number,
    };
    match found {
        None => w.add(&who(vs), format!("destination {host} is not a known service (no ServiceEntry, WorkloadEntry or registered instance); its cluster outbound|{number}||{host} does not exist")),
        Some(s) if !s.ports.contains_key(&number) => w.add(
            &who(vs),
            format!("destination {host} has no port {number} (ports: {:?}); set destination.port.number", s.ports.keys().collect::<Vec<_>>()),
        ),
        Some(_) => {}
    }
    let subset = d.subset.clone().filter(|s| !s.is_empty());
    Target { cluster: cluster_name(number, subset.as_deref().unwrap_or_default(), &host), host, port: number, subset }
}

/// The hash policy a destination's DestinationRule asks for (consistent hashing).
fn hash_policy(ctx: &Ctx<'_>, host: &str, subset: Option<&str>, port: u16) -> Option<HashPolicy> {
    let rule = ctx.policies.for_host(host);
    let subset = subset.and_then(|s| rule.subset(s));
    let ch = rule.effective(subset, port).load_balancer?.consistent_hash.as_ref()?;
    extras::hash_policy(ch)
}
