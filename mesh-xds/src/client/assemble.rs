//! From cached resources to what the client needs next: which names to subscribe to
//! (LDS → RDS → CDS → EDS, following references), and one `Snapshot` per target.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use mesh_core::Snapshot;
use mesh_core::route::RouteTable;

use super::state::{Cache, Entry};
use crate::translate::{self, ClusterDiscovery, Resource, RouteSource};
use crate::type_url;

/// The names wanted per type, derived from the targets and what is cached.
pub(crate) fn interest(listeners: &BTreeSet<String>, cache: &Cache) -> BTreeMap<&'static str, BTreeSet<String>> {
    let mut routes = BTreeSet::new();
    let mut clusters = BTreeSet::new();
    let mut endpoints = BTreeSet::new();
    for l in listeners {
        let Some(Resource::Listener(listener)) = cache.value(type_url::LISTENER, l).map(|r| &**r) else { continue };
        match &listener.route {
            RouteSource::Rds(name) => {
                routes.insert(name.clone());
                if let Some(Resource::Route(rc)) = cache.value(type_url::ROUTE, name).map(|r| &**r) {
                    clusters.extend(rc.cluster_names.iter().cloned());
                }
            }
            RouteSource::Inline(rc) => clusters.extend(rc.cluster_names.iter().cloned()),
        }
    }
    for c in &clusters {
        if let Some(Resource::Cluster(cc)) = cache.value(type_url::CLUSTER, c).map(|r| &**r)
            && let ClusterDiscovery::Eds { service_name } = &cc.discovery
        {
            endpoints.insert(service_name.clone());
        }
    }
    BTreeMap::from([
        (type_url::LISTENER, listeners.clone()),
        (type_url::ROUTE, routes),
        (type_url::CLUSTER, clusters),
        (type_url::ENDPOINT, endpoints),
    ])
}

/// Resolved LOGICAL_DNS hosts: (host, port) → addresses.
pub(crate) type DnsCache = BTreeMap<(String, u16), Vec<std::net::SocketAddr>>;

/// The LOGICAL_DNS hosts the wanted clusters need.
pub(crate) fn dns_names(cache: &Cache) -> BTreeSet<(String, u16)> {
    cache
        .get(type_url::CLUSTER)
        .entries
        .values()
        .filter_map(|e| match e.value.as_deref() {
            Some(Resource::Cluster(cc)) => match &cc.discovery {
                ClusterDiscovery::LogicalDns { host, port } => Some((host.clone(), *port)),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

/// What a target's snapshot was built from: (type, name, generation) of every input.
/// Equal fingerprints mean an identical snapshot, so the target is not republished.
pub(crate) type Fingerprint = Vec<(&'static str, String, u64)>;

/// The outcome of assembling one target.
pub(crate) enum Assembled {
    /// Not enough has arrived yet (listener or route configuration pending).
    Pending,
    /// The listener or its route configuration does not exist.
    Missing(String),
    /// A snapshot, with what it was built from.
    Ready(Arc<Snapshot>, Fingerprint),
}

fn generation(cache: &Cache, t: &'static str, name: &str, fp: &mut Fingerprint) {
    let g = cache.get(t).entries.get(name).map_or(0, |e| e.generation);
    fp.push((t, name.to_string(), g));
}

/// Builds the snapshot of the target whose listener is `listener`.
pub(crate) fn assemble(listener: &str, cache: &Cache, dns: &DnsCache) -> Assembled {
    let mut fp = Fingerprint::new();
    let entry = cache.get(type_url::LISTENER).entries.get(listener);
    let Some(Resource::Listener(lc)) = cache.value(type_url::LISTENER, listener).map(|r| &**r) else {
        return match entry {
            Some(e) if e.does_not_exist => Assembled::Missing(format!("listener {listener:?} does not exist")),
            Some(e) if e.error.is_some() => Assembled::Missing(format!(
                "listener {listener:?} was rejected: {}",
                e.error.as_ref().map(ToString::to_string).unwrap_or_default()
            )),
            _ => Assembled::Pending,
        };
    };
    generation(cache, type_url::LISTENER, listener, &mut fp);
    let rc = match &lc.route {
        RouteSource::Inline(rc) => rc,
        RouteSource::Rds(name) => match cache.value(type_url::ROUTE, name).map(|r| &**r) {
            Some(Resource::Route(rc)) => {
                generation(cache, type_url::ROUTE, name, &mut fp);
                rc
            }
            _ => {
                let dne = cache.get(type_url::ROUTE).entries.get(name).is_some_and(Entry::unusable);
                return if dne {
                    Assembled::Missing(format!("route configuration {name:?} does not exist"))
                } else {
                    Assembled::Pending
                };
            }
        },
    };
    // Publish only complete configurations: every cluster the routes name, and its
    // endpoints, must have arrived or be known not to exist. Otherwise requests would
    // fail in the window between RDS and CDS/EDS (gRPC queues them instead).
    // Known missing, or rejected with no earlier good value (gRPC reports such a
    // resource at once rather than waiting for the does-not-exist timer).
    let dne = |t: &str, n: &str| cache.get(t).entries.get(n).is_some_and(Entry::unusable);
    let mut clusters = Vec::new();
    for name in &rc.cluster_names {
        let Some(Resource::Cluster(cc)) = cache.value(type_url::CLUSTER, name).map(|r| &**r) else {
            if dne(type_url::CLUSTER, name) {
                continue;
            }
            return Assembled::Pending;
        };
        generation(cache, type_url::CLUSTER, name, &mut fp);
        let endpoints = match &cc.discovery {
            ClusterDiscovery::Static(eps) => eps.clone(),
            ClusterDiscovery::Eds { service_name } => match cache.value(type_url::ENDPOINT, service_name).map(|r| &**r)
            {
                Some(Resource::Endpoints(ec)) => {
                    generation(cache, type_url::ENDPOINT, service_name, &mut fp);
                    ec.endpoints.clone()
                }
                // Known not to exist: the cluster has no endpoints ("unavailable").
                _ if dne(type_url::ENDPOINT, service_name) => Vec::new(),
                _ => return Assembled::Pending,
            },
            ClusterDiscovery::LogicalDns { host, port } => match dns.get(&(host.clone(), *port)) {
                Some(addrs) => {
                    // The resolved addresses of the one logical host, as Envoy connects to
                    // the first: keep the first address only.
                    addrs.first().map(|a| vec![mesh_core::endpoint::Endpoint::new(*a)]).unwrap_or_default()
                }
                None => return Assembled::Pending,
            },
        };
        match translate::build_cluster(cc, endpoints) {
            Ok(c) => clusters.push(c),
            Err(e) => tracing::warn!(error = %e, "cluster left out of the snapshot"),
        }
    }
    let routes: RouteTable = translate::apply_listener_defaults(&rc.routes, lc);
    let version = fp.iter().map(|(_, n, g)| format!("{n}@{g}")).collect::<Vec<_>>().join(",");
    match Snapshot::with_missing_clusters(version, routes, clusters) {
        Ok((snapshot, missing)) => {
            if !missing.is_empty() {
                tracing::debug!(%listener, ?missing, "clusters not yet available");
            }
            Assembled::Ready(Arc::new(snapshot), fp)
        }
        Err(e) => Assembled::Missing(format!("listener {listener:?}: {e}")),
    }
}
