//! Shared helpers for the integration tests: configuration text, channels and calls.
//! Every test talks to real tonic / axum servers on 127.0.0.1 through real sockets.
#![allow(dead_code, unreachable_pub, missing_docs)]

pub mod mesh_ca;

use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use mesh::{ConfigHandle, MeshChannel};
use mesh_testkit::{Backend, EchoClient, EchoRequest};
use tower::ServiceExt;

/// `endpoints:` YAML lines for backends labelled with their names as `version`.
pub fn endpoints(backends: &[&Backend]) -> String {
    backends
        .iter()
        .map(|b| format!("      - {{ address: \"{}\", labels: {{ version: {} }} }}\n", b.addr(), b.state().name()))
        .collect()
}

/// A cluster `svc` with subsets v1..v3 and the given backends.
pub fn cluster(backends: &[&Backend], extra: &str) -> String {
    format!(
        "clusters:\n  - name: svc\n{extra}    subsets:\n      - {{ name: v1, labels: {{ version: v1 }} }}\n      - {{ name: v2, labels: {{ version: v2 }} }}\n      - {{ name: v3, labels: {{ version: v3 }} }}\n    endpoints:\n{}",
        endpoints(backends)
    )
}

/// A config whose single virtual host `svc` has these routes (YAML list items,
/// indented by 6) and cluster `svc` over the backends.
pub fn config(routes: &str, backends: &[&Backend], cluster_extra: &str) -> String {
    format!(
        "version: test\nvirtual_hosts:\n  - name: svc\n    domains: [\"svc\", \"*.svc.example.com\"]\n    routes:\n{routes}{}",
        cluster(backends, cluster_extra)
    )
}

pub fn handle(yaml: &str) -> ConfigHandle {
    ConfigHandle::new(mesh::core::config::from_yaml(yaml).unwrap_or_else(|e| panic!("config invalid: {e}\n{yaml}")))
}

pub fn channel(config: &ConfigHandle) -> MeshChannel {
    MeshChannel::builder(config.clone()).authority("svc").expect("authority").build()
}

/// One unary Echo call; returns the name of the backend that answered.
pub async fn echo(ch: &MeshChannel) -> Result<String, tonic::Status> {
    echo_with(ch, |_| {}).await
}

pub async fn echo_with(
    ch: &MeshChannel,
    f: impl FnOnce(&mut tonic::Request<EchoRequest>),
) -> Result<String, tonic::Status> {
    let mut req = tonic::Request::new(EchoRequest { payload: Bytes::from_static(b"ping") });
    f(&mut req);
    let reply = EchoClient::new(ch.clone()).echo(req).await?;
    Ok(reply.into_inner().server)
}

/// A plain HTTP request through the channel.
pub async fn http(
    ch: &MeshChannel,
    req: http::Request<Full<Bytes>>,
) -> Result<(http::StatusCode, http::HeaderMap, Bytes), mesh::BoxError> {
    let res = ch.clone().oneshot(req).await?;
    let status = res.status();
    let headers = res.headers().clone();
    let body = res.into_body().collect().await?.to_bytes();
    Ok((status, headers, body))
}

pub fn get(uri: &str) -> http::Request<Full<Bytes>> {
    http::Request::get(uri).body(Full::new(Bytes::new())).expect("request")
}

/// Runs `n` calls of `f` with `concurrency` in flight; returns results in order of completion.
pub async fn run<F, Fut, T>(n: usize, concurrency: usize, f: F) -> Vec<T>
where
    F: Fn(usize) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = T> + Send,
    T: Send + 'static,
{
    let next = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (f, next) = (f.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut out = Vec::new();
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= n {
                    break out;
                }
                out.push(f(i).await);
            }
        }));
    }
    let mut all = Vec::with_capacity(n);
    for t in tasks {
        all.extend(t.await.expect("task"));
    }
    all
}

/// Asserts that `hits` of `n` trials is within 5 standard deviations of probability `p`.
pub fn assert_share(what: &str, hits: usize, n: usize, p: f64) {
    let sigma = (p * (1.0 - p) / n as f64).sqrt().max(1e-9);
    let share = hits as f64 / n as f64;
    assert!(
        (share - p).abs() <= 5.0 * sigma + 1e-9,
        "{what}: share {share:.4} of {n}, expected {p} ± {:.4}",
        5.0 * sigma
    );
}

/// Elapsed time of a future.
pub async fn timed<T>(f: impl std::future::Future<Output = T>) -> (T, Duration) {
    let start = Instant::now();
    let out = f.await;
    (out, start.elapsed())
}

/// A loopback address with nothing listening on it.
pub async fn dead_addr() -> std::net::SocketAddr {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    l.local_addr().expect("addr")
}
