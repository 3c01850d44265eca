//! `ClusterLoadAssignment` → [`EndpointsConfig`] (EDS, and the `load_assignment` of
//! STATIC clusters).
//!
//! Each endpoint keeps its locality, its priority (failover order) and its health
//! (`TIMEOUT` counts as unhealthy). Its weight is the endpoint's `load_balancing_weight`
//! (default 1), scaled when the locality has a `load_balancing_weight` so that the
//! locality gets its share and its endpoints split it by weight: pickers see one
//! flat list, so locality weights are folded into endpoint weights. That equals Envoy's
//! locality-weighted balancing when the localities of a priority hold the same total
//! endpoint weight, and approximates it otherwise.
//!
//! Addresses must be IP literals (DNS names belong to LOGICAL_DNS clusters), and must be
//! unique within the assignment. Named endpoints, LEDS and drop overloads are rejected;
//! `overprovisioning_factor` is ignored (a priority fails over only when it has no
//! serving endpoint left).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

use envoy_types::pb::envoy::config::core::v3::address::Address as AddressKind;
use envoy_types::pb::envoy::config::core::v3::socket_address::{PortSpecifier, Protocol};
use envoy_types::pb::envoy::config::core::v3::{HealthStatus as PbHealth, SocketAddress};
use envoy_types::pb::envoy::config::endpoint::v3::lb_endpoint::HostIdentifier;
use envoy_types::pb::envoy::config::endpoint::v3::{ClusterLoadAssignment, LbEndpoint, LocalityLbEndpoints};
use mesh_core::endpoint::{Endpoint, HealthStatus, Locality};

use super::field::{At, FieldResult, reject, unsupported};
use super::{EndpointsConfig, ResourceError};

impl TryFrom<&ClusterLoadAssignment> for EndpointsConfig {
    type Error = ResourceError;

    fn try_from(cla: &ClusterLoadAssignment) -> Result<Self, ResourceError> {
        let endpoints = load_assignment(cla).map_err(|e| ResourceError::of(&cla.cluster_name, e))?;
        Ok(Self { name: cla.cluster_name.clone(), endpoints })
    }
}

/// The endpoints of an assignment.
pub(super) fn load_assignment(cla: &ClusterLoadAssignment) -> FieldResult<Vec<Endpoint>> {
    unsupported(!cla.named_endpoints.is_empty(), "named_endpoints", "named endpoints")?;
    if let Some(p) = &cla.policy {
        unsupported(!p.drop_overloads.is_empty(), "policy.drop_overloads", "dropping overload")?;
    }
    let mut out = Vec::new();
    let mut seen = HashMap::new();
    for (i, group) in cla.endpoints.iter().enumerate() {
        locality_endpoints(group, &mut seen, &mut out).at(format!("endpoints[{i}]"))?;
    }
    Ok(out)
}

fn locality_endpoints(
    group: &LocalityLbEndpoints,
    seen: &mut HashMap<SocketAddr, String>,
    out: &mut Vec<Endpoint>,
) -> FieldResult<()> {
    unsupported(group.lb_config.is_some(), "lb_config", "LEDS and endpoint lists")?;
    let locality = group
        .locality
        .as_ref()
        .map(|l| Locality { region: l.region.clone(), zone: l.zone.clone(), sub_zone: l.sub_zone.clone() })
        .unwrap_or_default();
    let locality_weight = match group.load_balancing_weight.as_ref().map(|w| w.value) {
        Some(0) => return reject("load_balancing_weight", "must be at least 1"),
        w => w,
    };
    let locality_sum: u64 =
        group.lb_endpoints.iter().map(|e| u64::from(e.load_balancing_weight.as_ref().map_or(1, |w| w.value))).sum();
    for (j, lbe) in group.lb_endpoints.iter().enumerate() {
        let at = format!("lb_endpoints[{j}]");
        let (address, weight, health) = lb_endpoint(lbe).at(&at)?;
        if let Some(previous) = seen.insert(address, at.clone()) {
            return reject(format!("{at}.endpoint.address"), format!("duplicate endpoint {address} (also {previous})"));
        }
        // gRPC's weighted_target semantics, flattened for one picker: a locality gets
        // W_loc / ΣW of the traffic, and its endpoints share it by their weights, so an
        // endpoint's weight is W_loc × w / Σw_loc (scaled by 1024 to stay an integer).
        let weight = match locality_weight {
            None => weight,
            Some(w_loc) => {
                let scaled = u128::from(w_loc) * u128::from(weight) * 1024 / u128::from(locality_sum.max(1));
                let Some(w) = u32::try_from(scaled.max(1)).ok().filter(|w| i32::try_from(*w).is_ok()) else {
                    return reject(
                        format!("{at}.load_balancing_weight"),
                        format!("locality weight × endpoint weight share = {scaled} is more than {}", i32::MAX),
                    );
                };
                w
            }
        };
        let endpoint = Endpoint::new(address)
            .with_weight(weight)
            .for_field(format!("{at}.load_balancing_weight"))?
            .with_locality(locality.clone())
            .with_health(health)
            .with_priority(group.priority);
        out.push(endpoint);
    }
    Ok(())
}

fn lb_endpoint(lbe: &LbEndpoint) -> FieldResult<(SocketAddr, u32, HealthStatus)> {
    let endpoint = match &lbe.host_identifier {
        Some(HostIdentifier::Endpoint(e)) => e,
        Some(HostIdentifier::EndpointName(_)) => return reject("endpoint_name", "named endpoints are not supported"),
        None => return reject("endpoint", "is required"),
    };
    unsupported(!endpoint.additional_addresses.is_empty(), "endpoint.additional_addresses", "additional addresses")?;
    let sa = socket_address(endpoint.address.as_ref().and_then(|a| a.address.as_ref())).at("endpoint.address")?;
    let ip: IpAddr = sa.address.parse().or_else(|_| {
        reject("endpoint.address.socket_address.address", format!("{:?} is not an IP address", sa.address))
    })?;
    let port = port(sa).at("endpoint.address.socket_address")?;
    let weight = match lbe.load_balancing_weight.as_ref().map_or(1, |w| w.value) {
        0 => return reject("load_balancing_weight", "must be at least 1"),
        w => w,
    };
    let health = match PbHealth::try_from(lbe.health_status) {
        Ok(PbHealth::Unknown) => HealthStatus::Unknown,
        Ok(PbHealth::Healthy) => HealthStatus::Healthy,
        Ok(PbHealth::Unhealthy | PbHealth::Timeout) => HealthStatus::Unhealthy,
        Ok(PbHealth::Draining) => HealthStatus::Draining,
        Ok(PbHealth::Degraded) => HealthStatus::Degraded,
        Err(_) => return reject("health_status", format!("unknown health status {}", lbe.health_status)),
    };
    Ok((SocketAddr::new(ip, port), weight, health))
}

/// The socket address of an `Address` (TCP; no custom resolver).
pub(super) fn socket_address(address: Option<&AddressKind>) -> FieldResult<&SocketAddress> {
    let sa = match address {
        Some(AddressKind::SocketAddress(sa)) => sa,
        Some(AddressKind::Pipe(_)) => return reject("pipe", "pipe addresses are not supported"),
        Some(AddressKind::EnvoyInternalAddress(_)) => {
            return reject("envoy_internal_address", "internal addresses are not supported");
        }
        None => return reject("socket_address", "is required"),
    };
    unsupported(sa.protocol == Protocol::Udp as i32, "socket_address.protocol", "UDP")?;
    unsupported(!sa.resolver_name.is_empty(), "socket_address.resolver_name", "a custom resolver")?;
    Ok(sa)
}

/// The port of a socket address (`port_value`, 1..=65535).
pub(super) fn port(sa: &SocketAddress) -> FieldResult<u16> {
    match &sa.port_specifier {
        Some(PortSpecifier::PortValue(p)) => match u16::try_from(*p) {
            Ok(p) if p > 0 => Ok(p),
            _ => reject("port_value", format!("{p} is not within [1, 65535]")),
        },
        Some(PortSpecifier::NamedPort(_)) => reject("named_port", "named ports are not supported"),
        None => reject("port_value", "is required"),
    }
}
