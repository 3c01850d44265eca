//! The mesh configured by an xDS control plane: a real ADS server (mesh-xds's snapshot
//! cache server, tonic) on loopback and real tonic backends. Every behaviour is checked
//! over both State-of-the-World and Delta.

// Test helpers outside #[test] functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use common::*;
use envoy_types::pb::envoy::config::core::v3::Node;
use mesh::MeshChannel;
use mesh_testkit::Backend;
use mesh_testkit::ControlPlane;
use mesh_testkit::xds::{cluster_eds, endpoints, listener, route_config, route_header, route_to, route_weighted};
use mesh_xds::client::{ClientOptions, ServerConfig, XdsClient, XdsEvent};
use mesh_xds::server::{ServerEvent, SnapshotCache};
use mesh_xds::type_url::{CLUSTER, ENDPOINT, LISTENER, ROUTE};

const TARGET: &str = "xds:///svc:80";

fn options() -> ClientOptions {
    ClientOptions {
        resource_timeout: Duration::from_millis(500),
        backoff_initial: Duration::from_millis(50),
        backoff_max: Duration::from_millis(500),
        connect_timeout: Duration::from_secs(2),
    }
}

fn client(uris: &[String], delta: bool) -> XdsClient {
    let servers = uris.iter().map(|u| ServerConfig::new(u.clone()).delta(delta)).collect();
    XdsClient::new(servers, Node { id: "test-client".into(), ..Default::default() }, options())
}

/// Listener `svc:80` → routes `svc-routes` → clusters `c-<name>` → one endpoint each.
fn seed(cache: &SnapshotCache, backends: &[&Backend], route: envoy_types::pb::envoy::config::route::v3::Route) {
    cache.set(LISTENER, "svc:80", listener("svc:80", "svc-routes"));
    cache.set(ROUTE, "svc-routes", route_config("svc-routes", &["svc", "svc:80"], vec![route]));
    for b in backends {
        let c = format!("c-{}", b.state().name());
        cache.set(CLUSTER, &c, cluster_eds(&c));
        cache.set(ENDPOINT, &c, endpoints(&c, &[b.addr()]));
    }
}

/// Waits until the channel's configuration changes from what it is now, after `f`.
async fn applied(ch: &MeshChannel, f: impl FnOnce()) {
    let mut rx = ch.config().subscribe();
    rx.borrow_and_update();
    f();
    tokio::time::timeout(Duration::from_secs(10), rx.changed()).await.expect("update applied in time").unwrap();
}

async fn backends() -> (Backend, Backend, Backend) {
    (Backend::grpc("v1").await.unwrap(), Backend::grpc("v2").await.unwrap(), Backend::grpc("v3").await.unwrap())
}

async fn route_and_split_changes_apply_live(delta: bool) {
    let (v1, v2, v3) = backends().await;
    let cp = ControlPlane::start().await;
    seed(&cp.cache, &[&v1, &v2, &v3], route_to("c-v1"));
    let xds = client(&[cp.uri()], delta);
    let ch = MeshChannel::from_xds(&xds, TARGET).await.expect("channel");
    assert_eq!(echo(&ch).await.unwrap(), "v1");

    // Route change: jason → v2, everyone else 50/50 v1/v3.
    applied(&ch, || {
        let routes = vec![route_header("end-user", "jason", "c-v2"), route_weighted(&[("c-v1", 50), ("c-v3", 50)])];
        cp.cache.set(ROUTE, "svc-routes", route_config("svc-routes", &["svc", "svc:80"], routes));
    })
    .await;
    let jason = echo_with(&ch, |r| {
        r.metadata_mut().insert("end-user", "jason".parse().unwrap());
    })
    .await;
    assert_eq!(jason.unwrap(), "v2");
    let n = 400;
    let mut v1_hits = 0;
    for _ in 0..n {
        match echo(&ch).await.unwrap().as_str() {
            "v1" => v1_hits += 1,
            "v3" => {}
            other => panic!("unexpected backend {other}"),
        }
    }
    assert_share("v1 at 50 %", v1_hits, n, 0.5);

    // Weighted split change: 90/10.
    applied(&ch, || {
        let routes = vec![route_weighted(&[("c-v1", 90), ("c-v3", 10)])];
        cp.cache.set(ROUTE, "svc-routes", route_config("svc-routes", &["svc", "svc:80"], routes));
    })
    .await;
    let v1_hits = run(n, 8, {
        let ch = ch.clone();
        move |_| {
            let ch = ch.clone();
            async move { echo(&ch).await.unwrap() == "v1" }
        }
    })
    .await
    .into_iter()
    .filter(|x| *x)
    .count();
    assert_share("v1 at 90 %", v1_hits, n, 0.9);
}

async fn endpoints_change_under_traffic_without_failures(delta: bool) {
    let (a, b, _) = backends().await;
    let cp = ControlPlane::start().await;
    cp.cache.set(LISTENER, "svc:80", listener("svc:80", "svc-routes"));
    cp.cache.set(ROUTE, "svc-routes", route_config("svc-routes", &["svc:80"], vec![route_to("c")]));
    cp.cache.set(CLUSTER, "c", cluster_eds("c"));
    cp.cache.set(ENDPOINT, "c", endpoints("c", &[a.addr()]));
    let xds = client(&[cp.uri()], delta);
    let ch = MeshChannel::from_xds(&xds, TARGET).await.expect("channel");

    let stop = Arc::new(AtomicBool::new(false));
    let traffic: Vec<_> = (0..8)
        .map(|_| {
            let (ch, stop) = (ch.clone(), stop.clone());
            tokio::spawn(async move {
                let (mut ok, mut failed) = (0u32, Vec::new());
                while !stop.load(Ordering::Relaxed) {
                    match echo(&ch).await {
                        Ok(_) => ok += 1,
                        Err(e) => failed.push(e),
                    }
                }
                (ok, failed)
            })
        })
        .collect();
    for set in [vec![a.addr(), b.addr()], vec![b.addr()], vec![a.addr()], vec![a.addr(), b.addr()]] {
        applied(&ch, || cp.cache.set(ENDPOINT, "c", endpoints("c", &set))).await;
        // Let traffic run on each endpoint set (a signal: both ends saw requests).
        let hits = a.state().hits() + b.state().hits();
        tokio::time::timeout(Duration::from_secs(10), async {
            while a.state().hits() + b.state().hits() < hits + 200 {
                tokio::task::yield_now().await;
            }
        })
        .await
        .expect("traffic flows");
    }
    stop.store(true, Ordering::Relaxed);
    let mut total = 0;
    for t in traffic {
        let (ok, failed) = t.await.unwrap();
        assert!(failed.is_empty(), "{} requests failed, e.g. {:?}", failed.len(), failed.first());
        total += ok;
    }
    assert!(total > 800 && a.state().hits() > 0 && b.state().hits() > 0);
}

async fn a_bad_resource_is_nacked_and_its_valid_siblings_apply(delta: bool) {
    let (v1, v2, _) = backends().await;
    let cp = ControlPlane::start().await;
    seed(&cp.cache, &[&v1], route_weighted(&[("c-v1", 1), ("c-v2", 0), ("c-bad", 0)]));
    let mut server_events = cp.server.events();
    let xds = client(&[cp.uri()], delta);
    let mut client_events = xds.events();
    let ch = MeshChannel::from_xds(&xds, TARGET).await.expect("channel");
    assert_eq!(echo(&ch).await.unwrap(), "v1");
    let cds_version = cp.cache.version(CLUSTER);

    // One push carrying a valid new cluster (c-v2) and an invalid one (c-bad).
    let mut bad = envoy_types::pb::envoy::config::cluster::v3::Cluster {
        name: "c-bad".into(),
        lb_policy: envoy_types::pb::envoy::config::cluster::v3::cluster::LbPolicy::Maglev as i32,
        ..Default::default()
    };
    bad.cluster_discovery_type =
        Some(envoy_types::pb::envoy::config::cluster::v3::cluster::ClusterDiscoveryType::Type(
            envoy_types::pb::envoy::config::cluster::v3::cluster::DiscoveryType::Eds as i32,
        ));
    let mut all = std::collections::BTreeMap::new();
    all.insert("c-v1".to_string(), cluster_eds("c-v1"));
    all.insert("c-v2".to_string(), cluster_eds("c-v2"));
    all.insert("c-bad".to_string(), mesh_testkit::xds::any(&bad));
    cp.cache.set(ENDPOINT, "c-v2", endpoints("c-v2", &[v2.addr()]));
    cp.cache.set_all(CLUSTER, all);

    // The server sees a NACK naming c-bad, with the version the client kept and the
    // nonce of the response it rejects.
    let (pushed_nonce, nack) = tokio::time::timeout(Duration::from_secs(10), async {
        let mut pushed = None;
        loop {
            match server_events.recv().await.expect("events") {
                ServerEvent::Pushed { type_url, nonce, resources, .. }
                    if type_url == CLUSTER && resources.iter().any(|r| r == "c-bad") =>
                {
                    pushed = Some(nonce)
                }
                ServerEvent::Nack { type_url, version, nonce, error, .. } if type_url == CLUSTER => {
                    break (pushed, (version, nonce, error));
                }
                _ => {}
            }
        }
    })
    .await
    .expect("NACK in time");
    let (nack_version, nack_nonce, error) = nack;
    assert!(error.contains("c-bad"), "error_detail names the bad resource: {error}");
    assert_eq!(Some(nack_nonce), pushed_nonce, "the NACK echoes the rejected response's nonce");
    if !delta {
        assert_eq!(nack_version, cds_version, "SotW NACK carries the last ACKed version");
    }
    assert!(matches!(
        tokio::time::timeout(Duration::from_secs(5), async {
            loop {
                if let XdsEvent::Nack { error, .. } = client_events.recv().await.unwrap() {
                    break error;
                }
            }
        })
        .await,
        Ok(e) if e.contains("c-bad")
    ));

    let dump = xds.config_dump().await.unwrap().to_string();
    assert!(dump.contains("NACKED") && dump.contains("c-bad") && dump.contains("MAGLEV"), "{dump}");

    // The valid sibling applied: traffic can be moved to c-v2. (The NACK itself may also
    // republish the target, so wait for the configuration that has the new route.)
    let mut versions = ch.config().subscribe();
    cp.cache.set(ROUTE, "svc-routes", route_config("svc-routes", &["svc:80"], vec![route_to("c-v2")]));
    tokio::time::timeout(
        Duration::from_secs(10),
        versions.wait_for(|_| ch.config().snapshot().routes().virtual_hosts()[0].routes()[0].name() == "to-c-v2"),
    )
    .await
    .expect("route change applied")
    .unwrap();
    assert_eq!(echo(&ch).await.unwrap(), "v2");
}

async fn server_restart_keeps_traffic_and_resumes_updates(delta: bool) {
    let (v1, v2, _) = backends().await;
    let cp = ControlPlane::start().await;
    seed(&cp.cache, &[&v1, &v2], route_to("c-v1"));
    let xds = client(&[cp.uri()], delta);
    let mut events = xds.events();
    let ch = MeshChannel::from_xds(&xds, TARGET).await.expect("channel");
    assert_eq!(echo(&ch).await.unwrap(), "v1");

    let (cache, addr) = cp.kill();
    tokio::time::timeout(Duration::from_secs(10), async {
        while !matches!(events.recv().await.unwrap(), XdsEvent::Disconnected { .. }) {}
    })
    .await
    .expect("client notices");
    for _ in 0..50 {
        assert_eq!(echo(&ch).await.expect("last good config keeps serving"), "v1");
    }

    cache.set(ROUTE, "svc-routes", route_config("svc-routes", &["svc:80"], vec![route_to("c-v2")]));
    let cp = ControlPlane::serve(cache, addr).await;
    applied(&ch, || {}).await;
    assert_eq!(echo(&ch).await.unwrap(), "v2", "updates resume after the server is back");
    drop(cp);
}

async fn does_not_exist_fires_only_while_connected(delta: bool) {
    let dead = dead_addr().await;
    let xds = client(&[format!("http://{dead}")], delta);
    let mut events = xds.events();
    let mut watch = xds.watch("xds:///missing:80").await.unwrap();
    // Disconnected for 3× the timer: the resource must not be declared missing.
    let quiet = tokio::time::timeout(Duration::from_millis(1500), async {
        loop {
            if let XdsEvent::ResourceDoesNotExist { name, .. } = events.recv().await.unwrap() {
                break name;
            }
        }
    })
    .await;
    assert!(quiet.is_err(), "does-not-exist fired while disconnected: {quiet:?}");

    // A server that does not have it: once connected, the timer runs and fires.
    let cp = ControlPlane::serve(Arc::new(SnapshotCache::new()), dead).await;
    let name = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            if let XdsEvent::ResourceDoesNotExist { name, .. } = events.recv().await.unwrap() {
                break name;
            }
        }
    })
    .await
    .expect("fires once connected");
    assert_eq!(name, "missing:80");
    watch.wait_for(|s| matches!(s, mesh_xds::client::TargetState::Failed(_))).await.unwrap();
    assert!(MeshChannel::from_xds(&xds, "xds:///missing:80").await.is_err());
    drop(cp);
}

async fn falls_back_to_the_second_server_and_returns(delta: bool) {
    let (v1, v2, _) = backends().await;
    let primary_addr = dead_addr().await;
    let secondary = ControlPlane::start().await;
    seed(&secondary.cache, &[&v1, &v2], route_to("c-v1"));
    let xds = client(&[format!("http://{primary_addr}"), secondary.uri()], delta);
    let ch = MeshChannel::from_xds(&xds, TARGET).await.expect("served by the fallback");
    assert_eq!(echo(&ch).await.unwrap(), "v1");

    // The primary comes up with another route: the client goes back to it.
    let primary_cache = Arc::new(SnapshotCache::new());
    seed(&primary_cache, &[&v1, &v2], route_to("c-v2"));
    let mut rx = ch.config().subscribe();
    rx.borrow_and_update();
    let primary = ControlPlane::serve(primary_cache, primary_addr).await;
    tokio::time::timeout(Duration::from_secs(10), rx.changed()).await.expect("back on the primary").unwrap();
    assert_eq!(echo(&ch).await.unwrap(), "v2");
    drop((primary, secondary));
}

macro_rules! both {
    ($($name:ident),*) => {
        mod sotw {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(false).await })*
        }
        mod delta {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(true).await })*
        }
    };
}

both!(
    route_and_split_changes_apply_live,
    endpoints_change_under_traffic_without_failures,
    a_bad_resource_is_nacked_and_its_valid_siblings_apply,
    server_restart_keeps_traffic_and_resumes_updates,
    does_not_exist_fires_only_while_connected,
    falls_back_to_the_second_server_and_returns,
    deletions_are_visible_to_the_application
);

/// The same bootstrap JSON that grpc-go / grpcio read configures our client.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_grpc_bootstrap_file_configures_the_client() {
    let (v1, _, _) = backends().await;
    let cp = ControlPlane::start().await;
    seed(&cp.cache, &[&v1], route_to("c-v1"));
    for features in [r#"["xds_v3"]"#, r#"["xds_v3", "delta_xds"]"#] {
        let json = format!(
            r#"{{
              "xds_servers": [{{ "server_uri": "{}", "channel_creds": [{{ "type": "insecure" }}], "server_features": {features} }}],
              "node": {{ "id": "sidecar~127.0.0.1~reviews-v1.default~default.svc.cluster.local", "locality": {{ "zone": "a" }} }},
              "unknown_field_is_ignored": true
            }}"#,
            cp.addr
        );
        let dir = std::env::temp_dir().join(format!("mesh-bootstrap-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("bootstrap.json");
        std::fs::write(&file, json).unwrap();
        let bootstrap = mesh_xds::bootstrap::Bootstrap::from_file(&file).unwrap();
        assert_eq!(bootstrap.xds_servers[0].supports_delta(), features.contains("delta"));
        let xds = XdsClient::from_bootstrap(&bootstrap, options()).unwrap();
        let ch = MeshChannel::from_xds(&xds, TARGET).await.expect("channel");
        assert_eq!(echo(&ch).await.unwrap(), "v1");
        let node_seen = cp
            .server
            .clients()
            .iter()
            .any(|c| c.node_id.starts_with("sidecar~127.0.0.1") && c.delta == features.contains("delta"));
        assert!(node_seen, "the server sees the bootstrap's node over the chosen protocol");
        std::fs::remove_dir_all(&dir).ok();
    }
    // An invalid bootstrap names the field.
    let err =
        mesh_xds::bootstrap::Bootstrap::from_json(r#"{"xds_servers": [{"channel_creds": [{"type": "insecure"}]}]}"#)
            .expect_err("no server_uri");
    assert!(err.to_string().contains("xds_servers[0].server_uri"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logical_dns_clusters_are_resolved() {
    let (v1, _, _) = backends().await;
    let cp = ControlPlane::start().await;
    cp.cache.set(LISTENER, "svc:80", listener("svc:80", "svc-routes"));
    cp.cache.set(ROUTE, "svc-routes", route_config("svc-routes", &["svc:80"], vec![route_to("dns")]));
    let host = v1.addr().ip().to_string();
    cp.cache.set(CLUSTER, "dns", mesh_testkit::xds::cluster_logical_dns("dns", &host, v1.addr().port()));
    let xds = client(&[cp.uri()], false);
    let ch = MeshChannel::from_xds(&xds, TARGET).await.expect("channel");
    assert_eq!(echo(&ch).await.unwrap(), "v1");
}

async fn deletions_are_visible_to_the_application(delta: bool) {
    let (v1, v2, _) = backends().await;
    let cp = ControlPlane::start().await;
    seed(&cp.cache, &[&v1, &v2], route_weighted(&[("c-v1", 1), ("c-v2", 0)]));
    let xds = client(&[cp.uri()], delta);
    let mut events = xds.events();
    let ch = MeshChannel::from_xds(&xds, TARGET).await.expect("channel");
    assert_eq!(echo(&ch).await.unwrap(), "v1");

    // A cluster the routes still name is removed: an event, a counter, and requests
    // routed to it fail UNAVAILABLE (as gRPC does) instead of going elsewhere.
    applied(&ch, || cp.cache.remove(CLUSTER, "c-v1")).await;
    let deleted = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            if let XdsEvent::ResourceDeleted { type_url, name } = events.recv().await.unwrap() {
                break (type_url, name);
            }
        }
    })
    .await
    .expect("deletion event");
    assert_eq!(deleted, (CLUSTER.to_string(), "c-v1".to_string()));
    assert_eq!(echo(&ch).await.expect_err("cluster gone").code(), tonic::Code::Unavailable);
    assert_eq!(xds.stats().await.unwrap().deletions, 1);

    // The listener itself is removed: the target fails; requests no longer route.
    let mut watch = xds.watch(TARGET).await.unwrap();
    cp.cache.remove(LISTENER, "svc:80");
    tokio::time::timeout(
        Duration::from_secs(5),
        watch.wait_for(|s| matches!(s, mesh_xds::client::TargetState::Failed(_))),
    )
    .await
    .expect("target fails")
    .unwrap();
    // The channel installs an empty configuration (version "") once the target failed.
    let mut versions = ch.config().subscribe();
    tokio::time::timeout(Duration::from_secs(5), versions.wait_for(|v| v.is_empty()))
        .await
        .expect("routes removed")
        .unwrap();
    assert!(echo(&ch).await.is_err());
}
