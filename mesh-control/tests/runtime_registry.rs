//! The registration API on the admin port: a registered workload becomes an EDS endpoint
//! of its service without any file change, and goes away when deregistered.
#![allow(clippy::unwrap_used)]

mod common;

use std::net::SocketAddr;

use common::*;

fn registration(address: &str) -> String {
    format!(
        r#"{{"service": "{HOST}", "address": "{address}", "ports": {{"http": 9080}},
            "labels": {{"app": "reviews", "version": "v1"}}}}"#
    )
}

#[tokio::test]
async fn registering_adds_an_endpoint_and_deregistering_removes_it() {
    let dir = fixture();
    let cp = start(&dir).await;
    let xds = client(&cp, false);
    let mut target = xds.watch(TARGET).await.unwrap();
    snapshot_where(&mut target, |s| has_endpoint(s, "10.0.0.1:9080".parse().unwrap())).await;
    let registered: SocketAddr = "10.0.0.9:9080".parse().unwrap();

    let created = http(cp.admin_addr(), "POST", "/v1/registrations", Some(&registration("10.0.0.9"))).await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.json()["address"], "10.0.0.9");
    let snapshot = snapshot_where(&mut target, |s| has_endpoint(s, registered)).await;
    assert!(has_endpoint(&snapshot, "10.0.0.1:9080".parse().unwrap()), "file endpoints stay");
    assert_eq!(cp.subscribe().borrow().reloads_ok, 1, "no file reload for a registration");

    // Posting it again replaces it (200), listing shows it once.
    let replaced = http(cp.admin_addr(), "POST", "/v1/registrations", Some(&registration("10.0.0.9"))).await;
    assert_eq!(replaced.status, 200);
    let list = get(cp.admin_addr(), "/v1/registrations").await;
    assert_eq!(list.status, 200);
    assert_eq!(list.json().as_array().unwrap().len(), 1);

    let path = format!("/v1/registrations?service={HOST}&address=10.0.0.9");
    assert_eq!(http(cp.admin_addr(), "DELETE", &path, None).await.status, 204);
    snapshot_where(&mut target, |s| !has_endpoint(s, registered)).await;
    assert_eq!(http(cp.admin_addr(), "DELETE", &path, None).await.status, 404);
    assert_eq!(get(cp.admin_addr(), "/v1/registrations").await.json(), serde_json::json!([]));
}

#[tokio::test]
async fn the_path_form_of_delete_works_too() {
    let dir = fixture();
    let cp = start(&dir).await;
    let generation = cp.config_version();
    assert_eq!(http(cp.admin_addr(), "POST", "/v1/registrations", Some(&registration("10.0.0.8"))).await.status, 201);
    status_where(&cp, |s| s.generation > generation).await;
    assert_eq!(cp.registry().list().len(), 1);
    let path = format!("/v1/registrations/{HOST}/10.0.0.8");
    assert_eq!(http(cp.admin_addr(), "DELETE", &path, None).await.status, 204);
    assert!(cp.registry().list().is_empty());
}

#[tokio::test]
async fn invalid_registrations_are_rejected_naming_the_field() {
    let dir = fixture();
    let cp = start(&dir).await;
    let cases = [
        (r#"{"address": "10.0.0.9", "ports": {"http": 9080}}"#, "service"),
        (r#"{"service": "reviews.mesh.internal", "address": "10.0.0", "ports": {"http": 9080}}"#, "address"),
        (r#"{"service": "reviews.mesh.internal", "address": "10.0.0.9", "ports": {}}"#, "ports"),
        (r#"{"service": "reviews.mesh.internal", "address": "10.0.0.9", "ports": {"http": 0}}"#, "ports.http"),
        (r#"{"service": "reviews.mesh.internal", "address": "10.0.0.9", "ports": {"http": 1}, "weight": 0}"#, "weight"),
        (r#"{"service": "Reviews!", "address": "10.0.0.9", "ports": {"http": 1}}"#, "service"),
        (r#"{"service": "a", "address": "10.0.0.9", "ports": {"http": 1}, "labelz": {}}"#, "labelz"),
        ("not json", "body"),
    ];
    for (body, field) in cases {
        let response = http(cp.admin_addr(), "POST", "/v1/registrations", Some(body)).await;
        assert_eq!(response.status, 400, "{body}");
        let json = response.json();
        assert_eq!(json["field"], field, "{body}: {json}");
        assert!(json["error"].as_str().unwrap().starts_with(&format!("{field}: ")), "{json}");
    }
    let missing = http(cp.admin_addr(), "DELETE", "/v1/registrations?service=x", None).await;
    assert_eq!((missing.status, missing.json()["field"].as_str()), (400, Some("address")));
    assert!(cp.registry().list().is_empty());
    assert_eq!(cp.config_version(), 1, "nothing was accepted");
}

#[tokio::test]
async fn registrations_apply_while_the_files_are_broken() {
    let dir = fixture();
    // A long debounce puts the registration and the broken write in one burst.
    let cp = builder(&dir).debounce(std::time::Duration::from_millis(300)).start().await.unwrap();
    let xds = client(&cp, false);
    let mut target = xds.watch(TARGET).await.unwrap();
    snapshot_where(&mut target, |s| has_endpoint(s, "10.0.0.1:9080".parse().unwrap())).await;

    assert_eq!(http(cp.admin_addr(), "POST", "/v1/registrations", Some(&registration("10.0.0.7"))).await.status, 201);
    dir.write("broken.yaml", INVALID_VIRTUAL_SERVICE);
    // The files are rejected, the registration is served on top of the last valid config.
    snapshot_where(&mut target, |s| has_endpoint(s, "10.0.0.7:9080".parse().unwrap())).await;
    let status = status_where(&cp, |s| s.has_errors()).await;
    assert_eq!((status.reloads_ok, status.reloads_error), (1, 1));

    // And later ones too, without touching the files.
    assert_eq!(http(cp.admin_addr(), "POST", "/v1/registrations", Some(&registration("10.0.0.6"))).await.status, 201);
    snapshot_where(&mut target, |s| has_endpoint(s, "10.0.0.6:9080".parse().unwrap())).await;
    assert!(cp.subscribe().borrow().has_errors(), "the errors stay until the files are fixed");
}
