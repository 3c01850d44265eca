//! End-to-end overhead of the mesh client stack against a bare tonic channel, on loopback,
//! in the same process and the same run.
//!
//! One real tonic `Echo` backend; two clients of it, both a plain `EchoClient`:
//!
//! - **bare**: `tonic::transport::Channel` straight to the backend's address;
//! - **mesh**: a `MeshChannel` with one virtual host, one route and one single-endpoint
//!   cluster, so every request passes route → fault → timeout → retry → cluster →
//!   balance → endpoint but has nothing to choose.
//!
//! The workload is unary calls with a 1 KiB payload, `CONCURRENCY` in flight, run in
//! interleaved rounds after a warm-up: even rounds bare then mesh, odd rounds mesh then
//! bare, so that drift (CPU frequency, page cache, the allocator's state) hits both
//! alike. Every latency is kept and sorted at the end. CPU per request is the process's
//! user + system time over the round (from `/proc/self/stat`) divided by the calls; the
//! backend runs in this process too, so that figure includes the server's share, which
//! is the same for both clients — the difference between them is the client's cost.
//!
//! It ends with one machine-readable line (ratios are mesh / bare; targets: throughput
//! ≥ 0.95, p99 ≤ 1.10):
//!
//! ```text
//! overhead: throughput_ratio=<mesh/bare> p99_ratio=<mesh/bare> cpu_us_per_req_mesh=<x> cpu_us_per_req_bare=<y>
//! ```
//!
//! Run with `cargo bench --bench overhead`. `OVERHEAD_ROUNDS` (default 20) and
//! `OVERHEAD_CALLS` (calls per client per round, default 5000) shrink or grow the run.
//! Short, many rounds keep the comparison fair on a shared machine: a burst of outside
//! load lands on both clients' rounds rather than on one client's long stretch.
//! Without `--bench` (as under `cargo test --benches`) it does one short round as a smoke
//! test.

// A bench binary reports on stdout, as a binary would.
#![allow(clippy::print_stdout)]

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use mesh::{BoxError, ConfigHandle, MeshChannel};
use mesh_testkit::{Backend, EchoClient, EchoReply, EchoRequest};
use tonic::transport::{Channel, Endpoint};

const CONCURRENCY: usize = 32;
const PAYLOAD: usize = 1024;
/// Clock ticks per second of `/proc/<pid>/stat` (`USER_HZ`, 100 on every Linux ABI).
const TICKS_PER_SEC: f64 = 100.0;

/// The two clients under comparison.
#[derive(Clone)]
enum Client {
    Bare(EchoClient<Channel>),
    Mesh(EchoClient<MeshChannel>),
}

impl Client {
    fn name(&self) -> &'static str {
        match self {
            Client::Bare(_) => "bare",
            Client::Mesh(_) => "mesh",
        }
    }

    async fn echo(&mut self, payload: Bytes) -> Result<tonic::Response<EchoReply>, tonic::Status> {
        let req = EchoRequest { payload };
        match self {
            Client::Bare(c) => c.echo(req).await,
            Client::Mesh(c) => c.echo(req).await,
        }
    }
}

/// Everything measured for one client, summed over the rounds.
#[derive(Default)]
struct Totals {
    latencies_us: Vec<u32>,
    calls: usize,
    wall: Duration,
    cpu: Duration,
    failures: usize,
}

/// Process CPU time (user + system) so far, or `None` where `/proc` is missing.
fn cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after `(comm)`: state is field 3, utime 14, stime 15.
    let mut fields = stat.rsplit_once(')')?.1.split_whitespace();
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(Duration::from_secs_f64((utime + stime) as f64 / TICKS_PER_SEC))
}

/// Runs `calls` calls at `CONCURRENCY` and adds them to `totals`.
async fn round(client: &Client, calls: usize, totals: &mut Totals) {
    let next = Arc::new(AtomicUsize::new(0));
    let payload = Bytes::from(vec![0x5a; PAYLOAD]);
    let cpu_before = cpu_time();
    let start = Instant::now();
    let workers: Vec<_> = (0..CONCURRENCY)
        .map(|_| {
            let (mut client, next, payload) = (client.clone(), next.clone(), payload.clone());
            tokio::spawn(async move {
                let (mut latencies, mut failures) = (Vec::with_capacity(calls / CONCURRENCY + 1), 0);
                while next.fetch_add(1, Ordering::Relaxed) < calls {
                    let t = Instant::now();
                    match client.echo(payload.clone()).await {
                        Ok(_) => latencies.push(u32::try_from(t.elapsed().as_micros()).unwrap_or(u32::MAX)),
                        Err(status) => {
                            if failures == 0 {
                                println!("{} call failed: {status}", client.name());
                            }
                            failures += 1;
                        }
                    }
                }
                (latencies, failures)
            })
        })
        .collect();
    for w in workers {
        match w.await {
            Ok((latencies, failures)) => {
                totals.latencies_us.extend(latencies);
                totals.failures += failures;
            }
            Err(_) => totals.failures += 1,
        }
    }
    totals.wall += start.elapsed();
    totals.calls += calls;
    if let (Some(before), Some(after)) = (cpu_before, cpu_time()) {
        totals.cpu += after.saturating_sub(before);
    }
}

/// The `q`-quantile of sorted values.
fn quantile(sorted: &[u32], q: f64) -> u32 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

impl Totals {
    /// Where the next round starts: (wall time, latencies recorded).
    fn mark(&self) -> (Duration, usize) {
        (self.wall, self.latencies_us.len())
    }
    /// Throughput and p99 of the calls since `mark`.
    fn since(&self, (wall, from): (Duration, usize)) -> (f64, u32) {
        let mut recent = self.latencies_us[from..].to_vec();
        recent.sort_unstable();
        let secs = (self.wall - wall).as_secs_f64().max(f64::MIN_POSITIVE);
        (recent.len() as f64 / secs, quantile(&recent, 0.99))
    }
    fn rps(&self) -> f64 {
        self.calls as f64 / self.wall.as_secs_f64().max(f64::MIN_POSITIVE)
    }
    fn cpu_us_per_req(&self) -> f64 {
        self.cpu.as_secs_f64() * 1e6 / self.calls.max(1) as f64
    }
    fn summary(&mut self, name: &str) -> String {
        self.latencies_us.sort_unstable();
        let l = &self.latencies_us;
        format!(
            "{name}: calls={} rps={:.0} p50_us={} p90_us={} p99_us={} max_us={} cpu_us_per_req={:.1}",
            self.calls,
            self.rps(),
            quantile(l, 0.50),
            quantile(l, 0.90),
            quantile(l, 0.99),
            l.last().copied().unwrap_or(0),
            self.cpu_us_per_req()
        )
    }
}

fn mesh_config(addr: &str) -> String {
    format!(
        r#"
version: "overhead-1"
virtual_hosts:
  - name: echo
    domains: ["echo", "echo:50051"]
    routes:
      - name: all
        route:
          destinations: [{{ cluster: echo }}]
clusters:
  - name: echo
    protocol: http2
    endpoints:
      - {{ address: "{addr}" }}
"#
    )
}

fn env_usize(name: &str) -> Option<usize> {
    std::env::var(name).ok()?.parse().ok()
}

async fn run(rounds: usize, calls: usize) -> Result<ExitCode, BoxError> {
    let backend = Backend::grpc("echo").await?;
    let addr = backend.addr();
    let bare = Client::Bare(EchoClient::new(Endpoint::from_shared(format!("http://{addr}"))?.connect().await?));
    let config = ConfigHandle::new(mesh::core::config::from_yaml(&mesh_config(&addr.to_string()))?);
    let mesh = Client::Mesh(EchoClient::new(MeshChannel::builder(config).authority("echo:50051")?.build()));
    println!(
        "backend on {addr}; {rounds} rounds x {calls} calls per client, {CONCURRENCY} in flight, {PAYLOAD} B payload"
    );

    let mut scratch = Totals::default();
    for client in [&bare, &mesh] {
        round(client, calls.min(2_000), &mut scratch).await;
    }
    let (mut bare_totals, mut mesh_totals) = (Totals::default(), Totals::default());
    println!("round  order      bare_rps  mesh_rps  ratio  bare_p99_us  mesh_p99_us  ratio");
    let (mut rps_ratios, mut p99_ratios) = (Vec::new(), Vec::new());
    for r in 0..rounds {
        let (b_mark, m_mark) = (bare_totals.mark(), mesh_totals.mark());
        if r % 2 == 0 {
            round(&bare, calls, &mut bare_totals).await;
            round(&mesh, calls, &mut mesh_totals).await;
        } else {
            round(&mesh, calls, &mut mesh_totals).await;
            round(&bare, calls, &mut bare_totals).await;
        }
        let ((b_rps, b_p99), (m_rps, m_p99)) = (bare_totals.since(b_mark), mesh_totals.since(m_mark));
        rps_ratios.push(m_rps / b_rps);
        p99_ratios.push(f64::from(m_p99) / f64::from(b_p99.max(1)));
        let order = if r % 2 == 0 { "bare,mesh" } else { "mesh,bare" };
        println!(
            "{r:>5}  {order}  {b_rps:>8.0}  {m_rps:>8.0}  {:.3}  {b_p99:>11}  {m_p99:>11}  {:.3}",
            m_rps / b_rps,
            f64::from(m_p99) / f64::from(b_p99.max(1))
        );
    }
    // Less sensitive to a burst of outside load than the totals below.
    println!(
        "median of rounds (mesh/bare): throughput {:.3}, p99 {:.3}",
        median(&mut rps_ratios),
        median(&mut p99_ratios)
    );
    println!("{}", bare_totals.summary("bare"));
    println!("{}", mesh_totals.summary("mesh"));
    let failures = scratch.failures + bare_totals.failures + mesh_totals.failures;
    if failures > 0 {
        println!("FAILED: {failures} call(s) did not succeed");
        return Ok(ExitCode::FAILURE);
    }
    let p99 = |t: &Totals| f64::from(quantile(&t.latencies_us, 0.99).max(1));
    println!(
        "overhead: throughput_ratio={:.3} p99_ratio={:.3} cpu_us_per_req_mesh={:.1} cpu_us_per_req_bare={:.1}",
        mesh_totals.rps() / bare_totals.rps(),
        p99(&mesh_totals) / p99(&bare_totals),
        mesh_totals.cpu_us_per_req(),
        bare_totals.cpu_us_per_req()
    );
    Ok(ExitCode::SUCCESS)
}

fn main() -> Result<ExitCode, BoxError> {
    // cargo passes `--bench` (and maybe a filter); anything else is ignored.
    let measuring = std::env::args().any(|a| a == "--bench");
    let rounds = env_usize("OVERHEAD_ROUNDS").unwrap_or(if measuring { 20 } else { 1 }).max(1);
    let calls = env_usize("OVERHEAD_CALLS").unwrap_or(if measuring { 5_000 } else { 200 }).max(1);
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    runtime.block_on(run(rounds, calls))
}
