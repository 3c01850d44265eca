//! End-to-end overhead of the mesh client stack, on loopback, in the same process and the
//! same run, in two comparisons against one real tonic `Echo` backend. Every client is a
//! plain `EchoClient`.
//!
//! 1. Against a bare tonic channel:
//!    - **bare**: `tonic::transport::Channel` straight to the backend's address;
//!    - **mesh**: a `MeshChannel` with one virtual host, one route and one single-endpoint
//!      cluster, so every request passes route → fault → timeout → retry → cluster →
//!      balance → endpoint but has nothing to choose.
//! 2. Against tonic-xds, both on `xds:///echo.default.svc.cluster.local:<backend port>`
//!    served by mesh-control (started in-process on a temp dir holding one WorkloadEntry,
//!    `app: echo`, for the backend: the implicit service), both from the same bootstrap:
//!    - **tonic-xds**: tonic-xds's channel (tower's p2c balancer behind a `Buffer`, over
//!      one tonic `Channel` per endpoint);
//!    - **mesh-xds**: `MeshChannel::from_xds` (per-request routing, mesh-control's route
//!      carries Istio's default retry policy, which tonic-xds applies too).
//!
//! In each comparison the workload is unary calls with a 1 KiB payload, `CONCURRENCY` in
//! flight, run in interleaved rounds after a warm-up: even rounds baseline then mesh, odd
//! rounds mesh then baseline, so that drift (CPU frequency, page cache, the allocator's
//! state) hits both alike. Every latency is kept and sorted at the end. CPU per request
//! is the process's user + system time over the round (from `/proc/self/stat`) divided
//! by the calls; the backend runs in this process too, so that figure includes the
//! server's share, which is the same for both clients — the difference between them is
//! the client's cost. The second comparison runs after the first, on the same backend,
//! and its setup is made only then, so the first runs exactly as it would alone.
//!
//! 3. With mTLS on both sides (see `support/overhead_mtls.rs`): tonic + rustls by hand
//!    against the mesh on both ends (`ISTIO_MUTUAL` MeshChannel; MeshListener STRICT +
//!    MeshServerLayer with an ALLOW policy on the caller's SPIFFE ID). Then the rate of
//!    full mTLS handshakes, plain rustls configurations vs the mesh's.
//!
//! It ends with machine-readable lines, the last being the first comparison's:
//!
//! ```text
//! overhead_mtls: throughput_ratio=<mesh/bare> p99_ratio=<mesh/bare>
//! handshakes: mesh_per_sec=<x> bare_per_sec=<y> ratio=<mesh/bare>
//! overhead_vs_tonic_xds: throughput_ratio=<mesh/tonic-xds> p99_ratio=<mesh/tonic-xds>
//! overhead: throughput_ratio=<mesh/bare> p99_ratio=<mesh/bare> cpu_us_per_req_mesh=<x> cpu_us_per_req_bare=<y>
//! ```
//!
//! Targets: against bare, throughput ≥ 0.95 and p99 ≤ 1.10; against tonic-xds, throughput
//! ≥ 1 and p99 < 1.
//!
//! Run with `cargo bench --bench overhead`. `OVERHEAD_ROUNDS` (default 20) and
//! `OVERHEAD_CALLS` (calls per client per round, default 5000) shrink or grow both
//! comparisons.
//! Short, many rounds keep the comparison fair on a shared machine: a burst of outside
//! load lands on both clients' rounds rather than on one client's long stretch.
//! Without `--bench` (as under `cargo test --benches`) it does one short round of each as
//! a smoke test.

// A bench binary reports on stdout, as a binary would.
#![allow(clippy::print_stdout)]

#[path = "support/overhead_mtls.rs"]
mod mtls;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use mesh::xds::bootstrap::Bootstrap;
use mesh::xds::client::{ClientOptions, XdsClient};
use mesh::{BoxError, ConfigHandle, MeshChannel};
use mesh_control::runtime::RunningControlPlane;
use mesh_testkit::{Backend, EchoClient, EchoReply, EchoRequest};
use tonic::transport::{Channel, Endpoint};
use tonic_xds::{BootstrapConfig, XdsChannelBuilder, XdsChannelConfig, XdsChannelGrpc, XdsUri};

const CONCURRENCY: usize = 32;
const PAYLOAD: usize = 1024;
/// Clock ticks per second of `/proc/<pid>/stat` (`USER_HZ`, 100 on every Linux ABI).
const TICKS_PER_SEC: f64 = 100.0;

/// Bound on the first call through an xDS channel (resolution + first connection).
const FIRST_CALL_TIMEOUT: Duration = Duration::from_secs(20);

/// The transports under comparison.
#[derive(Clone)]
enum Transport {
    Bare(EchoClient<Channel>),
    Mesh(EchoClient<MeshChannel>),
    TonicXds(EchoClient<XdsChannelGrpc>),
}

/// A client under comparison, with the name it is reported under.
#[derive(Clone)]
struct Client {
    name: &'static str,
    transport: Transport,
}

impl Client {
    async fn echo(&mut self, payload: Bytes) -> Result<tonic::Response<EchoReply>, tonic::Status> {
        let req = EchoRequest { payload };
        match &mut self.transport {
            Transport::Bare(c) => c.echo(req).await,
            Transport::Mesh(c) => c.echo(req).await,
            Transport::TonicXds(c) => tonic_xds_echo(c, req).await,
        }
    }
}

/// tonic-xds's call, boxed: spawned directly, its future hits rustc's "implementation of
/// `From` is not general enough" (the auto-trait check of a generator loses the `'static`
/// of its `BoxError`); a `dyn Future + Send` made outside the generator proves `Send` here.
/// One allocation per call, noise next to a round trip.
fn tonic_xds_echo(
    client: &mut EchoClient<XdsChannelGrpc>,
    req: EchoRequest,
) -> Pin<Box<dyn Future<Output = Result<tonic::Response<EchoReply>, tonic::Status>> + Send + '_>> {
    Box::pin(client.echo(req))
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
                                println!("{} call failed: {status}", client.name);
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

/// What one comparison measured: the baseline's and mesh's totals over the rounds, and
/// the failures of the warm-up.
struct Comparison {
    base: Totals,
    mesh: Totals,
    warmup_failures: usize,
}

impl Comparison {
    fn failures(&self) -> usize {
        self.warmup_failures + self.base.failures + self.mesh.failures
    }
    /// Throughput and p99 of mesh over the baseline's, over all the rounds.
    fn ratios(&mut self) -> (f64, f64) {
        let p99 = |t: &mut Totals| {
            t.latencies_us.sort_unstable();
            f64::from(quantile(&t.latencies_us, 0.99).max(1))
        };
        (self.mesh.rps() / self.base.rps(), p99(&mut self.mesh) / p99(&mut self.base))
    }
}

/// Warms both clients up, runs `rounds` interleaved rounds of `calls` calls per client
/// (even rounds `base` first, odd rounds `mesh` first), printing a line per round, then
/// the median ratios and both clients' summaries.
async fn compare(base: &Client, mesh: &Client, rounds: usize, calls: usize) -> Comparison {
    let mut scratch = Totals::default();
    for client in [base, mesh] {
        round(client, calls.min(2_000), &mut scratch).await;
    }
    let (b, m) = (base.name, mesh.name);
    let (b_order, m_order) = (format!("{b},{m}"), format!("{m},{b}"));
    // Columns as wide as their headers, and at least as wide as the first comparison's.
    let heads = [format!("{b}_rps"), format!("{m}_rps"), format!("{b}_p99_us"), format!("{m}_p99_us")];
    let (w0, w1) = (heads[0].len().max(8), heads[1].len().max(8));
    let (w2, w3, wo) = (heads[2].len().max(11), heads[3].len().max(11), b_order.len());
    let [h0, h1, h2, h3] = &heads;
    println!("round  {:<wo$}  {h0:>w0$}  {h1:>w1$}  ratio  {h2:>w2$}  {h3:>w3$}  ratio", "order");
    let (mut base_totals, mut mesh_totals) = (Totals::default(), Totals::default());
    let (mut rps_ratios, mut p99_ratios) = (Vec::new(), Vec::new());
    for r in 0..rounds {
        let (b_mark, m_mark) = (base_totals.mark(), mesh_totals.mark());
        if r % 2 == 0 {
            round(base, calls, &mut base_totals).await;
            round(mesh, calls, &mut mesh_totals).await;
        } else {
            round(mesh, calls, &mut mesh_totals).await;
            round(base, calls, &mut base_totals).await;
        }
        let ((b_rps, b_p99), (m_rps, m_p99)) = (base_totals.since(b_mark), mesh_totals.since(m_mark));
        rps_ratios.push(m_rps / b_rps);
        p99_ratios.push(f64::from(m_p99) / f64::from(b_p99.max(1)));
        let order = if r % 2 == 0 { &b_order } else { &m_order };
        println!(
            "{r:>5}  {order}  {b_rps:>w0$.0}  {m_rps:>w1$.0}  {:.3}  {b_p99:>w2$}  {m_p99:>w3$}  {:.3}",
            m_rps / b_rps,
            f64::from(m_p99) / f64::from(b_p99.max(1))
        );
    }
    // Less sensitive to a burst of outside load than the totals below.
    println!(
        "median of rounds ({m}/{b}): throughput {:.3}, p99 {:.3}",
        median(&mut rps_ratios),
        median(&mut p99_ratios)
    );
    println!("{}", base_totals.summary(b));
    println!("{}", mesh_totals.summary(m));
    Comparison { base: base_totals, mesh: mesh_totals, warmup_failures: scratch.failures }
}

/// Istio configuration for the one Echo backend: a WorkloadEntry labelled `app: echo`,
/// whose implicit service is `echo.default.svc.cluster.local` with the backend's port,
/// named `grpc`.
fn istio_config(port: u16) -> String {
    format!(
        r#"apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata:
  name: echo-v1
  namespace: default
spec:
  address: 127.0.0.1
  ports:
    grpc: {port}
  labels:
    app: echo
    version: v1
"#
    )
}

/// gRPC's bootstrap JSON (gRFC A27) for ADS on `xds`. `server_uri` is a URL, the only form
/// tonic-xds 0.1 connects with (see `tests/interop_tonic_xds.rs`); ours reads it too.
fn bootstrap_json(xds: SocketAddr) -> String {
    serde_json::json!({
        "xds_servers": [{
            "server_uri": format!("http://{xds}"),
            "channel_creds": [{ "type": "insecure" }],
            "server_features": ["xds_v3"],
        }],
        "node": {
            "id": "sidecar~127.0.0.1~overhead-client.default~default.svc.cluster.local",
            "cluster": "overhead-client",
        },
    })
    .to_string()
}

/// A temporary directory, removed on drop.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The second comparison's setup: mesh-control serving `backend`, and both xDS clients.
struct XdsSetup {
    target: String,
    // Kept alive for the channels; dropped before the directory.
    _mesh_xds: XdsClient,
    tonic_xds: Client,
    mesh: Client,
    cp: RunningControlPlane,
    _dir: TempDir,
}

impl XdsSetup {
    async fn start(backend: SocketAddr) -> Result<XdsSetup, BoxError> {
        let dir = TempDir(std::env::temp_dir().join(format!("mesh-overhead-{}", std::process::id())));
        let istio = dir.0.join("istio");
        std::fs::create_dir_all(&istio)?;
        std::fs::write(istio.join("echo.yaml"), istio_config(backend.port()))?;
        let cp = mesh_control::ControlPlane::builder()
            .config_paths(vec![istio])
            .xds_addr("127.0.0.1:0".parse()?)
            .admin_addr("127.0.0.1:0".parse()?)
            .start()
            .await?;
        // Outside the watched directory: both clients read the same file.
        let bootstrap_path = dir.0.join("bootstrap.json");
        std::fs::write(&bootstrap_path, bootstrap_json(cp.xds_addr()))?;
        let target = format!("xds:///echo.default.svc.cluster.local:{}", backend.port());

        let tonic_xds = XdsChannelBuilder::new(
            XdsChannelConfig::new(XdsUri::parse(&target)?)
                .with_bootstrap(BootstrapConfig::from_json(&std::fs::read_to_string(&bootstrap_path)?)?),
        )
        .build_grpc_channel()?;
        let tonic_xds = Client { name: "tonic-xds", transport: Transport::TonicXds(EchoClient::new(tonic_xds)) };

        let mesh_xds = XdsClient::from_bootstrap(&Bootstrap::from_file(&bootstrap_path)?, ClientOptions::default())?;
        let mesh = tokio::time::timeout(FIRST_CALL_TIMEOUT, MeshChannel::from_xds(&mesh_xds, &target)).await.map_err(
            |_| format!("MeshChannel::from_xds({target}): no configuration within {FIRST_CALL_TIMEOUT:?}"),
        )??;
        let mesh = Client { name: "mesh-xds", transport: Transport::Mesh(EchoClient::new(mesh)) };

        // Both must answer before the warm-up: a setup error, not a slow round.
        for client in [&tonic_xds, &mesh] {
            let mut client = client.clone();
            tokio::time::timeout(FIRST_CALL_TIMEOUT, client.echo(Bytes::from_static(b"ping")))
                .await
                .map_err(|_| format!("{}: no answer on {target} within {FIRST_CALL_TIMEOUT:?}", client.name))?
                .map_err(|status| format!("{}: first call on {target}: {status}", client.name))?;
        }
        Ok(XdsSetup { target, _mesh_xds: mesh_xds, tonic_xds, mesh, cp, _dir: dir })
    }
}

async fn run(rounds: usize, calls: usize) -> Result<ExitCode, BoxError> {
    let backend = Backend::grpc("echo").await?;
    let addr = backend.addr();
    let bare = Endpoint::from_shared(format!("http://{addr}"))?.connect().await?;
    let bare = Client { name: "bare", transport: Transport::Bare(EchoClient::new(bare)) };
    let config = ConfigHandle::new(mesh::core::config::from_yaml(&mesh_config(&addr.to_string()))?);
    let mesh = MeshChannel::builder(config).authority("echo:50051")?.build();
    let mesh = Client { name: "mesh", transport: Transport::Mesh(EchoClient::new(mesh)) };
    println!(
        "backend on {addr}; {rounds} rounds x {calls} calls per client, {CONCURRENCY} in flight, {PAYLOAD} B payload"
    );
    let mut vs_bare = compare(&bare, &mesh, rounds, calls).await;

    // Set up after the first comparison, which thus runs exactly as it did alone.
    let xds = XdsSetup::start(addr).await?;
    println!("\n{} via mesh-control on {}", xds.target, xds.cp.xds_addr());
    let mut vs_tonic_xds = compare(&xds.tonic_xds, &xds.mesh, rounds, calls).await;

    let setup = mtls::MtlsSetup::start().await?;
    println!("\nmTLS on both sides");
    let mut vs_bare_mtls = compare(&setup.bare, &setup.mesh, rounds, calls).await;
    let handshakes = if rounds > 1 { 2_000 } else { 50 };
    let (bare_hs, mesh_hs) = mtls::handshake_rates(handshakes).await?;

    let failures = vs_bare.failures() + vs_tonic_xds.failures() + vs_bare_mtls.failures();
    if failures > 0 {
        println!("FAILED: {failures} call(s) did not succeed");
        return Ok(ExitCode::FAILURE);
    }
    let (rps, p99) = vs_bare_mtls.ratios();
    println!("overhead_mtls: throughput_ratio={rps:.3} p99_ratio={p99:.3}");
    println!("handshakes: mesh_per_sec={mesh_hs:.0} bare_per_sec={bare_hs:.0} ratio={:.3}", mesh_hs / bare_hs);
    let (rps, p99) = vs_tonic_xds.ratios();
    println!("overhead_vs_tonic_xds: throughput_ratio={rps:.3} p99_ratio={p99:.3}");
    let (rps, p99) = vs_bare.ratios();
    println!(
        "overhead: throughput_ratio={rps:.3} p99_ratio={p99:.3} cpu_us_per_req_mesh={:.1} cpu_us_per_req_bare={:.1}",
        vs_bare.mesh.cpu_us_per_req(),
        vs_bare.base.cpu_us_per_req()
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
