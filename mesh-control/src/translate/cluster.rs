//! CDS: one cluster per service port (`outbound|PORT||HOST`) and per DestinationRule
//! subset (`outbound|PORT|SUBSET|HOST`), as Istio's generator builds them.
//!
//! - Discovery: EDS over ADS, named like the cluster. A ServiceEntry with `DNS`
//!   resolution is resolved by the clients instead: `LOGICAL_DNS` for one target (our
//!   clients support it), `STRICT_DNS` for several (warned: our clients do not).
//! - Load balancing: `simple` `ROUND_ROBIN` / `RANDOM` map directly; unset,
//!   `UNSPECIFIED`, `LEAST_CONN` and `LEAST_REQUEST` are `LEAST_REQUEST` (Istio's
//!   default); `PASSTHROUGH` cannot be honoured (warned) and falls back to the default;
//!   `consistentHash` is `RING_HASH` (minimum ring size `ringHash.minimumRingSize`, the
//!   deprecated `minimumRingSize`, else 1024) or `MAGLEV`; the hash key itself goes on
//!   the routes.
//! - `connect_timeout`: `connectionPool.tcp.connectTimeout`, else Istio's 10 s. The other
//!   connection pool settings (circuit breakers, HTTP connection options, keepalive) and
//!   outlier detection as istiod emits them: `connection_pool.rs`.
//! - HTTP/2 to the endpoints when the port speaks gRPC or HTTP/2 (its protocol, or its
//!   name: `grpc-*`, `http2-*`) or the pool says `h2UpgradePolicy: UPGRADE`, through
//!   `HttpProtocolOptions` with an explicit HTTP/2 config.
//! - TLS from the rule (`tls.rs`).

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use envoy_types::pb::envoy::config::cluster::v3::Cluster;
use envoy_types::pb::envoy::config::cluster::v3::LoadBalancingPolicy;
use envoy_types::pb::envoy::config::cluster::v3::cluster::{
    ClusterDiscoveryType, DiscoveryType, EdsClusterConfig, LbConfig, LbPolicy, RingHashLbConfig,
};
use envoy_types::pb::envoy::config::cluster::v3::load_balancing_policy::Policy;
use envoy_types::pb::envoy::config::core::v3::Http2ProtocolOptions;
use envoy_types::pb::envoy::config::core::v3::TypedExtensionConfig;
use envoy_types::pb::envoy::extensions::load_balancing_policies::least_request::v3::LeastRequest;
use envoy_types::pb::envoy::extensions::load_balancing_policies::random::v3::Random;
use envoy_types::pb::envoy::extensions::load_balancing_policies::round_robin::v3::RoundRobin;
use envoy_types::pb::envoy::extensions::upstreams::http::v3::HttpProtocolOptions;
use envoy_types::pb::envoy::extensions::upstreams::http::v3::http_protocol_options::explicit_http_config::ProtocolConfig;
use envoy_types::pb::envoy::extensions::upstreams::http::v3::http_protocol_options::{
    ExplicitHttpConfig, UpstreamProtocolOptions,
};
use envoy_types::pb::google::protobuf::{Any, UInt32Value, UInt64Value};
use mesh_core::duration::parse_duration;
use prost::Name;

use super::connection_pool;
use super::endpoints::{dns_assignment, target_port};
use super::names::{PortProtocol, cluster_name};
use super::policy::Rule;
use super::proto::{ads, duration, pack};
use super::services::{Service, ServicePort};
use super::tls::transport_socket;
use super::warnings::Warnings;
use crate::istio::{H2UpgradePolicy, LoadBalancerSettings, SimpleLb, Subset};

/// Istio's default connect timeout (`meshConfig.connectTimeout`).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const MIN_RING_SIZE: u64 = 1024;

/// A cluster, and whether its endpoints come from EDS.
pub(crate) struct Built {
    pub(crate) cluster: Cluster,
    pub(crate) eds: bool,
}

/// The cluster of `service` on `port`, for `subset` or the whole service.
pub(crate) fn cluster(
    service: &Service,
    port: &ServicePort,
    subset: Option<&Subset>,
    rule: &Rule<'_>,
    identities: &[String],
    w: &mut Warnings,
) -> Built {
    let name = cluster_name(port.number, subset.map_or("", |s| s.name.as_str()), &service.host);
    let policy = rule.effective(subset, port.number);
    let mut c = Cluster { name: name.clone(), ..Default::default() };
    let eds = match &service.dns {
        None => {
            c.cluster_discovery_type = Some(ClusterDiscoveryType::Type(DiscoveryType::Eds as i32));
            c.eds_cluster_config = Some(EdsClusterConfig { eds_config: Some(ads()), service_name: name.clone() });
            true
        }
        Some(targets) => {
            let labels = subset.map(|s| &s.labels);
            let chosen: Vec<_> = targets.iter().filter(|t| labels.is_none_or(|l| selects(l, &t.labels))).collect();
            let kind = match chosen.len() {
                0 => DiscoveryType::Static,
                1 => DiscoveryType::LogicalDns,
                _ => {
                    w.add(
                        &format!("cluster {name}"),
                        "several DNS targets need STRICT_DNS, which mesh clients do not support yet (emitted)",
                    );
                    DiscoveryType::StrictDns
                }
            };
            c.cluster_discovery_type = Some(ClusterDiscoveryType::Type(kind as i32));
            let endpoints =
                chosen.iter().map(|t| (t.address.clone(), target_port(&t.ports, port), t.weight, t.locality.clone()));
            c.load_assignment = Some(dns_assignment(&name, endpoints.collect()));
            false
        }
    };
    c.connect_timeout = Some(duration(
        policy
            .connection_pool
            .and_then(|p| p.tcp.as_ref())
            .and_then(|t| t.connect_timeout.as_deref())
            .and_then(|t| parse_duration(t).ok())
            .unwrap_or(CONNECT_TIMEOUT),
    ));
    load_balancing(&mut c, policy.load_balancer);
    let pool = policy.connection_pool;
    let upgrade =
        pool.and_then(|p| p.http.as_ref()).and_then(|h| h.h2_upgrade_policy) == Some(H2UpgradePolicy::Upgrade);
    let h2 = (port.protocol == PortProtocol::Http2 || upgrade).then(|| HttpProtocolOptions {
        upstream_protocol_options: Some(UpstreamProtocolOptions::ExplicitHttpConfig(ExplicitHttpConfig {
            protocol_config: Some(ProtocolConfig::Http2ProtocolOptions(Http2ProtocolOptions::default())),
        })),
        ..Default::default()
    });
    if let Some(options) = connection_pool::http_options(pool, h2) {
        c.typed_extension_protocol_options = HashMap::from([(HttpProtocolOptions::full_name(), pack(&options))]);
    }
    c.circuit_breakers = Some(connection_pool::circuit_breakers(pool));
    connection_pool::tcp_keepalive(&mut c, pool);
    connection_pool::outlier_detection(&mut c, policy.outlier_detection);
    if let Some(tls) = policy.tls {
        let mut accepted = identities.to_vec();
        accepted.extend(service.subject_alt_names.iter().cloned());
        c.transport_socket = transport_socket(tls, &accepted);
    }
    Built { cluster: c, eds }
}

fn load_balancing(c: &mut Cluster, lb: Option<&LoadBalancerSettings>) {
    let Some(lb) = lb else {
        c.load_balancing_policy = Some(preferring(least_request()));
        return;
    };
    if let Some(ch) = &lb.consistent_hash {
        if ch.maglev.is_some() {
            c.lb_policy = LbPolicy::Maglev as i32;
            return;
        }
        let min =
            ch.ring_hash.as_ref().and_then(|r| r.minimum_ring_size).or(ch.minimum_ring_size).unwrap_or(MIN_RING_SIZE);
        c.lb_policy = LbPolicy::RingHash as i32;
        c.lb_config = Some(LbConfig::RingHashLbConfig(RingHashLbConfig {
            minimum_ring_size: Some(UInt64Value { value: min.max(1) }),
            ..Default::default()
        }));
        return;
    }
    match lb.simple {
        Some(SimpleLb::RoundRobin) => c.lb_policy = LbPolicy::RoundRobin as i32,
        Some(SimpleLb::Random) => {
            c.load_balancing_policy =
                Some(preferring(("envoy.load_balancing_policies.random", pack(&Random::default()))))
        }
        _ => c.load_balancing_policy = Some(preferring(least_request())),
    }
}

fn least_request() -> (&'static str, Any) {
    (
        "envoy.load_balancing_policies.least_request",
        pack(&LeastRequest { choice_count: Some(UInt32Value { value: 2 }), ..Default::default() }),
    )
}

/// `policy`, then round robin: gRPC clients take the first policy they support (gRFC
/// A52), and some (grpcio 1.85) support neither least-request nor random — nor the
/// legacy `lb_policy` enum values for them, which they reject. `lb_policy` is left at
/// its default, ROUND_ROBIN, for clients that predate A52.
fn preferring((name, config): (&'static str, Any)) -> LoadBalancingPolicy {
    let policy = |name: &str, typed_config: Any| Policy {
        typed_extension_config: Some(TypedExtensionConfig { name: name.to_string(), typed_config: Some(typed_config) }),
    };
    LoadBalancingPolicy {
        policies: vec![
            policy(name, config),
            policy("envoy.load_balancing_policies.round_robin", pack(&RoundRobin::default())),
        ],
    }
}

/// Whether every label of a selector is carried.
pub(crate) fn selects(selector: &BTreeMap<String, String>, labels: &BTreeMap<String, String>) -> bool {
    selector.iter().all(|(k, v)| labels.get(k) == Some(v))
}
