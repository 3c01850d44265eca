//! Request mirroring end to end over real HTTP and gRPC servers: every (or a share of
//! the) request is copied to the mirror with the `-shadow` host and the same body, the
//! primary's answer is the one returned, and a mirror that is down, failing or holding
//! its requests never slows, fails or retries anything of the primary's. Also through
//! mesh-control: a VirtualService `mirror` reaches the client over xDS and is honoured.

// Helpers outside #[test] functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used)]

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use common::*;
use envoy_types::pb::envoy::config::core::v3::Node;
use http_body_util::Full;
use mesh::MeshChannel;
use mesh::tower::client::mirror::MirrorStats;
use mesh_testkit::{Backend, Failure};
use mesh_xds::client::{ClientOptions, ServerConfig, XdsClient};
use tokio::sync::{mpsc, oneshot};

/// A request as the mirror received it.
#[derive(Debug)]
struct Seen {
    host: String,
    path: String,
    route_header: Option<String>,
    body: Bytes,
}

/// An HTTP server that reports every request it receives.
struct Recorder {
    addr: SocketAddr,
    seen: mpsc::UnboundedReceiver<Seen>,
    _stop: oneshot::Sender<()>,
}

async fn recorder() -> Recorder {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, seen) = mpsc::unbounded_channel();
    let (stop, stopped) = oneshot::channel::<()>();
    let app = axum::Router::new().fallback(
        |axum::extract::State(tx): axum::extract::State<mpsc::UnboundedSender<Seen>>,
         uri: axum::http::Uri,
         headers: axum::http::HeaderMap,
         body: Bytes| async move {
            let text = |name: &str| headers.get(name).map(|v| v.to_str().unwrap().to_string());
            let path = uri.path_and_query().map(|p| p.to_string()).unwrap_or_default();
            let _ = tx.send(Seen {
                host: text("host").unwrap_or_default(),
                path,
                route_header: text("x-test-route"),
                body,
            });
            "shadow"
        },
    );
    tokio::spawn(async move {
        let _ = axum::serve(listener, app.with_state(tx))
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await;
    });
    Recorder { addr, seen, _stop: stop }
}

/// The routes of `svc` plus a cluster `shadow` at `shadow`.
fn with_shadow(routes: &str, backends: &[&Backend], shadow: SocketAddr) -> String {
    format!("{}  - name: shadow\n    endpoints:\n      - {{ address: \"{shadow}\" }}\n", config(routes, backends, ""))
}

const MIRROR_ALL: &str = r#"      - name: mirrored
        route:
          destinations: [{ cluster: svc, subset: v1 }]
          request_headers: { set: { x-test-route: "yes" } }
          rewrite: { regex: { pattern: "^/items/(.*)$", substitution: "/v2/items/\\1" } }
          mirrors: [{ cluster: shadow }]
"#;

/// Waits for a signal, failing the test (instead of hanging it) if it never comes.
async fn signal<T>(what: &str, f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(30), f).await.unwrap_or_else(|_| panic!("no signal: {what}"))
}

async fn settled(ch: &MeshChannel) -> MirrorStats {
    let mut stats = ch.mirror_stats();
    *signal("mirror copies settle", stats.wait_for(MirrorStats::settled)).await.unwrap()
}

fn post(uri: &str, body: impl Into<Bytes>) -> http::Request<Full<Bytes>> {
    http::Request::post(uri).body(Full::new(body.into())).unwrap()
}

fn header(r: &(http::StatusCode, http::HeaderMap, Bytes), name: &str) -> Option<String> {
    r.1.get(name).map(|v| v.to_str().unwrap().to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_request_is_copied_with_the_shadow_host_and_its_body() {
    let primary = Backend::http("v1").await.unwrap();
    let mut shadow = recorder().await;
    let ch = channel(&handle(&with_shadow(MIRROR_ALL, &[&primary], shadow.addr)));

    let n = 20;
    for i in 0..n {
        let body = format!("body-{i}-{}", "x".repeat(i * 100));
        let r = http(&ch, post(&format!("http://svc/items/{i}?q={i}"), body.clone())).await.unwrap();
        assert_eq!((r.0, &r.2[..]), (http::StatusCode::OK, &b"v1"[..]), "the primary answers");
        assert_eq!(header(&r, "x-seen-path"), Some(format!("/v2/items/{i}?q={i}")));
        assert_eq!(header(&r, "x-body-len"), Some(body.len().to_string()));
    }
    let mut seen = Vec::new();
    for _ in 0..n {
        seen.push(signal("a copy reaches the mirror", shadow.seen.recv()).await.unwrap());
    }
    seen.sort_by_key(|s| s.path.split('/').nth(3).and_then(|i| i.split('?').next()?.parse::<usize>().ok()));
    for (i, s) in seen.iter().enumerate() {
        assert_eq!(s.host, "svc-shadow", "Envoy's -shadow suffix");
        assert_eq!(s.path, format!("/v2/items/{i}?q={i}"), "the copy has the rewritten path");
        assert_eq!(s.route_header.as_deref(), Some("yes"), "and the route's header changes");
        assert_eq!(s.body, format!("body-{i}-{}", "x".repeat(i * 100)), "the same body");
    }

    // The suffix goes on the host, before the port.
    let r = http(&ch, get("http://svc:8080/p")).await.unwrap();
    assert_eq!(r.2, "v1");
    assert_eq!(signal("copy with a port", shadow.seen.recv()).await.unwrap().host, "svc-shadow:8080");
    let stats = settled(&ch).await;
    assert_eq!((stats.selected, stats.answered, stats.failed), (n as u64 + 1, n as u64 + 1, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_requests_are_copied_too() {
    let primary = Backend::grpc("v1").await.unwrap();
    let shadow = Backend::grpc("shadow").await.unwrap();
    let ch = channel(&handle(&with_shadow(MIRROR_ALL, &[&primary], shadow.addr())));
    for _ in 0..10 {
        assert_eq!(echo(&ch).await.unwrap(), "v1");
    }
    signal("ten copies", shadow.state().wait_hits(10)).await;
    let stats = settled(&ch).await;
    assert_eq!((stats.selected, stats.answered), (10, 10));
    assert_eq!(primary.state().hits(), 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_of_the_requests_are_copied_at_50_percent() {
    let primary = Backend::http("v1").await.unwrap();
    let mut shadow = recorder().await;
    let routes = MIRROR_ALL.replace("[{ cluster: shadow }]", "[{ cluster: shadow, percentage: 50 }]");
    let ch = channel(&handle(&with_shadow(&routes, &[&primary], shadow.addr)));
    let n = 400;
    let ok = run(n, 8, {
        let ch = ch.clone();
        move |i| {
            let ch = ch.clone();
            async move { http(&ch, get(&format!("http://svc/items/{i}"))).await.unwrap().0 == http::StatusCode::OK }
        }
    })
    .await;
    assert!(ok.iter().all(|ok| *ok));
    let stats = settled(&ch).await;
    assert_share("mirrored at 50 %", stats.selected as usize, n, 0.5);
    assert_eq!(stats.answered, stats.selected);
    let mut copies = 0;
    while shadow.seen.try_recv().is_ok() {
        copies += 1;
    }
    assert_eq!(copies, stats.selected, "every selected copy reached the mirror, no other");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mirror_that_is_down_or_holding_never_holds_back_the_primary() {
    // Down: nothing listens on the mirror's address.
    let primary = Backend::http("v1").await.unwrap();
    let ch = channel(&handle(&with_shadow(MIRROR_ALL, &[&primary], dead_addr().await)));
    for i in 0..20 {
        let r = http(&ch, post(&format!("http://svc/items/{i}"), "payload")).await.unwrap();
        assert_eq!((r.0, &r.2[..]), (http::StatusCode::OK, &b"v1"[..]));
    }
    let stats = settled(&ch).await;
    assert_eq!((stats.selected, stats.failed, stats.answered), (20, 20, 0));

    // Holding: the mirror answers nothing (for an hour); every primary call completes
    // while all the copies are still held there.
    let shadow = Backend::http("shadow").await.unwrap();
    shadow.state().set_hold(Duration::from_secs(3600));
    let ch = channel(&handle(&with_shadow(MIRROR_ALL, &[&primary], shadow.addr())));
    for i in 0..20 {
        let call = http(&ch, post(&format!("http://svc/items/{i}"), "payload"));
        let r = signal("the primary answers while the mirror holds", call).await.unwrap();
        assert_eq!((r.0, &r.2[..]), (http::StatusCode::OK, &b"v1"[..]));
    }
    signal("the copies arrive", shadow.state().wait_hits(20)).await;
    let stats = *ch.mirror_stats().borrow();
    assert_eq!((stats.selected, stats.answered, stats.failed), (20, 0, 0), "every copy is still held");

    // The same over HTTP/2 (gRPC), where copies share the mirror's connection.
    let primary = Backend::grpc("v1").await.unwrap();
    let shadow = Backend::grpc("shadow").await.unwrap();
    shadow.state().set_hold(Duration::from_secs(3600));
    let ch = channel(&handle(&with_shadow(MIRROR_ALL, &[&primary], shadow.addr())));
    for _ in 0..10 {
        assert_eq!(signal("the primary answers while the mirror holds", echo(&ch)).await.unwrap(), "v1");
    }
    signal("the gRPC copies arrive", shadow.state().wait_hits(10)).await;
    let stats = *ch.mirror_stats().borrow();
    assert_eq!((stats.selected, stats.answered, stats.failed), (10, 0, 0), "every copy is still held");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copies_are_never_retried_and_large_bodies_are_not_copied() {
    let primary = Backend::http("v1").await.unwrap();
    let shadow = Backend::http("shadow").await.unwrap();
    shadow.state().fail_all(Some(Failure::Unavailable));
    let routes = MIRROR_ALL
        .replace("          mirrors:", "          retries: { attempts: 3, retry_on: 5xx }\n          mirrors:");
    let ch = MeshChannel::builder(handle(&with_shadow(&routes, &[&primary], shadow.addr())))
        .authority("svc")
        .unwrap()
        .replay_cap(1024)
        .build();
    primary.state().fail_next(1, Failure::Unavailable);
    for i in 0..10 {
        let r = http(&ch, post(&format!("http://svc/items/{i}"), "small")).await.unwrap();
        assert_eq!((r.0, &r.2[..]), (http::StatusCode::OK, &b"v1"[..]));
    }
    let stats = settled(&ch).await;
    assert_eq!(primary.state().hits(), 11, "the primary's first attempt failed and was retried");
    assert_eq!((stats.selected, stats.answered), (10, 10), "a 503 from the mirror is an answer");
    assert_eq!(shadow.state().hits(), 10, "one copy per request, never retried");

    // Over the replay cap: the primary gets every byte; the copy is skipped and counted.
    let r = http(&ch, post("http://svc/items/big", vec![b'x'; 4096])).await.unwrap();
    assert_eq!(header(&r, "x-body-len").as_deref(), Some("4096"));
    let stats = settled(&ch).await;
    assert_eq!((stats.selected, stats.body_too_large), (11, 1));
    assert_eq!(shadow.state().hits(), 10, "no copy of the large request");
}

const SPLIT: &str = r#"      - name: regex
        match: { prefix: /service/ }
        route:
          destinations: [{ cluster: svc, subset: v1 }]
          rewrite: { regex: { pattern: "^/service/([^/]+)(/.*)$", substitution: "\\2/instance/\\1" } }
      - name: split
        route:
          destinations:
            - cluster: svc
              subset: v1
              weight: 50
              request_headers: { set: { x-test-dest: one, x-test-order: destination } }
              response_headers: { set: { x-dest: one, x-order: destination }, remove: [x-body-len] }
            - cluster: svc
              subset: v2
              weight: 50
              request_headers: { add: { x-test-dest: two } }
          request_headers: { set: { x-test-order: route } }
          response_headers: { set: { x-order: route } }
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn destination_headers_land_only_on_the_chosen_destination() {
    let (v1, v2) = (Backend::http("v1").await.unwrap(), Backend::http("v2").await.unwrap());
    let ch = channel(&handle(&config(SPLIT, &[&v1, &v2], "")));
    let mut served = (0, 0);
    for _ in 0..60 {
        let r = http(&ch, get("http://svc/x")).await.unwrap();
        let seen = |name| header(&r, name);
        // The route's changes come after the destination's (Envoy's order): route wins.
        assert_eq!(seen("x-seen-x-test-order").as_deref(), Some("route"));
        assert_eq!(seen("x-order").as_deref(), Some("route"));
        match seen("x-served-by").as_deref() {
            Some("v1") => {
                served.0 += 1;
                assert_eq!(seen("x-seen-x-test-dest").as_deref(), Some("one"));
                assert_eq!(seen("x-dest").as_deref(), Some("one"));
                assert_eq!(seen("x-body-len"), None, "v1's response removal");
            }
            Some("v2") => {
                served.1 += 1;
                assert_eq!(seen("x-seen-x-test-dest").as_deref(), Some("two"));
                assert_eq!(seen("x-dest"), None, "v1's response changes stay on v1");
                assert!(seen("x-body-len").is_some());
            }
            other => panic!("unexpected backend {other:?}"),
        }
    }
    assert!(served.0 > 0 && served.1 > 0, "both destinations were chosen: {served:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn regex_rewrite_with_back_references() {
    let v1 = Backend::http("v1").await.unwrap();
    let ch = channel(&handle(&config(SPLIT, &[&v1], "")));
    let r = http(&ch, get("http://svc/service/foo/v1/api?x=/service/a/b")).await.unwrap();
    assert_eq!(header(&r, "x-seen-path").as_deref(), Some("/v1/api/instance/foo?x=/service/a/b"), "query kept");
    let r = http(&ch, get("http://svc/service/bar")).await.unwrap();
    assert_eq!(header(&r, "x-seen-path").as_deref(), Some("/service/bar"), "no match: path unchanged");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_virtual_service_mirror_reaches_the_client_over_xds() {
    let (v1, v2) = (Backend::grpc("v1").await.unwrap(), Backend::grpc("v2").await.unwrap());
    let dir = std::env::temp_dir().join(format!("mesh-mirror-e2e-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut yaml = String::from(
        "apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: { name: reviews, namespace: default }\nspec:\n  hosts: [reviews.default.svc.cluster.local]\n  location: MESH_INTERNAL\n  resolution: STATIC\n  ports: [{ number: 9080, name: grpc, protocol: GRPC }]\n  workloadSelector: { labels: { app: reviews } }\n",
    );
    for b in [&v1, &v2] {
        let v = b.state().name();
        yaml.push_str(&format!(
            "---\napiVersion: networking.istio.io/v1\nkind: WorkloadEntry\nmetadata: {{ name: reviews-{v}, namespace: default }}\nspec:\n  address: 127.0.0.1\n  ports: {{ grpc: {} }}\n  labels: {{ app: reviews, version: {v} }}\n",
            b.addr().port()
        ));
    }
    yaml.push_str("---\napiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: { name: reviews, namespace: default }\nspec:\n  host: reviews\n  subsets:\n    - { name: v1, labels: { version: v1 } }\n    - { name: v2, labels: { version: v2 } }\n");
    yaml.push_str("---\napiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: { name: reviews, namespace: default }\nspec:\n  hosts: [reviews]\n  http:\n    - route: [{ destination: { host: reviews, subset: v1 } }]\n      mirror: { host: reviews, subset: v2 }\n      mirrorPercentage: { value: 100 }\n");
    std::fs::write(dir.join("reviews.yaml"), yaml).unwrap();

    let cp = mesh_control::ControlPlane::builder()
        .config_paths(vec![dir.clone()])
        .xds_addr("127.0.0.1:0".parse().unwrap())
        .admin_addr("127.0.0.1:0".parse().unwrap())
        .start()
        .await
        .expect("control plane starts");
    let xds = XdsClient::new(
        vec![ServerConfig::new(format!("http://{}", cp.xds_addr())).delta(true)],
        Node { id: "mirror-e2e".into(), ..Default::default() },
        ClientOptions::default(),
    );
    let ch = signal(
        "the channel gets its configuration",
        MeshChannel::from_xds(&xds, "xds:///reviews.default.svc.cluster.local:9080"),
    )
    .await
    .expect("channel");
    for _ in 0..20 {
        assert_eq!(echo(&ch).await.unwrap(), "v1", "the primary answers");
    }
    signal("every call is mirrored to v2", v2.state().wait_hits(20)).await;
    let stats = settled(&ch).await;
    assert_eq!((stats.selected, stats.answered), (20, 20));
    cp.shutdown().await;
    std::fs::remove_dir_all(&dir).ok();
}
