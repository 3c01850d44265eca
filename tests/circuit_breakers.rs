//! Circuit breakers over real backends: `max_requests` fails the excess fast with a
//! typed overflow (and never sends it), `max_connections` + `max_pending_requests`
//! queue HTTP/1.1 requests for a connection and fail the excess, `max_retries` caps the
//! retries in progress. Backends hold requests at a gate the test opens, so every
//! "in flight" below is a fact, not a timing guess.

// Helpers outside #[test] functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::*;
use mesh::{Limit, MeshError};
use mesh_testkit::{Backend, Failure};
use tokio::sync::mpsc;

const ALL: &str = "      - route: { destinations: [{ cluster: svc }] }\n";

/// The next result, or a failure after 10 s (a broken limit must not hang the test).
async fn next<T>(rx: &mut mpsc::UnboundedReceiver<T>) -> T {
    tokio::time::timeout(Duration::from_secs(10), rx.recv()).await.expect("a result within 10 s").expect("open")
}

/// Waits (at most 10 s) until the backend has seen `n` requests.
async fn hits(b: &Backend, n: u64) {
    tokio::time::timeout(Duration::from_secs(10), b.state().wait_hits(n)).await.expect("requests arrive");
}

fn overflow_of(err: &(dyn std::error::Error + 'static)) -> Option<Limit> {
    match MeshError::find(err) {
        Some(MeshError::Overflow { cluster, limit }) if cluster == "svc" => Some(*limit),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_requests_fails_the_excess_fast_and_lets_the_rest_complete() {
    let b = Backend::grpc("a").await.unwrap();
    let ch = channel(&handle(&config(ALL, &[&b], "    circuit_breakers: { max_requests: 3 }\n")));
    b.state().hold_after(0);
    let (tx, mut rx) = mpsc::unbounded_channel();
    for _ in 0..5 {
        let (ch, tx) = (ch.clone(), tx.clone());
        tokio::spawn(async move { tx.send(echo(&ch).await).unwrap() });
    }
    // Three requests are held at the backend; the other two come back while they are.
    hits(&b, 3).await;
    for _ in 0..2 {
        let status = next(&mut rx).await.expect_err("over max_requests");
        assert_eq!(status.code(), tonic::Code::Unavailable);
        assert_eq!(overflow_of(&status), Some(Limit::MaxRequests), "{status:?}");
    }
    assert_eq!(b.state().hits(), 3, "an overflowed request is never sent");
    b.state().release();
    for _ in 0..3 {
        assert_eq!(next(&mut rx).await.expect("within the limit"), "a");
    }
    // The slots were released when the responses ended.
    assert_eq!(echo(&ch).await.unwrap(), "a");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_overflow_is_a_503_with_x_envoy_overloaded_and_is_not_retried() {
    let b = Backend::http("a").await.unwrap();
    let routes = "      - route: { destinations: [{ cluster: svc }], retries: { attempts: 3, retry_on: \"5xx,reset,connect-failure,refused-stream\" } }\n";
    let ch = channel(&handle(&config(routes, &[&b], "    circuit_breakers: { max_requests: 1 }\n")));
    b.state().hold_after(0);
    let held = tokio::spawn({
        let ch = ch.clone();
        async move { http(&ch, get("http://svc/held")).await.unwrap().0 }
    });
    hits(&b, 1).await;
    let err = tokio::time::timeout(Duration::from_secs(10), http(&ch, get("http://svc/x")))
        .await
        .expect("answered at once")
        .expect_err("over max_requests");
    assert_eq!(overflow_of(err.as_ref()), Some(Limit::MaxRequests), "{err}");
    let res = MeshError::find(err.as_ref()).unwrap().to_http_response();
    assert_eq!(res.status(), http::StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(res.headers()["x-envoy-overloaded"], "true");
    assert_eq!(b.state().hits(), 1, "neither sent nor retried");
    b.state().release();
    assert_eq!(held.await.unwrap(), http::StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http1_requests_wait_for_a_connection_and_the_pending_queue_is_bounded() {
    let b = Backend::http("a").await.unwrap();
    let limits = "    protocol: http1\n    circuit_breakers: { max_connections: 1, max_pending_requests: 1 }\n";
    let ch = channel(&handle(&config(ALL, &[&b], limits)));
    b.state().hold_after(0);
    let (tx, mut rx) = mpsc::unbounded_channel();
    let call = |path: &'static str| {
        let (ch, tx) = (ch.clone(), tx.clone());
        tokio::spawn(async move { tx.send(http(&ch, get(&format!("http://svc{path}"))).await.map(|r| r.0)).unwrap() });
    };
    // The first request opens the only connection and is held on it.
    call("/1");
    hits(&b, 1).await;
    // Of the next two, one finds no idle connection and no room for another, and waits
    // (pending); the other finds the pending queue full.
    call("/2");
    call("/3");
    let err = next(&mut rx).await.expect_err("pending queue full");
    assert_eq!(overflow_of(err.as_ref()), Some(Limit::MaxPendingRequests), "{err}");
    assert_eq!(b.state().hits(), 1, "one waits for the connection, the other never left");
    // When the first response ends, its connection is reused for the waiting request.
    b.state().release();
    for _ in 0..2 {
        assert_eq!(next(&mut rx).await.unwrap(), http::StatusCode::OK);
    }
    assert_eq!(b.state().hits(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_retries_caps_retries_in_progress() {
    let b = Backend::grpc("a").await.unwrap();
    let routes = "      - route: { destinations: [{ cluster: svc }], retries: { attempts: 3, retry_on: unavailable, base_interval: 1ms } }\n";
    let ch = channel(&handle(&config(routes, &[&b], "    circuit_breakers: { max_retries: 1 }\n")));
    // Two first attempts arrive and are held; both will fail.
    b.state().hold_after(0);
    b.state().fail_next(2, Failure::Unavailable);
    let (tx, mut rx) = mpsc::unbounded_channel();
    for _ in 0..2 {
        let (ch, tx) = (ch.clone(), tx.clone());
        tokio::spawn(async move { tx.send(echo(&ch).await).unwrap() });
    }
    hits(&b, 2).await;
    // Let both fail together; retries (hit 3 on) are held. Only one retry may be in
    // progress: the other request gets its failure back without retrying.
    b.state().hold_after(2);
    let refused = next(&mut rx).await;
    assert_eq!(refused.expect_err("not retried").code(), tonic::Code::Unavailable);
    hits(&b, 3).await;
    b.state().release();
    assert_eq!(next(&mut rx).await.expect("retried and served"), "a");
    assert_eq!(b.state().hits(), 3, "two first attempts and one retry");
}
