//! Interop with grpcio (Python over grpc-core), a real proxyless xDS client: the same
//! Istio YAML, served by mesh-control, and the same bootstrap file drive grpcio and our
//! `MeshChannel`, and both must route per the YAML (`end-user: jason` → v2, others 50/50
//! v1/v3).
//!
//! grpcio comes from `scripts/install-peers.sh` (a venv in `~/.cache/mesh-peers`), or
//! from any `python3` that can `import grpc`. Without it the test prints
//! `SKIPPED: grpcio not installed`, and fails under `MESH_REQUIRE_PEERS=1`.

// Test helpers outside #[test] functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used)]

mod interop;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use interop::{Canary, FIRST_CALL_TIMEOUT, JASON_CALLS, OTHER_CALLS, TARGET, Tally};
use mesh_testkit::xds::endpoints;
use mesh_xds::server::ServerEvent;
use mesh_xds::type_url::ENDPOINT;
use tokio::process::Command;

/// Bound on the whole Python run (start-up, resolution, every call).
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(90);

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/grpcio_client.py")
}

/// The venv `install-peers.sh` makes, else `python3` if it has grpcio.
async fn grpcio_python() -> Result<PathBuf, String> {
    let mut candidates = Vec::new();
    if let Some(home) = std::env::var_os("HOME") {
        candidates.push(PathBuf::from(home).join(".cache/mesh-peers/venv/bin/python"));
    }
    candidates.push(PathBuf::from("python3"));
    let mut tried = Vec::new();
    for python in candidates {
        let check = Command::new(&python)
            .args(["-c", "import grpc; print(grpc.__version__)"])
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .output();
        match tokio::time::timeout(Duration::from_secs(30), check).await {
            Ok(Ok(out)) if out.status.success() => {
                eprintln!("grpcio {} from {}", String::from_utf8_lossy(&out.stdout).trim(), python.display());
                return Ok(python);
            }
            Ok(Ok(out)) => tried.push(format!(
                "{}: {}",
                python.display(),
                String::from_utf8_lossy(&out.stderr).lines().last().unwrap_or("import failed")
            )),
            Ok(Err(e)) => tried.push(format!("{}: {e}", python.display())),
            Err(_) => tried.push(format!("{}: `import grpc` timed out", python.display())),
        }
    }
    Err(tried.join("; "))
}

/// The grpcio client configured by `bootstrap`, making `jason` + `others` calls; the
/// first waits up to `first_call` for the xDS resolution and a connection.
fn grpcio_client(python: &Path, bootstrap: &Path, jason: usize, others: usize, first_call: Duration) -> Command {
    let mut cmd = Command::new(python);
    cmd.arg(script())
        .arg(TARGET)
        .args(["--jason", &jason.to_string(), "--others", &others.to_string()])
        .args(["--timeout", &first_call.as_secs_f64().to_string()])
        .env("GRPC_XDS_BOOTSTRAP", bootstrap)
        .env_remove("GRPC_XDS_BOOTSTRAP_CONFIG")
        .env("GRPC_VERBOSITY", "ERROR")
        .stdin(Stdio::null())
        .kill_on_drop(true);
    cmd
}

/// Runs the grpcio client configured by `bootstrap`.
async fn grpcio_tally(python: &Path, bootstrap: &Path) -> Tally {
    let run = grpcio_client(python, bootstrap, JASON_CALLS, OTHER_CALLS, FIRST_CALL_TIMEOUT).output();
    let out = match tokio::time::timeout(SCRIPT_TIMEOUT, run).await {
        Ok(Ok(out)) => out,
        Ok(Err(e)) => return Tally::failed(format!("could not run {}: {e}", python.display())),
        Err(_) => return Tally::failed(format!("grpcio client did not finish within {SCRIPT_TIMEOUT:?}")),
    };
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let summary = stdout.lines().rev().find_map(|l| serde_json::from_str::<serde_json::Value>(l).ok());
    match summary.as_ref().and_then(Tally::from_json) {
        Some(tally) if out.status.success() => {
            if !tally.errors.is_empty() {
                eprintln!("grpcio stderr:\n{stderr}");
            }
            tally
        }
        _ => Tally::failed(format!("grpcio client failed ({}):\nstdout: {stdout}\nstderr: {stderr}", out.status)),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpcio_and_mesh_follow_the_same_canary() {
    let canary = Canary::start("grpcio").await;
    let mesh = interop::mesh_tally(&canary.bootstrap).await;
    match grpcio_python().await {
        Ok(python) => {
            let grpcio = grpcio_tally(&python, &canary.bootstrap).await;
            interop::assert_all_follow_the_canary(&[("mesh", &mesh), ("grpcio", &grpcio)]);
        }
        Err(why) => {
            interop::assert_all_follow_the_canary(&[("mesh", &mesh)]);
            interop::peer_missing("grpcio", &why);
        }
    }
}

/// One grpcio call without `end-user` (first-call deadline 2 s), and what the control
/// plane behind `events` saw of it: ACKed types and NACKs `(type, error)`.
async fn grpcio_one_call(
    python: &Path,
    bootstrap: &Path,
    mut events: tokio::sync::broadcast::Receiver<ServerEvent>,
) -> (Tally, Vec<String>, Vec<(String, String)>) {
    let out = grpcio_client(python, bootstrap, 0, 1, Duration::from_secs(2)).output();
    let out = tokio::time::timeout(SCRIPT_TIMEOUT, out).await.expect("grpcio in time").expect("grpcio runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let tally = serde_json::from_str(stdout.trim()).ok().as_ref().and_then(Tally::from_json);
    let tally = tally.unwrap_or_else(|| panic!("no summary: {stdout} {}", String::from_utf8_lossy(&out.stderr)));
    // The script has exited: every event of its stream has been sent.
    let (mut acked, mut nacked) = (Vec::new(), Vec::new());
    loop {
        match events.try_recv() {
            Ok(ServerEvent::Ack { type_url, .. }) => acked.push(type_url),
            Ok(ServerEvent::Nack { type_url, error, .. }) => nacked.push((type_url, error)),
            Ok(_) | Err(tokio::sync::broadcast::error::TryRecvError::Lagged(_)) => {}
            Err(_) => break,
        }
    }
    (tally, acked, nacked)
}

/// grpc-core ignores a `LocalityLbEndpoints` whose `load_balancing_weight` is unset or 0,
/// silently: it ACKs EDS from `mesh_testkit::xds::endpoints` (no locality, no weight) and
/// then has no endpoint, so calls wait until their deadline. (With a weight but no
/// `locality` it NACKs instead: "endpoints[0].locality error:field not present".) Our
/// client and tonic-xds use such endpoints; a control plane that serves gRPC clients
/// must set both, as Istio and mesh-control do (the canary's EDS: a locality from the
/// WorkloadEntries, weighted by the sum of its endpoints' weights).
///
/// No Istio YAML gives an endpoint no locality weight, so this test serves mesh-control's
/// translation from the low-level `mesh_testkit::ControlPlane` with only the EDS
/// replaced by hand.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpcio_ignores_endpoints_without_a_locality_weight() {
    let python = match grpcio_python().await {
        Ok(python) => python,
        Err(why) => return interop::peer_missing("grpcio", &why),
    };
    let canary = Canary::start("grpcio-no-locality").await;
    let cp = canary.hand_served_copy().await;
    for b in &canary.backends {
        let c = mesh_testkit::xds::istio_cluster_name(interop::HOST, interop::PORT, b.state().name());
        assert!(cp.cache.get(ENDPOINT, &c).is_some(), "mesh-control serves EDS {c}");
        cp.cache.set(ENDPOINT, &c, endpoints(&c, &[b.addr()]));
    }
    let bootstrap = canary.write_bootstrap("bootstrap-hand-served.json", &cp.addr.to_string());
    let (tally, acked, nacked) = grpcio_one_call(&python, &bootstrap, cp.server.events()).await;
    assert!(tally.others.is_empty(), "grpcio found endpoints: {tally}; drop this test's claim");
    assert!(tally.errors.first().is_some_and(|e| e.contains("DEADLINE_EXCEEDED")), "{:?}", tally.errors);
    let eds_acked = acked.iter().any(|t| t == ENDPOINT);
    let eds_nacked: Vec<_> = nacked.iter().filter(|(t, _)| t == ENDPOINT).collect();
    assert!(eds_acked && eds_nacked.is_empty(), "grpcio ACKs this EDS (acked: {eds_acked}, NACKs: {eds_nacked:?})");
}
