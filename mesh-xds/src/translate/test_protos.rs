//! Envoy resources for the translation tests, built the way a proxyless control plane
//! (Istio's gRPC generator) builds them, and a plain request to route.

use std::collections::HashMap;

use envoy_types::pb::envoy::config::cluster::v3::Cluster;
use envoy_types::pb::envoy::config::cluster::v3::cluster::{ClusterDiscoveryType, DiscoveryType, EdsClusterConfig};
use envoy_types::pb::envoy::config::core::v3::address::Address as AddressKind;
use envoy_types::pb::envoy::config::core::v3::config_source::ConfigSourceSpecifier;
use envoy_types::pb::envoy::config::core::v3::socket_address::PortSpecifier;
use envoy_types::pb::envoy::config::core::v3::{
    Address, AggregatedConfigSource, ConfigSource, HeaderValue, HeaderValueOption, Locality, SocketAddress,
};
use envoy_types::pb::envoy::config::endpoint::v3::lb_endpoint::HostIdentifier;
use envoy_types::pb::envoy::config::endpoint::v3::{ClusterLoadAssignment, Endpoint, LbEndpoint, LocalityLbEndpoints};
use envoy_types::pb::envoy::config::listener::v3::{ApiListener, Listener};
use envoy_types::pb::envoy::config::route::v3 as pb;
use envoy_types::pb::envoy::config::route::v3::header_matcher::HeaderMatchSpecifier;
use envoy_types::pb::envoy::config::route::v3::retry_policy::RetryHostPredicate;
use envoy_types::pb::envoy::config::route::v3::retry_policy::retry_host_predicate::ConfigType as PredicateConfig;
use envoy_types::pb::envoy::config::route::v3::route::Action;
use envoy_types::pb::envoy::config::route::v3::route_action::{ClusterSpecifier, MaxStreamDuration};
use envoy_types::pb::envoy::config::route::v3::route_match::PathSpecifier;
use envoy_types::pb::envoy::config::route::v3::weighted_cluster::ClusterWeight;
use envoy_types::pb::envoy::extensions::filters::common::fault::v3::FaultDelay;
use envoy_types::pb::envoy::extensions::filters::common::fault::v3::fault_delay::FaultDelaySecifier;
use envoy_types::pb::envoy::extensions::filters::http::fault::v3::fault_abort::ErrorType;
use envoy_types::pb::envoy::extensions::filters::http::fault::v3::{FaultAbort, HttpFault};
use envoy_types::pb::envoy::extensions::filters::http::router::v3::Router;
use envoy_types::pb::envoy::extensions::filters::network::http_connection_manager::v3::http_connection_manager::RouteSpecifier;
use envoy_types::pb::envoy::extensions::filters::network::http_connection_manager::v3::http_filter::ConfigType;
use envoy_types::pb::envoy::extensions::filters::network::http_connection_manager::v3::{
    HttpConnectionManager, HttpFilter, Rds,
};
use envoy_types::pb::envoy::extensions::retry::host::previous_hosts::v3::PreviousHostsPredicate;
use envoy_types::pb::envoy::r#type::matcher::v3::StringMatcher;
use envoy_types::pb::envoy::r#type::matcher::v3::string_matcher::MatchPattern;
use envoy_types::pb::envoy::r#type::v3::FractionalPercent;
use envoy_types::pb::google::protobuf::{Any, Duration as PbDuration, UInt32Value};
use mesh_core::matcher::RequestAttributes;
use prost::{Message, Name};

pub(super) const REVIEWS: &str = "reviews.default.svc.cluster.local";
pub(super) const REVIEWS_LISTENER: &str = "reviews.default.svc.cluster.local:9080";

/// Istio's cluster name for a subset of `reviews:9080`.
pub(super) fn reviews(subset: &str) -> String {
    format!("outbound|9080|{subset}|{REVIEWS}")
}

/// Packs a message into an `Any`.
pub(super) fn pack<M: Message + Name>(m: &M) -> Any {
    Any { type_url: M::type_url(), value: m.encode_to_vec() }
}

pub(super) fn ads() -> ConfigSource {
    ConfigSource {
        config_source_specifier: Some(ConfigSourceSpecifier::Ads(AggregatedConfigSource {})),
        ..Default::default()
    }
}

pub(super) fn secs(seconds: i64) -> Option<PbDuration> {
    Some(PbDuration { seconds, nanos: 0 })
}

pub(super) fn percent(numerator: u32) -> Option<FractionalPercent> {
    Some(FractionalPercent { numerator, denominator: 0 })
}

pub(super) fn filter<M: Message + Name>(name: &str, config: &M) -> HttpFilter {
    HttpFilter { name: name.into(), config_type: Some(ConfigType::TypedConfig(pack(config))), ..Default::default() }
}

pub(super) fn router() -> HttpFilter {
    filter("envoy.filters.http.router", &Router::default())
}

/// An HCM whose routes come from RDS `route`.
pub(super) fn rds_hcm(route: &str, http_filters: Vec<HttpFilter>) -> HttpConnectionManager {
    HttpConnectionManager {
        route_specifier: Some(RouteSpecifier::Rds(Rds { route_config_name: route.into(), config_source: Some(ads()) })),
        http_filters,
        ..Default::default()
    }
}

pub(super) fn listener(name: &str, hcm: &HttpConnectionManager) -> Listener {
    Listener {
        name: name.into(),
        api_listener: Some(ApiListener { api_listener: Some(pack(hcm)) }),
        ..Default::default()
    }
}

/// Istio's proxyless listener for reviews: RDS of the same name, fault + router filters.
pub(super) fn reviews_listener() -> Listener {
    let filters = vec![filter("envoy.filters.http.fault", &HttpFault::default()), router()];
    listener(REVIEWS_LISTENER, &rds_hcm(REVIEWS_LISTENER, filters))
}

pub(super) fn abort_fault(http_status: u32, pct: u32) -> HttpFault {
    HttpFault {
        abort: Some(FaultAbort {
            percentage: percent(pct),
            error_type: Some(ErrorType::HttpStatus(http_status)),
            ..Default::default()
        }),
        ..Default::default()
    }
}

pub(super) fn delay_fault(seconds: i64, pct: u32) -> HttpFault {
    HttpFault {
        delay: Some(FaultDelay {
            percentage: percent(pct),
            fault_delay_secifier: Some(FaultDelaySecifier::FixedDelay(PbDuration { seconds, nanos: 0 })),
        }),
        ..Default::default()
    }
}

pub(super) fn exact_header(name: &str, value: &str) -> pb::HeaderMatcher {
    let m = StringMatcher { match_pattern: Some(MatchPattern::Exact(value.into())), ignore_case: false };
    pb::HeaderMatcher {
        name: name.into(),
        header_match_specifier: Some(HeaderMatchSpecifier::StringMatch(m)),
        ..Default::default()
    }
}

/// A `HeaderValueOption` with `append_action` (0 append, 1 add-if-absent, 2 overwrite).
pub(super) fn header_option(key: &str, value: &str, append_action: i32) -> HeaderValueOption {
    HeaderValueOption {
        header: Some(HeaderValue { key: key.into(), value: value.into(), ..Default::default() }),
        append_action,
        ..Default::default()
    }
}

pub(super) fn prefix_match(prefix: &str) -> pb::RouteMatch {
    pb::RouteMatch { path_specifier: Some(PathSpecifier::Prefix(prefix.into())), ..Default::default() }
}

pub(super) fn to_cluster(cluster: &str) -> pb::RouteAction {
    pb::RouteAction { cluster_specifier: Some(ClusterSpecifier::Cluster(cluster.into())), ..Default::default() }
}

pub(super) fn to_weighted(clusters: &[(&str, u32)]) -> pb::RouteAction {
    let clusters = clusters
        .iter()
        .map(|(name, w)| ClusterWeight {
            name: (*name).into(),
            weight: Some(UInt32Value { value: *w }),
            ..Default::default()
        })
        .collect();
    let w = pb::WeightedCluster { clusters, ..Default::default() };
    pb::RouteAction { cluster_specifier: Some(ClusterSpecifier::WeightedClusters(w)), ..Default::default() }
}

pub(super) fn route(name: &str, m: pb::RouteMatch, action: pb::RouteAction) -> pb::Route {
    pb::Route { name: name.into(), r#match: Some(m), action: Some(Action::Route(action)), ..Default::default() }
}

pub(super) fn vhost(name: &str, domains: &[&str], routes: Vec<pb::Route>) -> pb::VirtualHost {
    pb::VirtualHost {
        name: name.into(),
        domains: domains.iter().map(|d| (*d).to_string()).collect(),
        routes,
        ..Default::default()
    }
}

pub(super) fn route_config(name: &str, virtual_hosts: Vec<pb::VirtualHost>) -> pb::RouteConfiguration {
    pb::RouteConfiguration { name: name.into(), virtual_hosts, ..Default::default() }
}

/// Istio-like routes for reviews (bookinfo's "jason → v2, others 50/50 v1/v3"), with
/// Istio's retry policy and a fault (delay) on the default route.
pub(super) fn reviews_routes() -> pb::RouteConfiguration {
    let mut jason = prefix_match("/");
    jason.headers.push(exact_header("end-user", "jason"));
    let mut to_v2 = to_cluster(&reviews("v2"));
    // What Istio writes when the VirtualService sets no timeout: disabled.
    to_v2.timeout = secs(0);
    to_v2.max_stream_duration = Some(MaxStreamDuration {
        max_stream_duration: secs(0),
        grpc_timeout_header_max: secs(0),
        ..Default::default()
    });
    let mut split = to_weighted(&[(&reviews("v1"), 50), (&reviews("v3"), 50)]);
    split.retry_policy = Some(pb::RetryPolicy {
        retry_on: "connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes".into(),
        num_retries: Some(UInt32Value { value: 2 }),
        retry_host_predicate: vec![RetryHostPredicate {
            name: "envoy.retry_host_predicates.previous_hosts".into(),
            config_type: Some(PredicateConfig::TypedConfig(pack(&PreviousHostsPredicate {}))),
        }],
        host_selection_retry_max_attempts: 5,
        ..Default::default()
    });
    let mut default = route("default", prefix_match("/"), split);
    default.typed_per_filter_config = HashMap::from([("envoy.filters.http.fault".into(), pack(&delay_fault(7, 100)))]);
    let domains = [
        REVIEWS,
        REVIEWS_LISTENER,
        "reviews",
        "reviews:9080",
        "reviews.default",
        "reviews.default:9080",
        "reviews.default.svc",
        "reviews.default.svc:9080",
    ];
    let vh = vhost(REVIEWS_LISTENER, &domains, vec![route("jason", jason, to_v2), default]);
    route_config(REVIEWS_LISTENER, vec![vh])
}

/// An EDS cluster over ADS, Istio-style.
pub(super) fn eds_cluster(name: &str) -> Cluster {
    Cluster {
        name: name.into(),
        cluster_discovery_type: Some(ClusterDiscoveryType::Type(DiscoveryType::Eds as i32)),
        eds_cluster_config: Some(EdsClusterConfig { eds_config: Some(ads()), service_name: name.into() }),
        connect_timeout: secs(10),
        ..Default::default()
    }
}

pub(super) fn socket(address: &str, port: u32) -> Address {
    Address {
        address: Some(AddressKind::SocketAddress(SocketAddress {
            address: address.into(),
            port_specifier: Some(PortSpecifier::PortValue(port)),
            ..Default::default()
        })),
    }
}

pub(super) fn lb_endpoint(address: &str, port: u32) -> LbEndpoint {
    LbEndpoint {
        host_identifier: Some(HostIdentifier::Endpoint(Endpoint {
            address: Some(socket(address, port)),
            ..Default::default()
        })),
        ..Default::default()
    }
}

pub(super) fn locality(
    zone: &str,
    priority: u32,
    weight: Option<u32>,
    endpoints: Vec<LbEndpoint>,
) -> LocalityLbEndpoints {
    LocalityLbEndpoints {
        locality: Some(Locality { region: "eu-west1".into(), zone: zone.into(), sub_zone: String::new() }),
        lb_endpoints: endpoints,
        load_balancing_weight: weight.map(|value| UInt32Value { value }),
        priority,
        ..Default::default()
    }
}

pub(super) fn assignment(name: &str, endpoints: Vec<LocalityLbEndpoints>) -> ClusterLoadAssignment {
    ClusterLoadAssignment { cluster_name: name.into(), endpoints, ..Default::default() }
}

/// A request, for routing assertions.
#[derive(Debug, Default, Clone)]
pub(super) struct Req {
    pub(super) authority: String,
    pub(super) path: String,
    pub(super) method: String,
    pub(super) headers: Vec<(String, String)>,
}

impl Req {
    pub(super) fn get(authority: &str, path: &str) -> Self {
        Self { authority: authority.into(), path: path.into(), method: "GET".into(), headers: Vec::new() }
    }

    pub(super) fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }
}

impl RequestAttributes for Req {
    fn authority(&self) -> &str {
        &self.authority
    }
    fn path(&self) -> &str {
        self.path.split('?').next().unwrap_or_default()
    }
    fn query(&self) -> Option<&str> {
        self.path.split_once('?').map(|(_, q)| q)
    }
    fn method(&self) -> &str {
        &self.method
    }
    fn for_each_header_value(&self, name: &str, f: &mut dyn FnMut(&str)) {
        self.headers.iter().filter(|(n, _)| n == name).for_each(|(_, v)| f(v));
    }
}
