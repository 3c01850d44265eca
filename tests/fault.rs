//! Fault injection: aborts (HTTP and gRPC) and delays, at 100 % and at a percentage.

mod common;

use std::time::Duration;

use common::*;
use mesh_testkit::Backend;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_abort_answers_with_the_status_and_never_reaches_the_backend() {
    let v1 = Backend::grpc("v1").await.unwrap();
    let routes =
        "      - route: { destinations: [{ cluster: svc }], fault: { abort: { grpc_status: 14, percentage: 100 } } }\n";
    let ch = channel(&handle(&config(routes, &[&v1], "")));
    for _ in 0..20 {
        assert_eq!(echo(&ch).await.expect_err("aborted").code(), tonic::Code::Unavailable);
    }
    assert_eq!(v1.state().hits(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_abort_percentage_is_respected() {
    let v1 = Backend::http("v1").await.unwrap();
    let routes =
        "      - route: { destinations: [{ cluster: svc }], fault: { abort: { http_status: 503, percentage: 30 } } }\n";
    let ch = channel(&handle(&config(routes, &[&v1], "")));
    let n = 1_000;
    let statuses = run(n, 16, {
        let ch = ch.clone();
        move |_| {
            let ch = ch.clone();
            async move { http(&ch, get("http://svc/")).await.expect("response").0 }
        }
    })
    .await;
    let aborted = statuses.iter().filter(|s| **s == http::StatusCode::SERVICE_UNAVAILABLE).count();
    assert_eq!(aborted + statuses.iter().filter(|s| **s == http::StatusCode::OK).count(), n);
    assert_share("aborted", aborted, n, 0.3);
    assert_eq!(v1.state().hits() as usize, n - aborted, "aborted requests never reach the backend");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delay_applies_to_the_configured_share() {
    let v1 = Backend::grpc("v1").await.unwrap();
    let delay = Duration::from_millis(300);
    let routes = "      - route: { destinations: [{ cluster: svc }], fault: { delay: { fixed_delay: 300ms, percentage: 50 } } }\n";
    let ch = channel(&handle(&config(routes, &[&v1], "")));
    let n = 400;
    // All in flight at once: the run takes about one delay, not n of them.
    let took = run(n, n, {
        let ch = ch.clone();
        move |_| {
            let ch = ch.clone();
            async move {
                let (r, took) = timed(echo(&ch)).await;
                r.expect("delayed, not failed");
                took
            }
        }
    })
    .await;
    let delayed = took.iter().filter(|t| **t >= delay).count();
    assert_share("delayed", delayed, n, 0.5);

    let routes = "      - route: { destinations: [{ cluster: svc }], fault: { delay: { fixed_delay: 300ms, percentage: 100 } } }\n";
    let ch = channel(&handle(&config(routes, &[&v1], "")));
    let (r, took) = timed(echo(&ch)).await;
    assert_eq!(r.expect("ok"), "v1");
    assert!(took >= delay, "{took:?}");
}
