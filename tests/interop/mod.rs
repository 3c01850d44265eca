//! One canary, written as Istio YAML and served by mesh-control, that every proxyless
//! xDS client must follow: our `MeshChannel` and the peers (grpcio, tonic-xds) in
//! `tests/interop_*.rs`.
//!
//! The configuration is what an Istio user writes for a service outside Kubernetes: a
//! ServiceEntry `reviews.default.svc.cluster.local` (port 9080 `grpc`, STATIC, selecting
//! `app: reviews`), a WorkloadEntry per backend (127.0.0.1, `ports: {grpc: <its port>}`,
//! `version: vN`, locality `us-east1/us-east1-b`), a DestinationRule with subsets v1..v3
//! (no `loadBalancer`, see [`LOAD_BALANCER`]) and a VirtualService: header
//! `end-user: jason` → v2, everyone else 50/50 v1/v3.
//! mesh-control translates it into what Istio's gRPC generator serves (an `api_listener`
//! `host:port` → RDS → clusters `outbound|9080|vN|host` → EDS) and the clients must
//! route per the YAML. The bootstrap is gRPC's JSON (gRFC A27).
#![allow(dead_code, unreachable_pub, missing_docs)]

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::Bytes;
use mesh::MeshChannel;
use mesh_control::RunningControlPlane;
use mesh_testkit::{Backend, EchoClient, EchoRequest};
use mesh_xds::client::{ClientOptions, XdsClient};
use mesh_xds::type_url::{CLUSTER, ENDPOINT, LISTENER, ROUTE};
use tonic::codegen::{Body, StdError};

pub const HOST: &str = "reviews.default.svc.cluster.local";
pub const PORT: u16 = 9080;
/// The listener and route configuration name, and the target's authority.
pub const LISTENER_NAME: &str = "reviews.default.svc.cluster.local:9080";
pub const TARGET: &str = "xds:///reviews.default.svc.cluster.local:9080";
/// Where the backends are, as the WorkloadEntries and the clients' node say.
pub const REGION: &str = "us-east1";
pub const ZONE: &str = "us-east1-b";

/// Calls with `end-user: jason` and without, per client.
pub const JASON_CALLS: usize = 50;
pub const OTHER_CALLS: usize = 300;
/// Bound on the first call of a client (xDS resolution + first connection).
pub const FIRST_CALL_TIMEOUT: Duration = Duration::from_secs(20);

/// Whether a missing peer fails the test (`MESH_REQUIRE_PEERS=1`, as CI sets).
pub fn peers_required() -> bool {
    std::env::var("MESH_REQUIRE_PEERS").is_ok_and(|v| v == "1")
}

/// A peer is missing: a loud line, or a failure under `MESH_REQUIRE_PEERS=1`.
pub fn peer_missing(peer: &str, why: &str) {
    assert!(!peers_required(), "{peer} is required (MESH_REQUIRE_PEERS=1) but not installed: {why}");
    // Straight to stderr, past the test harness's capture: a skip must be seen.
    let line = format!("SKIPPED: {peer} not installed ({why}); run scripts/install-peers.sh\n");
    let _ = std::io::Write::write_all(&mut std::io::stderr(), line.as_bytes());
}

/// The canary DestinationRule's `trafficPolicy.loadBalancer.simple`: none, so every
/// client gets mesh-control's default — least request, offered as a gRFC A52
/// `load_balancing_policy` list with a round-robin fallback, because grpc-core (grpcio
/// 1.85) NACKs `lb_policy: LEAST_REQUEST` ("LB policy is not supported").
pub const LOAD_BALANCER: Option<&str> = None;

/// The canary as Istio YAML, for backends `(version, port)` on 127.0.0.1, with
/// `loadBalancer.simple: <load_balancer>` on the DestinationRule when given.
pub fn istio_yaml(backends: &[(&str, u16)], load_balancer: Option<&str>) -> String {
    let mut yaml = format!(
        "apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata:
  name: reviews
spec:
  hosts: [{HOST}]
  location: MESH_INTERNAL
  resolution: STATIC
  ports:
  - number: {PORT}
    name: grpc
    protocol: GRPC
  workloadSelector:
    labels:
      app: reviews
"
    );
    for (version, port) in backends {
        yaml.push_str(&format!(
            "---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata:
  name: reviews-{version}
spec:
  address: 127.0.0.1
  ports:
    grpc: {port}
  labels:
    app: reviews
    version: {version}
  locality: {REGION}/{ZONE}
"
        ));
    }
    yaml.push_str(
        "---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: reviews
spec:
  host: reviews
",
    );
    if let Some(simple) = load_balancer {
        yaml.push_str(&format!("  trafficPolicy:\n    loadBalancer:\n      simple: {simple}\n"));
    }
    yaml.push_str(
        "  subsets:
  - name: v1
    labels:
      version: v1
  - name: v2
    labels:
      version: v2
  - name: v3
    labels:
      version: v3
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: reviews
spec:
  hosts:
  - reviews
  http:
  - match:
    - headers:
        end-user:
          exact: jason
    route:
    - destination:
        host: reviews
        subset: v2
  - route:
    - destination:
        host: reviews
        subset: v1
      weight: 50
    - destination:
        host: reviews
        subset: v3
      weight: 50
",
    );
    yaml
}

/// Backends v1..v3, mesh-control serving the canary from its YAML, and the bootstrap files.
pub struct Canary {
    pub backends: Vec<Backend>,
    pub cp: RunningControlPlane,
    pub dir: PathBuf,
    /// gRPC bootstrap JSON pointing at `cp` with `server_uri: "127.0.0.1:PORT"`, the gRPC
    /// target form: grpcio (grpc-core) and our client read it.
    pub bootstrap: PathBuf,
    /// The same with `server_uri: "http://127.0.0.1:PORT"`, the only form tonic-xds
    /// connects with; our client reads it too.
    pub bootstrap_http: PathBuf,
    name: String,
}

impl Canary {
    /// The canary with its [`LOAD_BALANCER`].
    pub async fn start(name: &str) -> Canary {
        Self::start_with(name, LOAD_BALANCER).await
    }

    /// The canary with this `loadBalancer.simple` on its DestinationRule (`None`: unset).
    pub async fn start_with(name: &str, load_balancer: Option<&str>) -> Canary {
        let mut backends = Vec::new();
        for v in ["v1", "v2", "v3"] {
            backends.push(Backend::grpc(v).await.expect("backend"));
        }
        let dir = std::env::temp_dir().join(format!("mesh-interop-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        // The Istio YAML in a directory of its own: mesh-control watches it, and the
        // bootstrap files written beside it are no configuration.
        let config = dir.join("istio");
        std::fs::create_dir_all(&config).expect("temp dir");
        let versions: Vec<(&str, u16)> = backends.iter().map(|b| (b.state().name(), b.addr().port())).collect();
        std::fs::write(config.join("reviews.yaml"), istio_yaml(&versions, load_balancer))
            .expect("write the Istio YAML");
        let cp = mesh_control::ControlPlane::builder()
            .config_paths(vec![config])
            .xds_addr("127.0.0.1:0".parse().expect("addr"))
            .admin_addr("127.0.0.1:0".parse().expect("addr"))
            .shutdown_grace(Duration::from_millis(100))
            .start()
            .await
            .unwrap_or_else(|e| panic!("mesh-control rejects the canary's YAML: {e}"));
        let status = cp.subscribe().borrow().clone();
        assert!(
            status.errors.is_empty() && status.warnings.is_empty(),
            "the canary's YAML loads and translates cleanly: errors {:?}, warnings {:?}",
            status.errors,
            status.warnings
        );
        let xds_addr = cp.xds_addr();
        let mut canary = Canary {
            backends,
            cp,
            bootstrap: dir.join("bootstrap.json"),
            bootstrap_http: dir.join("bootstrap-http.json"),
            dir,
            name: name.to_string(),
        };
        canary.bootstrap = canary.write_bootstrap("bootstrap.json", &xds_addr.to_string());
        canary.bootstrap_http = canary.write_bootstrap("bootstrap-http.json", &format!("http://{xds_addr}"));
        canary
    }

    /// The bootstrap JSON (gRFC A27) with this `server_uri`; the canonical form is
    /// `127.0.0.1:PORT`, a gRPC target (grpc-core resolves it with its default `dns:` scheme).
    pub fn bootstrap_json_for(&self, server_uri: &str) -> String {
        let name = &self.name;
        let json = serde_json::json!({
            "xds_servers": [{
                "server_uri": server_uri,
                "channel_creds": [{ "type": "insecure" }],
                "server_features": ["xds_v3"],
            }],
            "node": {
                "id": format!("sidecar~127.0.0.1~{name}-client.default~default.svc.cluster.local"),
                "cluster": format!("{name}-client"),
                "locality": { "region": REGION, "zone": ZONE },
            },
        });
        serde_json::to_string_pretty(&json).expect("json")
    }

    /// Writes [`Canary::bootstrap_json_for`] into the canary's directory.
    pub fn write_bootstrap(&self, file: &str, server_uri: &str) -> PathBuf {
        let path = self.dir.join(file);
        std::fs::write(&path, self.bootstrap_json_for(server_uri)).expect("write bootstrap");
        path
    }

    /// A low-level control plane (`mesh_testkit::ControlPlane`, a bare snapshot cache)
    /// serving a copy of every resource mesh-control translated from the YAML, for tests
    /// that serve something no Istio configuration produces (they edit its cache).
    pub async fn hand_served_copy(&self) -> mesh_testkit::ControlPlane {
        let copy = mesh_testkit::ControlPlane::start().await;
        let served = self.cp.cache();
        for type_url in [CLUSTER, ENDPOINT, LISTENER, ROUTE] {
            for name in served.names(type_url) {
                let resource = served.get(type_url, &name).expect("listed resource");
                copy.cache.set(type_url, &name, resource);
            }
        }
        copy
    }
}

impl Drop for Canary {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// What one client observed: which backend answered each class of calls.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Tally {
    pub jason: BTreeMap<String, usize>,
    pub others: BTreeMap<String, usize>,
    pub errors: Vec<String>,
}

impl Tally {
    /// From the grpcio script's JSON summary.
    pub fn from_json(v: &serde_json::Value) -> Option<Tally> {
        let counts = |key: &str| -> Option<BTreeMap<String, usize>> {
            v.get(key)?
                .as_object()?
                .iter()
                .map(|(k, n)| Some((k.clone(), usize::try_from(n.as_u64()?).ok()?)))
                .collect()
        };
        let errors: Option<Vec<String>> =
            v.get("errors")?.as_array()?.iter().map(|e| e.as_str().map(str::to_string)).collect();
        Some(Tally { jason: counts("jason")?, others: counts("others")?, errors: errors? })
    }

    /// A tally of a client that could not make its first call.
    pub fn failed(error: String) -> Tally {
        Tally { errors: vec![error], ..Tally::default() }
    }

    /// The canary's assertions; every violation, not just the first.
    pub fn violations(&self) -> Vec<String> {
        let mut out = Vec::new();
        if !self.errors.is_empty() {
            out.push(format!("{} calls failed, e.g. {}", self.errors.len(), self.errors[0]));
        }
        let jason: usize = self.jason.values().sum();
        if jason != JASON_CALLS || self.jason.keys().any(|k| k != "v2") {
            out.push(format!("end-user: jason must all go to v2 ({JASON_CALLS} calls), got {:?}", self.jason));
        }
        let others: usize = self.others.values().sum();
        if others != OTHER_CALLS || self.others.keys().any(|k| k != "v1" && k != "v3") {
            out.push(format!("others must go to v1/v3 only ({OTHER_CALLS} calls), got {:?}", self.others));
        }
        if others > 0 {
            let v1 = self.others.get("v1").copied().unwrap_or(0);
            let (p, n) = (0.5, others as f64);
            let bound = 5.0 * (p * (1.0 - p) / n).sqrt();
            let share = v1 as f64 / n;
            if (share - p).abs() > bound {
                out.push(format!("v1 share of others {share:.3}, expected 0.5 ± {bound:.3} (5 sigma)"));
            }
        }
        out
    }
}

impl fmt::Display for Tally {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "jason {:?}, others {:?}, {} errors", self.jason, self.others, self.errors.len())
    }
}

/// Asserts the canary for every client at once, so that one report compares them all.
pub fn assert_all_follow_the_canary(results: &[(&str, &Tally)]) {
    let mut report = String::new();
    let mut failed = false;
    for (client, tally) in results {
        let violations = tally.violations();
        failed |= !violations.is_empty();
        report.push_str(&format!("  {client:<10} {tally}\n"));
        for v in violations {
            report.push_str(&format!("  {client:<10}   VIOLATION: {v}\n"));
        }
    }
    eprintln!("canary on {TARGET}:\n{report}");
    assert!(!failed, "not every client follows the canary:\n{report}");
}

/// The calls every client makes: `OTHER_CALLS` without and `JASON_CALLS` with the header,
/// interleaved in a fixed pseudo-random order.
pub fn plan() -> Vec<bool> {
    let mut plan: Vec<bool> =
        std::iter::repeat_n(false, OTHER_CALLS).chain(std::iter::repeat_n(true, JASON_CALLS)).collect();
    fastrand::Rng::with_seed(7).shuffle(&mut plan);
    plan
}

/// Runs [`plan`] over any tonic transport (a `MeshChannel`, tonic-xds's channel).
pub async fn tally<T>(channel: T) -> Tally
where
    T: tonic::client::GrpcService<tonic::body::Body>,
    T::Error: Into<StdError>,
    T::ResponseBody: Body<Data = Bytes> + Send + 'static,
    <T::ResponseBody as Body>::Error: Into<StdError> + Send,
{
    let mut client = EchoClient::new(channel);
    let mut out = Tally::default();
    for (i, jason) in plan().into_iter().enumerate() {
        let mut req = tonic::Request::new(EchoRequest { payload: Bytes::from_static(b"ping") });
        if jason {
            req.metadata_mut().insert("end-user", "jason".parse().expect("metadata"));
        }
        let limit = if i == 0 { FIRST_CALL_TIMEOUT } else { Duration::from_secs(5) };
        let class = if jason { "jason" } else { "others" };
        match tokio::time::timeout(limit, client.echo(req)).await {
            Ok(Ok(reply)) => {
                let counts = if jason { &mut out.jason } else { &mut out.others };
                *counts.entry(reply.into_inner().server).or_default() += 1;
            }
            Ok(Err(status)) => out.errors.push(format!("{class}: {:?}: {}", status.code(), status.message())),
            Err(_) => out.errors.push(format!("{class}: no answer within {limit:?}")),
        }
        if out.errors.len() >= 10 || (i == 0 && !out.errors.is_empty()) {
            break;
        }
    }
    out
}

/// Our client, configured by a bootstrap file (the canary's: `&canary.bootstrap` or
/// `&canary.bootstrap_http`).
pub async fn mesh_tally(bootstrap: &Path) -> Tally {
    let bootstrap = match mesh_xds::bootstrap::Bootstrap::from_file(bootstrap) {
        Ok(b) => b,
        Err(e) => return Tally::failed(format!("bootstrap rejected: {e}")),
    };
    let xds = match XdsClient::from_bootstrap(&bootstrap, ClientOptions::default()) {
        Ok(x) => x,
        Err(e) => return Tally::failed(format!("client: {e}")),
    };
    let ch = match tokio::time::timeout(FIRST_CALL_TIMEOUT, MeshChannel::from_xds(&xds, TARGET)).await {
        Ok(Ok(ch)) => ch,
        Ok(Err(e)) => return Tally::failed(format!("MeshChannel::from_xds: {e}")),
        Err(_) => {
            return Tally::failed(format!("MeshChannel::from_xds: no configuration within {FIRST_CALL_TIMEOUT:?}"));
        }
    };
    tally(ch).await
}
