//! `Cluster` → [`ClusterConfig`], and [`build_cluster`] once its endpoints are known.
//!
//! Discovery: EDS (`eds_cluster_config.service_name`, or the cluster name; over ADS),
//! STATIC (the cluster's `load_assignment`) or LOGICAL_DNS (exactly one endpoint whose
//! host the client resolves). `connect_timeout` defaults to 5 s, as in Envoy.
//!
//! Protocol: `typed_extension_protocol_options["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"]`
//! with an explicit HTTP/1.1 or HTTP/2 config, else the legacy `http2_protocol_options`
//! (HTTP/2), else auto (HTTP/2 for gRPC, HTTP/1.1 otherwise).
//!
//! Circuit breakers: `circuit_breakers.rs`; outlier detection: `outlier.rs`.
//!
//! Ignored (connection management the client does its own way; requests behave the
//! same): `HttpProtocolOptions.common_http_protocol_options` (idle timeout, requests per
//! connection, connection lifetime), HTTP/2 `max_concurrent_streams`,
//! `upstream_connection_options` (TCP keepalive), `common_lb_config` (the panic
//! threshold: see `outlier.rs`).
//!
//! Rejected: TLS to upstreams (a later change adds mTLS), subset load balancing (in xDS
//! each subset is a cluster of its own), active health checks (not implemented by the
//! client), upstream network filters, custom cluster types, HTTP-level outlier
//! detection (`HttpProtocolOptions.outlier_detection`: custom error matchers).

use std::time::Duration;

use envoy_types::pb::envoy::config::cluster::v3::Cluster;
use envoy_types::pb::envoy::config::cluster::v3::cluster::{ClusterDiscoveryType, DiscoveryType};
use envoy_types::pb::envoy::config::endpoint::v3::ClusterLoadAssignment;
use envoy_types::pb::envoy::extensions::upstreams::http::v3::HttpProtocolOptions;
use envoy_types::pb::envoy::extensions::upstreams::http::v3::http_protocol_options::UpstreamProtocolOptions;
use envoy_types::pb::envoy::extensions::upstreams::http::v3::http_protocol_options::explicit_http_config::ProtocolConfig;
use mesh_core::cluster::Protocol;
use mesh_core::endpoint::Endpoint;
use prost::Name;

use super::circuit_breakers::circuit_breakers;
use super::endpoints::{load_assignment, port, socket_address};
use super::field::{At, FieldResult, reject, unsupported};
use super::lb::lb_policy;
use super::outlier::outlier_detection;
use super::upstream_tls::upstream_tls;
use super::value::{config_source, duration, unpack};
use super::{ClusterConfig, ClusterDiscovery, ResourceError};

const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

impl TryFrom<&Cluster> for ClusterConfig {
    type Error = ResourceError;

    fn try_from(c: &Cluster) -> Result<Self, ResourceError> {
        cluster(c).map_err(|e| ResourceError::of(&c.name, e))
    }
}

/// Builds the mesh-core cluster from a cluster config and its endpoints (from EDS, or
/// the static ones). Fails if the endpoints repeat an address.
pub fn build_cluster(
    config: &ClusterConfig,
    endpoints: Vec<Endpoint>,
) -> Result<mesh_core::cluster::Cluster, ResourceError> {
    let mut b = mesh_core::cluster::Cluster::builder(&config.name)
        .lb(config.lb)
        .protocol(config.protocol)
        .connect_timeout(config.connect_timeout)
        .circuit_breakers(config.circuit_breakers)
        .endpoints(endpoints);
    if let Some(budget) = config.retry_budget {
        b = b.retry_budget(budget);
    }
    if let Some(od) = &config.outlier_detection {
        b = b.outlier_detection(od.clone());
    }
    if let Some(tls) = &config.tls {
        b = b.tls(tls.clone());
    }
    b.build().map_err(|e| ResourceError::of(&config.name, e))
}

fn cluster(c: &Cluster) -> FieldResult<ClusterConfig> {
    if c.name.is_empty() {
        return reject("name", "must not be empty");
    }
    rejected_fields(c)?;
    let discovery = discovery(c)?;
    let connect_timeout = match &c.connect_timeout {
        None => DEFAULT_CONNECT_TIMEOUT,
        Some(t) => match duration(t, "connect_timeout")? {
            t if t.is_zero() => return reject("connect_timeout", "must be greater than 0"),
            t => t,
        },
    };
    let breakers = match &c.circuit_breakers {
        Some(cb) => circuit_breakers(cb).at("circuit_breakers")?,
        None => Default::default(),
    };
    let outlier_detection = c.outlier_detection.as_ref().map(outlier_detection).transpose().at("outlier_detection")?;
    Ok(ClusterConfig {
        name: c.name.clone(),
        discovery,
        lb: lb_policy(c)?,
        retry_budget: breakers.retry_budget,
        circuit_breakers: breakers.limits,
        outlier_detection,
        connect_timeout,
        protocol: protocol(c)?,
        tls: upstream_tls(c.transport_socket.as_ref())?,
    })
}

fn rejected_fields(c: &Cluster) -> FieldResult<()> {
    const TLS: &str = "per-endpoint transport sockets are not supported (use transport_socket)";
    if !c.transport_socket_matches.is_empty() {
        return reject("transport_socket_matches", TLS);
    }
    if c.transport_socket_matcher.is_some() {
        return reject("transport_socket_matcher", TLS);
    }
    unsupported(
        c.lb_subset_config.is_some(),
        "lb_subset_config",
        "subset load balancing (use one cluster per subset)",
    )?;
    unsupported(!c.health_checks.is_empty(), "health_checks", "active health checking")?;
    unsupported(!c.filters.is_empty(), "filters", "upstream network filters")?;
    unsupported(c.upstream_config.is_some(), "upstream_config", "a custom upstream")
}

fn discovery(c: &Cluster) -> FieldResult<ClusterDiscovery> {
    let kind = match &c.cluster_discovery_type {
        // proto3 default: STATIC.
        None => DiscoveryType::Static,
        Some(ClusterDiscoveryType::Type(t)) => {
            DiscoveryType::try_from(*t).or_else(|_| reject("type", format!("unknown discovery type {t}")))?
        }
        Some(ClusterDiscoveryType::ClusterType(t)) => {
            return reject("cluster_type", format!("custom cluster type {:?} is not supported", t.name));
        }
    };
    match kind {
        DiscoveryType::Eds => {
            let eds = c.eds_cluster_config.as_ref();
            config_source(eds.and_then(|e| e.eds_config.as_ref()), "eds_cluster_config.eds_config")?;
            let service_name = eds.map(|e| e.service_name.as_str()).filter(|s| !s.is_empty()).unwrap_or(&c.name);
            Ok(ClusterDiscovery::Eds { service_name: service_name.to_string() })
        }
        DiscoveryType::Static => {
            let endpoints = c.load_assignment.as_ref().map(load_assignment).transpose().at("load_assignment")?;
            Ok(ClusterDiscovery::Static(endpoints.unwrap_or_default()))
        }
        DiscoveryType::LogicalDns => {
            let Some(cla) = &c.load_assignment else {
                return reject("load_assignment", "a LOGICAL_DNS cluster needs one endpoint");
            };
            logical_dns(cla).at("load_assignment")
        }
        other => reject("type", format!("{} clusters are not supported", other.as_str_name())),
    }
}

fn logical_dns(cla: &ClusterLoadAssignment) -> FieldResult<ClusterDiscovery> {
    let [group] = cla.endpoints.as_slice() else {
        return reject("endpoints", "a LOGICAL_DNS cluster needs exactly one locality with one endpoint");
    };
    let [lbe] = group.lb_endpoints.as_slice() else {
        return reject("endpoints[0].lb_endpoints", "a LOGICAL_DNS cluster needs exactly one endpoint");
    };
    let at = "endpoints[0].lb_endpoints[0].endpoint.address";
    let Some(envoy_types::pb::envoy::config::endpoint::v3::lb_endpoint::HostIdentifier::Endpoint(e)) =
        &lbe.host_identifier
    else {
        return reject("endpoints[0].lb_endpoints[0].endpoint", "is required");
    };
    let sa = socket_address(e.address.as_ref().and_then(|a| a.address.as_ref())).at(at)?;
    if sa.address.is_empty() {
        return reject(format!("{at}.socket_address.address"), "the host name must not be empty");
    }
    let port = port(sa).at(format!("{at}.socket_address"))?;
    Ok(ClusterDiscovery::LogicalDns { host: sa.address.clone(), port })
}

// The legacy `http2_protocol_options` is deprecated but still selects HTTP/2 in Envoy.
#[allow(deprecated)]
fn protocol(c: &Cluster) -> FieldResult<Protocol> {
    let key = HttpProtocolOptions::full_name();
    if let Some(any) = c.typed_extension_protocol_options.get(&key) {
        let at = format!("typed_extension_protocol_options[{key}]");
        let options: HttpProtocolOptions = unpack(any, &at)?;
        if let Some(p) = http_protocol_options(&options).at(&at)? {
            return Ok(p);
        }
    }
    Ok(if c.http2_protocol_options.is_some() { Protocol::Http2 } else { Protocol::Auto })
}

/// The protocol chosen by `HttpProtocolOptions`, if it chooses one.
fn http_protocol_options(o: &HttpProtocolOptions) -> FieldResult<Option<Protocol>> {
    unsupported(!o.http_filters.is_empty(), "http_filters", "upstream HTTP filters")?;
    unsupported(o.outlier_detection.is_some(), "outlier_detection", "HTTP-level outlier detection (error matchers)")?;
    unsupported(!o.request_mirror_policies.is_empty(), "request_mirror_policies", "request mirroring")?;
    unsupported(!o.hash_policy.is_empty(), "hash_policy", "cluster-level hash policies")?;
    unsupported(o.retry_policy.is_some(), "retry_policy", "cluster-level retry policies")?;
    Ok(match &o.upstream_protocol_options {
        Some(UpstreamProtocolOptions::ExplicitHttpConfig(e)) => match &e.protocol_config {
            Some(ProtocolConfig::HttpProtocolOptions(_)) => Some(Protocol::Http1),
            Some(ProtocolConfig::Http2ProtocolOptions(_)) => Some(Protocol::Http2),
            Some(ProtocolConfig::Http3ProtocolOptions(_)) => {
                return reject("explicit_http_config.http3_protocol_options", "HTTP/3 is not supported");
            }
            None => return reject("explicit_http_config", "one of http_protocol_options or http2_protocol_options"),
        },
        Some(UpstreamProtocolOptions::UseDownstreamProtocolConfig(_) | UpstreamProtocolOptions::AutoConfig(_)) => {
            Some(Protocol::Auto)
        }
        None => None,
    })
}
