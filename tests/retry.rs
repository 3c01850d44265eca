//! Retries: conditions, attempt limits, budgets, replayable bodies and connect failures.

mod common;

use bytes::Bytes;
use common::*;
use http_body_util::Full;
use mesh::MeshError;
use mesh_testkit::{Backend, Failure};

fn retry_route(retries: &str) -> String {
    format!(
        "      - name: r\n        route:\n          destinations: [{{ cluster: svc }}]\n          retries: {retries}\n"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_unavailable_is_retried_until_success() {
    let v1 = Backend::grpc("v1").await.unwrap();
    let cfg = handle(&config(&retry_route("{ attempts: 3, retry_on: unavailable, base_interval: 1ms }"), &[&v1], ""));
    let ch = channel(&cfg);
    v1.state().fail_next(2, Failure::Unavailable);
    assert_eq!(echo(&ch).await.expect("third attempt succeeds"), "v1");
    assert_eq!(v1.state().hits(), 3);

    // A code not in retry_on is returned at once.
    v1.state().fail_next(1, Failure::Internal);
    let status = echo(&ch).await.expect_err("INTERNAL is not retried");
    assert_eq!(status.code(), tonic::Code::Internal);
    assert_eq!(v1.state().hits(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_stop_at_the_attempt_limit() {
    let v1 = Backend::grpc("v1").await.unwrap();
    let cfg = handle(&config(&retry_route("{ attempts: 2, retry_on: unavailable, base_interval: 1ms }"), &[&v1], ""));
    v1.state().fail_all(Some(Failure::Unavailable));
    let status = echo(&channel(&cfg)).await.expect_err("always failing");
    assert_eq!(status.code(), tonic::Code::Unavailable);
    assert_eq!(v1.state().hits(), 3, "1 attempt + 2 retries");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_503_retried_and_body_replayed() {
    let v1 = Backend::http("v1").await.unwrap();
    let cfg = handle(&config(&retry_route("{ attempts: 2, retry_on: 5xx, base_interval: 1ms }"), &[&v1], ""));
    let ch = channel(&cfg);
    v1.state().fail_next(1, Failure::Unavailable);
    let body = Bytes::from(vec![b'x'; 1024]);
    let req = http::Request::post("http://svc/upload").body(Full::new(body)).unwrap();
    let (status, headers, _) = http(&ch, req).await.expect("retried");
    assert_eq!(status, http::StatusCode::OK);
    assert_eq!(headers.get("x-body-len").unwrap(), "1024", "the retry carried the whole body again");
    assert_eq!(v1.state().hits(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_over_the_replay_cap_are_never_retried() {
    let v1 = Backend::http("v1").await.unwrap();
    let cfg = handle(&config(&retry_route("{ attempts: 3, retry_on: 5xx, base_interval: 1ms }"), &[&v1], ""));
    let ch = channel(&cfg);
    v1.state().fail_next(1, Failure::Unavailable);
    let big = Bytes::from(vec![b'x'; 100 * 1024]);
    let req = http::Request::post("http://svc/upload").body(Full::new(big)).unwrap();
    let (status, _, _) = http(&ch, req).await.expect("a response");
    assert_eq!(status, http::StatusCode::SERVICE_UNAVAILABLE, "the failure is returned, not retried");
    assert_eq!(v1.state().hits(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_on_conditions_are_respected() {
    let v1 = Backend::http("v1").await.unwrap();
    let cfg = handle(&config(&retry_route("{ attempts: 3, retry_on: connect-failure }"), &[&v1], ""));
    v1.state().fail_next(1, Failure::Unavailable);
    let (status, _, _) = http(&channel(&cfg), get("http://svc/")).await.expect("response");
    assert_eq!(status, http::StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(v1.state().hits(), 1, "a 503 is not a connect failure");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_failures_are_retried_on_another_endpoint() {
    let live = Backend::grpc("live").await.unwrap();
    let dead = dead_addr().await;
    let yaml = format!(
        r#"virtual_hosts:
  - name: svc
    domains: [svc]
    routes:
      - route:
          destinations: [{{ cluster: svc }}]
          retries: {{ attempts: 4, retry_on: connect-failure, base_interval: 1ms }}
clusters:
  - name: svc
    lb: round_robin
    endpoints: [{{ address: "{dead}" }}, {{ address: "{}" }}]
"#,
        live.addr()
    );
    let ch = channel(&handle(&yaml));
    for _ in 0..20 {
        assert_eq!(echo(&ch).await.expect("retried to the live endpoint"), "live");
    }

    // Without retries the connect failure surfaces, typed.
    let yaml = yaml.replace("retries: { attempts: 4, retry_on: connect-failure, base_interval: 1ms }", "timeout: 5s");
    let ch = channel(&handle(&yaml));
    let mut failures = 0;
    for _ in 0..4 {
        if let Err(status) = echo(&ch).await {
            assert_eq!(status.code(), tonic::Code::Unavailable);
            assert!(matches!(MeshError::find(&status), Some(MeshError::Connect { addr, .. }) if *addr == dead));
            failures += 1;
        }
    }
    assert_eq!(failures, 2, "round robin sends every other request to the dead endpoint");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_budget_caps_retries_under_a_failing_backend() {
    let v1 = Backend::grpc("v1").await.unwrap();
    // 10 % extra load, a floor of 1 retry/s over a 10 s window (tower's TpsBudget
    // starts with min_per_sec * ttl = 10 retries in reserve).
    let cluster_extra = "    retry_budget: { budget_percent: 10, min_retries_per_sec: 1, ttl: 10s }\n";
    let cfg = handle(&config(
        &retry_route("{ attempts: 5, retry_on: unavailable, base_interval: 1ms }"),
        &[&v1],
        cluster_extra,
    ));
    let ch = channel(&cfg);
    v1.state().fail_all(Some(Failure::Unavailable));
    let n = 200u64;
    for _ in 0..n {
        let status = echo(&ch).await.expect_err("backend always fails");
        assert_eq!(status.code(), tonic::Code::Unavailable);
    }
    let retries = v1.state().hits() - n;
    // Without a budget: 5 retries each = 1000. With it: ≈ 10 % of 200 + reserve 10.
    assert!(retries > 0, "some retries are allowed");
    assert!(retries <= 20 + 10 + 2, "retries {retries} exceed the budget");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exhausted_budget_is_a_typed_error() {
    let dead = dead_addr().await;
    let yaml = format!(
        r#"virtual_hosts:
  - name: svc
    domains: [svc]
    routes:
      - route:
          destinations: [{{ cluster: svc }}]
          retries: {{ attempts: 3, retry_on: connect-failure, base_interval: 1ms }}
clusters:
  - name: svc
    retry_budget: {{ budget_percent: 0, min_retries_per_sec: 0 }}
    endpoints: [{{ address: "{dead}" }}]
"#
    );
    let ch = channel(&handle(&yaml));
    let status = echo(&ch).await.expect_err("nothing listens");
    assert_eq!(status.code(), tonic::Code::Unavailable);
    match MeshError::find(&status) {
        Some(MeshError::BudgetExhausted { cluster, last }) => {
            assert_eq!(cluster, "svc");
            assert!(matches!(**last, MeshError::Connect { addr, .. } if addr == dead), "{last:?}");
        }
        other => panic!("expected BudgetExhausted, got {other:?}"),
    }
    assert_eq!(MeshError::find(&status).map(MeshError::kind), Some(mesh::ErrorKind::BudgetExhausted));
}
