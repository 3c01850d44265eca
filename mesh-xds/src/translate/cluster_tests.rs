//! Clusters of each discovery type, load-balancing policy and protocol.

use std::collections::HashMap;
use std::time::Duration;

use envoy_types::pb::envoy::config::cluster::v3::circuit_breakers::Thresholds;
use envoy_types::pb::envoy::config::cluster::v3::circuit_breakers::thresholds::RetryBudget;
use envoy_types::pb::envoy::config::cluster::v3::cluster::{
    ClusterDiscoveryType, DiscoveryType, LbConfig, LbPolicy as PbLbPolicy, LeastRequestLbConfig, RingHashLbConfig,
};
use envoy_types::pb::envoy::config::cluster::v3::load_balancing_policy::Policy;
use envoy_types::pb::envoy::config::cluster::v3::{CircuitBreakers, Cluster, LoadBalancingPolicy, OutlierDetection};
use envoy_types::pb::envoy::config::core::v3::{
    Http1ProtocolOptions, Http2ProtocolOptions, RoutingPriority, TypedExtensionConfig,
};
use envoy_types::pb::envoy::extensions::load_balancing_policies::least_request::v3::LeastRequest;
use envoy_types::pb::envoy::extensions::load_balancing_policies::random::v3::Random;
use envoy_types::pb::envoy::extensions::load_balancing_policies::ring_hash::v3::RingHash;
use envoy_types::pb::envoy::extensions::load_balancing_policies::round_robin::v3::RoundRobin;
use envoy_types::pb::envoy::extensions::load_balancing_policies::wrr_locality::v3::WrrLocality;
use envoy_types::pb::envoy::extensions::upstreams::http::v3::HttpProtocolOptions;
use envoy_types::pb::envoy::extensions::upstreams::http::v3::http_protocol_options::{
    ExplicitHttpConfig, UpstreamProtocolOptions, UseDownstreamHttpConfig, explicit_http_config::ProtocolConfig,
};
use envoy_types::pb::envoy::r#type::v3::Percent as PbPercent;
use envoy_types::pb::google::protobuf::{Any, BoolValue, Duration as PbDuration, UInt32Value, UInt64Value};
use mesh_core::cluster::Protocol;
use mesh_core::lb::LbPolicy;
use mesh_core::retry::RetryBudgetPolicy;
use prost::Name;

use super::test_protos::*;
use super::*;

fn config(c: &Cluster) -> ClusterConfig {
    ClusterConfig::try_from(c).unwrap_or_else(|e| panic!("{e}"))
}

fn of_type(name: &str, t: DiscoveryType) -> Cluster {
    Cluster {
        name: name.into(),
        cluster_discovery_type: Some(ClusterDiscoveryType::Type(t as i32)),
        ..Default::default()
    }
}

fn typed(policies: &[Any]) -> LoadBalancingPolicy {
    let policies = policies
        .iter()
        .map(|a| Policy {
            typed_extension_config: Some(TypedExtensionConfig { name: "p".into(), typed_config: Some(a.clone()) }),
        })
        .collect();
    LoadBalancingPolicy { policies }
}

#[test]
fn discovery_types() {
    let mut eds = of_type("outbound|80||a", DiscoveryType::Eds);
    assert!(
        matches!(config(&eds).discovery, ClusterDiscovery::Eds { service_name } if service_name == "outbound|80||a")
    );
    eds.eds_cluster_config = Some(Default::default());
    assert!(
        matches!(config(&eds).discovery, ClusterDiscovery::Eds { service_name } if service_name == "outbound|80||a")
    );
    assert_eq!(config(&eds).connect_timeout, Duration::from_secs(5), "Envoy's default");

    let mut st = of_type("static", DiscoveryType::Static);
    st.load_assignment = Some(assignment(
        "static",
        vec![locality("a", 0, None, vec![lb_endpoint("127.0.0.1", 8080), lb_endpoint("::1", 8081)])],
    ));
    let ClusterDiscovery::Static(eps) = config(&st).discovery else { panic!("static") };
    let addrs: Vec<String> = eps.iter().map(|e| e.address().to_string()).collect();
    assert_eq!(addrs, ["127.0.0.1:8080", "[::1]:8081"]);

    let mut dns = of_type("dns", DiscoveryType::LogicalDns);
    dns.load_assignment =
        Some(assignment("dns", vec![locality("a", 0, None, vec![lb_endpoint("api.example.com", 443)])]));
    assert!(matches!(
        config(&dns).discovery,
        ClusterDiscovery::LogicalDns { host, port: 443 } if host == "api.example.com"
    ));
}

#[test]
fn legacy_lb_policies() {
    let mut c = of_type("c", DiscoveryType::Eds);
    assert_eq!(config(&c).lb, LbPolicy::RoundRobin);
    c.lb_policy = PbLbPolicy::LeastRequest as i32;
    assert_eq!(config(&c).lb, LbPolicy::LeastRequest { choice_count: 2 });
    c.lb_config = Some(LbConfig::LeastRequestLbConfig(LeastRequestLbConfig {
        choice_count: Some(UInt32Value { value: 3 }),
        ..Default::default()
    }));
    assert_eq!(config(&c).lb, LbPolicy::LeastRequest { choice_count: 3 });
    c.lb_policy = PbLbPolicy::Random as i32;
    assert_eq!(config(&c).lb, LbPolicy::Random);
    c.lb_policy = PbLbPolicy::RingHash as i32;
    c.lb_config = None;
    assert_eq!(config(&c).lb, LbPolicy::ring_hash_default());
    c.lb_config = Some(LbConfig::RingHashLbConfig(RingHashLbConfig {
        minimum_ring_size: Some(UInt64Value { value: 64 }),
        maximum_ring_size: Some(UInt64Value { value: 4096 }),
        ..Default::default()
    }));
    assert_eq!(config(&c).lb, LbPolicy::RingHash { min_ring_size: 64, max_ring_size: 4096 });
}

#[test]
fn typed_lb_policies_take_the_first_supported() {
    let mut c = of_type("c", DiscoveryType::Eds);
    // lb_policy is ignored when load_balancing_policy is set.
    c.lb_policy = PbLbPolicy::Maglev as i32;
    let unknown = Any { type_url: "type.googleapis.com/example.Custom".into(), value: vec![] };
    c.load_balancing_policy = Some(typed(&[unknown.clone(), pack(&Random::default()), pack(&RoundRobin::default())]));
    assert_eq!(config(&c).lb, LbPolicy::Random);
    let lr = LeastRequest { choice_count: Some(UInt32Value { value: 4 }), ..Default::default() };
    c.load_balancing_policy = Some(typed(&[pack(&lr)]));
    assert_eq!(config(&c).lb, LbPolicy::LeastRequest { choice_count: 4 });
    let rh = RingHash { minimum_ring_size: Some(UInt64Value { value: 16 }), ..Default::default() };
    c.load_balancing_policy = Some(typed(&[pack(&rh)]));
    assert_eq!(config(&c).lb, LbPolicy::RingHash { min_ring_size: 16, max_ring_size: 8 * 1024 * 1024 });
    // gRPC's conversion of ROUND_ROBIN: wrr_locality around round_robin.
    let wrr = WrrLocality { endpoint_picking_policy: Some(typed(&[pack(&RoundRobin::default())])) };
    c.load_balancing_policy = Some(typed(&[pack(&wrr)]));
    assert_eq!(config(&c).lb, LbPolicy::RoundRobin);

    c.load_balancing_policy = Some(typed(&[unknown]));
    let e = ClusterConfig::try_from(&c).expect_err("none supported");
    assert_eq!(e.field, "load_balancing_policy.policies");
}

#[test]
fn nested_policies_are_bounded() {
    let mut policy = typed(&[pack(&RoundRobin::default())]);
    for _ in 0..20 {
        policy = typed(&[pack(&WrrLocality { endpoint_picking_policy: Some(policy) })]);
    }
    let mut c = of_type("c", DiscoveryType::Eds);
    c.load_balancing_policy = Some(policy);
    let e = ClusterConfig::try_from(&c).expect_err("too deep");
    assert!(e.reason.contains("nest"), "{e}");
}

#[test]
fn protocols() {
    let mut c = of_type("c", DiscoveryType::Eds);
    assert_eq!(config(&c).protocol, Protocol::Auto);
    let explicit = |p: ProtocolConfig| HttpProtocolOptions {
        upstream_protocol_options: Some(UpstreamProtocolOptions::ExplicitHttpConfig(ExplicitHttpConfig {
            protocol_config: Some(p),
        })),
        ..Default::default()
    };
    let key = HttpProtocolOptions::full_name();
    let cases = [
        (explicit(ProtocolConfig::Http2ProtocolOptions(Http2ProtocolOptions::default())), Protocol::Http2),
        (explicit(ProtocolConfig::HttpProtocolOptions(Http1ProtocolOptions::default())), Protocol::Http1),
        (
            HttpProtocolOptions {
                upstream_protocol_options: Some(UpstreamProtocolOptions::UseDownstreamProtocolConfig(
                    UseDownstreamHttpConfig::default(),
                )),
                ..Default::default()
            },
            Protocol::Auto,
        ),
    ];
    for (options, expected) in cases {
        c.typed_extension_protocol_options = HashMap::from([(key.clone(), pack(&options))]);
        assert_eq!(config(&c).protocol, expected);
    }
    c.typed_extension_protocol_options.clear();
    #[allow(deprecated)] // the legacy field is what older control planes send
    {
        c.http2_protocol_options = Some(Http2ProtocolOptions::default());
    }
    assert_eq!(config(&c).protocol, Protocol::Http2);
}

#[test]
fn retry_budget_from_circuit_breakers() {
    let mut c = of_type("c", DiscoveryType::Eds);
    let budget = |percent: Option<f64>, min: Option<u32>| CircuitBreakers {
        thresholds: vec![Thresholds {
            retry_budget: Some(RetryBudget {
                budget_percent: percent.map(|value| PbPercent { value }),
                min_retry_concurrency: min.map(|value| UInt32Value { value }),
                ..Default::default()
            }),
            // With a budget, max_retries is ignored (as in Envoy).
            max_retries: Some(UInt32Value { value: 3 }),
            ..Default::default()
        }],
        ..Default::default()
    };
    c.circuit_breakers = Some(budget(Some(25.0), Some(5)));
    let b = config(&c).retry_budget.expect("budget");
    assert_eq!(b, RetryBudgetPolicy { retry_ratio: 0.25, min_retries_per_sec: 5, ttl: Duration::from_secs(10) });
    c.circuit_breakers = Some(budget(None, None));
    let b = config(&c).retry_budget.expect("budget");
    assert_eq!((b.retry_ratio, b.min_retries_per_sec), (0.2, 3), "Envoy's defaults");

    let built = build_cluster(&config(&c), Vec::new()).expect("builds");
    assert_eq!(built.retry_budget().map(|b| b.min_retries_per_sec), Some(3));
}

#[test]
fn circuit_breaker_limits() {
    let mut c = of_type("c", DiscoveryType::Eds);
    let u = |value| Some(UInt32Value { value });
    c.circuit_breakers = Some(CircuitBreakers {
        thresholds: vec![
            Thresholds {
                max_connections: u(10),
                max_pending_requests: u(5),
                max_requests: u(100),
                // istiod's "unlimited".
                max_retries: u(u32::MAX),
                track_remaining: true,
                ..Default::default()
            },
            // Unlimited HIGH-priority thresholds are harmless.
            Thresholds { priority: RoutingPriority::High as i32, max_requests: u(u32::MAX), ..Default::default() },
        ],
        ..Default::default()
    });
    let limits = mesh_core::cluster::CircuitBreakers {
        max_connections: Some(10),
        max_pending_requests: Some(5),
        max_requests: Some(100),
        max_retries: None,
    };
    assert_eq!(config(&c).circuit_breakers, limits);
    assert_eq!(build_cluster(&config(&c), Vec::new()).expect("builds").circuit_breakers(), &limits);
    c.circuit_breakers = Some(CircuitBreakers {
        thresholds: vec![Thresholds { max_retries: u(2), ..Default::default() }],
        ..Default::default()
    });
    assert_eq!(config(&c).circuit_breakers.max_retries, Some(2));
    assert_eq!(config(&of_type("c", DiscoveryType::Eds)).circuit_breakers, Default::default(), "none: unlimited");
}

#[test]
fn outlier_detection_with_envoy_defaults() {
    let mut c = of_type("c", DiscoveryType::Eds);
    assert!(config(&c).outlier_detection.is_none());
    c.outlier_detection = Some(OutlierDetection::default());
    let od = config(&c).outlier_detection.expect("outlier detection");
    assert_eq!(od, mesh_core::outlier::OutlierDetection::default(), "Envoy's defaults");
    assert_eq!((od.consecutive_5xx, od.max_ejection_percent, od.success_rate.enforcing), (5, 10, 100));

    // What istiod sends for consecutive5xxErrors: 3, interval: 1s, baseEjectionTime: 400s,
    // maxEjectionPercent: 50.
    let u = |value| Some(UInt32Value { value });
    let secs = |seconds| Some(PbDuration { seconds, nanos: 0 });
    c.outlier_detection = Some(OutlierDetection {
        consecutive_5xx: u(3),
        enforcing_consecutive_5xx: u(100),
        enforcing_success_rate: u(0),
        interval: secs(1),
        base_ejection_time: secs(400),
        max_ejection_percent: u(50),
        max_ejection_time_jitter: Some(PbDuration { seconds: 0, nanos: 250_000_000 }),
        always_eject_one_host: Some(BoolValue { value: true }),
        ..Default::default()
    });
    let od = config(&c).outlier_detection.expect("outlier detection");
    assert_eq!((od.consecutive_5xx, od.enforcing_consecutive_5xx, od.success_rate.enforcing), (3, 100, 0));
    assert_eq!((od.interval, od.base_ejection_time), (Duration::from_secs(1), Duration::from_secs(400)));
    assert_eq!(od.max_ejection_time, Duration::from_secs(400), "unset: 300 s or the base time if longer");
    assert_eq!((od.max_ejection_percent, od.always_eject_one_host), (50, true));
    assert_eq!(od.max_ejection_time_jitter, Duration::from_millis(250));
    let built = build_cluster(&config(&c), Vec::new()).expect("builds");
    assert_eq!(built.outlier_detection().map(|o| o.consecutive_5xx), Some(3));
}
