//! A canary release, Istio's bookinfo style, entirely in-process.
//!
//! Three real tonic `Echo` backends play `reviews` v1, v2 and v3 on loopback. The static
//! configuration below (the same YAML a file or the xDS client would feed) says:
//!
//! - requests with the header `end-user: jason` go to subset **v2** (a tester's preview);
//! - everyone else is split **90 % v1 / 10 % v3** (the canary), with up to 2 retries on
//!   `unavailable` and `connect-failure`.
//!
//! A plain tonic client (`EchoClient`) is handed a `MeshChannel` instead of a
//! `tonic::transport::Channel`; nothing else changes in the application. The example
//! sends 2,000 calls without the header and 200 with it (1 KiB payloads, 16 in flight,
//! shuffled together), records which backend answered each one (`EchoReply.server`) and
//! how long it took, and prints the split and latency per traffic class, ending with one
//! machine-readable line:
//!
//! ```text
//! canary: jason_v2_pct=<x> others_v1_pct=<y> others_v3_pct=<z> p50_us=<a> p99_us=<b>
//! ```
//!
//! Run with `cargo run --release --example canary`. It exits non-zero if any call failed.

// An example reports on stdout, as a binary would.
#![allow(clippy::print_stdout)]

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use bytes::Bytes;
use mesh::{BoxError, ConfigHandle, MeshChannel};
use mesh_testkit::{Backend, EchoClient, EchoRequest};
use tonic::metadata::MetadataValue;

const OTHERS: usize = 2_000;
const JASON: usize = 200;
const CONCURRENCY: usize = 16;
const WARM_UP: usize = 64;
const VERSIONS: [&str; 3] = ["v1", "v2", "v3"];
const CLASSES: [&str; 2] = ["end-user: jason", "everyone else"];

/// What one call saw: its traffic class (0 = jason), who answered, how long it took.
struct Outcome {
    class: usize,
    server: Result<String, tonic::Status>,
    micros: u32,
}

fn canary_yaml(addrs: &[String; 3]) -> String {
    format!(
        r#"
version: "canary-1"
virtual_hosts:
  - name: reviews
    domains: ["reviews", "reviews:9080"]
    routes:
      - name: jason-to-v2
        match:
          headers: [{{ name: end-user, exact: jason }}]
        route:
          destinations: [{{ cluster: reviews, subset: v2 }}]
      - name: canary-v3
        route:
          destinations:
            - {{ cluster: reviews, subset: v1, weight: 90 }}
            - {{ cluster: reviews, subset: v3, weight: 10 }}
          retries: {{ attempts: 2, retry_on: "unavailable,connect-failure" }}
clusters:
  - name: reviews
    protocol: http2
    subsets:
      - {{ name: v1, labels: {{ version: v1 }} }}
      - {{ name: v2, labels: {{ version: v2 }} }}
      - {{ name: v3, labels: {{ version: v3 }} }}
    endpoints:
      - {{ address: "{}", labels: {{ version: v1 }} }}
      - {{ address: "{}", labels: {{ version: v2 }} }}
      - {{ address: "{}", labels: {{ version: v3 }} }}
"#,
        addrs[0], addrs[1], addrs[2]
    )
}

/// Sends one call per entry of `classes` (0 = with `end-user: jason`), `CONCURRENCY` at a time.
async fn run(client: &EchoClient<MeshChannel>, classes: Vec<usize>) -> Vec<Outcome> {
    let classes = Arc::new(classes);
    let next = Arc::new(AtomicUsize::new(0));
    let payload = Bytes::from(vec![0x5a; 1024]);
    let workers: Vec<_> = (0..CONCURRENCY)
        .map(|_| {
            let (mut client, classes, next, payload) = (client.clone(), classes.clone(), next.clone(), payload.clone());
            tokio::spawn(async move {
                let mut seen = Vec::new();
                while let Some(&class) = classes.get(next.fetch_add(1, Ordering::Relaxed)) {
                    let mut req = tonic::Request::new(EchoRequest { payload: payload.clone() });
                    if class == 0 {
                        req.metadata_mut().insert("end-user", MetadataValue::from_static("jason"));
                    }
                    let start = Instant::now();
                    let server = client.echo(req).await.map(|r| r.into_inner().server);
                    let micros = u32::try_from(start.elapsed().as_micros()).unwrap_or(u32::MAX);
                    seen.push(Outcome { class, server, micros });
                }
                seen
            })
        })
        .collect();
    let mut all = Vec::with_capacity(classes.len());
    for w in workers {
        match w.await {
            Ok(seen) => all.extend(seen),
            Err(e) => all.push(Outcome { class: 1, server: Err(tonic::Status::internal(e.to_string())), micros: 0 }),
        }
    }
    all
}

/// The `q`-quantile of sorted values.
fn quantile(sorted: &[u32], q: f64) -> u32 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn pct(n: usize, of: usize) -> f64 {
    if of == 0 { 0.0 } else { 100.0 * n as f64 / of as f64 }
}

#[tokio::main]
async fn main() -> Result<ExitCode, BoxError> {
    tracing_subscriber::fmt().with_env_filter(tracing_subscriber::EnvFilter::from_default_env()).init();

    let backends = [Backend::grpc("v1").await?, Backend::grpc("v2").await?, Backend::grpc("v3").await?];
    let addrs = backends.each_ref().map(|b| b.addr().to_string());
    let config = ConfigHandle::new(mesh::core::config::from_yaml(&canary_yaml(&addrs))?);
    let channel = MeshChannel::builder(config).authority("reviews:9080")?.build();
    let client = EchoClient::new(channel);
    for (v, a) in VERSIONS.iter().zip(&addrs) {
        println!("backend reviews {v} on {a}");
    }

    // Open the connections first so that connection setup does not show up as latency.
    let warm = run(&client, (0..WARM_UP).map(|i| usize::from(i % 4 != 0)).collect()).await;
    let mut calls: Vec<usize> = std::iter::repeat_n(0, JASON).chain(std::iter::repeat_n(1, OTHERS)).collect();
    fastrand::shuffle(&mut calls);
    let started = Instant::now();
    let outcomes = run(&client, calls).await;
    let elapsed = started.elapsed();

    let mut failed = warm.iter().filter(|o| o.server.is_err()).count();
    let mut counts = [[0usize; 3]; 2];
    let mut latencies: [Vec<u32>; 2] = [Vec::new(), Vec::new()];
    for o in &outcomes {
        match &o.server {
            Ok(server) => match VERSIONS.iter().position(|v| v == server) {
                Some(v) => counts[o.class][v] += 1,
                None => failed += 1,
            },
            Err(status) => {
                if failed == 0 {
                    println!("first failure: {status}");
                }
                failed += 1;
            }
        }
        latencies[o.class].push(o.micros);
    }

    println!(
        "\n{} calls in {:.2} s ({:.0} calls/s), {CONCURRENCY} in flight, 1 KiB payload\n",
        outcomes.len(),
        elapsed.as_secs_f64(),
        outcomes.len() as f64 / elapsed.as_secs_f64()
    );
    println!(
        "{:<16} {:>6} {:>14} {:>14} {:>14} {:>8} {:>8} {:>8} {:>8}",
        "traffic class", "calls", "v1", "v2", "v3", "p50 µs", "p90 µs", "p99 µs", "max µs"
    );
    for (class, name) in CLASSES.iter().enumerate() {
        let total = latencies[class].len();
        latencies[class].sort_unstable();
        let l = &latencies[class];
        let split: Vec<String> = counts[class].iter().map(|&n| format!("{n} ({:.1}%)", pct(n, total))).collect();
        println!(
            "{name:<16} {total:>6} {:>14} {:>14} {:>14} {:>8} {:>8} {:>8} {:>8}",
            split[0],
            split[1],
            split[2],
            quantile(l, 0.50),
            quantile(l, 0.90),
            quantile(l, 0.99),
            l.last().copied().unwrap_or(0)
        );
    }

    let mut all: Vec<u32> = latencies.concat();
    all.sort_unstable();
    let (jason, others) = (latencies[0].len(), latencies[1].len());
    println!(
        "\ncanary: jason_v2_pct={:.1} others_v1_pct={:.1} others_v3_pct={:.1} p50_us={} p99_us={}",
        pct(counts[0][1], jason),
        pct(counts[1][0], others),
        pct(counts[1][2], others),
        quantile(&all, 0.50),
        quantile(&all, 0.99)
    );
    if failed > 0 {
        println!("FAILED: {failed} call(s) did not succeed");
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}
