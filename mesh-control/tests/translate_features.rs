//! ServiceEntries (static, selected WorkloadEntries, DNS), DestinationRule policies,
//! VirtualService matches, timeouts and retries — decoded by our client — and the
//! warnings for what it does not support yet.

mod translate_support;

use std::net::SocketAddr;
use std::time::Duration;

use mesh_control::translate::{TranslateOptions, translate, workload_instances};
use mesh_core::cluster::{CircuitBreakers, Protocol};
use mesh_core::lb::LbPolicy;
use mesh_core::route::HashPolicy;
use mesh_xds::translate::{ClusterDiscovery, Resource, decode};
use mesh_xds::type_url;
use translate_support::*;

const ENTRIES: &str = "
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: payments, namespace: shop}
spec:
  hosts: [payments.shop.internal]
  location: MESH_INTERNAL
  resolution: STATIC
  ports:
  - {number: 80, name: http, protocol: HTTP, targetPort: 8080}
  - {number: 7070, name: grpc-api, protocol: GRPC}
  endpoints:
  - {address: 10.1.0.1, labels: {version: v1}}
  - {address: 10.1.0.2, labels: {version: v2}, ports: {http: 9999}, weight: 5}
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: vms, namespace: shop}
spec:
  hosts: [inventory]
  ports: [{number: 8080, name: http}]
  resolution: STATIC
  workloadSelector: {labels: {app: inventory}}
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: inventory-1, namespace: shop}
spec: {address: 10.2.0.1, labels: {app: inventory}}
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: inventory-other-ns, namespace: other}
spec: {address: 10.2.0.9, labels: {app: inventory}}
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: httpbin, namespace: shop}
spec:
  hosts: [httpbin.org]
  location: MESH_EXTERNAL
  resolution: DNS
  ports: [{number: 80, name: http, protocol: HTTP}]
";

const POLICIES: &str = "
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: payments, namespace: shop}
spec:
  host: payments.shop.internal
  trafficPolicy:
    loadBalancer: {simple: ROUND_ROBIN}
    connectionPool:
      tcp: {connectTimeout: 250ms, maxConnections: 100}
    outlierDetection: {consecutive5xxErrors: 5, interval: 10s}
    portLevelSettings:
    - port: {number: 7070}
      loadBalancer:
        consistentHash:
          httpHeaderName: x-user
          ringHash: {minimumRingSize: 2048}
  subsets:
  - name: v1
    labels: {version: v1}
  - name: v2
    labels: {version: v2}
    trafficPolicy:
      loadBalancer: {simple: PASSTHROUGH}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: payments, namespace: shop}
spec:
  hosts: [payments.shop.internal]
  http:
  - name: api
    match:
    - uri: {prefix: /API/}
      method: {exact: POST}
      ignoreUriCase: true
    - uri: {regex: '/pay/[0-9]+'}
    - queryParams: {debug: {exact: '1'}}
      withoutHeaders: {x-canary: {}}
    timeout: 2s
    retries: {attempts: 3, perTryTimeout: 0.5s, retryOn: '5xx,409'}
    route:
    - destination: {host: payments.shop.internal, subset: v2, port: {number: 80}}
  - match:
    - port: 7070
    route:
    - destination: {host: payments.shop.internal, subset: v1}
  - route:
    - destination: {host: payments.shop.internal, subset: v1}
    retries: {attempts: 0}
";

const PAYMENTS_HTTP: &str = "payments.shop.internal:80";

fn resources() -> mesh_control::translate::Resources {
    translate(&config(&[("entries.yaml", ENTRIES), ("policies.yaml", POLICIES)]), &[], &TranslateOptions::default())
}

fn addr(s: &str) -> SocketAddr {
    s.parse().expect("address")
}

#[test]
fn service_entries_become_listeners_clusters_and_endpoints() {
    let r = resources();
    assert_eq!(rejected(&r), Vec::<String>::new());
    assert_eq!(
        client_listeners(&r),
        ["httpbin.org:80", "inventory.shop.svc.cluster.local:8080", "payments.shop.internal:7070", PAYMENTS_HTTP]
    );
    // Port mapping: the endpoint's own port for the name, else targetPort, else the port.
    assert_eq!(addresses(&r, "outbound|80||payments.shop.internal"), [addr("10.1.0.1:8080"), addr("10.1.0.2:9999")]);
    assert_eq!(addresses(&r, "outbound|7070|v2|payments.shop.internal"), [addr("10.1.0.2:7070")]);
    // Weight 5, alone in its locality (locality weight 5): the client scales a
    // locality's share by 1024 (mesh-xds translate/endpoints.rs), so 5 × 5/5 × 1024.
    assert_eq!(endpoints(&r, "outbound|80|v2|payments.shop.internal").endpoints[0].weight(), 5 * 1024);
    // Selected WorkloadEntries: same namespace only.
    assert_eq!(addresses(&r, "outbound|8080||inventory.shop.svc.cluster.local"), [addr("10.2.0.1:8080")]);
    // DNS: resolved by the client, no EDS.
    let httpbin = cluster(&r, "outbound|80||httpbin.org");
    assert!(matches!(&httpbin.discovery, ClusterDiscovery::LogicalDns { host, port: 80 } if host == "httpbin.org"));
    assert!(r.get(type_url::ENDPOINT, "outbound|80||httpbin.org").is_none());
}

#[test]
fn workload_instances_declared_by_the_config() {
    let config = config(&[("entries.yaml", ENTRIES)]);
    let instances = workload_instances(&config, &TranslateOptions::default());
    let summary: Vec<(&str, &str, String, usize)> = instances
        .iter()
        .map(|i| (i.service.as_str(), i.namespace.as_str(), i.address.to_string(), i.ports.len()))
        .collect();
    assert_eq!(
        summary,
        [
            // Not selected by the ServiceEntry of namespace `shop`: the implicit service of
            // its `app` label, in its own namespace (without ports: nothing to serve).
            ("inventory.other.svc.cluster.local", "other", "10.2.0.9".to_string(), 0),
            ("inventory.shop.svc.cluster.local", "shop", "10.2.0.1".to_string(), 0),
            ("payments.shop.internal", "shop", "10.1.0.1".to_string(), 0),
            ("payments.shop.internal", "shop", "10.1.0.2".to_string(), 1),
        ]
    );
    let r = translate(&config, &[], &TranslateOptions::default());
    assert!(
        r.warnings.contains(
            &"service inventory.other.svc.cluster.local: its instances declare no ports: nothing to serve".to_string()
        ),
        "{:#?}",
        r.warnings
    );
}

#[test]
fn destination_rule_policies() {
    let r = resources();
    let http = cluster(&r, "outbound|80||payments.shop.internal");
    assert_eq!(
        (http.lb, http.connect_timeout, http.protocol),
        (LbPolicy::RoundRobin, Duration::from_millis(250), Protocol::Auto)
    );
    let grpc = cluster(&r, "outbound|7070||payments.shop.internal");
    assert_eq!(grpc.protocol, Protocol::Http2, "GRPC port: HTTP/2 to the endpoints");
    assert_eq!(grpc.lb, LbPolicy::ring_hash(2048, 8 * 1024 * 1024).expect("ring hash"), "port-level consistent hash");
    let v2 = cluster(&r, "outbound|80|v2|payments.shop.internal");
    assert_eq!(v2.lb, LbPolicy::least_request(2).expect("p2c"), "PASSTHROUGH falls back to Istio's default");

    let rc = routes(&r, "payments.shop.internal:7070");
    let (_, route) = rc.routes.route(&Req::get("payments.shop.internal:7070", "/x")).expect("routed");
    assert_eq!(route.action().hash_policy, [HashPolicy::Header("x-user".into())]);

    // Circuit breakers and outlier detection reach the client as istiod emits them; the
    // subsets inherit them.
    for name in ["outbound|80||payments.shop.internal", "outbound|80|v1|payments.shop.internal"] {
        let c = cluster(&r, name);
        let limits = CircuitBreakers { max_connections: Some(100), ..Default::default() };
        assert_eq!(c.circuit_breakers, limits, "{name}: maxConnections; the rest 2³²−1, unlimited");
        let od = c.outlier_detection.expect("outlier detection");
        assert_eq!((od.consecutive_5xx, od.enforcing_consecutive_5xx), (5, 100), "{name}");
        assert_eq!(od.interval, Duration::from_secs(10));
        assert_eq!(od.success_rate.enforcing, 0, "istiod turns success-rate ejection off");
        assert_eq!(od.base_ejection_time, Duration::from_secs(30), "Envoy's default");
    }
    assert_eq!(
        cluster(&r, "outbound|8080||inventory.shop.svc.cluster.local").outlier_detection,
        None,
        "no rule, no detection"
    );
    assert_eq!(
        cluster(&r, "outbound|8080||inventory.shop.svc.cluster.local").circuit_breakers,
        CircuitBreakers::default()
    );

    let warnings = r.warnings.join("\n");
    let expected = "DestinationRule shop/payments: spec.subsets[1].trafficPolicy.loadBalancer.simple: PASSTHROUGH needs the caller's original address";
    assert!(warnings.contains(expected), "{expected}\n---\n{warnings}");
    assert!(!warnings.contains("connectionPool") && !warnings.contains("outlierDetection"), "{warnings}");
}

#[test]
fn matches_timeouts_and_retries() {
    let r = resources();
    let rc = routes(&r, PAYMENTS_HTTP);
    let post = |path: &str| {
        let mut req = Req::get("payments.shop.internal", path);
        req.method = "POST".into();
        req
    };
    let v2 = vec![("outbound|80|v2|payments.shop.internal".to_string(), 1)];
    let v1 = vec![("outbound|80|v1|payments.shop.internal".to_string(), 1)];
    assert_eq!(route(&rc, &post("/api/v2/pay")), v2, "prefix, case-insensitive, POST");
    assert_eq!(route(&rc, &Req::get("payments.shop.internal", "/api/v2/pay")), v1, "GET does not match");
    assert_eq!(route(&rc, &Req::get("payments.shop.internal", "/pay/42")), v2, "regex");
    assert_eq!(route(&rc, &Req::get("payments.shop.internal", "/pay/42/x")), v1, "a regex matches the whole path");
    assert_eq!(route(&rc, &Req::get("payments.shop.internal", "/x?debug=1")), v2, "query parameter");
    let canary = Req::get("payments.shop.internal", "/x?debug=1").header("x-canary", "yes");
    assert_eq!(route(&rc, &canary), v1, "withoutHeaders");

    let (_, api) = rc.routes.route(&post("/api/v1/x")).expect("routed");
    assert_eq!(api.name(), "api");
    let a = api.action();
    assert_eq!(a.timeout, Some(Duration::from_secs(2)));
    let retry = a.retry.as_ref().expect("retries");
    assert_eq!((retry.max_retries(), retry.per_try_timeout()), (3, Some(Duration::from_millis(500))));
    let (_, last) = rc.routes.route(&Req::get("payments.shop.internal", "/")).expect("routed");
    assert!(last.action().retry.is_none(), "attempts: 0 disables retries");

    // The port-7070 rule only applies on port 7070.
    let grpc = routes(&r, "payments.shop.internal:7070");
    assert_eq!(
        route(&grpc, &Req::get("payments.shop.internal:7070", "/")),
        [("outbound|7070|v1|payments.shop.internal".to_string(), 1)]
    );
}

#[test]
fn unsupported_features_are_emitted_and_warned() {
    let vs = "
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews}
spec:
  hosts: [reviews]
  http:
  - match:
    - authority: {exact: reviews}
    headers:
      request:
        set: {x-mesh: 'yes', x-peer: '%DOWNSTREAM_REMOTE_ADDRESS%'}
    route:
    - destination: {host: reviews}
";
    let r = translate(&config(&[("workloads.yaml", WORKLOADS), ("vs.yaml", vs)]), &[], &TranslateOptions::default());
    let name = "reviews.default.svc.cluster.local:9080";
    let e = match decode(type_url::ROUTE, r.get(type_url::ROUTE, name).expect("routes")).result {
        Err(e) => e,
        Ok(Resource::Route(_)) | Ok(_) => panic!("our client rejects substitution formatters"),
    };
    assert_eq!(e.field, "virtual_hosts[0].routes[0].request_headers_to_add[1].header.value");
    assert_eq!(rejected(&r).len(), 1, "only that route configuration");
    assert_eq!(
        r.warnings.iter().filter(|w| w.starts_with("VirtualService default/reviews: ")).cloned().collect::<Vec<_>>(),
        [
            "VirtualService default/reviews: spec.http[0].headers.request.set.x-peer: a value with %…% (an Envoy substitution formatter; write % as %%) is not supported by mesh clients yet (emitted; they reject the resource)",
            "VirtualService default/reviews: spec.http[0].match[0].authority: authority matching is not supported by mesh clients yet; the condition is ignored (each service's routes only see requests for that service)",
        ]
    );

    // Rule-level headers, prefix/authority rewrites and redirects are honoured.
    let vs = vs
        .replace(", x-peer: '%DOWNSTREAM_REMOTE_ADDRESS%'", ", x-pct: '100%%'")
        .replace("    route:", "    rewrite: {uri: /v2, authority: reviews-v2}\n    route:");
    let r = translate(&config(&[("workloads.yaml", WORKLOADS), ("vs.yaml", &vs)]), &[], &TranslateOptions::default());
    match decode(type_url::ROUTE, r.get(type_url::ROUTE, name).expect("routes")).result {
        Ok(Resource::Route(rc)) => {
            let a = rc.routes.virtual_hosts()[0].routes()[0].action();
            let sets: Vec<(&str, &str)> =
                a.request_headers.sets().iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            assert_eq!(sets, [("x-mesh", "yes"), ("x-pct", "100%")]);
            assert_eq!((a.prefix_rewrite.as_deref(), a.host_rewrite.as_deref()), (Some("/v2"), Some("reviews-v2")));
        }
        other => panic!("accepted: {other:?}"),
    }
    assert!(rejected(&r).is_empty());
}

#[test]
fn mirrors_regex_rewrites_and_destination_headers_reach_clients() {
    let vs = "
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews}
spec:
  hosts: [reviews]
  http:
  - rewrite: {uriRegexRewrite: {match: '^/api/v1/(.*)$', rewrite: '/v2/\\1'}}
    mirror: {host: ratings}
    mirrorPercentage: {value: 12.5}
    route:
    - destination: {host: reviews}
      weight: 80
      headers: {request: {set: {x-to: reviews}}, response: {remove: [x-internal]}}
    - destination: {host: details}
      weight: 20
      headers: {request: {add: {x-to: details}}}
";
    let r = translate(&config(&[("workloads.yaml", WORKLOADS), ("vs.yaml", vs)]), &[], &TranslateOptions::default());
    assert!(rejected(&r).is_empty(), "{:?}", rejected(&r));
    assert!(
        !r.warnings.iter().any(|w| w.starts_with("VirtualService default/reviews: ")),
        "nothing to warn about: {:?}",
        r.warnings
    );
    let rc = routes(&r, "reviews.default.svc.cluster.local:9080");
    assert!(rc.cluster_names.contains("outbound|9080||ratings.default.svc.cluster.local"), "the mirror is fetched");
    let a = rc.routes.virtual_hosts()[0].routes()[0].action();
    assert_eq!(a.regex_rewrite.as_ref().map(|re| re.rewrite("/api/v1/x?y")).as_deref(), Some("/v2/x?y"));
    let m = &a.mirrors[0];
    assert_eq!(m.destination.cluster, "outbound|9080||ratings.default.svc.cluster.local");
    assert_eq!(m.percentage.value(), 12.5);
    let entries: Vec<(&str, u32)> = a.destinations.entries().iter().map(|(d, w)| (d.cluster.as_str(), *w)).collect();
    assert_eq!(
        entries,
        [
            ("outbound|9080||reviews.default.svc.cluster.local", 80),
            ("outbound|9080||details.default.svc.cluster.local", 20)
        ]
    );
    let to_reviews = a.destinations.headers(0).expect("reviews' headers");
    assert_eq!(to_reviews.request.sets(), &[("x-to".to_string(), "reviews".to_string())]);
    assert_eq!(to_reviews.response.removes(), ["x-internal"]);
    assert_eq!(a.destinations.headers(1).expect("details' headers").request.adds().len(), 1);
}

#[test]
fn short_names_resolve_in_the_rules_namespace() {
    let vs = "
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews-from-prod, namespace: prod}
spec:
  hosts: [reviews.default]
  http:
  - route:
    - destination: {host: reviews.default.svc, subset: v3}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews}
spec:
  host: reviews
  subsets: [{name: v3, labels: {version: v3}}]
";
    let r = translate(&config(&[("workloads.yaml", WORKLOADS), ("vs.yaml", vs)]), &[], &TranslateOptions::default());
    let rc = routes(&r, "reviews.default.svc.cluster.local:9080");
    assert_eq!(route(&rc, &Req::get("reviews", "/")), [(bookinfo_cluster("reviews", "v3"), 1)]);
}
