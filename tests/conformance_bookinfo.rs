//! Conformance, behavioural: Istio's bookinfo networking samples
//! (`../shared/conformance/istio-bookinfo/`, copied unchanged from Istio), served by
//! mesh-control, and the mesh must behave as Istio's documentation describes for each
//! (`SOURCE.md` there).
//!
//! Each scenario copies its manifests unchanged into a directory of its own, beside the
//! bookinfo workloads (what Kubernetes would provide): a real gRPC backend per deployment
//! (`productpage-v1`, `details-v1`, `reviews-v1`..`v3`, `ratings-v1`, each answering
//! with its name), a ServiceEntry per service (`<app>.default.svc.cluster.local`, port
//! 9080 named `http`, selecting `app: <app>`) and a WorkloadEntry per deployment
//! (127.0.0.1, `ports: {http: <its port>}`, labels `app`, `version`). mesh-control starts
//! on the directory; our `MeshChannel` resolves `xds:///<app>.default.svc.cluster.local:9080`
//! and makes real calls. The Echo service stands in for the bookinfo apps: the mesh
//! routes on host and headers, not on what the service is.
//!
//! Why ServiceEntries: without one, a WorkloadEntry's `app` label makes an implicit
//! service whose port named `http` is numbered with the *lowest* port an instance maps it
//! to (`translate/services.rs`), i.e. one of the backends' ephemeral ports, not 9080.
//!
//! Scenarios run as separate tests, in parallel; `ratings_test_delay` takes the 7 s the
//! manifest asks for (real clock), the others well under a second each.
//!
//! Without the data (the repository alone), every test prints
//! `SKIPPED: istio-bookinfo conformance data not found` and passes, unless
//! `MESH_REQUIRE_PEERS=1`.

// Test code: a failed unwrap or expect is a failed test.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bytes::Bytes;
use envoy_types::pb::envoy::config::cluster::v3::Cluster;
use envoy_types::pb::envoy::config::core::v3::Node;
use envoy_types::pb::envoy::config::core::v3::transport_socket::ConfigType;
use envoy_types::pb::envoy::extensions::transport_sockets::tls::v3::UpstreamTlsContext;
use mesh::MeshChannel;
use mesh_control::RunningControlPlane;
use mesh_control::runtime::{ConfigStatus, StartError};
use mesh_testkit::{Backend, EchoClient, EchoRequest};
use mesh_xds::client::{ClientOptions, ServerConfig, XdsClient};
use mesh_xds::type_url;
use prost::Message;
use tonic::Code;

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/conformance/istio-bookinfo");

/// Bookinfo's deployments (Istio's `samples/bookinfo/platform/kube/bookinfo.yaml`).
const DEPLOYMENTS: [(&str, &[&str]); 4] =
    [("productpage", &["v1"]), ("details", &["v1"]), ("reviews", &["v1", "v2", "v3"]), ("ratings", &["v1"])];
/// The port of every bookinfo service.
const PORT: u16 = 9080;
/// Bound on anything that should happen (xDS resolution, one call).
const WAIT: Duration = Duration::from_secs(20);
/// Calls per class in the deterministic scenarios, and in the weighted ones.
const CALLS: usize = 40;
const WEIGHTED_CALLS: usize = 400;

/// The conformance data, or `None` after a loud line (a failure under `MESH_REQUIRE_PEERS=1`).
fn data_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(DATA);
    if dir.is_dir() {
        return Some(dir);
    }
    assert!(
        std::env::var("MESH_REQUIRE_PEERS").as_deref() != Ok("1"),
        "istio-bookinfo conformance data not found at {DATA} (MESH_REQUIRE_PEERS=1)"
    );
    // Straight to stderr, past the test harness's capture: a skip must be seen.
    let _ = std::io::Write::write_all(&mut std::io::stderr(), b"SKIPPED: istio-bookinfo conformance data not found\n");
    None
}

/// The host of a bookinfo service.
fn host(app: &str) -> String {
    format!("{app}.default.svc.cluster.local")
}

/// A ServiceEntry per bookinfo service and a WorkloadEntry per deployment, at `ports`
/// (`"reviews-v2"` → port).
fn workloads_yaml(ports: &BTreeMap<String, u16>) -> String {
    let mut docs = Vec::new();
    for (app, versions) in DEPLOYMENTS {
        let host = host(app);
        docs.push(format!(
            "apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata:
  name: {app}
spec:
  hosts: [{host}]
  location: MESH_INTERNAL
  resolution: STATIC
  ports:
  - number: {PORT}
    name: http
    protocol: HTTP
  workloadSelector:
    labels:
      app: {app}
"
        ));
        for version in versions {
            let port = ports[&format!("{app}-{version}")];
            docs.push(format!(
                "apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata:
  name: {app}-{version}
spec:
  address: 127.0.0.1
  ports:
    http: {port}
  labels:
    app: {app}
    version: {version}
  serviceAccount: bookinfo-{app}
"
            ));
        }
    }
    docs.join("---\n")
}

/// A directory removed on drop.
struct ScratchDir(PathBuf);

impl ScratchDir {
    fn new(scenario: &str) -> Self {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
        let dir = std::env::temp_dir().join(format!("mesh-bookinfo-{scenario}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// One scenario: the backends, mesh-control on the manifests + workloads, our xDS client.
struct Bookinfo {
    /// `"reviews-v2"` → backend.
    backends: BTreeMap<String, Backend>,
    cp: RunningControlPlane,
    xds: XdsClient,
    _dir: ScratchDir,
}

impl Bookinfo {
    /// Starts the scenario with these manifests (file names in the conformance data), or
    /// `None` when the data is absent.
    async fn start(scenario: &str, manifests: &[&str]) -> Option<Bookinfo> {
        let data = data_dir()?;
        let mut backends = BTreeMap::new();
        for (app, versions) in DEPLOYMENTS {
            for version in versions {
                let name = format!("{app}-{version}");
                let backend = Backend::grpc(&name).await.expect("backend");
                backends.insert(name, backend);
            }
        }
        let dir = ScratchDir::new(scenario);
        for manifest in manifests {
            std::fs::copy(data.join(manifest), dir.0.join(manifest)).unwrap_or_else(|e| panic!("{manifest}: {e}"));
        }
        let ports = backends.iter().map(|(name, b)| (name.clone(), b.addr().port())).collect();
        std::fs::write(dir.0.join("bookinfo-workloads.yaml"), workloads_yaml(&ports)).unwrap();
        let started = mesh_control::ControlPlane::builder()
            .config_paths(vec![dir.0.clone()])
            .xds_addr("127.0.0.1:0".parse().unwrap())
            .admin_addr("127.0.0.1:0".parse().unwrap())
            .shutdown_grace(Duration::from_millis(100))
            .start()
            .await;
        let cp = match started {
            Ok(cp) => cp,
            Err(StartError::Config(issues)) => {
                let issues: String = issues.iter().map(|i| format!("\n  {i}")).collect();
                panic!("{scenario}: mesh-control rejects {manifests:?}:{issues}");
            }
            Err(e) => panic!("{scenario}: mesh-control did not start: {e}"),
        };
        let node = Node { id: format!("bookinfo-{scenario}~default"), ..Default::default() };
        let server = ServerConfig::new(format!("http://{}", cp.xds_addr()));
        let xds = XdsClient::new(vec![server], node, ClientOptions::default());
        Some(Bookinfo { backends, cp, xds, _dir: dir })
    }

    /// What mesh-control loaded and warned about.
    fn status(&self) -> ConfigStatus {
        self.cp.subscribe().borrow().clone()
    }

    /// Asserts that mesh-control's translation warned about nothing, or says what it did.
    fn assert_no_warnings(&self) {
        let status = self.status();
        assert!(status.errors.is_empty() && status.warnings.is_empty(), "{:#?}", status.warnings);
    }

    /// An Echo client on a `MeshChannel` for `app`'s service, configured over xDS.
    async fn client(&self, app: &str) -> EchoClient<MeshChannel> {
        let target = format!("xds:///{}:{PORT}", host(app));
        let channel = tokio::time::timeout(WAIT, MeshChannel::from_xds(&self.xds, &target))
            .await
            .unwrap_or_else(|_| panic!("{target}: no configuration within {WAIT:?}"))
            .unwrap_or_else(|e| panic!("{target}: {e}"));
        EchoClient::new(channel)
    }

    /// Requests the backend `name` received.
    fn hits(&self, name: &str) -> u64 {
        self.backends[name].state().hits()
    }
}

/// One call, with `end-user: jason` or without: the name of the backend that answered.
async fn call(client: &mut EchoClient<MeshChannel>, jason: bool) -> Result<String, tonic::Status> {
    let mut req = tonic::Request::new(EchoRequest { payload: Bytes::from_static(b"bookinfo") });
    if jason {
        req.metadata_mut().insert("end-user", "jason".parse().unwrap());
    }
    match tokio::time::timeout(WAIT, client.echo(req)).await {
        Ok(reply) => reply.map(|r| r.into_inner().server),
        Err(_) => Err(tonic::Status::deadline_exceeded(format!("the test's own bound ({WAIT:?})"))),
    }
}

/// `n` calls (as jason or not), every one answered: count per backend.
async fn tally(client: &mut EchoClient<MeshChannel>, n: usize, jason: bool) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for i in 0..n {
        match call(client, jason).await {
            Ok(server) => *counts.entry(server).or_default() += 1,
            Err(status) => panic!("call {i} (jason: {jason}) failed: {status:?}; so far {counts:?}"),
        }
    }
    counts
}

/// `n` calls (as jason or not), every one failing: the statuses.
async fn failures(client: &mut EchoClient<MeshChannel>, n: usize, jason: bool) -> Vec<tonic::Status> {
    let mut out = Vec::new();
    for i in 0..n {
        match call(client, jason).await {
            Ok(server) => panic!("call {i} (jason: {jason}) was answered by {server}; it must fail"),
            Err(status) => out.push(status),
        }
    }
    out
}

/// Every call went to `backend`.
fn assert_only(counts: &BTreeMap<String, usize>, backend: &str, n: usize) {
    assert_eq!(counts, &BTreeMap::from([(backend.to_string(), n)]), "every call to {backend}");
}

/// The calls split between `expected` backends (name, share) within 5 sigma, and went
/// nowhere else.
fn assert_split(counts: &BTreeMap<String, usize>, expected: &[(&str, f64)]) {
    let n: usize = counts.values().sum();
    for name in counts.keys() {
        assert!(expected.iter().any(|(e, _)| e == name), "{name} got calls: {counts:?}, expected {expected:?}");
    }
    for (name, p) in expected {
        let share = counts.get(*name).copied().unwrap_or(0) as f64 / n as f64;
        let bound = 5.0 * (p * (1.0 - p) / n as f64).sqrt();
        assert!((share - p).abs() <= bound, "{name}: share {share:.3} of {n}, expected {p} ± {bound:.3}: {counts:?}");
    }
}

/// An abort with an HTTP status, as a gRPC client sees it. The fault filter answers the
/// gRPC call with a bare HTTP `status` (no `grpc-status`), and tonic maps an HTTP status
/// without `grpc-status` per gRPC's HTTP → status table
/// (`doc/http-grpc-status-mapping.md`): 500 and 555 are not in it, so `Unknown`, with
/// the HTTP code in the message.
fn assert_http_abort(statuses: &[tonic::Status], status: u16) {
    for s in statuses {
        assert_eq!(s.code(), Code::Unknown, "{s:?}");
        assert!(s.message().contains(&format!("HTTP status code {status}")), "{s:?}");
    }
}

/// `virtual-service-all-v1.yaml` + `destination-rule-all.yaml`: all traffic to v1.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_v1_sends_every_service_to_v1() {
    let manifests = ["destination-rule-all.yaml", "virtual-service-all-v1.yaml"];
    let Some(b) = Bookinfo::start("all-v1", &manifests).await else { return };
    b.assert_no_warnings();
    for (app, _) in DEPLOYMENTS {
        let mut client = b.client(app).await;
        for jason in [false, true] {
            assert_only(&tally(&mut client, CALLS, jason).await, &format!("{app}-v1"), CALLS);
        }
    }
    assert_eq!((b.hits("reviews-v2"), b.hits("reviews-v3")), (0, 0));
}

/// `virtual-service-reviews-test-v2.yaml`: `end-user: jason` → reviews v2, others v1.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reviews_test_v2_sends_jason_to_v2() {
    let manifests = ["destination-rule-all.yaml", "virtual-service-reviews-test-v2.yaml"];
    let Some(b) = Bookinfo::start("reviews-test-v2", &manifests).await else { return };
    b.assert_no_warnings();
    let mut reviews = b.client("reviews").await;
    assert_only(&tally(&mut reviews, CALLS, true).await, "reviews-v2", CALLS);
    assert_only(&tally(&mut reviews, CALLS, false).await, "reviews-v1", CALLS);
    // No VirtualService for ratings: its only deployment.
    assert_only(&tally(&mut b.client("ratings").await, CALLS, true).await, "ratings-v1", CALLS);
}

/// `virtual-service-reviews-80-20.yaml`: 80 % v1, 20 % v2, whoever calls.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reviews_80_20_splits_by_weight() {
    let manifests = ["destination-rule-all.yaml", "virtual-service-reviews-80-20.yaml"];
    let Some(b) = Bookinfo::start("reviews-80-20", &manifests).await else { return };
    b.assert_no_warnings();
    let mut reviews = b.client("reviews").await;
    let counts = tally(&mut reviews, WEIGHTED_CALLS, false).await;
    eprintln!("80-20: {counts:?}");
    assert_split(&counts, &[("reviews-v1", 0.8), ("reviews-v2", 0.2)]);
}

/// `virtual-service-reviews-50-v3.yaml`: 50 % v1, 50 % v3.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reviews_50_v3_splits_by_weight() {
    let manifests = ["destination-rule-all.yaml", "virtual-service-reviews-50-v3.yaml"];
    let Some(b) = Bookinfo::start("reviews-50-v3", &manifests).await else { return };
    b.assert_no_warnings();
    let mut reviews = b.client("reviews").await;
    let counts = tally(&mut reviews, WEIGHTED_CALLS, false).await;
    eprintln!("50-v3: {counts:?}");
    assert_split(&counts, &[("reviews-v1", 0.5), ("reviews-v3", 0.5)]);
}

/// `virtual-service-reviews-v3.yaml`: everyone to v3.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reviews_v3_sends_everyone_to_v3() {
    let manifests = ["destination-rule-all.yaml", "virtual-service-reviews-v3.yaml"];
    let Some(b) = Bookinfo::start("reviews-v3", &manifests).await else { return };
    b.assert_no_warnings();
    let mut reviews = b.client("reviews").await;
    for jason in [false, true] {
        assert_only(&tally(&mut reviews, CALLS, jason).await, "reviews-v3", CALLS);
    }
}

/// `virtual-service-reviews-jason-v2-v3.yaml`: jason → v2, everyone else → v3.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reviews_jason_v2_others_v3() {
    let manifests = ["destination-rule-all.yaml", "virtual-service-reviews-jason-v2-v3.yaml"];
    let Some(b) = Bookinfo::start("reviews-jason-v2-v3", &manifests).await else { return };
    b.assert_no_warnings();
    let mut reviews = b.client("reviews").await;
    assert_only(&tally(&mut reviews, CALLS, true).await, "reviews-v2", CALLS);
    assert_only(&tally(&mut reviews, CALLS, false).await, "reviews-v3", CALLS);
}

/// `virtual-service-ratings-test-delay.yaml`: jason's ratings calls are delayed 7 s (then
/// served), everyone else's are not. The real clock: the one slow test.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ratings_test_delay_delays_jason_by_7s() {
    const DELAY: Duration = Duration::from_secs(7);
    let manifests = ["destination-rule-all.yaml", "virtual-service-ratings-test-delay.yaml"];
    let Some(b) = Bookinfo::start("ratings-test-delay", &manifests).await else { return };
    b.assert_no_warnings();
    let ratings = b.client("ratings").await;
    // Warm the connection first, so that jason's call measures the delay alone.
    assert_only(&tally(&mut ratings.clone(), 1, false).await, "ratings-v1", 1);

    let mut jason_client = ratings.clone();
    let started = Instant::now();
    let jason = tokio::spawn(async move {
        let reply = call(&mut jason_client, true).await;
        (reply, started.elapsed())
    });
    // Everyone else, meanwhile: not delayed (each well under the 7 s).
    let mut others = ratings.clone();
    for _ in 0..CALLS {
        let t = Instant::now();
        assert_eq!(call(&mut others, false).await.expect("others are served"), "ratings-v1");
        assert!(t.elapsed() < DELAY / 2, "a call without end-user took {:?}", t.elapsed());
    }
    // The delay comes before the request is forwarded: while it runs, ratings has seen
    // only the others (checked only when the others were done well within it).
    if started.elapsed() < DELAY - Duration::from_secs(1) {
        assert_eq!(b.hits("ratings-v1"), 1 + CALLS as u64, "jason's call reached ratings during its delay");
    }
    let (reply, took) = jason.await.unwrap();
    eprintln!("ratings-test-delay: jason's call took {took:?}");
    assert_eq!(reply.expect("jason is served after the delay"), "ratings-v1");
    assert!(took >= DELAY, "jason's call took {took:?}, expected at least {DELAY:?}");
    assert_eq!(b.hits("ratings-v1"), 2 + CALLS as u64);
}

/// `virtual-service-ratings-test-abort.yaml`: jason's ratings calls are aborted with HTTP
/// 500 and never reach ratings; everyone else's are served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ratings_test_abort_fails_jason_with_http_500() {
    let manifests = ["destination-rule-all.yaml", "virtual-service-ratings-test-abort.yaml"];
    let Some(b) = Bookinfo::start("ratings-test-abort", &manifests).await else { return };
    b.assert_no_warnings();
    let mut ratings = b.client("ratings").await;
    assert_http_abort(&failures(&mut ratings, CALLS, true).await, 500);
    assert_eq!(b.hits("ratings-v1"), 0, "aborted calls never reach ratings");
    assert_only(&tally(&mut ratings, CALLS, false).await, "ratings-v1", CALLS);
    assert_eq!(b.hits("ratings-v1"), CALLS as u64);
}

/// `fault-injection-details-v1.yaml` (brings its own DestinationRule): every details call
/// aborted with HTTP 555 (`percentage.value: 100.0`), whoever calls; other services are
/// untouched.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fault_injection_details_v1_aborts_every_details_call_with_555() {
    let Some(b) = Bookinfo::start("details-555", &["fault-injection-details-v1.yaml"]).await else { return };
    b.assert_no_warnings();
    let mut details = b.client("details").await;
    for jason in [false, true] {
        assert_http_abort(&failures(&mut details, CALLS, jason).await, 555);
    }
    assert_eq!(b.hits("details-v1"), 0, "aborted calls never reach details");
    assert_only(&tally(&mut b.client("productpage").await, CALLS, false).await, "productpage-v1", CALLS);
}

/// `destination-rule-all-mtls.yaml`: the same subsets with `tls.mode: ISTIO_MUTUAL`.
///
/// Loaded with zero issues and no warning, and translated the way proxyless gRPC expects
/// (gRFC A29): every cluster carries an `envoy.transport_sockets.tls` transport socket
/// whose certificates come from the bootstrap's certificate provider `default`. Our
/// client accepts those clusters; this scenario's client has no certificate provider
/// (and the bookinfo backends here are plaintext), so every call fails naming the missing
/// provider — what this test holds on to is that no call goes out in plaintext instead.
/// Calls over mTLS with certificates from mesh-control's CA: `tests/zero_trust.rs`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn destination_rule_all_mtls_is_accepted_and_never_downgraded() {
    let manifests = ["destination-rule-all-mtls.yaml", "virtual-service-all-v1.yaml"];
    // Started: the loader found zero issues (any issue fails the start).
    let Some(b) = Bookinfo::start("mtls", &manifests).await else { return };
    let status = b.status();
    assert!(status.errors.is_empty(), "{:?}", status.errors);
    assert!(!status.warnings.iter().any(|w| w.contains(".tls")), "{:#?}", status.warnings);

    let clusters = b.cp.cache().names(type_url::CLUSTER);
    assert!(clusters.len() >= 4 + 3, "every service and subset: {clusters:?}");
    for name in &clusters {
        let any = b.cp.cache().get(type_url::CLUSTER, name).unwrap();
        let cluster = Cluster::decode(any.value.as_slice()).unwrap();
        let socket = cluster.transport_socket.unwrap_or_else(|| panic!("{name}: no transport_socket"));
        assert_eq!(socket.name, "envoy.transport_sockets.tls", "{name}");
        let Some(ConfigType::TypedConfig(config)) = socket.config_type else { panic!("{name}: no typed config") };
        let tls = UpstreamTlsContext::decode(config.value.as_slice()).unwrap();
        let provider = tls.common_tls_context.and_then(|c| c.tls_certificate_provider_instance);
        assert_eq!(provider.map(|p| p.instance_name).as_deref(), Some("default"), "{name}");
    }

    // Our client takes the configuration (no NACK) ...
    let mut reviews = b.client("reviews").await;
    // ... and, without a certificate provider `default`, refuses to call in plaintext.
    let statuses = failures(&mut reviews, 3, false).await;
    for status in &statuses {
        let chain = format!("{:?}", std::error::Error::source(status));
        assert!(chain.contains("certificate provider instance \\\"default\\\""), "{status:?}: {chain}");
    }
    let stats = b.xds.stats().await.unwrap();
    assert_eq!(stats.nacks, 0, "no resource rejected");
    assert!(b.backends.values().all(|backend| backend.state().hits() == 0), "a call went out in plaintext");
}

/// `bookinfo-gateway.yaml`: an ingress Gateway and a VirtualService bound to it (hosts
/// `*`). Accepted; gateway mode is served later, and the gateway's routes do not apply
/// to mesh clients: productpage is reached as if they were not there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bookinfo_gateway_is_accepted_and_leaves_mesh_traffic_alone() {
    let Some(b) = Bookinfo::start("gateway", &["bookinfo-gateway.yaml"]).await else { return };
    let status = b.status();
    assert!(status.errors.is_empty(), "{:?}", status.errors);
    let kinds: Vec<(&str, &str)> = status.objects.iter().map(|o| (o.kind.as_str(), o.name.as_str())).collect();
    assert!(kinds.contains(&("Gateway", "bookinfo-gateway")) && kinds.contains(&("VirtualService", "bookinfo")));
    for expected in [
        "Gateway default/bookinfo-gateway: accepted and validated; not served yet",
        "VirtualService default/bookinfo: bound to gateways",
    ] {
        assert!(status.warnings.iter().any(|w| w.starts_with(expected)), "{expected}: {:#?}", status.warnings);
    }
    for jason in [false, true] {
        assert_only(&tally(&mut b.client("productpage").await, CALLS, jason).await, "productpage-v1", CALLS);
    }
}

/// Every sample of the conformance data has a scenario above (a new sample fails here
/// until it gets one).
#[test]
fn every_sample_has_a_scenario() {
    let Some(data) = data_dir() else { return };
    let mut samples: Vec<String> = std::fs::read_dir(&data)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".yaml"))
        .collect();
    samples.sort();
    let covered = [
        "bookinfo-gateway.yaml",
        "destination-rule-all-mtls.yaml",
        "destination-rule-all.yaml",
        "fault-injection-details-v1.yaml",
        "virtual-service-all-v1.yaml",
        "virtual-service-ratings-test-abort.yaml",
        "virtual-service-ratings-test-delay.yaml",
        "virtual-service-reviews-50-v3.yaml",
        "virtual-service-reviews-80-20.yaml",
        "virtual-service-reviews-jason-v2-v3.yaml",
        "virtual-service-reviews-test-v2.yaml",
        "virtual-service-reviews-v3.yaml",
    ];
    assert_eq!(samples, covered, "a sample without a scenario here (or one gone)");
    assert!(Path::new(DATA).join("SOURCE.md").is_file());
}
