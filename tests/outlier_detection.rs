//! Outlier detection over real backends: an endpoint answering 5xx (HTTP 503, gRPC
//! UNAVAILABLE trailers-only) or refusing connections is ejected after the configured
//! run of failures and gets no traffic until its ejection time is over; at most
//! `max_ejection_percent` of the endpoints are ejected; ejections survive a new
//! configuration. Ejection is observed through the responses themselves (`x-served-by`)
//! and `ConfigHandle::ejected_endpoints`, never through sleeps.

// Helpers outside #[test] functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use common::*;
use mesh::{ConfigHandle, MeshChannel};
use mesh_testkit::{Backend, Failure};

/// Round robin over the backends, so that every endpoint gets its share.
fn yaml(backends: &[&Backend], outlier: &str) -> String {
    config(
        "      - route: { destinations: [{ cluster: svc }] }\n",
        backends,
        &format!("    lb: round_robin\n    outlier_detection: {outlier}\n"),
    )
}

/// One HTTP request; returns who served it (`x-served-by`) and the status.
async fn served_by(ch: &MeshChannel) -> (String, u16) {
    let (status, headers, _) = http(ch, get("http://svc/")).await.unwrap();
    (headers["x-served-by"].to_str().unwrap().to_string(), status.as_u16())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_endpoint_is_ejected_and_returns_after_the_ejection_time() {
    let (good, bad) = (Backend::http("good").await.unwrap(), Backend::http("bad").await.unwrap());
    bad.state().fail_all(Some(Failure::Unavailable));
    let base = Duration::from_millis(500);
    let cfg = handle(&yaml(
        &[&good, &bad],
        "{ consecutive_5xx: 3, interval: 50ms, base_ejection_time: 500ms, max_ejection_percent: 50 }",
    ));
    let ch = channel(&cfg);

    // Until "bad" has answered three 503s in a row. The ejection happens when the third
    // response is charged, before it is returned: its send time bounds it from below.
    let mut ejected_after = None;
    for _ in 0..20 {
        let sent = Instant::now();
        let (by, status) = served_by(&ch).await;
        if by == "bad" {
            assert_eq!(status, 503);
            if bad.state().hits() == 3 {
                ejected_after = Some(sent);
                break;
            }
        }
    }
    let ejected_after = ejected_after.expect("bad served three requests");
    assert_eq!(cfg.ejected_endpoints("svc"), [bad.addr()]);

    // From now on only "good" serves, until the ejection time is over.
    let mut to_good = 0;
    let back = loop {
        let (by, _) = served_by(&ch).await;
        if by == "bad" {
            break Instant::now();
        }
        to_good += 1;
        assert!(ejected_after.elapsed() < Duration::from_secs(15), "bad never came back");
    };
    let out_for = back - ejected_after;
    assert!(out_for >= base, "bad got traffic after {out_for:?}, before its {base:?} ejection ended");
    assert!(to_good > 0);
    assert_eq!(bad.state().hits(), 4, "no request reached bad while it was ejected");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_ejection_percent_leaves_half_of_two_failing_endpoints() {
    let (a, b) = (Backend::http("a").await.unwrap(), Backend::http("b").await.unwrap());
    a.state().fail_all(Some(Failure::Unavailable));
    b.state().fail_all(Some(Failure::Internal));
    let cfg = handle(&yaml(&[&a, &b], "{ consecutive_5xx: 2, base_ejection_time: 60s, max_ejection_percent: 50 }"));
    let ch = channel(&cfg);
    for _ in 0..10 {
        served_by(&ch).await;
    }
    let ejected = cfg.ejected_endpoints("svc");
    assert_eq!(ejected.len(), 1, "2 of 2 would be 100 % > 50 %: {ejected:?}");
    let left = if ejected[0] == a.addr() { "b" } else { "a" };
    for _ in 0..10 {
        assert_eq!(served_by(&ch).await.0, left, "the ejected endpoint gets nothing");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_unavailable_counts_as_a_gateway_error_and_internal_does_not() {
    let (good, bad) = (Backend::grpc("good").await.unwrap(), Backend::grpc("bad").await.unwrap());
    // Only gateway errors (502/503/504) eject; a trailers-only grpc-status is charged as
    // Envoy maps it: INTERNAL is 500, UNAVAILABLE is 503.
    let od = "{ consecutive_5xx: 0, consecutive_gateway_failure: 3, enforcing_consecutive_gateway_failure: 100, base_ejection_time: 60s, max_ejection_percent: 50 }";
    let cfg = handle(&yaml(&[&good, &bad], od));
    let ch = channel(&cfg);
    bad.state().fail_all(Some(Failure::Internal));
    for _ in 0..20 {
        let _ = echo(&ch).await;
    }
    assert!(cfg.ejected_endpoints("svc").is_empty(), "INTERNAL (500) is not a gateway error");
    bad.state().fail_all(Some(Failure::Unavailable));
    let before = bad.state().hits();
    while bad.state().hits() < before + 3 {
        let _ = echo(&ch).await;
    }
    assert_eq!(cfg.ejected_endpoints("svc"), [bad.addr()]);
    for _ in 0..20 {
        assert_eq!(echo(&ch).await.unwrap(), "good");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_connections_eject_and_ejections_survive_a_new_configuration() {
    let good = Backend::grpc("good").await.unwrap();
    let dead = dead_addr().await;
    let yaml = |version: &str, extra: &str| {
        format!(
            "version: {version}\nvirtual_hosts: [{{ name: svc, domains: [svc], routes: [{{ route: {{ destinations: [{{ cluster: svc }}] }} }}] }}]\nclusters:\n  - name: svc\n    lb: round_robin\n    outlier_detection: {{ consecutive_5xx: 2, base_ejection_time: 60s, max_ejection_percent: 50 }}\n    endpoints:\n      - {{ address: \"{}\" }}\n      - {{ address: \"{dead}\" }}\n{extra}",
            good.addr()
        )
    };
    let cfg = ConfigHandle::new(mesh::core::config::from_yaml(&yaml("1", "")).unwrap());
    let ch = channel(&cfg);
    // A refused connection is a local-origin failure, counted as a 503.
    let mut failures = 0;
    while failures < 2 {
        if echo(&ch).await.is_err() {
            failures += 1;
        }
    }
    assert_eq!(cfg.ejected_endpoints("svc"), [dead]);
    for _ in 0..10 {
        assert_eq!(echo(&ch).await.unwrap(), "good");
    }
    // A new configuration (another endpoint added) keeps the ejection of one that stays.
    let other = Backend::grpc("other").await.unwrap();
    cfg.update(
        mesh::core::config::from_yaml(&yaml("2", &format!("      - {{ address: \"{}\" }}\n", other.addr()))).unwrap(),
    );
    assert_eq!(cfg.ejected_endpoints("svc"), [dead]);
    for _ in 0..20 {
        assert!(echo(&ch).await.is_ok(), "the dead endpoint stays ejected");
    }
    assert!(other.state().hits() > 0, "the new endpoint serves");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ejecting_the_last_endpoint_of_a_priority_fails_over_to_the_next() {
    let (primary, backup) = (Backend::http("primary").await.unwrap(), Backend::http("backup").await.unwrap());
    primary.state().fail_all(Some(Failure::Unavailable));
    let yaml = format!(
        "virtual_hosts: [{{ name: svc, domains: [svc], routes: [{{ route: {{ destinations: [{{ cluster: svc }}] }} }}] }}]\nclusters:\n  - name: svc\n    outlier_detection: {{ consecutive_5xx: 2, base_ejection_time: 60s, max_ejection_percent: 50 }}\n    endpoints:\n      - {{ address: \"{}\" }}\n      - {{ address: \"{}\", priority: 1 }}\n",
        primary.addr(),
        backup.addr()
    );
    let cfg = handle(&yaml);
    let ch = channel(&cfg);
    for _ in 0..2 {
        assert_eq!(served_by(&ch).await, ("primary".to_string(), 503), "priority 0 serves while it is there");
    }
    assert_eq!(cfg.ejected_endpoints("svc"), [primary.addr()]);
    for _ in 0..10 {
        assert_eq!(served_by(&ch).await, ("backup".to_string(), 200), "an ejected endpoint is not serving");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_attempt_abandoned_at_its_per_try_timeout_counts_as_a_gateway_failure() {
    let (slow, fast) = (Backend::http("slow").await.unwrap(), Backend::http("fast").await.unwrap());
    slow.state().set_hold(Duration::from_secs(5));
    let od = "{ consecutive_5xx: 0, consecutive_gateway_failure: 2, enforcing_consecutive_gateway_failure: 100, base_ejection_time: 60s, max_ejection_percent: 50 }";
    let yaml = config(
        "      - route: { destinations: [{ cluster: svc }], retries: { attempts: 1, retry_on: gateway-error, per_try_timeout: 50ms } }\n",
        &[&slow, &fast],
        &format!("    lb: round_robin\n    outlier_detection: {od}\n"),
    );
    let cfg = handle(&yaml);
    let ch = channel(&cfg);
    // Each attempt on "slow" times out and is retried on "fast".
    while slow.state().hits() < 2 {
        assert_eq!(served_by(&ch).await, ("fast".to_string(), 200));
    }
    assert_eq!(cfg.ejected_endpoints("svc"), [slow.addr()], "two timeouts in a row (504s)");
    for _ in 0..10 {
        assert_eq!(served_by(&ch).await.0, "fast");
    }
    assert_eq!(slow.state().hits(), 2);
}
