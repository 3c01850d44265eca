//! End to end: a DestinationRule's `connectionPool` and `outlierDetection`, read by
//! mesh-control from Istio YAML, reach a `MeshChannel` on `xds:///` as circuit breakers
//! and outlier detection of its cluster — visible in the client's configuration and its
//! CSDS dump — and the client ejects the backend that fails.

// Helpers outside #[test] functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::time::Duration;

use common::*;
use envoy_types::pb::envoy::config::core::v3::Node;
use mesh::MeshChannel;
use mesh_testkit::{Backend, Failure};
use mesh_xds::client::{ClientOptions, ServerConfig, XdsClient};

const TARGET: &str = "xds:///reviews.default.svc.cluster.local:9080";
const CLUSTER: &str = "outbound|9080||reviews.default.svc.cluster.local";

fn istio_yaml(backends: &[&Backend]) -> String {
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
    y.push_str(
        "---\napiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: { name: reviews, namespace: default }\nspec:\n  host: reviews\n  trafficPolicy:\n    loadBalancer: { simple: ROUND_ROBIN }\n    connectionPool:\n      http: { http2MaxRequests: 50, maxRetries: 4 }\n    outlierDetection:\n      consecutive5xxErrors: 2\n      interval: 1s\n      baseEjectionTime: 60s\n      maxEjectionPercent: 50\n",
    );
    y
}

fn write(dir: &Path, file: &str, text: &str) {
    let tmp = dir.join(format!(".{file}.tmp"));
    std::fs::write(&tmp, text).expect("write");
    std::fs::rename(&tmp, dir.join(file)).expect("rename");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_destination_rules_outlier_detection_ejects_the_failing_backend() {
    let (good, bad) = (Backend::grpc("good").await.unwrap(), Backend::grpc("bad").await.unwrap());
    let dir = std::env::temp_dir().join(format!("mesh-e2e-outlier-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    write(&dir, "reviews.yaml", &istio_yaml(&[&good, &bad]));

    let cp = mesh_control::ControlPlane::builder()
        .config_paths(vec![dir.clone()])
        .xds_addr("127.0.0.1:0".parse().unwrap())
        .admin_addr("127.0.0.1:0".parse().unwrap())
        .start()
        .await
        .expect("control plane starts");
    let xds = XdsClient::new(
        vec![ServerConfig::new(format!("http://{}", cp.xds_addr())).delta(true)],
        Node { id: "e2e-outlier".into(), ..Default::default() },
        ClientOptions::default(),
    );
    let ch: MeshChannel = MeshChannel::from_xds(&xds, TARGET).await.expect("channel");

    // The client's cluster carries the rule's limits and outlier detection.
    let snapshot = ch.config().snapshot();
    let cluster = snapshot.cluster(CLUSTER).expect("the service's cluster");
    assert_eq!(cluster.circuit_breakers().max_requests, Some(50));
    assert_eq!(cluster.circuit_breakers().max_retries, Some(4));
    assert_eq!(cluster.circuit_breakers().max_connections, None, "2³²−1 from istiod's defaults: unlimited");
    let od = cluster.outlier_detection().expect("outlier detection reached the client");
    assert_eq!((od.consecutive_5xx, od.max_ejection_percent), (2, 50));
    assert_eq!((od.interval, od.base_ejection_time), (Duration::from_secs(1), Duration::from_secs(60)));
    let dump = xds.config_dump().await.unwrap().to_string();
    assert!(dump.contains("consecutive_5xx: 2"), "the CSDS dump shows it: {dump}");

    // The failing backend is ejected after two UNAVAILABLEs in a row.
    bad.state().fail_all(Some(Failure::Unavailable));
    while bad.state().hits() < 2 {
        let _ = echo(&ch).await;
    }
    assert_eq!(ch.config().ejected_endpoints(CLUSTER), [bad.addr()]);
    for _ in 0..20 {
        assert_eq!(echo(&ch).await.unwrap(), "good");
    }
    assert_eq!(bad.state().hits(), 2);

    cp.shutdown().await;
    std::fs::remove_dir_all(&dir).ok();
}
