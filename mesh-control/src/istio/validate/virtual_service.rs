//! VirtualService rules: hosts, gateways, destination weights, and the TCP and TLS
//! routes (HTTP routes are checked in `http_route.rs`).
//!
//! Weights follow the rule Istio documents and its validation long enforced: with more
//! than one destination the weights must sum to 100; a lone destination may omit its
//! weight (it gets everything). Each weight is within `[0, 100]`.

use super::Findings;
use super::http_route::check_http_route;
use crate::istio::model::{Destination, L4MatchAttributes, RouteDestination, VirtualService};
use crate::istio::path::FieldPath;

/// Checks one VirtualService.
pub(crate) fn check_virtual_service(vs: &VirtualService) -> Findings {
    let mut f = Findings::default();
    let spec = FieldPath::spec();
    if vs.hosts.is_empty() {
        f.push(spec.key("hosts"), "at least one host is required (delegate VirtualServices are not supported)");
    }
    for (i, h) in vs.hosts.iter().enumerate() {
        f.host(spec.key("hosts").index(i), h);
    }
    for (i, g) in vs.gateways.iter().enumerate() {
        if g.is_empty() {
            f.push(spec.key("gateways").index(i), "gateway name must not be empty");
        }
    }
    if vs.http.is_empty() && vs.tcp.is_empty() && vs.tls.is_empty() {
        f.push(spec.clone(), "at least one of http, tcp or tls routes is required");
    }
    for (i, r) in vs.http.iter().enumerate() {
        check_http_route(&mut f, spec.key("http").index(i), r);
    }
    for (i, r) in vs.tcp.iter().enumerate() {
        let at = spec.key("tcp").index(i);
        for (j, m) in r.matches.iter().enumerate() {
            l4_match(&mut f, at.key("match").index(j), m);
        }
        route_destinations(&mut f, &at, &r.route);
    }
    for (i, r) in vs.tls.iter().enumerate() {
        let at = spec.key("tls").index(i);
        if r.matches.is_empty() {
            f.push(at.key("match"), "at least one match is required");
        }
        for (j, m) in r.matches.iter().enumerate() {
            let at = at.key("match").index(j);
            if m.sni_hosts.is_empty() {
                f.push(at.key("sniHosts"), "at least one SNI host is required");
            }
            for (k, h) in m.sni_hosts.iter().enumerate() {
                f.host(at.key("sniHosts").index(k), h);
            }
            f.optional_port(at.key("port"), m.port);
        }
        route_destinations(&mut f, &at, &r.route);
    }
    f
}

fn l4_match(f: &mut Findings, at: FieldPath, m: &L4MatchAttributes) {
    f.optional_port(at.key("port"), m.port);
}

fn route_destinations(f: &mut Findings, at: &FieldPath, route: &[RouteDestination]) {
    if route.is_empty() {
        f.push(at.key("route"), "at least one destination is required");
    }
    for (k, d) in route.iter().enumerate() {
        destination(f, at.key("route").index(k).key("destination"), &d.destination);
    }
    let weights: Vec<Option<i32>> = route.iter().map(|d| d.weight).collect();
    weights_sum_to_100(f, &at.key("route"), &weights);
}

/// A destination: a host, a valid port.
pub(super) fn destination(f: &mut Findings, at: FieldPath, d: &Destination) {
    if d.host.is_empty() {
        f.push(at.key("host"), "host is required");
    } else if d.host.starts_with('*') {
        f.push(at.key("host"), format!("destination host {:?} must not be a wildcard", d.host));
    } else {
        f.host(at.key("host"), &d.host);
    }
    if let Some(subset) = &d.subset
        && subset.is_empty()
    {
        f.push(at.key("subset"), "subset must not be empty when set");
    }
    if let Some(p) = &d.port {
        match p.number {
            Some(n) => f.port(at.key("port").key("number"), n),
            None => f.push(at.key("port"), "port.number is required when port is set"),
        }
    }
}

/// Istio's weight rule over the destinations of one route (`route` is the path of the
/// destination list).
pub(super) fn weights_sum_to_100(f: &mut Findings, route: &FieldPath, weights: &[Option<i32>]) {
    for (k, w) in weights.iter().enumerate() {
        if let Some(w) = w
            && !(0..=100).contains(w)
        {
            f.push(route.index(k).key("weight"), format!("weight {w} is not within [0, 100]"));
        }
    }
    if weights.len() < 2 {
        return;
    }
    let total: i64 = weights.iter().map(|w| i64::from(w.unwrap_or(0))).sum();
    if total != 100 {
        let last = weights.len() - 1;
        let at = match weights.iter().rposition(Option::is_some) {
            Some(k) => route.index(k).key("weight"),
            None => route.index(last),
        };
        let given: Vec<String> = weights.iter().map(|w| w.map_or("unset".into(), |w| w.to_string())).collect();
        f.push(
            at,
            format!(
                "the weights of the {} destinations sum to {total} ({}); they must sum to 100",
                weights.len(),
                given.join(" + ")
            ),
        );
    }
}
