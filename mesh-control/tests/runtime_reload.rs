//! The running control plane against a real directory of Istio YAML and a real xDS client:
//! what the files say is what the client gets, file edits are pushed, invalid edits are
//! rejected without touching what is served, and bursts of writes are debounced.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::*;
use mesh_control::runtime::StartError;
use mesh_xds::type_url::ROUTE;

#[tokio::test]
async fn client_gets_the_listener_and_routes_from_the_files() {
    let dir = fixture();
    let cp = start(&dir).await;
    assert_eq!(cp.config_version(), 1);
    assert!(cp.cache().names(mesh_xds::type_url::LISTENER).contains(&LISTENER.to_owned()));

    for delta in [false, true] {
        let xds = client(&cp, delta);
        let mut target = xds.watch(TARGET).await.unwrap();
        let snapshot = snapshot_where(&mut target, |s| !routed_clusters(s).is_empty()).await;
        assert_eq!(routed_clusters(&snapshot), [cluster("v1")], "delta={delta}");
        assert!(has_endpoint(&snapshot, "10.0.0.1:9080".parse().unwrap()), "delta={delta}");
    }
}

#[tokio::test]
async fn editing_the_virtual_service_pushes_new_routes() {
    let dir = fixture();
    let cp = start(&dir).await;
    let xds = client(&cp, false);
    let mut target = xds.watch(TARGET).await.unwrap();
    snapshot_where(&mut target, |s| routed_clusters(s) == [cluster("v1")]).await;
    let routes_version = cp.cache().version(ROUTE);

    dir.write("routes/reviews.yaml", &virtual_service("v2", 5));
    let snapshot = snapshot_where(&mut target, |s| routed_clusters(s) == [cluster("v2")]).await;
    assert!(has_endpoint(&snapshot, "10.0.0.2:9080".parse().unwrap()));
    assert_ne!(cp.cache().version(ROUTE), routes_version);
    let status = status_where(&cp, |s| s.generation >= 2).await;
    assert_eq!(status.reloads_ok, 2);
    assert!(status.errors.is_empty());
}

#[tokio::test]
async fn an_invalid_file_keeps_the_last_valid_config_and_reports_every_problem() {
    let dir = fixture();
    let cp = start(&dir).await;
    let xds = client(&cp, false);
    let mut target = xds.watch(TARGET).await.unwrap();
    snapshot_where(&mut target, |s| routed_clusters(s) == [cluster("v1")]).await;
    let routes_version = cp.cache().version(ROUTE);
    let generation = cp.config_version();

    dir.write("broken.yaml", INVALID_VIRTUAL_SERVICE);
    let status = status_where(&cp, |s| s.has_errors()).await;
    assert_eq!(status.reloads_error, 1);
    assert_eq!(status.generation, generation, "a rejected load is not a new generation");
    assert!(
        status.errors.iter().any(|e| e.contains("broken.yaml:") && e.contains("VirtualService/default/broken")),
        "{:?}",
        status.errors
    );
    assert_eq!(cp.cache().version(ROUTE), routes_version, "nothing pushed");
    assert_eq!(cp.config_version(), generation);

    // The admin side says so too.
    let metrics = get(cp.admin_addr(), "/metrics").await.body;
    assert!(metric(&metrics, "mesh_control_config_errors").unwrap() >= 1.0, "{metrics}");
    assert_eq!(metric(&metrics, "mesh_control_config_reloads_total{result=\"error\"}"), Some(1.0));
    let dump = get(cp.admin_addr(), "/debug/config_dump").await.json();
    assert!(dump["config"]["errors"][0].as_str().unwrap().contains("broken.yaml:"), "{dump}");

    // Still serving the previous config, and an edit of a valid file is still refused while
    // the broken one is there (all or nothing).
    dir.write("routes/reviews.yaml", &virtual_service("v2", 5));
    status_where(&cp, |s| s.reloads_error >= 2).await;
    assert_eq!(cp.cache().version(ROUTE), routes_version);

    // Fixing it applies everything and clears the errors.
    dir.remove("broken.yaml");
    let status = status_where(&cp, |s| !s.has_errors() && s.generation > generation).await;
    assert_eq!(status.reloads_ok, 2);
    snapshot_where(&mut target, |s| routed_clusters(s) == [cluster("v2")]).await;
    let metrics = get(cp.admin_addr(), "/metrics").await.body;
    assert_eq!(metric(&metrics, "mesh_control_config_errors"), Some(0.0));
}

#[tokio::test]
async fn a_burst_of_writes_causes_few_reloads() {
    let dir = fixture();
    let cp = builder(&dir).debounce(Duration::from_millis(250)).start().await.unwrap();
    let xds = client(&cp, false);
    let mut target = xds.watch(TARGET).await.unwrap();
    snapshot_where(&mut target, |s| routed_clusters(s) == [cluster("v1")]).await;
    let before = cp.subscribe().borrow().reloads_ok;

    for i in 1..=20 {
        let subset = if i % 2 == 0 { "v2" } else { "v1" };
        dir.write("routes/reviews.yaml", &virtual_service(subset, i));
    }
    // The last write (20 s timeout, v2) is what ends up served...
    let last = Some(Duration::from_secs(20));
    snapshot_where(&mut target, |s| {
        s.routes().virtual_hosts().iter().flat_map(|vh| vh.routes()).any(|r| r.action().timeout == last)
    })
    .await;
    // ... after far fewer reloads than writes.
    let reloads = cp.subscribe().borrow().reloads_ok - before;
    assert!((1..=3).contains(&reloads), "{reloads} reloads for 20 writes");
}

#[tokio::test]
async fn new_and_deleted_files_are_picked_up() {
    let dir = TempDir::new();
    dir.write("service.yaml", SERVICE);
    let cp = start(&dir).await;
    let objects = cp.subscribe().borrow().objects.len();
    assert_eq!(objects, 4);

    dir.write("nested/deeper/vs.yml", &virtual_service("v2", 1));
    let status = status_where(&cp, |s| s.objects.len() == objects + 1).await;
    assert!(status.objects.iter().any(|o| o.kind == "VirtualService" && o.source.contains("vs.yml:")));

    dir.remove("nested/deeper/vs.yml");
    status_where(&cp, |s| s.objects.len() == objects).await;
}

#[tokio::test]
async fn polling_watches_too() {
    let dir = fixture();
    let cp = builder(&dir).poll_interval(Duration::from_millis(50)).start().await.unwrap();
    dir.write("routes/reviews.yaml", &virtual_service("v2", 5));
    status_where(&cp, |s| s.reloads_ok == 2).await;
}

#[tokio::test]
async fn reload_applies_now() {
    let dir = fixture();
    // A debounce far longer than the test: only the explicit reload can apply the change.
    let cp = builder(&dir).debounce(Duration::from_secs(3600)).start().await.unwrap();
    dir.write("broken.yaml", INVALID_VIRTUAL_SERVICE);
    cp.reload().await;
    let status = cp.subscribe().borrow().clone();
    assert!(status.has_errors());
    assert_eq!(status.reloads_error, 1);
}

#[tokio::test]
async fn an_invalid_config_at_start_is_an_error_with_every_issue() {
    let dir = fixture();
    dir.write("broken.yaml", INVALID_VIRTUAL_SERVICE);
    dir.write(
        "also-broken.yaml",
        "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: x}\nspec: {htp: []}\n",
    );
    match builder(&dir).start().await {
        Err(StartError::Config(issues)) => {
            assert!(issues.len() >= 2, "{issues:?}");
            let rendered: Vec<String> = issues.iter().map(ToString::to_string).collect();
            assert!(rendered.iter().any(|l| l.contains("broken.yaml:")), "{rendered:?}");
            assert!(rendered.iter().any(|l| l.contains("also-broken.yaml:")), "{rendered:?}");
        }
        Err(other) => panic!("unexpected error {other}"),
        Ok(_) => panic!("an invalid config started"),
    }
}

#[tokio::test]
async fn shutdown_closes_client_streams_and_the_ports() {
    let dir = fixture();
    let cp = start(&dir).await;
    let xds = client(&cp, false);
    let mut events = xds.events();
    let mut target = xds.watch(TARGET).await.unwrap();
    snapshot_where(&mut target, |s| !routed_clusters(s).is_empty()).await;
    let (xds_addr, admin_addr) = (cp.xds_addr(), cp.admin_addr());

    tokio::time::timeout(WAIT, cp.shutdown()).await.expect("shutdown in time");
    tokio::time::timeout(WAIT, async {
        while !matches!(events.recv().await, Ok(mesh_xds::client::XdsEvent::Disconnected { .. })) {}
    })
    .await
    .expect("the client saw its stream end");
    assert!(tokio::net::TcpStream::connect(xds_addr).await.is_err());
    assert!(tokio::net::TcpStream::connect(admin_addr).await.is_err());
}
