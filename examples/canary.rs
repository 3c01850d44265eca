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
const VERSIONS: [&str; 3] = ["v1", "v2", "v3"];
const CLASSES: [&str; 2] = ["end-user: jason", "everyone else"];

/// One call: its traffic class (0 = jason), who answered, how long it took (µs).
type Outcome = (usize, Result<String, tonic::Status>, u32);

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
async fn run(client: &EchoClient<MeshChannel>, classes: Vec<usize>) -> Result<Vec<Outcome>, BoxError> {
    let (classes, next) = (Arc::new(classes), Arc::new(AtomicUsize::new(0)));
    let payload = Bytes::from(vec![0x5a; 1024]);
    let mut workers = Vec::new();
    for _ in 0..CONCURRENCY {
        let (mut client, classes, next, payload) = (client.clone(), classes.clone(), next.clone(), payload.clone());
        workers.push(tokio::spawn(async move {
            let mut seen = Vec::new();
            while let Some(&class) = classes.get(next.fetch_add(1, Ordering::Relaxed)) {
                let mut req = tonic::Request::new(EchoRequest { payload: payload.clone() });
                if class == 0 {
                    req.metadata_mut().insert("end-user", MetadataValue::from_static("jason"));
                }
                let start = Instant::now();
                let server = client.echo(req).await.map(|r| r.into_inner().server);
                seen.push((class, server, u32::try_from(start.elapsed().as_micros()).unwrap_or(u32::MAX)));
            }
            seen
        }));
    }
    let mut all = Vec::with_capacity(classes.len());
    for w in workers {
        all.extend(w.await?);
    }
    Ok(all)
}

/// The `q`-quantile of sorted values.
fn quantile(sorted: &[u32], q: f64) -> u32 {
    let rank = (sorted.len() as f64 * q).ceil() as usize;
    sorted.get(rank.clamp(1, sorted.len().max(1)) - 1).copied().unwrap_or(0)
}

fn pct(n: usize, of: usize) -> f64 {
    100.0 * n as f64 / of.max(1) as f64
}

#[tokio::main]
async fn main() -> Result<ExitCode, BoxError> {
    tracing_subscriber::fmt().with_env_filter(tracing_subscriber::EnvFilter::from_default_env()).init();
    let mut backends = Vec::new();
    for v in VERSIONS {
        backends.push(Backend::grpc(v).await?);
        println!("backend reviews {v} on {}", backends[backends.len() - 1].addr());
    }
    let addrs = [0, 1, 2].map(|i| backends[i].addr().to_string());
    let config = ConfigHandle::new(mesh::core::config::from_yaml(&canary_yaml(&addrs))?);
    let client = EchoClient::new(MeshChannel::builder(config).authority("reviews:9080")?.build());

    // Open the connections first so that connection setup does not show up as latency.
    let warm_up = run(&client, (0..64).map(|i| usize::from(i % 4 != 0)).collect()).await?;
    let mut calls: Vec<usize> = std::iter::repeat_n(0, JASON).chain(std::iter::repeat_n(1, OTHERS)).collect();
    fastrand::shuffle(&mut calls);
    let started = Instant::now();
    let outcomes = run(&client, calls).await?;
    let elapsed = started.elapsed().as_secs_f64();

    let mut failed = warm_up.iter().filter(|o| o.1.is_err()).count();
    let (mut counts, mut latencies) = ([[0usize; 3]; 2], [Vec::new(), Vec::new()]);
    for (class, server, micros) in &outcomes {
        match server.as_ref().map(|s| VERSIONS.iter().position(|v| v == s)) {
            Ok(Some(v)) => counts[*class][v] += 1,
            Ok(None) => failed += 1,
            Err(status) => {
                if failed == 0 {
                    println!("first failure: {status}");
                }
                failed += 1;
            }
        }
        latencies[*class].push(*micros);
    }

    let n = outcomes.len();
    println!(
        "\n{n} calls in {elapsed:.2} s ({:.0} calls/s), {CONCURRENCY} in flight, 1 KiB payload\n",
        n as f64 / elapsed
    );
    println!(
        "{:<16} {:>6} {:>14} {:>14} {:>14} {:>8} {:>8} {:>8} {:>8}",
        "traffic class", "calls", "v1", "v2", "v3", "p50 µs", "p90 µs", "p99 µs", "max µs"
    );
    for (class, name) in CLASSES.iter().enumerate() {
        let l = &mut latencies[class];
        l.sort_unstable();
        print!("{name:<16} {:>6}", l.len());
        for count in counts[class] {
            print!(" {:>14}", format!("{count} ({:.1}%)", pct(count, l.len())));
        }
        let max = l.last().copied().unwrap_or(0);
        println!(" {:>8} {:>8} {:>8} {max:>8}", quantile(l, 0.50), quantile(l, 0.90), quantile(l, 0.99));
    }

    let mut all = latencies.concat();
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
