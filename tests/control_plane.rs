//! End to end: mesh-control reads Istio YAML from a directory (real tonic backends
//! registered as WorkloadEntries), and a MeshChannel on `xds:///` routes per that YAML;
//! editing the file changes the split live; an invalid edit is rejected and traffic
//! continues on the last good configuration.

// Helpers outside #[test] functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::time::Duration;

use common::*;
use envoy_types::pb::envoy::config::core::v3::Node;
use mesh::MeshChannel;
use mesh_testkit::Backend;
use mesh_xds::client::{ClientOptions, ServerConfig, XdsClient};

const TARGET: &str = "xds:///reviews.default.svc.cluster.local:9080";

fn workloads(backends: &[&Backend]) -> String {
    let mut y = String::from(
        "apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: { name: reviews, namespace: default }\nspec:\n  hosts: [reviews.default.svc.cluster.local]\n  location: MESH_INTERNAL\n  resolution: STATIC\n  ports: [{ number: 9080, name: grpc, protocol: GRPC }]\n  workloadSelector: { labels: { app: reviews } }\n",
    );
    for b in backends {
        let v = b.state().name();
        y.push_str(&format!(
            "---\napiVersion: networking.istio.io/v1\nkind: WorkloadEntry\nmetadata: {{ name: reviews-{v}, namespace: default }}\nspec:\n  address: 127.0.0.1\n  ports: {{ grpc: {} }}\n  labels: {{ app: reviews, version: {v} }}\n",
            b.addr().port()
        ));
    }
    y.push_str("---\napiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: { name: reviews, namespace: default }\nspec:\n  host: reviews\n  subsets:\n    - { name: v1, labels: { version: v1 } }\n    - { name: v2, labels: { version: v2 } }\n    - { name: v3, labels: { version: v3 } }\n");
    y
}

fn virtual_service(v1: u32, v3: u32) -> String {
    format!(
        "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {{ name: reviews, namespace: default }}\nspec:\n  hosts: [reviews]\n  http:\n    - match: [{{ headers: {{ end-user: {{ exact: jason }} }} }}]\n      route: [{{ destination: {{ host: reviews, subset: v2 }} }}]\n    - route:\n        - {{ destination: {{ host: reviews, subset: v1 }}, weight: {v1} }}\n        - {{ destination: {{ host: reviews, subset: v3 }}, weight: {v3} }}\n"
    )
}

async fn split(ch: &MeshChannel, n: usize) -> usize {
    run(n, 8, {
        let ch = ch.clone();
        move |_| {
            let ch = ch.clone();
            async move {
                match echo(&ch).await.expect("call").as_str() {
                    "v1" => true,
                    "v3" => false,
                    other => panic!("unexpected backend {other}"),
                }
            }
        }
    })
    .await
    .into_iter()
    .filter(|v1| *v1)
    .count()
}

fn write(dir: &Path, file: &str, text: &str) {
    // Write-then-rename, as editors and `kubectl cp` do: the watcher never sees half a file.
    let tmp = dir.join(format!(".{file}.tmp"));
    std::fs::write(&tmp, text).expect("write");
    std::fs::rename(&tmp, dir.join(file)).expect("rename");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reviews_canary_follows_the_yaml_live() {
    let (v1, v2, v3) =
        (Backend::grpc("v1").await.unwrap(), Backend::grpc("v2").await.unwrap(), Backend::grpc("v3").await.unwrap());
    let dir = std::env::temp_dir().join(format!("mesh-e2e-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    write(&dir, "workloads.yaml", &workloads(&[&v1, &v2, &v3]));
    write(&dir, "reviews-vs.yaml", &virtual_service(50, 50));

    let cp = mesh_control::ControlPlane::builder()
        .config_paths(vec![dir.clone()])
        .xds_addr("127.0.0.1:0".parse().unwrap())
        .admin_addr("127.0.0.1:0".parse().unwrap())
        .start()
        .await
        .expect("control plane starts");
    let mut status = cp.subscribe();
    let xds = XdsClient::new(
        vec![ServerConfig::new(format!("http://{}", cp.xds_addr())).delta(true)],
        Node { id: "e2e".into(), ..Default::default() },
        ClientOptions::default(),
    );
    let ch = MeshChannel::from_xds(&xds, TARGET).await.expect("channel");

    // Per the YAML: jason → v2; everyone else 50/50 v1/v3.
    for _ in 0..50 {
        let r = echo_with(&ch, |r| {
            r.metadata_mut().insert("end-user", "jason".parse().unwrap());
        })
        .await;
        assert_eq!(r.unwrap(), "v2");
    }
    let n = 400;
    assert_share("v1 at 50/50", split(&ch, n).await, n, 0.5);

    // Edit the file on disk: 90/10. The channel applies it without a restart.
    let mut versions = ch.config().subscribe();
    versions.borrow_and_update();
    write(&dir, "reviews-vs.yaml", &virtual_service(90, 10));
    tokio::time::timeout(Duration::from_secs(10), versions.changed()).await.expect("edit applied").unwrap();
    assert_share("v1 at 90/10", split(&ch, n).await, n, 0.9);

    // An invalid edit (weights sum to 90) is rejected, reported, and changes nothing.
    let generation = status.borrow_and_update().generation;
    write(&dir, "reviews-vs.yaml", &virtual_service(60, 30));
    let rejected = tokio::time::timeout(Duration::from_secs(10), status.wait_for(|s| !s.errors.is_empty()))
        .await
        .expect("the bad edit is noticed")
        .unwrap()
        .clone();
    assert_eq!(rejected.generation, generation, "the last good configuration stays");
    assert!(
        rejected.errors.iter().any(|e| e.contains("reviews-vs.yaml") && e.contains("VirtualService/default/reviews")),
        "{:?}",
        rejected.errors
    );
    assert_share("still 90/10", split(&ch, n).await, n, 0.9);
    let metrics = http_get(cp.admin_addr(), "/metrics").await;
    assert!(metrics.contains("mesh_control_config_errors 1"), "{metrics}");

    cp.shutdown().await;
    std::fs::remove_dir_all(&dir).ok();
}

/// A tiny HTTP/1.1 GET over a raw socket (no HTTP client dependency needed).
async fn http_get(addr: std::net::SocketAddr, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: admin\r\nConnection: close\r\n\r\n").as_bytes()).await.unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    out
}
