//! The admin server: readiness, metrics, debug pages and the index, with a real client
//! connected.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use mesh_xds::server::ServerEvent;
use mesh_xds::type_url::{CLUSTER, ENDPOINT, LISTENER as LDS, ROUTE};

#[tokio::test]
async fn ready_once_serving() {
    let dir = fixture();
    let cp = start(&dir).await;
    let ready = get(cp.admin_addr(), "/ready").await;
    assert_eq!((ready.status, ready.body.as_str()), (200, "ready\n"));
    assert_eq!(get(cp.admin_addr(), "/nope").await.status, 404);
}

#[tokio::test]
async fn metrics_count_clients_pushes_and_reloads() {
    let dir = fixture();
    let cp = start(&dir).await;
    let mut events = cp.ads().events();
    let xds = client(&cp, false);
    let mut target = xds.watch(TARGET).await.unwrap();
    snapshot_where(&mut target, |s| !routed_clusters(s).is_empty()).await;
    all_acked(&mut events).await;

    let response = get(cp.admin_addr(), "/metrics").await;
    assert_eq!(response.status, 200);
    assert!(response.content_type.starts_with("application/openmetrics-text"), "{}", response.content_type);
    let text = response.body;
    for name in [
        "mesh_control_xds_connected_clients",
        "mesh_control_xds_pushes_total",
        "mesh_control_xds_push_duration_seconds",
        "mesh_control_xds_nacks_total",
        "mesh_control_config_errors",
        "mesh_control_config_reloads_total",
    ] {
        assert!(text.contains(&format!("# TYPE {}", name.trim_end_matches("_total"))), "{name} missing:\n{text}");
    }
    assert_eq!(metric(&text, "mesh_control_xds_connected_clients"), Some(1.0), "{text}");
    assert!(metric(&text, "mesh_control_xds_pushes_total{type=\"lds\"}").unwrap() >= 1.0, "{text}");
    assert_eq!(metric(&text, "mesh_control_xds_nacks_total{type=\"rds\"}"), Some(0.0));
    assert_eq!(metric(&text, "mesh_control_config_reloads_total{result=\"ok\"}"), Some(1.0));
    assert_eq!(metric(&text, "mesh_control_config_errors"), Some(0.0));
    assert_eq!(metric(&text, "mesh_control_config_generation"), Some(1.0));

    // A change pushed to the connected client is timed (config accepted → response sent).
    dir.write("routes/reviews.yaml", &virtual_service("v2", 5));
    event_where(&mut events, |e| matches!(e, ServerEvent::Ack { type_url, .. } if type_url == ROUTE)).await;
    // The admin's observer counts asynchronously: poll briefly for it (no signal to wait on).
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let text = get(cp.admin_addr(), "/metrics").await.body;
        if metric(&text, "mesh_control_xds_push_duration_seconds_count").unwrap() >= 1.0 {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "push latency never observed:\n{text}");
        tokio::task::yield_now().await;
    }
}

#[tokio::test]
async fn syncz_shows_acked_versions_per_client() {
    let dir = fixture();
    let cp = start(&dir).await;
    let mut events = cp.ads().events();
    let xds = client(&cp, true);
    let mut target = xds.watch(TARGET).await.unwrap();
    snapshot_where(&mut target, |s| !routed_clusters(s).is_empty()).await;
    all_acked(&mut events).await;

    let syncz = get(cp.admin_addr(), "/debug/syncz").await.json();
    assert_eq!(syncz["generation"], 1);
    let clients = syncz["clients"].as_array().unwrap();
    assert_eq!(clients.len(), 1, "{syncz}");
    let client = &clients[0];
    assert_eq!(client["node_id"], "test-node");
    assert_eq!(client["delta"], true);
    for t in [LDS, ROUTE, CLUSTER, ENDPOINT] {
        let sync = &client["types"][t];
        assert_eq!(sync["state"], "SYNCED", "{t}: {sync}");
        assert_eq!(sync["acked"], cp.cache().version(t), "{t}: {sync}");
        assert!(sync["nacked"].is_null());
    }
    assert!(client["types"][LDS]["subscribed"].as_array().unwrap().iter().any(|n| n == LISTENER));
}

#[tokio::test]
async fn config_dump_shows_objects_and_what_each_client_was_sent() {
    let dir = fixture();
    let cp = start(&dir).await;
    let mut events = cp.ads().events();
    let xds = client(&cp, false);
    let mut target = xds.watch(TARGET).await.unwrap();
    snapshot_where(&mut target, |s| !routed_clusters(s).is_empty()).await;
    all_acked(&mut events).await;

    let dump = get(cp.admin_addr(), "/debug/config_dump").await.json();
    assert_eq!(dump["generation"], 1);
    let objects = dump["config"]["objects"].as_array().unwrap();
    assert_eq!(objects.len(), 5, "{dump}");
    let vs = objects.iter().find(|o| o["kind"] == "VirtualService").unwrap();
    assert_eq!((vs["namespace"].as_str(), vs["name"].as_str()), (Some("default"), Some("reviews")));
    assert!(vs["source"].as_str().unwrap().ends_with("reviews.yaml:1"), "{vs}");
    assert!(dump["cache"][LDS]["names"].as_array().unwrap().iter().any(|n| n == LISTENER));

    let clients = dump["clients"].as_array().unwrap();
    assert_eq!(clients.len(), 1);
    let sent = &clients[0]["sent"];
    assert_eq!(sent[LDS]["version"], cp.cache().version(LDS));
    assert_eq!(sent[LDS]["names"], serde_json::json!([LISTENER]));
    assert_eq!(sent[CLUSTER]["names"], serde_json::json!([cluster("v1")]));
}

#[tokio::test]
async fn the_index_links_the_pages_and_shows_config_errors() {
    let dir = fixture();
    let cp = start(&dir).await;
    let index = get(cp.admin_addr(), "/").await;
    assert_eq!(index.status, 200);
    assert!(index.content_type.starts_with("text/html"));
    for page in ["/ready", "/metrics", "/debug/config_dump", "/debug/syncz", "/v1/registrations"] {
        assert!(index.body.contains(&format!("href=\"{page}\"")), "{page} not linked");
    }
    assert!(index.body.contains("none: the files on disk are what is served"));

    dir.write("broken.yaml", INVALID_VIRTUAL_SERVICE);
    status_where(&cp, |s| s.has_errors()).await;
    let index = get(cp.admin_addr(), "/").await.body;
    assert!(index.contains("The latest load was rejected"), "{index}");
    assert!(index.contains("broken.yaml:"), "{index}");
    assert!(index.contains("VirtualService/default/broken"), "{index}");
}
