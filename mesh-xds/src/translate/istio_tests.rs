//! A representative proxyless set, as Istio's gRPC generator serves it for bookinfo's
//! reviews: LDS `reviews…:9080` → RDS → CDS `outbound|9080|v*|reviews…` → EDS.

use std::time::Duration;

use envoy_types::pb::envoy::config::core::v3::{HealthStatus as PbHealth, HttpProtocolOptions as CommonOptions};
use envoy_types::pb::envoy::extensions::filters::network::http_connection_manager::v3::http_connection_manager::RouteSpecifier;
use envoy_types::pb::google::protobuf::UInt32Value;
use mesh_core::endpoint::HealthStatus;
use mesh_core::fault::AbortKind;
use mesh_core::lb::LbPolicy;
use mesh_core::retry::{AttemptOutcome, RetryBudgetPolicy};

use super::test_protos::*;
use super::*;
use crate::type_url;

fn listener_config(l: &envoy_types::pb::envoy::config::listener::v3::Listener) -> ListenerConfig {
    match decode(type_url::LISTENER, &pack(l)).result {
        Ok(Resource::Listener(c)) => c,
        other => panic!("expected a listener, got {other:?}"),
    }
}

fn routes() -> RouteConfig {
    let d = decode(type_url::ROUTE, &pack(&reviews_routes()));
    assert_eq!(d.name.as_deref(), Some(REVIEWS_LISTENER));
    match d.result {
        Ok(Resource::Route(r)) => r,
        other => panic!("expected routes, got {other:?}"),
    }
}

#[test]
fn istio_listener_names_its_rds_routes() {
    let l = listener_config(&reviews_listener());
    assert_eq!(l.name, REVIEWS_LISTENER);
    assert!(matches!(&l.route, RouteSource::Rds(n) if n == REVIEWS_LISTENER), "{:?}", l.route);
    assert_eq!(l.max_stream_duration, None);
    assert_eq!(l.default_fault, None, "an empty fault filter config injects nothing");
}

#[test]
fn istio_routes_send_jason_to_v2_and_split_the_rest() {
    let rc = routes();
    let names: Vec<&str> = rc.cluster_names.iter().map(String::as_str).collect();
    assert_eq!(names, [reviews("v1"), reviews("v2"), reviews("v3")]);

    let jason = Req::get("reviews:9080", "/reviews/0").header("end-user", "jason");
    let (_, r) = rc.routes.route(&jason).expect("routed");
    assert_eq!(r.name(), "jason");
    let action = r.action();
    assert_eq!(action.destinations.entries()[0].0.cluster, reviews("v2"));
    assert_eq!(action.destinations.entries()[0].0.subset, None);
    assert_eq!(action.timeout, None, "timeout 0 disables the deadline");
    assert!(action.retry.is_none() && action.fault.is_none());

    for authority in [REVIEWS, REVIEWS_LISTENER, "reviews", "reviews.default.svc:9080"] {
        let (_, r) = rc.routes.route(&Req::get(authority, "/reviews/0")).expect("routed");
        assert_eq!(r.name(), "default", "{authority}");
        let weights: Vec<(String, u32)> =
            r.action().destinations.entries().iter().map(|(d, w)| (d.cluster.clone(), *w)).collect();
        assert_eq!(weights, [(reviews("v1"), 50), (reviews("v3"), 50)]);
        let retry = r.action().retry.as_ref().expect("retry policy");
        assert_eq!(retry.max_retries(), 2);
        assert!(retry.should_retry(AttemptOutcome::ConnectFailure));
        assert!(retry.should_retry(AttemptOutcome::Response { status: 200, grpc_status: Some(14) }));
        let delay = r.action().fault.and_then(|f| f.delay).expect("delay fault");
        assert_eq!((delay.duration, delay.percentage.value()), (Duration::from_secs(7), 100.0));
    }
    assert!(rc.routes.route(&Req::get("ratings:9080", "/")).is_err(), "no virtual host for ratings");
}

#[test]
fn listener_defaults_fill_routes_that_set_none() {
    let mut hcm = rds_hcm(REVIEWS_LISTENER, vec![filter("envoy.filters.http.fault", &abort_fault(503, 25)), router()]);
    hcm.common_http_protocol_options = Some(CommonOptions { max_stream_duration: secs(30), ..Default::default() });
    let l = listener_config(&listener(REVIEWS_LISTENER, &hcm));
    assert_eq!(l.max_stream_duration, Some(Duration::from_secs(30)));
    let abort = l.default_fault.and_then(|f| f.abort).expect("abort");
    assert_eq!((abort.kind, abort.percentage.value()), (AbortKind::Http(503), 25.0));

    let table = apply_listener_defaults(&routes().routes, &l);
    let jason = Req::get("reviews", "/").header("end-user", "jason");
    let a = table.route(&jason).expect("routed").1.action();
    assert_eq!(a.timeout, Some(Duration::from_secs(30)));
    assert_eq!(a.fault.and_then(|f| f.abort).map(|a| a.kind), Some(AbortKind::Http(503)));
    let a = table.route(&Req::get("reviews", "/")).expect("routed").1.action();
    let fault = a.fault.expect("own fault");
    assert!(fault.abort.is_none() && fault.delay.is_some(), "the route's own fault config wins");
}

#[test]
fn inline_route_config() {
    let mut hcm = rds_hcm("unused", vec![router()]);
    hcm.route_specifier = Some(RouteSpecifier::RouteConfig(reviews_routes()));
    let l = listener_config(&listener(REVIEWS_LISTENER, &hcm));
    let RouteSource::Inline(rc) = &l.route else { panic!("inline expected") };
    assert_eq!(rc.cluster_names.len(), 3);
    assert!(rc.routes.route(&Req::get("reviews", "/")).is_ok());
}

#[test]
fn eds_cluster_with_localities_priorities_and_health() {
    let mut cluster = eds_cluster(&reviews("v1"));
    cluster.circuit_breakers = Some(envoy_types::pb::envoy::config::cluster::v3::CircuitBreakers {
        thresholds: vec![envoy_types::pb::envoy::config::cluster::v3::circuit_breakers::Thresholds {
            // Istio's defaults: "unlimited".
            max_connections: Some(UInt32Value { value: u32::MAX }),
            max_requests: Some(UInt32Value { value: u32::MAX }),
            max_pending_requests: Some(UInt32Value { value: u32::MAX }),
            max_retries: Some(UInt32Value { value: u32::MAX }),
            track_remaining: true,
            ..Default::default()
        }],
        ..Default::default()
    });
    let Ok(Resource::Cluster(cc)) = decode(type_url::CLUSTER, &pack(&cluster)).result else { panic!("cluster") };
    assert!(matches!(&cc.discovery, ClusterDiscovery::Eds { service_name } if *service_name == reviews("v1")));
    assert_eq!(cc.lb, LbPolicy::RoundRobin, "ROUND_ROBIN is the proto default");
    assert_eq!(cc.connect_timeout, Duration::from_secs(10));
    assert_eq!(cc.retry_budget, None::<RetryBudgetPolicy>);

    let mut healthy = lb_endpoint("10.0.0.1", 9080);
    healthy.health_status = PbHealth::Healthy as i32;
    healthy.load_balancing_weight = Some(UInt32Value { value: 3 });
    let mut unhealthy = lb_endpoint("10.0.0.2", 9080);
    unhealthy.health_status = PbHealth::Unhealthy as i32;
    let statuses = [PbHealth::Draining, PbHealth::Degraded, PbHealth::Timeout, PbHealth::Unknown];
    let backups = statuses
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let mut e = lb_endpoint(&format!("10.0.1.{i}"), 9080);
            e.health_status = *s as i32;
            e
        })
        .collect();
    let cla = assignment(
        &reviews("v1"),
        vec![locality("a", 0, Some(2), vec![healthy, unhealthy]), locality("b", 1, None, backups)],
    );
    let Ok(Resource::Endpoints(ec)) = decode(type_url::ENDPOINT, &pack(&cla)).result else { panic!("endpoints") };
    assert_eq!(ec.name, reviews("v1"));
    let summary: Vec<(String, u32, HealthStatus, u32, String)> = ec
        .endpoints
        .iter()
        .map(|e| (e.address().to_string(), e.weight(), e.health(), e.priority(), e.locality().zone.clone()))
        .collect();
    let row = |a: &str, w, h, p, z: &str| (a.to_string(), w, h, p, z.to_string());
    // Locality a (weight 2) is split 3:1 by its endpoints: 2 × 3/4 and 2 × 1/4, ×1024.
    assert_eq!(
        summary,
        [
            row("10.0.0.1:9080", 1536, HealthStatus::Healthy, 0, "a"),
            row("10.0.0.2:9080", 512, HealthStatus::Unhealthy, 0, "a"),
            row("10.0.1.0:9080", 1, HealthStatus::Draining, 1, "b"),
            row("10.0.1.1:9080", 1, HealthStatus::Degraded, 1, "b"),
            row("10.0.1.2:9080", 1, HealthStatus::Unhealthy, 1, "b"),
            row("10.0.1.3:9080", 1, HealthStatus::Unknown, 1, "b"),
        ]
    );
    assert_eq!(ec.endpoints[0].locality().region, "eu-west1");

    let built = build_cluster(&cc, ec.endpoints).expect("builds");
    assert_eq!(built.name(), reviews("v1"));
    assert_eq!(built.endpoints().len(), 6);
    assert_eq!(built.connect_timeout(), Duration::from_secs(10));
}

#[test]
fn build_cluster_reports_duplicate_endpoints() {
    let Ok(Resource::Cluster(cc)) = decode(type_url::CLUSTER, &pack(&eds_cluster("c"))).result else {
        panic!("cluster")
    };
    let e = mesh_core::endpoint::Endpoint::new("10.0.0.1:80".parse().expect("addr"));
    let err = build_cluster(&cc, vec![e.clone(), e]).expect_err("duplicate");
    assert_eq!((err.resource.as_str(), err.field.as_str()), ("c", "endpoints[1].address"));
}
