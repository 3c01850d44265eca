//! Configuration swaps: atomic, under load, without losing a request; in-flight
//! requests finish on the configuration they started with; a bad file changes nothing.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use common::*;
use mesh_testkit::Backend;

fn to(subset: &str) -> String {
    format!("      - route: {{ destinations: [{{ cluster: svc, subset: {subset} }}] }}\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn swaps_under_concurrent_traffic_lose_no_request() {
    let (v1, v2) = (Backend::grpc("v1").await.unwrap(), Backend::grpc("v2").await.unwrap());
    // Config A: only v1 exists. Config B: only v2 exists (v1's endpoint is removed).
    let a = mesh::core::config::from_yaml(&config(&to("v1"), &[&v1], "")).unwrap();
    let b = mesh::core::config::from_yaml(&config(&to("v2"), &[&v2], "")).unwrap();
    let cfg = mesh::ConfigHandle::new(a.clone());
    let ch = channel(&cfg);

    let stop = Arc::new(AtomicBool::new(false));
    let swapper = tokio::spawn({
        let (cfg, stop) = (cfg.clone(), stop.clone());
        async move {
            let mut swaps = 0;
            while !stop.load(Ordering::Relaxed) && swaps < 2_000 {
                cfg.update(if swaps % 2 == 0 { b.clone() } else { a.clone() });
                swaps += 1;
                tokio::task::yield_now().await;
            }
            swaps
        }
    });
    let results = run(3_000, 16, {
        let ch = ch.clone();
        move |_| {
            let ch = ch.clone();
            async move { echo(&ch).await }
        }
    })
    .await;
    stop.store(true, Ordering::Relaxed);
    let swaps = swapper.await.unwrap();
    let failed: Vec<_> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert!(failed.is_empty(), "{} of {} failed, e.g. {:?}", failed.len(), results.len(), failed.first());
    assert!(swaps > 10, "only {swaps} swaps happened during the run");
    assert!(v1.state().hits() > 0 && v2.state().hits() > 0, "both configurations served traffic");
    assert_eq!(v1.state().hits() + v2.state().hits(), 3_000, "nothing duplicated");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_flight_requests_finish_on_their_configuration() {
    let (v1, v2) = (Backend::grpc("v1").await.unwrap(), Backend::grpc("v2").await.unwrap());
    v1.state().set_hold(Duration::from_millis(300));
    let cfg = handle(&config(&to("v1"), &[&v1], ""));
    let ch = channel(&cfg);

    let pending = tokio::spawn({
        let ch = ch.clone();
        async move { echo(&ch).await }
    });
    v1.state().wait_hits(1).await;
    // Swap to a configuration in which v1 no longer exists at all.
    cfg.update(mesh::core::config::from_yaml(&config(&to("v2"), &[&v2], "")).unwrap());
    assert_eq!(echo(&ch).await.unwrap(), "v2", "new requests use the new configuration");
    assert_eq!(pending.await.unwrap().unwrap(), "v1", "the request in flight finishes where it started");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_file_keeps_the_last_good_configuration() {
    let (v1, v2) = (Backend::grpc("v1").await.unwrap(), Backend::grpc("v2").await.unwrap());
    let dir = std::env::temp_dir().join(format!("mesh-swap-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("mesh.yaml");
    std::fs::write(&file, config(&to("v1"), &[&v1, &v2], "")).unwrap();
    let cfg = mesh::ConfigHandle::from_file(&file).unwrap();
    let ch = channel(&cfg);
    assert_eq!(echo(&ch).await.unwrap(), "v1");

    // A subset that does not exist: rejected with the field path, nothing changes.
    std::fs::write(&file, config(&to("v9"), &[&v1, &v2], "")).unwrap();
    let err = cfg.reload_file(&file).expect_err("v9 is not defined");
    let msg = err.to_string();
    assert!(msg.contains("mesh.yaml") && msg.contains("routes[0].route.destinations[0].subset"), "{msg}");
    assert_eq!(echo(&ch).await.unwrap(), "v1");

    // A good edit applies, and subscribers hear of it.
    let mut versions = cfg.subscribe();
    std::fs::write(&file, config(&to("v2"), &[&v1, &v2], "").replace("version: test", "version: two")).unwrap();
    cfg.reload_file(&file).unwrap();
    assert_eq!(&*versions.borrow_and_update(), "two");
    assert_eq!(echo(&ch).await.unwrap(), "v2");
    std::fs::remove_dir_all(&dir).ok();
}
