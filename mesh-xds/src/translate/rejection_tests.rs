//! Every rejected case names its resource and field.

use std::collections::HashMap;

use envoy_types::pb::envoy::config::cluster::v3::circuit_breakers::Thresholds;
use envoy_types::pb::envoy::config::cluster::v3::circuit_breakers::thresholds::RetryBudget;
use envoy_types::pb::envoy::config::cluster::v3::cluster::{
    ClusterDiscoveryType, CustomClusterType, DiscoveryType, LbConfig, LbPolicy as PbLbPolicy, LbSubsetConfig,
    LeastRequestLbConfig, RingHashLbConfig,
};
use envoy_types::pb::envoy::config::cluster::v3::load_balancing_policy::Policy;
use envoy_types::pb::envoy::config::cluster::v3::{CircuitBreakers, Cluster, LoadBalancingPolicy, OutlierDetection};
use envoy_types::pb::envoy::config::core::v3::RoutingPriority;
use envoy_types::pb::envoy::config::core::v3::address::Address as AddressKind;
use envoy_types::pb::envoy::config::core::v3::config_source::ConfigSourceSpecifier;
use envoy_types::pb::envoy::config::core::v3::socket_address::PortSpecifier;
use envoy_types::pb::envoy::config::core::v3::{
    ApiConfigSource, ConfigSource, Pipe, RuntimeDouble, RuntimeFractionalPercent, TransportSocket, TypedExtensionConfig,
};
use envoy_types::pb::envoy::config::endpoint::v3::ClusterLoadAssignment;
use envoy_types::pb::envoy::config::endpoint::v3::cluster_load_assignment::Policy as ClaPolicy;
use envoy_types::pb::envoy::config::endpoint::v3::cluster_load_assignment::policy::DropOverload;
use envoy_types::pb::envoy::config::endpoint::v3::lb_endpoint::HostIdentifier;
use envoy_types::pb::envoy::config::listener::v3::Listener;
use envoy_types::pb::envoy::config::route::v3 as pb;
use envoy_types::pb::envoy::config::route::v3::header_matcher::HeaderMatchSpecifier;
use envoy_types::pb::envoy::config::route::v3::query_parameter_matcher::QueryParameterMatchSpecifier;
use envoy_types::pb::envoy::config::route::v3::redirect_action::PathRewriteSpecifier;
use envoy_types::pb::envoy::config::route::v3::retry_policy::{RetryHostPredicate, RetryPriority};
use envoy_types::pb::envoy::config::route::v3::route::Action;
use envoy_types::pb::envoy::config::route::v3::route_action::hash_policy::{Cookie, PolicySpecifier};
use envoy_types::pb::envoy::config::route::v3::route_action::{ClusterSpecifier, HostRewriteSpecifier};
use envoy_types::pb::envoy::config::route::v3::route_match::{ConnectMatcher, PathSpecifier};
use envoy_types::pb::envoy::extensions::filters::common::fault::v3::fault_delay::{FaultDelaySecifier, HeaderDelay};
use envoy_types::pb::envoy::extensions::filters::http::fault::v3::fault_abort::{ErrorType, HeaderAbort};
use envoy_types::pb::envoy::extensions::filters::network::http_connection_manager::v3::ScopedRoutes;
use envoy_types::pb::envoy::extensions::filters::network::http_connection_manager::v3::http_connection_manager::RouteSpecifier;
use envoy_types::pb::envoy::extensions::load_balancing_policies::ring_hash::v3::RingHash;
use envoy_types::pb::envoy::r#type::matcher::v3::{RegexMatchAndSubstitute, RegexMatcher};
use envoy_types::pb::envoy::r#type::v3::{FractionalPercent, Int64Range, Percent as PbPercent};
use envoy_types::pb::google::protobuf::{Duration as PbDuration, UInt32Value, UInt64Value};

use super::test_protos::*;
use super::*;
use crate::type_url;

fn assert_rejected(type_url: &str, any: &envoy_types::pb::google::protobuf::Any, resource: &str, field: &str) {
    let err = decode(type_url, any).result.expect_err(field);
    assert_eq!((err.resource.as_str(), err.field.as_str()), (resource, field), "{err}");
    assert!(!err.reason.is_empty());
}

// ---- routes ---------------------------------------------------------------------------

const R: &str = "virtual_hosts[0].routes[1]";

fn route_rejected(field: &str, mutate: impl FnOnce(&mut pb::RouteConfiguration)) {
    let mut rc = reviews_routes();
    mutate(&mut rc);
    assert_rejected(type_url::ROUTE, &pack(&rc), REVIEWS_LISTENER, field);
}

fn the_route(rc: &mut pb::RouteConfiguration) -> &mut pb::Route {
    &mut rc.virtual_hosts[0].routes[1]
}

fn the_action(rc: &mut pb::RouteConfiguration) -> &mut pb::RouteAction {
    match &mut the_route(rc).action {
        Some(Action::Route(a)) => a,
        _ => unreachable!("the fixture's route forwards"),
    }
}

fn the_retry(rc: &mut pb::RouteConfiguration) -> &mut pb::RetryPolicy {
    the_action(rc).retry_policy.as_mut().expect("fixture retries")
}

fn the_match(rc: &mut pb::RouteConfiguration) -> &mut pb::RouteMatch {
    the_route(rc).r#match.as_mut().expect("fixture has a match")
}

#[test]
fn route_actions_other_than_forwarding() {
    let f = |s: &str| format!("{R}.{s}");
    route_rejected(&f("redirect.regex_rewrite"), |rc| {
        the_route(rc).action = Some(Action::Redirect(pb::RedirectAction {
            path_rewrite_specifier: Some(PathRewriteSpecifier::RegexRewrite(Default::default())),
            ..Default::default()
        }));
    });
    route_rejected(&f("redirect.response_code"), |rc| {
        the_route(rc).action = Some(Action::Redirect(pb::RedirectAction { response_code: 9, ..Default::default() }));
    });
    route_rejected(&f("direct_response"), |rc| the_route(rc).action = Some(Action::DirectResponse(Default::default())));
    route_rejected(&f("filter_action"), |rc| the_route(rc).action = Some(Action::FilterAction(Default::default())));
    route_rejected(&f("non_forwarding_action"), |rc| {
        the_route(rc).action = Some(Action::NonForwardingAction(Default::default()));
    });
    route_rejected(&f("route.cluster_header"), |rc| {
        the_action(rc).cluster_specifier = Some(ClusterSpecifier::ClusterHeader("x-cluster".into()));
    });
    route_rejected(&f("route.cluster_specifier_plugin"), |rc| {
        the_action(rc).cluster_specifier = Some(ClusterSpecifier::ClusterSpecifierPlugin("p".into()));
    });
}

#[test]
fn route_fields_that_change_behaviour() {
    let f = |s: &str| format!("{R}.{s}");
    route_rejected(&f("route.prefix_rewrite"), |rc| the_action(rc).prefix_rewrite = "v2".into());
    route_rejected(&f("route.host_rewrite_literal"), |rc| {
        the_action(rc).host_rewrite_specifier = Some(HostRewriteSpecifier::HostRewriteLiteral("a b".into()));
    });
    route_rejected(&f("route.host_rewrite_header"), |rc| {
        the_action(rc).host_rewrite_specifier = Some(HostRewriteSpecifier::HostRewriteHeader("x-h".into()));
    });
    route_rejected(&f("route.host_rewrite_path_regex"), |rc| {
        the_action(rc).host_rewrite_specifier = Some(HostRewriteSpecifier::HostRewritePathRegex(Default::default()));
    });
    route_rejected(&f("route.hedge_policy"), |rc| the_action(rc).hedge_policy = Some(Default::default()));
    route_rejected(&f("request_headers_to_add[0].header"), |rc| {
        the_route(rc).request_headers_to_add.push(Default::default());
    });
    route_rejected(&f("response_headers_to_add[0].header.value"), |rc| {
        the_route(rc).response_headers_to_add.push(header_option("x-id", "%REQ(x-id)%", 0));
    });
    route_rejected(&f("request_headers_to_add[0].append_action"), |rc| {
        the_route(rc).request_headers_to_add.push(header_option("x-a", "1", 1));
    });
    route_rejected(&f("request_headers_to_remove[0]"), |rc| the_route(rc).request_headers_to_remove.push("a b".into()));
    route_rejected("virtual_hosts[0].request_headers_to_add", |rc| {
        rc.virtual_hosts[0].request_headers_to_add.push(header_option("x-a", "1", 0));
    });
    route_rejected("virtual_hosts[0].response_headers_to_remove", |rc| {
        rc.virtual_hosts[0].response_headers_to_remove.push("x".into());
    });
    route_rejected("request_headers_to_remove", |rc| rc.request_headers_to_remove.push("x".into()));
    route_rejected(&f("route.hash_policy[0].cookie"), |rc| {
        the_action(rc).hash_policy.push(pb::route_action::HashPolicy {
            policy_specifier: Some(PolicySpecifier::Cookie(Cookie::default())),
            terminal: false,
        });
    });
    route_rejected("virtual_hosts[0].require_tls", |rc| rc.virtual_hosts[0].require_tls = 2);
    route_rejected("vhds", |rc| rc.vhds = Some(Default::default()));
}

#[test]
fn mirrors_regex_rewrites_and_destination_headers() {
    let f = |s: &str| format!("{R}.route.{s}");
    let regex = |pattern: &str, substitution: &str| RegexMatchAndSubstitute {
        pattern: Some(RegexMatcher { regex: pattern.into(), engine_type: None }),
        substitution: substitution.into(),
    };
    route_rejected(&f("regex_rewrite.pattern.regex"), |rc| the_action(rc).regex_rewrite = Some(regex("(", "/")));
    route_rejected(&f("regex_rewrite.substitution"), |rc| the_action(rc).regex_rewrite = Some(regex("(a)", r"\2")));
    route_rejected(&f("regex_rewrite"), |rc| {
        the_action(rc).prefix_rewrite = "/v2/".into();
        the_action(rc).regex_rewrite = Some(regex("^/v1/", "/v2/"));
    });
    let mirror =
        |m: pb::route_action::RequestMirrorPolicy| pb::route_action::RequestMirrorPolicy { cluster: "m".into(), ..m };
    let m = |s: &str| f(&format!("request_mirror_policies[0].{s}"));
    route_rejected(&m("cluster"), |rc| the_action(rc).request_mirror_policies.push(Default::default()));
    route_rejected(&m("cluster_header"), |rc| {
        let p = mirror(pb::route_action::RequestMirrorPolicy { cluster_header: "x-c".into(), ..Default::default() });
        the_action(rc).request_mirror_policies.push(p);
    });
    route_rejected(&m("request_headers_mutations"), |rc| {
        let p = mirror(pb::route_action::RequestMirrorPolicy {
            request_headers_mutations: vec![Default::default()],
            ..Default::default()
        });
        the_action(rc).request_mirror_policies.push(p);
    });
    route_rejected(&m("runtime_fraction.default_value.denominator"), |rc| {
        let p = mirror(pb::route_action::RequestMirrorPolicy {
            runtime_fraction: Some(RuntimeFractionalPercent {
                default_value: Some(FractionalPercent { numerator: 1, denominator: 9 }),
                runtime_key: String::new(),
            }),
            ..Default::default()
        });
        the_action(rc).request_mirror_policies.push(p);
    });
    route_rejected("virtual_hosts[0].request_mirror_policies", |rc| {
        rc.virtual_hosts[0].request_mirror_policies.push(mirror(Default::default()));
    });
    route_rejected("request_mirror_policies", |rc| rc.request_mirror_policies.push(mirror(Default::default())));
    let w = |s: &str| f(&format!("weighted_clusters.clusters[0].{s}"));
    route_rejected(&w("request_headers_to_add[0].header.value"), |rc| {
        first_weighted(rc).request_headers_to_add.push(header_option("x-id", "%REQ(x-id)%", 0));
    });
    route_rejected(&w("response_headers_to_remove[0]"), |rc| {
        first_weighted(rc).response_headers_to_remove.push(":status".into());
    });
    route_rejected(&w("host_rewrite_literal"), |rc| {
        first_weighted(rc).host_rewrite_specifier =
            Some(pb::weighted_cluster::cluster_weight::HostRewriteSpecifier::HostRewriteLiteral("h".into()));
    });
}

/// Makes the route split between `a` and `b`; returns the first weighted cluster.
fn first_weighted(rc: &mut pb::RouteConfiguration) -> &mut pb::weighted_cluster::ClusterWeight {
    *the_action(rc) = to_weighted(&[("a", 1), ("b", 1)]);
    match &mut the_action(rc).cluster_specifier {
        Some(ClusterSpecifier::WeightedClusters(w)) => &mut w.clusters[0],
        _ => unreachable!("to_weighted makes weighted clusters"),
    }
}

#[test]
fn retry_policies() {
    let f = |s: &str| format!("{R}.route.retry_policy.{s}");
    route_rejected(&f("retry_on"), |rc| the_retry(rc).retry_on = "5xx,reset-before-request".into());
    route_rejected(&f("retry_priority"), |rc| the_retry(rc).retry_priority = Some(RetryPriority::default()));
    route_rejected(&f("retry_host_predicate[1]"), |rc| {
        the_retry(rc).retry_host_predicate.push(RetryHostPredicate {
            name: "envoy.retry_host_predicates.omit_canary_hosts".into(),
            config_type: None,
        });
    });
    route_rejected("virtual_hosts[0].retry_policy.num_retries", |rc| {
        rc.virtual_hosts[0].retry_policy =
            Some(pb::RetryPolicy { num_retries: Some(UInt32Value { value: 500 }), ..Default::default() });
    });
}

#[test]
fn matchers() {
    let f = |s: &str| format!("{R}.match.{s}");
    route_rejected(&f("runtime_fraction"), |rc| {
        the_match(rc).runtime_fraction = Some(RuntimeFractionalPercent {
            default_value: Some(FractionalPercent { numerator: 50, denominator: 0 }),
            runtime_key: "k".into(),
        });
    });
    route_rejected(&f("safe_regex.regex"), |rc| {
        the_match(rc).path_specifier =
            Some(PathSpecifier::SafeRegex(RegexMatcher { regex: "(".into(), engine_type: None }));
    });
    route_rejected(&f("connect_matcher"), |rc| {
        the_match(rc).path_specifier = Some(PathSpecifier::ConnectMatcher(ConnectMatcher {}));
    });
    route_rejected(&f("headers[0].range_match"), |rc| {
        the_match(rc).headers.push(pb::HeaderMatcher {
            name: "x-n".into(),
            header_match_specifier: Some(HeaderMatchSpecifier::RangeMatch(Int64Range { start: 0, end: 9 })),
            ..Default::default()
        });
    });
    route_rejected(&f("headers[0]"), |rc| {
        let mut m = exact_header(":method", "GET");
        m.invert_match = true;
        the_match(rc).headers.push(m);
    });
    route_rejected(&f("headers[0].name"), |rc| the_match(rc).headers.push(exact_header(":authority", "a")));
    route_rejected(&f("query_parameters[0].present_match"), |rc| {
        the_match(rc).query_parameters.push(pb::QueryParameterMatcher {
            name: "q".into(),
            query_parameter_match_specifier: Some(QueryParameterMatchSpecifier::PresentMatch(false)),
        });
    });
}

#[test]
fn faults() {
    let key = "typed_per_filter_config[envoy.filters.http.fault]";
    route_rejected(&format!("{R}.{key}.abort.header_abort"), |rc| {
        let mut fault = abort_fault(503, 100);
        if let Some(a) = fault.abort.as_mut() {
            a.error_type = Some(ErrorType::HeaderAbort(HeaderAbort {}));
        }
        the_route(rc).typed_per_filter_config = HashMap::from([("envoy.filters.http.fault".into(), pack(&fault))]);
    });
    route_rejected(&format!("virtual_hosts[0].{key}.delay.header_delay"), |rc| {
        let mut fault = delay_fault(1, 100);
        if let Some(d) = fault.delay.as_mut() {
            d.fault_delay_secifier = Some(FaultDelaySecifier::HeaderDelay(HeaderDelay {}));
        }
        rc.virtual_hosts[0].typed_per_filter_config =
            HashMap::from([("envoy.filters.http.fault".into(), pack(&fault))]);
    });
    route_rejected(&format!("{R}.typed_per_filter_config[envoy.filters.http.cors]"), |rc| {
        the_route(rc).typed_per_filter_config.insert("envoy.filters.http.cors".into(), pack(&UInt32Value { value: 1 }));
    });
}

#[test]
fn destinations_and_domains() {
    let f = |s: &str| format!("{R}.route.weighted_clusters.{s}");
    route_rejected(&f("clusters"), |rc| *the_action(rc) = to_weighted(&[("a", 0), ("b", 0)]));
    route_rejected(&f("clusters[1].name"), |rc| *the_action(rc) = to_weighted(&[("a", 1), ("", 1)]));
    route_rejected(&format!("{R}.route.cluster"), |rc| *the_action(rc) = to_cluster(""));
    route_rejected("virtual_hosts[1].domains[0]", |rc| {
        let dup = vhost("other", &[REVIEWS], vec![route("r", prefix_match("/"), to_cluster("c"))]);
        rc.virtual_hosts.push(dup);
    });
    route_rejected("virtual_hosts[0].domains[1]", |rc| rc.virtual_hosts[0].domains[1] = "a*b".into());
    route_rejected(&format!("{R}.route.max_stream_duration.max_stream_duration"), |rc| {
        the_action(rc).max_stream_duration = Some(pb::route_action::MaxStreamDuration {
            max_stream_duration: Some(PbDuration { seconds: -1, nanos: 0 }),
            ..Default::default()
        });
    });
}

// ---- listeners ------------------------------------------------------------------------

fn listener_rejected(field: &str, mutate: impl FnOnce(&mut Listener)) {
    let mut l = reviews_listener();
    mutate(&mut l);
    assert_rejected(type_url::LISTENER, &pack(&l), REVIEWS_LISTENER, field);
}

fn with_hcm(
    l: &mut Listener,
    hcm: &envoy_types::pb::envoy::extensions::filters::network::http_connection_manager::v3::HttpConnectionManager,
) {
    *l = listener(&l.name, hcm);
}

#[test]
fn listeners() {
    let h = |s: &str| format!("api_listener.api_listener.{s}");
    listener_rejected("api_listener", |l| l.api_listener = None);
    listener_rejected("api_listener.api_listener", |l| {
        if let Some(a) = l.api_listener.as_mut() {
            a.api_listener = Some(pack(&UInt32Value { value: 1 }));
        }
    });
    listener_rejected(&h("rds.config_source"), |l| {
        let mut hcm = rds_hcm("r", vec![router()]);
        if let Some(RouteSpecifier::Rds(rds)) = hcm.route_specifier.as_mut() {
            rds.config_source = Some(ConfigSource {
                config_source_specifier: Some(ConfigSourceSpecifier::ApiConfigSource(ApiConfigSource::default())),
                ..Default::default()
            });
        }
        with_hcm(l, &hcm);
    });
    listener_rejected(&h("scoped_routes"), |l| {
        let mut hcm = rds_hcm("r", vec![router()]);
        hcm.route_specifier = Some(RouteSpecifier::ScopedRoutes(ScopedRoutes::default()));
        with_hcm(l, &hcm);
    });
    listener_rejected(&h("http_filters"), |l| with_hcm(l, &rds_hcm("r", vec![])));
    listener_rejected(&h("http_filters[1]"), |l| {
        with_hcm(l, &rds_hcm("r", vec![router(), filter("fault", &abort_fault(503, 1))]));
    });
    listener_rejected(&h("http_filters[0].typed_config"), |l| {
        with_hcm(l, &rds_hcm("r", vec![filter("envoy.filters.http.rbac", &UInt32Value { value: 1 }), router()]));
    });
    listener_rejected(&h("http_filters[0].typed_config.abort.header_abort"), |l| {
        let mut fault = abort_fault(503, 100);
        if let Some(a) = fault.abort.as_mut() {
            a.error_type = Some(ErrorType::HeaderAbort(HeaderAbort {}));
        }
        with_hcm(l, &rds_hcm("r", vec![filter("fault", &fault), router()]));
    });
    listener_rejected(&h("route_config.virtual_hosts[0].routes[1].direct_response"), |l| {
        let mut rc = reviews_routes();
        the_route(&mut rc).action = Some(Action::DirectResponse(Default::default()));
        let mut hcm = rds_hcm("r", vec![router()]);
        hcm.route_specifier = Some(RouteSpecifier::RouteConfig(rc));
        with_hcm(l, &hcm);
    });
}

#[test]
fn optional_unknown_filters_are_skipped() {
    let mut rbac = filter("envoy.filters.http.rbac", &UInt32Value { value: 1 });
    rbac.is_optional = true;
    let l = listener("l", &rds_hcm("r", vec![rbac, router()]));
    assert!(decode(type_url::LISTENER, &pack(&l)).result.is_ok());
}

// ---- clusters -------------------------------------------------------------------------

fn cluster_rejected(field: &str, mutate: impl FnOnce(&mut Cluster)) -> ResourceError {
    let mut c = eds_cluster("c");
    mutate(&mut c);
    let err = decode(type_url::CLUSTER, &pack(&c)).result.expect_err(field);
    assert_eq!((err.resource.as_str(), err.field.as_str()), ("c", field), "{err}");
    err
}

fn discovery(t: DiscoveryType) -> Option<ClusterDiscoveryType> {
    Some(ClusterDiscoveryType::Type(t as i32))
}

#[test]
fn clusters() {
    // TLS is accepted (see upstream_tls_tests.rs); a socket without its config is not.
    let e =
        cluster_rejected("transport_socket.typed_config", |c| c.transport_socket = Some(TransportSocket::default()));
    assert!(e.reason.contains("required"), "{e}");
    cluster_rejected("type", |c| c.cluster_discovery_type = discovery(DiscoveryType::StrictDns));
    cluster_rejected("type", |c| c.cluster_discovery_type = discovery(DiscoveryType::OriginalDst));
    cluster_rejected("cluster_type", |c| {
        c.cluster_discovery_type = Some(ClusterDiscoveryType::ClusterType(CustomClusterType::default()));
    });
    cluster_rejected("eds_cluster_config.eds_config", |c| {
        if let Some(e) = c.eds_cluster_config.as_mut() {
            e.eds_config = Some(ConfigSource {
                config_source_specifier: Some(ConfigSourceSpecifier::ApiConfigSource(ApiConfigSource::default())),
                ..Default::default()
            });
        }
    });
    cluster_rejected("lb_policy", |c| c.lb_policy = PbLbPolicy::Maglev as i32);
    cluster_rejected("ring_hash_lb_config.hash_function", |c| {
        c.lb_policy = PbLbPolicy::RingHash as i32;
        c.lb_config = Some(LbConfig::RingHashLbConfig(RingHashLbConfig { hash_function: 1, ..Default::default() }));
    });
    cluster_rejected("ring_hash_lb_config.minimum_ring_size", |c| {
        c.lb_policy = PbLbPolicy::RingHash as i32;
        c.lb_config = Some(LbConfig::RingHashLbConfig(RingHashLbConfig {
            minimum_ring_size: Some(UInt64Value { value: 100 }),
            maximum_ring_size: Some(UInt64Value { value: 10 }),
            ..Default::default()
        }));
    });
    cluster_rejected("least_request_lb_config.choice_count", |c| {
        c.lb_policy = PbLbPolicy::LeastRequest as i32;
        c.lb_config = Some(LbConfig::LeastRequestLbConfig(LeastRequestLbConfig {
            choice_count: Some(UInt32Value { value: 1 }),
            ..Default::default()
        }));
    });
    cluster_rejected("least_request_lb_config.active_request_bias", |c| {
        c.lb_policy = PbLbPolicy::LeastRequest as i32;
        c.lb_config = Some(LbConfig::LeastRequestLbConfig(LeastRequestLbConfig {
            active_request_bias: Some(RuntimeDouble { default_value: 2.0, runtime_key: String::new() }),
            ..Default::default()
        }));
    });
    cluster_rejected("load_balancing_policy.policies[0].typed_extension_config.typed_config.hash_function", |c| {
        let rh = RingHash { hash_function: 2, ..Default::default() };
        c.load_balancing_policy = Some(LoadBalancingPolicy {
            policies: vec![Policy {
                typed_extension_config: Some(TypedExtensionConfig { name: "rh".into(), typed_config: Some(pack(&rh)) }),
            }],
        });
    });
    let thresholds = |t: Thresholds| Some(CircuitBreakers { thresholds: vec![t], ..Default::default() });
    let finite = Some(UInt32Value { value: 100 });
    cluster_rejected("circuit_breakers.thresholds[0].max_connection_pools", |c| {
        c.circuit_breakers = thresholds(Thresholds { max_connection_pools: finite, ..Default::default() });
    });
    cluster_rejected("circuit_breakers.thresholds[0].priority", |c| {
        let high = RoutingPriority::High as i32;
        c.circuit_breakers = thresholds(Thresholds { priority: high, max_requests: finite, ..Default::default() });
    });
    cluster_rejected("circuit_breakers.thresholds[1]", |c| {
        c.circuit_breakers = Some(CircuitBreakers {
            thresholds: vec![Thresholds::default(), Thresholds::default()],
            ..Default::default()
        });
    });
    cluster_rejected("circuit_breakers.per_host_thresholds[0].max_connections", |c| {
        c.circuit_breakers = Some(CircuitBreakers {
            per_host_thresholds: vec![Thresholds { max_connections: finite, ..Default::default() }],
            ..Default::default()
        });
    });
    cluster_rejected("circuit_breakers.thresholds[0].retry_budget.budget_percent", |c| {
        let budget = RetryBudget { budget_percent: Some(PbPercent { value: -5.0 }), ..Default::default() };
        c.circuit_breakers = thresholds(Thresholds { retry_budget: Some(budget), ..Default::default() });
    });
    let outlier = |o: OutlierDetection| Some(o);
    cluster_rejected("outlier_detection.monitors", |c| {
        c.outlier_detection =
            outlier(OutlierDetection { monitors: vec![TypedExtensionConfig::default()], ..Default::default() });
    });
    cluster_rejected("outlier_detection.max_ejection_percent", |c| {
        c.outlier_detection =
            outlier(OutlierDetection { max_ejection_percent: Some(UInt32Value { value: 101 }), ..Default::default() });
    });
    cluster_rejected("outlier_detection.interval", |c| {
        c.outlier_detection =
            outlier(OutlierDetection { interval: Some(PbDuration { seconds: 0, nanos: 0 }), ..Default::default() });
    });
    cluster_rejected("outlier_detection.max_ejection_time", |c| {
        c.outlier_detection = outlier(OutlierDetection {
            base_ejection_time: Some(PbDuration { seconds: 60, nanos: 0 }),
            max_ejection_time: Some(PbDuration { seconds: 30, nanos: 0 }),
            ..Default::default()
        });
    });
    cluster_rejected("outlier_detection.enforcing_success_rate", |c| {
        c.outlier_detection = outlier(OutlierDetection {
            enforcing_success_rate: Some(UInt32Value { value: 200 }),
            ..Default::default()
        });
    });
    cluster_rejected("lb_subset_config", |c| c.lb_subset_config = Some(LbSubsetConfig::default()));
    cluster_rejected("connect_timeout", |c| c.connect_timeout = Some(PbDuration { seconds: 0, nanos: 0 }));
    cluster_rejected("load_assignment.endpoints[0].lb_endpoints", |c| {
        c.cluster_discovery_type = discovery(DiscoveryType::LogicalDns);
        let two = vec![lb_endpoint("a.example", 80), lb_endpoint("b.example", 80)];
        c.load_assignment = Some(assignment("c", vec![locality("z", 0, None, two)]));
    });
    cluster_rejected("load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.address", |c| {
        c.cluster_discovery_type = discovery(DiscoveryType::Static);
        c.load_assignment = Some(assignment("c", vec![locality("z", 0, None, vec![lb_endpoint("a.example", 80)])]));
    });
}

// ---- endpoints ------------------------------------------------------------------------

fn endpoints_rejected(field: &str, mutate: impl FnOnce(&mut ClusterLoadAssignment)) {
    let mut cla = assignment("c", vec![locality("a", 0, None, vec![lb_endpoint("10.0.0.1", 80)])]);
    mutate(&mut cla);
    assert_rejected(type_url::ENDPOINT, &pack(&cla), "c", field);
}

#[test]
fn endpoints() {
    let e = |s: &str| format!("endpoints[0].lb_endpoints[0].{s}");
    let sa = |s: &str| e(&format!("endpoint.address.socket_address.{s}"));
    endpoints_rejected("named_endpoints", |cla| {
        cla.named_endpoints.insert("n".into(), Default::default());
    });
    endpoints_rejected("policy.drop_overloads", |cla| {
        cla.policy = Some(ClaPolicy { drop_overloads: vec![DropOverload::default()], ..Default::default() });
    });
    endpoints_rejected(&e("endpoint_name"), |cla| {
        cla.endpoints[0].lb_endpoints[0].host_identifier = Some(HostIdentifier::EndpointName("n".into()));
    });
    endpoints_rejected(&sa("address"), |cla| cla.endpoints[0].lb_endpoints[0] = lb_endpoint("host.example", 80));
    endpoints_rejected(&sa("port_value"), |cla| cla.endpoints[0].lb_endpoints[0] = lb_endpoint("10.0.0.1", 0));
    endpoints_rejected(&sa("port_value"), |cla| cla.endpoints[0].lb_endpoints[0] = lb_endpoint("10.0.0.1", 70_000));
    endpoints_rejected(&sa("named_port"), |cla| {
        let mut ep = lb_endpoint("10.0.0.1", 80);
        if let Some(HostIdentifier::Endpoint(e)) = ep.host_identifier.as_mut()
            && let Some(AddressKind::SocketAddress(s)) = e.address.as_mut().and_then(|a| a.address.as_mut())
        {
            s.port_specifier = Some(PortSpecifier::NamedPort("http".into()));
        }
        cla.endpoints[0].lb_endpoints[0] = ep;
    });
    endpoints_rejected(&e("endpoint.address.pipe"), |cla| {
        if let Some(HostIdentifier::Endpoint(e)) = cla.endpoints[0].lb_endpoints[0].host_identifier.as_mut() {
            e.address = Some(envoy_types::pb::envoy::config::core::v3::Address {
                address: Some(AddressKind::Pipe(Pipe { path: "/tmp/s".into(), mode: 0 })),
            });
        }
    });
    endpoints_rejected("endpoints[1].lb_endpoints[0].endpoint.address", |cla| {
        cla.endpoints.push(locality("b", 1, None, vec![lb_endpoint("10.0.0.1", 80)]));
    });
    endpoints_rejected(&e("load_balancing_weight"), |cla| {
        cla.endpoints[0].lb_endpoints[0].load_balancing_weight = Some(UInt32Value { value: 0 });
    });
    endpoints_rejected(&e("load_balancing_weight"), |cla| {
        // The locality's share, scaled by 1024, no longer fits an endpoint weight.
        cla.endpoints[0].lb_endpoints[0].load_balancing_weight = Some(UInt32Value { value: 1 << 20 });
        cla.endpoints[0].load_balancing_weight = Some(UInt32Value { value: 1 << 22 });
    });
    endpoints_rejected("endpoints[0].load_balancing_weight", |cla| {
        cla.endpoints[0].load_balancing_weight = Some(UInt32Value { value: 0 });
    });
    endpoints_rejected(&e("health_status"), |cla| cla.endpoints[0].lb_endpoints[0].health_status = 99);
}
