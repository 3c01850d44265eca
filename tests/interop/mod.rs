//! One canary, served by one control plane, that every proxyless xDS client must follow:
//! our `MeshChannel` and the peers (grpcio, tonic-xds) in `tests/interop_*.rs`.
//!
//! The resources are shaped like those Istio's gRPC generator (and mesh-control) serve
//! for `reviews.default.svc.cluster.local:9080`: an `api_listener` named `host:port`
//! → RDS of the same name → clusters `outbound|9080|vN|host` → EDS in one locality.
//! Routes: header `end-user: jason` → v2, everyone else 50/50 v1/v3. The bootstrap is
//! gRPC's JSON (gRFC A27), the one file every client reads.
#![allow(dead_code, unreachable_pub, missing_docs)]

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::Bytes;
use mesh::MeshChannel;
use mesh_testkit::xds::{
    cluster_eds, endpoints_in_locality, istio_cluster_name, listener, route_config, route_header, route_weighted,
};
use mesh_testkit::{Backend, ControlPlane, EchoClient, EchoRequest};
use mesh_xds::client::{ClientOptions, XdsClient};
use mesh_xds::type_url::{CLUSTER, ENDPOINT, LISTENER, ROUTE};
use tonic::codegen::{Body, StdError};

pub const HOST: &str = "reviews.default.svc.cluster.local";
pub const PORT: u16 = 9080;
/// The listener and route configuration name, and the target's authority.
pub const LISTENER_NAME: &str = "reviews.default.svc.cluster.local:9080";
pub const TARGET: &str = "xds:///reviews.default.svc.cluster.local:9080";

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

/// Backends v1..v3, the control plane serving the canary, and the bootstrap file.
pub struct Canary {
    pub backends: Vec<Backend>,
    pub cp: ControlPlane,
    pub dir: PathBuf,
    /// gRPC bootstrap JSON pointing at `cp`.
    pub bootstrap: PathBuf,
    name: String,
}

impl Canary {
    pub async fn start(name: &str) -> Canary {
        let mut backends = Vec::new();
        for v in ["v1", "v2", "v3"] {
            backends.push(Backend::grpc(v).await.expect("backend"));
        }
        let cp = ControlPlane::start().await;
        let cache = &cp.cache;
        let cluster = |v: &str| istio_cluster_name(HOST, PORT, v);
        cache.set(LISTENER, LISTENER_NAME, listener(LISTENER_NAME, LISTENER_NAME));
        let domains = [
            HOST,
            LISTENER_NAME,
            "reviews",
            "reviews:9080",
            "reviews.default",
            "reviews.default:9080",
            "reviews.default.svc",
            "reviews.default.svc:9080",
        ];
        let routes = vec![
            route_header("end-user", "jason", &cluster("v2")),
            route_weighted(&[(&cluster("v1"), 50), (&cluster("v3"), 50)]),
        ];
        cache.set(ROUTE, LISTENER_NAME, route_config(LISTENER_NAME, &domains, routes));
        for b in &backends {
            let c = cluster(b.state().name());
            cache.set(CLUSTER, &c, cluster_eds(&c));
            cache.set(ENDPOINT, &c, endpoints_in_locality(&c, "us-east1", "us-east1-b", &[b.addr()]));
        }

        let dir = std::env::temp_dir().join(format!("mesh-interop-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let bootstrap = dir.join("bootstrap.json");
        let mut canary = Canary { backends, cp, dir, bootstrap, name: name.to_string() };
        canary.bootstrap = canary.write_bootstrap("bootstrap.json", &canary.cp.addr.to_string());
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
                "locality": { "region": "us-east1", "zone": "us-east1-b" },
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

/// Our client, configured by a bootstrap file (the canary's: `&canary.bootstrap`).
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
