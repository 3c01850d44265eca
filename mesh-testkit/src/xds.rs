//! Envoy v3 resources for xDS tests, built the way a proxyless control plane (Istio's
//! gRPC generator, our mesh-control) builds them: an `api_listener` per `host:port`
//! with RDS, a route configuration, EDS clusters, load assignments.

use std::net::SocketAddr;

use envoy_types::pb::envoy::config::cluster::v3::Cluster;
use envoy_types::pb::envoy::config::cluster::v3::cluster::{ClusterDiscoveryType, DiscoveryType, EdsClusterConfig};
use envoy_types::pb::envoy::config::core::v3::address::Address as AddressKind;
use envoy_types::pb::envoy::config::core::v3::config_source::ConfigSourceSpecifier;
use envoy_types::pb::envoy::config::core::v3::socket_address::PortSpecifier;
use envoy_types::pb::envoy::config::core::v3::{
    Address, AggregatedConfigSource, ConfigSource, Locality, SocketAddress,
};
use envoy_types::pb::envoy::config::endpoint::v3::lb_endpoint::HostIdentifier;
use envoy_types::pb::envoy::config::endpoint::v3::{ClusterLoadAssignment, Endpoint, LbEndpoint, LocalityLbEndpoints};
use envoy_types::pb::envoy::config::listener::v3::{ApiListener, Listener};
use envoy_types::pb::envoy::config::route::v3::header_matcher::HeaderMatchSpecifier;
use envoy_types::pb::envoy::config::route::v3::route::Action;
use envoy_types::pb::envoy::config::route::v3::route_action::ClusterSpecifier;
use envoy_types::pb::envoy::config::route::v3::route_match::PathSpecifier;
use envoy_types::pb::envoy::config::route::v3::weighted_cluster::ClusterWeight;
use envoy_types::pb::envoy::config::route::v3::{
    HeaderMatcher, Route, RouteAction, RouteConfiguration, RouteMatch, VirtualHost, WeightedCluster,
};
use envoy_types::pb::envoy::extensions::filters::http::router::v3::Router;
use envoy_types::pb::envoy::extensions::filters::network::http_connection_manager::v3::http_connection_manager::RouteSpecifier;
use envoy_types::pb::envoy::extensions::filters::network::http_connection_manager::v3::http_filter::ConfigType;
use envoy_types::pb::envoy::extensions::filters::network::http_connection_manager::v3::{
    HttpConnectionManager, HttpFilter, Rds,
};
use envoy_types::pb::envoy::r#type::matcher::v3::StringMatcher;
use envoy_types::pb::envoy::r#type::matcher::v3::string_matcher::MatchPattern;
use envoy_types::pb::google::protobuf::{Any, UInt32Value};
use prost::{Message, Name};

/// Packs a message into an `Any`.
pub fn any<M: Message + Name>(m: &M) -> Any {
    Any { type_url: M::type_url(), value: m.encode_to_vec() }
}

fn ads() -> ConfigSource {
    ConfigSource {
        config_source_specifier: Some(ConfigSourceSpecifier::Ads(AggregatedConfigSource {})),
        ..Default::default()
    }
}

/// A client listener `name` (e.g. `reviews:9080`) whose routes come from RDS `route`.
pub fn listener(name: &str, route: &str) -> Any {
    let hcm = HttpConnectionManager {
        route_specifier: Some(RouteSpecifier::Rds(Rds {
            route_config_name: route.to_string(),
            config_source: Some(ads()),
        })),
        http_filters: vec![HttpFilter {
            name: "envoy.filters.http.router".into(),
            config_type: Some(ConfigType::TypedConfig(any(&Router::default()))),
            ..Default::default()
        }],
        ..Default::default()
    };
    any(&Listener {
        name: name.to_string(),
        api_listener: Some(ApiListener { api_listener: Some(any(&hcm)) }),
        ..Default::default()
    })
}

/// A route configuration with one virtual host.
pub fn route_config(name: &str, domains: &[&str], routes: Vec<Route>) -> Any {
    any(&RouteConfiguration {
        name: name.to_string(),
        virtual_hosts: vec![VirtualHost {
            name: name.to_string(),
            domains: domains.iter().map(|d| d.to_string()).collect(),
            routes,
            ..Default::default()
        }],
        ..Default::default()
    })
}

fn prefix_match() -> RouteMatch {
    RouteMatch { path_specifier: Some(PathSpecifier::Prefix("/".into())), ..Default::default() }
}

fn to_action(spec: ClusterSpecifier) -> Option<Action> {
    Some(Action::Route(RouteAction { cluster_specifier: Some(spec), ..Default::default() }))
}

/// Everything to `cluster`.
pub fn route_to(cluster: &str) -> Route {
    Route {
        name: format!("to-{cluster}"),
        r#match: Some(prefix_match()),
        action: to_action(ClusterSpecifier::Cluster(cluster.to_string())),
        ..Default::default()
    }
}

/// Everything, split by weight.
pub fn route_weighted(split: &[(&str, u32)]) -> Route {
    let clusters = split
        .iter()
        .map(|(c, w)| ClusterWeight {
            name: c.to_string(),
            weight: Some(UInt32Value { value: *w }),
            ..Default::default()
        })
        .collect();
    Route {
        name: "weighted".into(),
        r#match: Some(prefix_match()),
        action: to_action(ClusterSpecifier::WeightedClusters(WeightedCluster { clusters, ..Default::default() })),
        ..Default::default()
    }
}

/// Requests whose header `name` equals `value` go to `cluster`.
pub fn route_header(name: &str, value: &str, cluster: &str) -> Route {
    let header = HeaderMatcher {
        name: name.to_string(),
        header_match_specifier: Some(HeaderMatchSpecifier::StringMatch(StringMatcher {
            match_pattern: Some(MatchPattern::Exact(value.to_string())),
            ..Default::default()
        })),
        ..Default::default()
    };
    Route {
        name: format!("{name}-{value}"),
        r#match: Some(RouteMatch { headers: vec![header], ..prefix_match() }),
        action: to_action(ClusterSpecifier::Cluster(cluster.to_string())),
        ..Default::default()
    }
}

/// An EDS cluster over ADS.
pub fn cluster_eds(name: &str) -> Any {
    any(&Cluster {
        name: name.to_string(),
        cluster_discovery_type: Some(ClusterDiscoveryType::Type(DiscoveryType::Eds as i32)),
        eds_cluster_config: Some(EdsClusterConfig { eds_config: Some(ads()), service_name: String::new() }),
        ..Default::default()
    })
}

/// The endpoints of `cluster`.
pub fn endpoints(cluster: &str, addrs: &[SocketAddr]) -> Any {
    let lb_endpoints = addrs.iter().map(lb_endpoint).collect();
    any(&ClusterLoadAssignment {
        cluster_name: cluster.to_string(),
        endpoints: vec![LocalityLbEndpoints { lb_endpoints, ..Default::default() }],
        ..Default::default()
    })
}

fn lb_endpoint(a: &SocketAddr) -> LbEndpoint {
    LbEndpoint {
        host_identifier: Some(HostIdentifier::Endpoint(Endpoint {
            address: Some(Address {
                address: Some(AddressKind::SocketAddress(SocketAddress {
                    address: a.ip().to_string(),
                    port_specifier: Some(PortSpecifier::PortValue(u32::from(a.port()))),
                    ..Default::default()
                })),
            }),
            ..Default::default()
        })),
        ..Default::default()
    }
}

/// Istio's name for the cluster of `subset` of `host:port`: `outbound|PORT|SUBSET|HOST`
/// (an empty subset for the whole service, as Istio does: `outbound|9080||reviews...`).
pub fn istio_cluster_name(host: &str, port: u16, subset: &str) -> String {
    format!("outbound|{port}|{subset}|{host}")
}

/// The endpoints of `cluster` the way Istio serves them: in one locality (`region/zone`)
/// with a `load_balancing_weight` on the locality and on each endpoint (1 each).
///
/// Both matter to grpc-core clients (grpcio 1.85): a locality whose weight is unset or 0
/// is ignored, silently, so [`endpoints`] gives them no endpoint at all; and with a
/// weight but no `locality` the resource is NACKed. Our client and tonic-xds serve
/// [`endpoints`] too (`tests/interop_grpcio.rs`, `tests/interop_tonic_xds.rs`).
pub fn endpoints_in_locality(cluster: &str, region: &str, zone: &str, addrs: &[SocketAddr]) -> Any {
    let lb_endpoints: Vec<LbEndpoint> = addrs
        .iter()
        .map(|a| LbEndpoint { load_balancing_weight: Some(UInt32Value { value: 1 }), ..lb_endpoint(a) })
        .collect();
    let weight = u32::try_from(lb_endpoints.len()).unwrap_or(u32::MAX);
    any(&ClusterLoadAssignment {
        cluster_name: cluster.to_string(),
        endpoints: vec![LocalityLbEndpoints {
            locality: Some(Locality { region: region.to_string(), zone: zone.to_string(), ..Default::default() }),
            lb_endpoints,
            load_balancing_weight: Some(UInt32Value { value: weight }),
            ..Default::default()
        }],
        ..Default::default()
    })
}

/// A LOGICAL_DNS cluster for `host:port`.
pub fn cluster_logical_dns(name: &str, host: &str, port: u16) -> Any {
    let lb_endpoints = vec![LbEndpoint {
        host_identifier: Some(HostIdentifier::Endpoint(Endpoint {
            address: Some(Address {
                address: Some(AddressKind::SocketAddress(SocketAddress {
                    address: host.to_string(),
                    port_specifier: Some(PortSpecifier::PortValue(u32::from(port))),
                    ..Default::default()
                })),
            }),
            ..Default::default()
        })),
        ..Default::default()
    }];
    any(&Cluster {
        name: name.to_string(),
        cluster_discovery_type: Some(ClusterDiscoveryType::Type(DiscoveryType::LogicalDns as i32)),
        load_assignment: Some(ClusterLoadAssignment {
            cluster_name: name.to_string(),
            endpoints: vec![LocalityLbEndpoints { lb_endpoints, ..Default::default() }],
            ..Default::default()
        }),
        ..Default::default()
    })
}
