//! The serving ports of the mesh: every `(address, port)` a workload instance serves a
//! service port on, with the workload's namespace and labels (what policies select).
//!
//! The port of an instance for a service port is the one its endpoint gets (see
//! `endpoints.rs`): the instance's port mapped to the service port's name, or to its
//! number, else the service port's `targetPort`, else the service port itself; an
//! instance of a service without ServiceEntry serves only the ports it maps. Services
//! outside the mesh (ServiceEntry `location: MESH_EXTERNAL`) have no mesh servers.
//!
//! Two instances at the same address and port are one server: the first (instances are
//! sorted) is kept; if the other one differs in namespace or labels, policies could select
//! them differently, and that is warned about.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;

use super::super::endpoints::target_port;
use super::super::services::{Catalog, service_host};
use super::super::warnings::Warnings;
use crate::istio::{ConfigSet, Location};
use crate::registry::WorkloadInstance;

/// One server: a workload serving on an address and port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Server<'a> {
    /// The workload's namespace.
    pub(crate) namespace: &'a str,
    /// The workload's labels.
    pub(crate) labels: &'a BTreeMap<String, String>,
    /// The service (host) it was first found serving.
    pub(crate) service: &'a str,
}

/// Every server of `instances` (sorted), by address.
pub(crate) fn servers<'a>(
    config: &ConfigSet,
    catalog: &Catalog,
    instances: &'a [WorkloadInstance],
    domain: &str,
    w: &mut Warnings,
) -> BTreeMap<SocketAddr, Server<'a>> {
    let external: BTreeSet<String> = config
        .service_entries
        .iter()
        .filter(|se| se.spec.location == Some(Location::MeshExternal))
        .flat_map(|se| se.spec.hosts.iter().filter_map(|h| service_host(h, &se.namespace, domain)))
        .collect();
    let by_host: BTreeMap<&str, _> = catalog.iter().map(|s| (s.host.as_str(), s)).collect();
    let mut out: BTreeMap<SocketAddr, Server<'a>> = BTreeMap::new();
    for i in instances {
        if external.contains(&i.service) {
            continue;
        }
        let Some(service) = by_host.get(i.service.as_str()) else { continue };
        for port in service.ports.values() {
            let maps = (!port.name.is_empty() && i.ports.contains_key(&port.name))
                || i.ports.contains_key(&port.number.to_string());
            if !(service.from_entry || maps) {
                continue;
            }
            let address = SocketAddr::new(i.address, target_port(&i.ports, port));
            let server = Server { namespace: &i.namespace, labels: &i.labels, service: &i.service };
            match out.get(&address) {
                None => {
                    out.insert(address, server);
                }
                Some(kept) if kept.namespace != server.namespace || kept.labels != server.labels => w.add(
                    &format!("server {address}"),
                    format!(
                        "serves {} (namespace {}, labels {:?}) and {} (namespace {}, labels {:?}); \
                         security policies are selected with the first one's",
                        kept.service, kept.namespace, kept.labels, server.service, server.namespace, server.labels
                    ),
                ),
                Some(_) => {}
            }
        }
    }
    out
}
