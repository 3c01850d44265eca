//! EDS: the `ClusterLoadAssignment` of a cluster — the service's instances (declared by
//! the configuration and registered), those of a subset when the cluster is one (every
//! label of the subset carried), grouped by locality.
//!
//! The port of an instance for a service port is, in order: the instance's port mapped
//! to the service port's name, mapped to its number (`"9080": 19080`), then the service
//! port's `targetPort`, then the service port itself. For a service without
//! ServiceEntry, an instance serves only the ports it maps.
//!
//! Each endpoint is `HEALTHY` (instances are listed while they exist; there is no health
//! checking yet), weighted by its instance's weight, in the locality parsed from
//! `region/zone/subzone`. Localities carry no weight of their own: Envoy would ignore it
//! without locality-weighted balancing, and mesh clients would multiply it in. Two
//! instances at the same address and port are one endpoint (the first kept, warned).

use std::collections::{BTreeMap, BTreeSet};

use envoy_types::pb::envoy::config::core::v3::address::Address as AddressKind;
use envoy_types::pb::envoy::config::core::v3::socket_address::PortSpecifier;
use envoy_types::pb::envoy::config::core::v3::{Address, HealthStatus, Locality, SocketAddress};
use envoy_types::pb::envoy::config::endpoint::v3::lb_endpoint::HostIdentifier;
use envoy_types::pb::envoy::config::endpoint::v3::{ClusterLoadAssignment, Endpoint, LbEndpoint, LocalityLbEndpoints};
use envoy_types::pb::google::protobuf::UInt32Value;

use super::cluster::selects;
use super::services::{Service, ServicePort};
use super::warnings::Warnings;
use crate::istio::Subset;
use crate::registry::WorkloadInstance;

/// The assignment of cluster `name`: `instances` of `service` (already restricted to the
/// service), filtered by `subset`.
pub(crate) fn load_assignment(
    name: &str,
    service: &Service,
    port: &ServicePort,
    subset: Option<&Subset>,
    instances: &[&WorkloadInstance],
    w: &mut Warnings,
) -> ClusterLoadAssignment {
    let mut seen = BTreeSet::new();
    let mut endpoints = Vec::new();
    for i in instances {
        if subset.is_some_and(|s| !selects(&s.labels, &i.labels)) {
            continue;
        }
        let Some(p) = instance_port(i, port, service.from_entry) else { continue };
        if !seen.insert((i.address, p)) {
            w.add(
                &format!("cluster {name}"),
                format!("{}:{p} is listed twice (by two instances); kept once", i.address),
            );
            continue;
        }
        endpoints.push((i.address.to_string(), p, i.weight, i.locality.clone()));
    }
    assignment(name, endpoints)
}

/// The assignment of a DNS cluster: host names (or IPs) the clients resolve.
pub(crate) fn dns_assignment(name: &str, targets: Vec<(String, u16, u32, String)>) -> ClusterLoadAssignment {
    assignment(name, targets)
}

/// The port of a DNS target (or an instance's ports map) for a service port.
pub(crate) fn target_port<P: Copy + Into<u32>>(ports: &BTreeMap<String, P>, port: &ServicePort) -> u16 {
    let mapped =
        ports.get(&port.name).filter(|_| !port.name.is_empty()).or_else(|| ports.get(&port.number.to_string()));
    mapped.and_then(|p| u16::try_from((*p).into()).ok()).or(port.target_port).unwrap_or(port.number)
}

/// The port `i` serves service port `port` on; `None` if it does not serve it (an
/// instance of a service without ServiceEntry that does not map the port).
fn instance_port(i: &WorkloadInstance, port: &ServicePort, from_entry: bool) -> Option<u16> {
    let maps =
        (!port.name.is_empty() && i.ports.contains_key(&port.name)) || i.ports.contains_key(&port.number.to_string());
    (from_entry || maps).then(|| target_port(&i.ports, port))
}

/// Endpoints `(address, port, weight, locality)` grouped by locality, sorted.
fn assignment(name: &str, endpoints: Vec<(String, u16, u32, String)>) -> ClusterLoadAssignment {
    let mut by_locality: BTreeMap<String, Vec<(String, u16, u32)>> = BTreeMap::new();
    for (address, port, weight, locality) in endpoints {
        by_locality.entry(locality).or_default().push((address, port, weight));
    }
    let groups = by_locality
        .into_iter()
        .map(|(locality, mut members)| {
            members.sort();
            // Istio sets the locality weight to the sum of its endpoints' weights, and
            // gRPC clients need both: grpcio drops a locality without a weight and NACKs
            // one without a locality.
            let total: u64 = members.iter().map(|(_, _, w)| u64::from((*w).max(1))).sum();
            LocalityLbEndpoints {
                locality: Some(locality_of(&locality).unwrap_or_default()),
                load_balancing_weight: Some(UInt32Value { value: u32::try_from(total).unwrap_or(u32::MAX) }),
                lb_endpoints: members.into_iter().map(|(a, p, w)| endpoint(a, p, w)).collect(),
                ..Default::default()
            }
        })
        .collect();
    ClusterLoadAssignment { cluster_name: name.to_string(), endpoints: groups, ..Default::default() }
}

fn locality_of(locality: &str) -> Option<Locality> {
    if locality.is_empty() {
        return None;
    }
    let mut parts = locality.splitn(3, '/').map(str::to_string);
    Some(Locality {
        region: parts.next().unwrap_or_default(),
        zone: parts.next().unwrap_or_default(),
        sub_zone: parts.next().unwrap_or_default(),
    })
}

fn endpoint(address: String, port: u16, weight: u32) -> LbEndpoint {
    LbEndpoint {
        host_identifier: Some(HostIdentifier::Endpoint(Endpoint {
            address: Some(Address {
                address: Some(AddressKind::SocketAddress(SocketAddress {
                    address,
                    port_specifier: Some(PortSpecifier::PortValue(u32::from(port))),
                    ..Default::default()
                })),
            }),
            ..Default::default()
        })),
        health_status: HealthStatus::Healthy as i32,
        load_balancing_weight: Some(UInt32Value { value: weight.max(1) }),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::translate::names::PortProtocol;

    #[test]
    fn ports_and_localities() {
        let port = ServicePort {
            number: 9080,
            name: "http".into(),
            protocol: PortProtocol::Http1OrAuto,
            target_port: Some(8080),
        };
        let map = |pairs: &[(&str, u16)]| pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect::<BTreeMap<_, _>>();
        assert_eq!(target_port(&map(&[("http", 1)]), &port), 1);
        assert_eq!(target_port(&map(&[("9080", 2)]), &port), 2);
        assert_eq!(target_port(&map(&[("grpc", 3)]), &port), 8080);
        let l = locality_of("eu-west1/eu-west1-b").expect("locality");
        assert_eq!((l.region.as_str(), l.zone.as_str(), l.sub_zone.as_str()), ("eu-west1", "eu-west1-b", ""));
        assert_eq!(locality_of(""), None);
    }
}
