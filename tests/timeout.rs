//! Deadlines: per-try and overall timeouts, and gRPC's `grpc-timeout` honoured and
//! propagated.
//!
//! These use the real clock: tokio's paused clock auto-advances whenever the runtime
//! waits on a socket, which would fire timeouts while a real server is answering. The
//! bounds are one-sided and generous (a timeout of 100-200 ms against a backend that
//! holds for 30 s), so they cannot flake on a slow machine; timer arithmetic itself
//! (backoff, budgets) is tested with a paused clock in the unit tests.

mod common;

use std::time::Duration;

use common::*;
use mesh::{MeshError, TimeoutScope};
use mesh_testkit::Backend;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overall_timeout_answers_deadline_exceeded() {
    let slow = Backend::grpc("slow").await.unwrap();
    slow.state().set_hold(Duration::from_secs(30));
    let routes = "      - route: { destinations: [{ cluster: svc }], timeout: 200ms }\n";
    let ch = channel(&handle(&config(routes, &[&slow], "")));
    let (res, took) = timed(echo(&ch)).await;
    let status = res.expect_err("the backend holds 30 s");
    assert_eq!(status.code(), tonic::Code::DeadlineExceeded);
    assert!(matches!(MeshError::find(&status), Some(MeshError::Timeout { scope: TimeoutScope::Overall, .. })));
    assert!(took >= Duration::from_millis(200) && took < Duration::from_secs(10), "{took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_try_timeout_retries_on_another_endpoint() {
    let slow = Backend::grpc("slow").await.unwrap();
    let fast = Backend::grpc("fast").await.unwrap();
    slow.state().set_hold(Duration::from_secs(30));
    let routes = "      - route:\n          destinations: [{ cluster: svc }]\n          retries: { attempts: 3, retry_on: gateway-error, per_try_timeout: 100ms, base_interval: 1ms }\n";
    let ch = channel(&handle(&config(routes, &[&slow, &fast], "    lb: round_robin\n")));
    let (results, took) = timed(async {
        let mut out = Vec::new();
        for _ in 0..6 {
            out.push(echo(&ch).await);
        }
        out
    })
    .await;
    for r in &results {
        assert_eq!(r.as_ref().expect("retried to the fast endpoint"), "fast");
    }
    assert!(slow.state().hits() >= 3, "round robin sent attempts to the slow endpoint");
    assert!(took < Duration::from_secs(10), "{took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_try_timeout_without_retries_left_is_typed() {
    let slow = Backend::http("slow").await.unwrap();
    slow.state().set_hold(Duration::from_secs(30));
    let routes = "      - route:\n          destinations: [{ cluster: svc }]\n          retries: { attempts: 1, retry_on: 5xx, per_try_timeout: 100ms, base_interval: 1ms }\n";
    let ch = channel(&handle(&config(routes, &[&slow], "")));
    let err = http(&ch, get("http://svc/")).await.expect_err("both attempts time out");
    let mesh_err = MeshError::find(err.as_ref()).expect("MeshError");
    assert!(matches!(mesh_err, MeshError::Timeout { scope: TimeoutScope::PerTry, .. }), "{mesh_err:?}");
    assert_eq!(mesh_err.http_status(), http::StatusCode::GATEWAY_TIMEOUT);
    slow.state().wait_hits(2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_deadline_is_honoured_and_propagated() {
    let slow = Backend::grpc("slow").await.unwrap();
    slow.state().set_hold(Duration::from_secs(30));
    let fast = Backend::grpc("fast").await.unwrap();
    let routes = r#"      - match: { headers: [{ name: x-slow, present: true }] }
        route: { destinations: [{ cluster: svc, subset: v1 }] }
      - route: { destinations: [{ cluster: svc, subset: v2 }], timeout: 2s }
"#;
    let yaml = config(routes, &[], "").replace(
        "    endpoints:\n",
        &format!(
            "    endpoints:\n      - {{ address: \"{}\", labels: {{ version: v1 }} }}\n      - {{ address: \"{}\", labels: {{ version: v2 }} }}\n",
            slow.addr(),
            fast.addr()
        ),
    );
    let ch = channel(&handle(&yaml));

    // The caller's own deadline (no route timeout) is enforced by the mesh.
    let (res, took) = timed(echo_with(&ch, |r| {
        r.set_timeout(Duration::from_millis(150));
        r.metadata_mut().insert("x-slow", "1".parse().unwrap());
    }))
    .await;
    assert_eq!(res.expect_err("slow").code(), tonic::Code::DeadlineExceeded);
    assert!(took < Duration::from_secs(10));

    // The deadline sent to the server is the sooner of route timeout and caller deadline.
    let mut client = mesh_testkit::EchoClient::new(ch.clone());
    let mut req = tonic::Request::new(mesh_testkit::EchoRequest::default());
    req.set_timeout(Duration::from_millis(800));
    let seen = client.echo(req).await.expect("fast").into_inner().grpc_timeout;
    let seen = mesh::tower::client::timeout::parse_grpc_timeout(seen.as_bytes()).expect("grpc-timeout propagated");
    assert!(seen <= Duration::from_millis(800) && seen > Duration::from_millis(300), "{seen:?}");

    let seen = client.echo(mesh_testkit::EchoRequest::default()).await.expect("fast").into_inner().grpc_timeout;
    let seen = mesh::tower::client::timeout::parse_grpc_timeout(seen.as_bytes()).expect("route timeout propagated");
    assert!(seen <= Duration::from_secs(2) && seen > Duration::from_secs(1), "{seen:?}");
}
