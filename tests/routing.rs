//! Routing: header / path / method / query / host matching, weighted splits and
//! subsets, over real tonic (HTTP/2) and axum (HTTP/1.1 and HTTP/2) backends.

mod common;

use common::*;
use mesh::{ErrorKind, MeshError};
use mesh_testkit::Backend;

const CANARY: &str = r#"      - name: jason
        match: { headers: [{ name: end-user, exact: jason }] }
        route: { destinations: [{ cluster: svc, subset: v2 }] }
      - name: default
        route:
          destinations: [{ cluster: svc, subset: v1, weight: 90 }, { cluster: svc, subset: v3, weight: 10 }]
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn header_routes_to_v2_and_weights_split_the_rest() {
    let (v1, v2, v3) =
        (Backend::grpc("v1").await.unwrap(), Backend::grpc("v2").await.unwrap(), Backend::grpc("v3").await.unwrap());
    let cfg = handle(&config(CANARY, &[&v1, &v2, &v3], ""));
    let ch = channel(&cfg);

    let jason = run(100, 8, {
        let ch = ch.clone();
        move |_| {
            let ch = ch.clone();
            async move {
                echo_with(&ch, |r| {
                    r.metadata_mut().insert("end-user", "jason".parse().unwrap());
                })
                .await
            }
        }
    })
    .await;
    assert!(jason.iter().all(|r| matches!(r.as_deref(), Ok("v2"))), "jason must always reach v2: {jason:?}");

    let n = 2_000;
    let others = run(n, 16, {
        let ch = ch.clone();
        move |_| {
            let ch = ch.clone();
            async move { echo(&ch).await.expect("call") }
        }
    })
    .await;
    let count = |v: &str| others.iter().filter(|s| *s == v).count();
    assert_eq!(count("v2"), 0, "v2 only serves jason");
    assert_eq!(count("v1") + count("v3"), n);
    assert_share("v1", count("v1"), n, 0.9);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subset_selects_endpoints_by_all_labels() {
    let a = Backend::grpc("a").await.unwrap();
    let b = Backend::grpc("b").await.unwrap();
    let c = Backend::grpc("c").await.unwrap();
    let yaml = format!(
        r#"virtual_hosts:
  - name: svc
    domains: [svc]
    routes: [{{ route: {{ destinations: [{{ cluster: svc, subset: v2-east }}] }} }}]
clusters:
  - name: svc
    subsets: [{{ name: v2-east, labels: {{ version: v2, zone: east }} }}]
    endpoints:
      - {{ address: "{}", labels: {{ version: v2, zone: west }} }}
      - {{ address: "{}", labels: {{ version: v2, zone: east, extra: yes }} }}
      - {{ address: "{}", labels: {{ version: v1, zone: east }} }}
"#,
        a.addr(),
        b.addr(),
        c.addr()
    );
    let ch = channel(&handle(&yaml));
    for _ in 0..30 {
        assert_eq!(echo(&ch).await.expect("call"), "b");
    }
    assert_eq!((a.state().hits(), c.state().hits()), (0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_matches_path_method_query_headers_and_hosts() {
    let (v1, v2, v3) =
        (Backend::http("v1").await.unwrap(), Backend::http("v2").await.unwrap(), Backend::http("v3").await.unwrap());
    let routes = r#"      - name: api-post
        match: { prefix: /api/, methods: [POST] }
        route: { destinations: [{ cluster: svc, subset: v2 }] }
      - name: debug-query
        match: { path: /status, query_params: [{ name: debug, exact: "1" }] }
        route: { destinations: [{ cluster: svc, subset: v3 }] }
      - name: header-regex
        match: { regex: "/items/[0-9]+", headers: [{ name: x-tier, regex: "gold|platinum" }, { name: x-block, absent: true }] }
        route: { destinations: [{ cluster: svc, subset: v3 }] }
      - name: rest
        route: { destinations: [{ cluster: svc, subset: v1 }] }
"#;
    let ch = channel(&handle(&config(routes, &[&v1, &v2, &v3], "")));
    let served = |r: &(http::StatusCode, http::HeaderMap, bytes::Bytes)| {
        r.1.get("x-served-by").and_then(|v| v.to_str().ok()).unwrap_or("").to_string()
    };
    let post = http::Request::post("http://svc/api/x").body(http_body_util::Full::new(bytes::Bytes::new())).unwrap();
    assert_eq!(served(&http(&ch, post).await.unwrap()), "v2");
    assert_eq!(served(&http(&ch, get("http://svc/api/x")).await.unwrap()), "v1", "GET is not POST");
    assert_eq!(served(&http(&ch, get("http://svc/status?a=b&debug=1")).await.unwrap()), "v3");
    assert_eq!(served(&http(&ch, get("http://svc/status?debug=2")).await.unwrap()), "v1");
    let gold = http::Request::get("http://svc/items/42").header("x-tier", "gold").body(Default::default()).unwrap();
    assert_eq!(served(&http(&ch, gold).await.unwrap()), "v3");
    let blocked = http::Request::get("http://svc/items/42")
        .header("x-tier", "gold")
        .header("x-block", "1")
        .body(Default::default())
        .unwrap();
    assert_eq!(served(&http(&ch, blocked).await.unwrap()), "v1", "absent header condition");
    let not_whole =
        http::Request::get("http://svc/items/42/x").header("x-tier", "gold").body(Default::default()).unwrap();
    assert_eq!(served(&http(&ch, not_whole).await.unwrap()), "v1", "regex must match the whole path");

    // Wildcard domain, Host header preserved to the backend over HTTP/1.1.
    let r = http(&ch, get("http://api.svc.example.com/anything")).await.unwrap();
    assert_eq!(served(&r), "v1");
    assert_eq!(r.1.get("x-seen-host").unwrap(), "api.svc.example.com");

    // HTTP/2 to an axum backend (prior knowledge) when the request is HTTP/2.
    let mut h2 = get("http://svc/over-h2");
    *h2.version_mut() = http::Version::HTTP_2;
    let r = http(&ch, h2).await.unwrap();
    assert_eq!((r.0, served(&r)), (http::StatusCode::OK, "v1".to_string()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_route_and_no_endpoint_are_typed_errors() {
    let v1 = Backend::grpc("v1").await.unwrap();
    let routes = r#"      - name: only-admin
        match: { prefix: /admin }
        route: { destinations: [{ cluster: svc, subset: v1 }] }
      - name: empty-subset
        match: { prefix: /mesh.test.Echo/ , headers: [{ name: x-empty, present: true }] }
        route: { destinations: [{ cluster: svc, subset: v3 }] }
"#;
    let ch = channel(&handle(&config(routes, &[&v1], "")));

    // gRPC: a Status with the right code, whose source is the MeshError.
    let status = echo(&ch).await.expect_err("no route for the Echo path");
    assert_eq!(status.code(), tonic::Code::Unimplemented, "{status:?}");
    let err = MeshError::find(&status).expect("MeshError inside the Status");
    assert_eq!(err.kind(), ErrorKind::NoRoute);
    assert!(matches!(err, MeshError::NoRoute(nr) if nr.path == "/mesh.test.Echo/Echo" && nr.host == "svc"), "{err:?}");

    let status = echo_with(&ch, |r| {
        r.metadata_mut().insert("x-empty", "1".parse().unwrap());
    })
    .await
    .expect_err("empty subset");
    assert_eq!(status.code(), tonic::Code::Unavailable);
    assert!(
        matches!(MeshError::find(&status), Some(MeshError::NoHealthyEndpoint { subset: Some(s), .. }) if s == "v3")
    );

    // HTTP: the MeshError itself, and its HTTP status mapping.
    let err = http(&ch, get("http://other-host/admin")).await.expect_err("unknown host");
    let mesh_err = MeshError::find(err.as_ref()).expect("MeshError");
    assert!(matches!(mesh_err, MeshError::NoRoute(nr) if !nr.host_matched && nr.host == "other-host"));
    assert_eq!(mesh_err.http_status(), http::StatusCode::NOT_FOUND);
    assert_eq!(v1.state().hits(), 0);
}
