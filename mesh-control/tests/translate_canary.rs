//! The reviews canary, end to end through our client's own translation: jason goes to
//! v2, everyone else is split 50/50 between v1 and v3; subset clusters hold only their
//! subset's endpoints; translating twice gives identical bytes.

mod translate_support;

use std::net::SocketAddr;
use std::time::Duration;

use mesh_control::translate::{TranslateOptions, translate, workload_instances};
use mesh_core::endpoint::HealthStatus;
use mesh_core::lb::LbPolicy;
use mesh_core::retry::AttemptOutcome;
use mesh_xds::translate::{Resource, RouteSource, decode};
use mesh_xds::type_url;
use translate_support::*;

const RULES: &str = "
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: reviews
spec:
  host: reviews
  subsets:
  - name: v1
    labels:
      version: v1
  - name: v2
    labels:
      version: v2
  - name: v3
    labels:
      version: v3
";

const CANARY: &str = "
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: reviews
spec:
  hosts:
  - reviews
  http:
  - name: jason
    match:
    - headers:
        end-user:
          exact: jason
    route:
    - destination:
        host: reviews
        subset: v2
  - name: canary
    route:
    - destination:
        host: reviews
        subset: v1
      weight: 50
    - destination:
        host: reviews
        subset: v3
      weight: 50
";

const REVIEWS: &str = "reviews.default.svc.cluster.local:9080";

fn canary() -> mesh_control::translate::Resources {
    let config = config(&[("workloads.yaml", WORKLOADS), ("rules.yaml", RULES), ("canary.yaml", CANARY)]);
    translate(&config, &[], &TranslateOptions::default())
}

#[test]
fn jason_goes_to_v2_and_the_rest_is_split_50_50() {
    let r = canary();
    assert_eq!(rejected(&r), Vec::<String>::new());
    let rc = routes(&r, REVIEWS);
    assert_eq!(
        rc.cluster_names.iter().map(String::as_str).collect::<Vec<_>>(),
        [bookinfo_cluster("reviews", "v1"), bookinfo_cluster("reviews", "v2"), bookinfo_cluster("reviews", "v3")]
    );
    for authority in ["reviews", "reviews:9080", "reviews.default", "reviews.default.svc.cluster.local:9080"] {
        let jason = Req::get(authority, "/reviews/0").header("end-user", "jason");
        assert_eq!(route(&rc, &jason), [(bookinfo_cluster("reviews", "v2"), 1)], "{authority}");
        let anyone = Req::get(authority, "/reviews/0").header("end-user", "someone");
        assert_eq!(
            route(&rc, &anyone),
            [(bookinfo_cluster("reviews", "v1"), 50), (bookinfo_cluster("reviews", "v3"), 50)],
            "{authority}"
        );
    }
    let (_, jason) = rc.routes.route(&Req::get("reviews", "/").header("end-user", "jason")).expect("routed");
    assert_eq!(jason.name(), "jason");
    assert!(rc.routes.route(&Req::get("ratings", "/")).is_err(), "another service's name");
}

#[test]
fn istio_defaults_on_every_route() {
    let rc = routes(&canary(), REVIEWS);
    let (_, r) = rc.routes.route(&Req::get("reviews", "/")).expect("routed");
    let action = r.action();
    assert_eq!(action.timeout, None, "no VirtualService timeout: disabled (0s)");
    let retry = action.retry.as_ref().expect("Istio's default retry policy");
    assert_eq!(retry.max_retries(), 2);
    assert!(retry.should_retry(AttemptOutcome::ConnectFailure));
    assert!(retry.should_retry(AttemptOutcome::Response { status: 503, grpc_status: None }));
    assert!(retry.should_retry(AttemptOutcome::Response { status: 200, grpc_status: Some(14) }));
    assert!(!retry.should_retry(AttemptOutcome::Response { status: 500, grpc_status: None }));
    assert!(action.fault.is_none() && action.hash_policy.is_empty());
}

#[test]
fn listener_clusters_and_subset_endpoints() {
    let r = canary();
    let listener = match decode(type_url::LISTENER, r.get(type_url::LISTENER, REVIEWS).expect("listener")).result {
        Ok(Resource::Listener(l)) => l,
        other => panic!("{other:?}"),
    };
    assert!(matches!(&listener.route, RouteSource::Rds(n) if n == REVIEWS));
    assert_eq!(listener.default_fault, None);

    let c = cluster(&r, &bookinfo_cluster("reviews", "v2"));
    assert_eq!((c.lb, c.connect_timeout), (LbPolicy::least_request(2).expect("p2c"), Duration::from_secs(10)));
    let addr = |s: &str| s.parse::<SocketAddr>().expect("address");
    assert_eq!(addresses(&r, &bookinfo_cluster("reviews", "v2")), [addr("10.0.1.2:9080"), addr("10.0.1.4:19080")]);
    assert_eq!(addresses(&r, &bookinfo_cluster("reviews", "v1")), [addr("10.0.1.1:9080")]);
    assert_eq!(addresses(&r, &bookinfo_cluster("reviews", "v3")), [addr("10.0.1.3:9080")]);
    assert_eq!(addresses(&r, &bookinfo_cluster("reviews", "")).len(), 4, "the whole service");

    let v2 = endpoints(&r, &bookinfo_cluster("reviews", "v2"));
    let summary: Vec<(u32, HealthStatus)> = v2.endpoints.iter().map(|e| (e.weight(), e.health())).collect();
    // Instance weights 3 and 1; the locality weight (their sum, as Istio sets it) scales
    // both alike in the client, so only the ratio is meaningful.
    assert_eq!(summary.iter().map(|(_, h)| *h).collect::<Vec<_>>(), [HealthStatus::Healthy, HealthStatus::Healthy]);
    assert_eq!(summary[0].0, 3 * summary[1].0, "{summary:?}");
    let v1 = endpoints(&r, &bookinfo_cluster("reviews", "v1"));
    assert_eq!(
        (v1.endpoints[0].locality().region.as_str(), v1.endpoints[0].locality().zone.as_str()),
        ("eu-west1", "eu-west1-a")
    );

    // Every bookinfo service gets its listener; only reviews has subsets here.
    let listeners = client_listeners(&r);
    assert_eq!(
        listeners,
        [
            "details.default.svc.cluster.local:9080",
            "productpage.default.svc.cluster.local:9080",
            "ratings.default.svc.cluster.local:9080",
            REVIEWS,
        ]
    );
    assert_eq!(r.names(type_url::CLUSTER).len(), 3 + 4);
    assert_eq!(r.names(type_url::ENDPOINT), r.names(type_url::CLUSTER));
}

#[test]
fn deterministic_bytes() {
    let a = canary();
    let b = canary();
    assert_eq!(a, b);
    // Registered instances in another order give the same output too.
    let config = config(&[("workloads.yaml", WORKLOADS), ("rules.yaml", RULES), ("canary.yaml", CANARY)]);
    let opts = TranslateOptions::default();
    let mut registered = workload_instances(&config, &opts);
    registered.reverse();
    let c = translate(&config, &registered, &opts);
    assert_eq!(a.by_type, c.by_type);
}

#[test]
fn registered_instances_join_the_service() {
    let config = config(&[("rules.yaml", RULES), ("canary.yaml", CANARY)]);
    let opts = TranslateOptions::default();
    let without = translate(&config, &[], &opts);
    assert!(without.names(type_url::LISTENER).is_empty(), "no service known yet");
    assert!(without.warnings.iter().any(|w| w.contains("not a known service")), "{:#?}", without.warnings);

    let instance = |ip: &str, version: &str| mesh_control::registry::WorkloadInstance {
        service: "reviews.default.svc.cluster.local".into(),
        namespace: "default".into(),
        address: ip.parse().expect("ip"),
        ports: [("http".to_string(), 9080)].into(),
        labels: [("version".to_string(), version.to_string())].into(),
        weight: 1,
        locality: String::new(),
        service_account: "reviews".into(),
    };
    let r = translate(&config, &[instance("10.9.0.2", "v2"), instance("10.9.0.1", "v1")], &opts);
    assert_eq!(rejected(&r), Vec::<String>::new());
    assert_eq!(client_listeners(&r), [REVIEWS]);
    assert_eq!(
        addresses(&r, &bookinfo_cluster("reviews", "v2")),
        ["10.9.0.2:9080".parse::<SocketAddr>().expect("addr")]
    );
    assert!(addresses(&r, &bookinfo_cluster("reviews", "v3")).is_empty());
}
