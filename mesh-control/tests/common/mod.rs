//! Shared by the runtime, admin and CLI tests: a temporary config directory with Istio YAML,
//! a control plane on loopback, an xDS client, a minimal HTTP client, and waits on signals.
#![allow(dead_code, unreachable_pub, missing_docs, clippy::unwrap_used)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use envoy_types::pb::envoy::config::core::v3::Node;
use mesh_control::runtime::{ConfigStatus, RunningControlPlane};
use mesh_control::{ControlPlane, ControlPlaneBuilder};
use mesh_core::Snapshot;
use mesh_xds::client::{ClientOptions, ServerConfig, TargetState, XdsClient};
use mesh_xds::server::ServerEvent;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{broadcast, watch};

/// How long any wait may take before the test fails.
pub const WAIT: Duration = Duration::from_secs(10);

/// The service the fixtures declare, and the client's target.
pub const HOST: &str = "reviews.mesh.internal";
pub const TARGET: &str = "xds:///reviews.mesh.internal:9080";
pub const LISTENER: &str = "reviews.mesh.internal:9080";

/// A directory removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
        let name = format!("mesh-control-test-{}-{}-{nanos}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
        let path = std::env::temp_dir().join(name);
        std::fs::create_dir_all(&path).unwrap();
        Self(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    /// Writes `name` atomically (a temp file renamed over it), as editors and tools do.
    pub fn write(&self, name: &str, content: &str) {
        let path = self.0.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        let file_name = path.file_name().unwrap().to_str().unwrap();
        let tmp = path.with_file_name(format!(".{file_name}.tmp"));
        std::fs::write(&tmp, content).unwrap();
        std::fs::rename(&tmp, &path).unwrap();
    }

    pub fn remove(&self, name: &str) {
        std::fs::remove_file(self.0.join(name)).unwrap();
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A ServiceEntry for `reviews.mesh.internal:9080` selecting two WorkloadEntries (v1 at
/// 10.0.0.1, v2 at 10.0.0.2), and a DestinationRule with subsets v1 and v2.
pub const SERVICE: &str = r#"apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata:
  name: reviews
  namespace: default
spec:
  hosts: ["reviews.mesh.internal"]
  location: MESH_INTERNAL
  resolution: STATIC
  ports:
    - number: 9080
      name: http
      protocol: HTTP
  workloadSelector:
    labels:
      app: reviews
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata:
  name: reviews-v1
  namespace: default
spec:
  address: 10.0.0.1
  labels:
    app: reviews
    version: v1
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata:
  name: reviews-v2
  namespace: default
spec:
  address: 10.0.0.2
  labels:
    app: reviews
    version: v2
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: reviews
  namespace: default
spec:
  host: reviews.mesh.internal
  subsets:
    - name: v1
      labels:
        version: v1
    - name: v2
      labels:
        version: v2
"#;

/// A VirtualService sending every request to `subset` with a `timeout_s` timeout.
pub fn virtual_service(subset: &str, timeout_s: u32) -> String {
    format!(
        r#"apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: reviews
  namespace: default
spec:
  hosts: ["reviews.mesh.internal"]
  http:
    - name: default
      timeout: {timeout_s}s
      route:
        - destination:
            host: reviews.mesh.internal
            subset: {subset}
"#
    )
}

/// A VirtualService whose weights do not sum to 100.
pub const INVALID_VIRTUAL_SERVICE: &str = r#"apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: broken
  namespace: default
spec:
  hosts: ["reviews.mesh.internal"]
  http:
    - route:
        - destination:
            host: reviews.mesh.internal
            subset: v1
          weight: 30
        - destination:
            host: reviews.mesh.internal
            subset: v2
          weight: 30
"#;

/// The Istio-style name of a cluster.
pub fn cluster(subset: &str) -> String {
    format!("outbound|9080|{subset}|{HOST}")
}

/// A config dir with the service and a VirtualService to subset v1, 5 s timeout.
pub fn fixture() -> TempDir {
    let dir = TempDir::new();
    dir.write("service.yaml", SERVICE);
    dir.write("routes/reviews.yaml", &virtual_service("v1", 5));
    dir
}

/// A builder on loopback port 0 for `dir`, with a short shutdown grace.
pub fn builder(dir: &TempDir) -> ControlPlaneBuilder {
    ControlPlane::builder()
        .config_paths(vec![dir.path().to_path_buf()])
        .xds_addr("127.0.0.1:0".parse().unwrap())
        .admin_addr("127.0.0.1:0".parse().unwrap())
        .shutdown_grace(Duration::from_millis(200))
}

pub async fn start(dir: &TempDir) -> RunningControlPlane {
    builder(dir).start().await.unwrap()
}

/// An xDS client of `cp` (State-of-the-World, or Delta).
pub fn client(cp: &RunningControlPlane, delta: bool) -> XdsClient {
    let options = ClientOptions {
        resource_timeout: Duration::from_secs(5),
        backoff_initial: Duration::from_millis(50),
        backoff_max: Duration::from_millis(500),
        connect_timeout: Duration::from_secs(2),
    };
    let server = ServerConfig::new(format!("http://{}", cp.xds_addr())).delta(delta);
    XdsClient::new(vec![server], Node { id: "test-node".into(), ..Default::default() }, options)
}

/// Waits until the target's snapshot satisfies `f`; returns it.
pub async fn snapshot_where(
    rx: &mut watch::Receiver<TargetState>,
    f: impl Fn(&Snapshot) -> bool,
) -> std::sync::Arc<Snapshot> {
    let found = tokio::time::timeout(WAIT, async {
        let state = rx.wait_for(|s| matches!(s, TargetState::Ready(snap) if f(snap))).await.unwrap();
        match &*state {
            TargetState::Ready(snapshot) => snapshot.clone(),
            _ => unreachable!(),
        }
    })
    .await;
    found.unwrap_or_else(|_| panic!("snapshot condition not met in time; last state: {:?}", *rx.borrow()))
}

/// The clusters the target's routes send to.
pub fn routed_clusters(snapshot: &Snapshot) -> Vec<String> {
    let mut clusters: Vec<String> = snapshot
        .routes()
        .virtual_hosts()
        .iter()
        .flat_map(|vh| vh.routes())
        .flat_map(|route| route.action().destinations.entries().iter().map(|(d, _)| d.cluster.clone()))
        .collect();
    clusters.sort();
    clusters.dedup();
    clusters
}

/// Whether any cluster of the snapshot has an endpoint at `addr`.
pub fn has_endpoint(snapshot: &Snapshot, addr: SocketAddr) -> bool {
    snapshot.clusters().any(|c| c.endpoints().iter().any(|e| e.address() == addr))
}

/// Waits until the control plane's status satisfies `f`; returns it.
pub async fn status_where(cp: &RunningControlPlane, f: impl Fn(&ConfigStatus) -> bool) -> ConfigStatus {
    let mut rx = cp.subscribe();
    let status = tokio::time::timeout(WAIT, rx.wait_for(|s| f(s))).await.expect("status condition in time").unwrap();
    status.clone()
}

/// Waits for the first server event matching `f`.
pub async fn event_where(
    events: &mut broadcast::Receiver<ServerEvent>,
    f: impl Fn(&ServerEvent) -> bool,
) -> ServerEvent {
    tokio::time::timeout(WAIT, async {
        loop {
            match events.recv().await {
                Ok(event) if f(&event) => return event,
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => panic!("server gone"),
            }
        }
    })
    .await
    .expect("server event in time")
}

/// Waits until a client ACKed every one of the four types.
pub async fn all_acked(events: &mut broadcast::Receiver<ServerEvent>) {
    use mesh_xds::type_url::{CLUSTER, ENDPOINT, LISTENER, ROUTE};
    let mut pending = vec![LISTENER, ROUTE, CLUSTER, ENDPOINT];
    while !pending.is_empty() {
        let event = event_where(events, |e| matches!(e, ServerEvent::Ack { .. })).await;
        if let ServerEvent::Ack { type_url, .. } = event {
            pending.retain(|t| *t != type_url);
        }
    }
}

/// An HTTP/1.1 response.
#[derive(Debug)]
pub struct HttpResponse {
    pub status: u16,
    pub content_type: String,
    pub body: String,
}

impl HttpResponse {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

/// One request on a fresh connection (`Connection: close`).
pub async fn http(addr: SocketAddr, method: &str, path: &str, body: Option<&str>) -> HttpResponse {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let body = body.unwrap_or_default();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    tokio::time::timeout(WAIT, stream.read_to_end(&mut raw)).await.expect("HTTP response in time").unwrap();
    let raw = String::from_utf8(raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    let mut lines = head.lines();
    let status = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
    let mut content_type = String::new();
    let mut chunked = false;
    for line in lines {
        let (name, value) = line.split_once(':').unwrap();
        match name.to_ascii_lowercase().as_str() {
            "content-type" => content_type = value.trim().to_owned(),
            "transfer-encoding" => chunked = value.trim().eq_ignore_ascii_case("chunked"),
            _ => {}
        }
    }
    let body = if chunked { dechunk(body) } else { body.to_owned() };
    HttpResponse { status, content_type, body }
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let size = usize::from_str_radix(size.trim(), 16).unwrap();
        if size == 0 {
            break;
        }
        out.push_str(&rest[..size]);
        body = &rest[size + 2..];
    }
    out
}

pub async fn get(addr: SocketAddr, path: &str) -> HttpResponse {
    http(addr, "GET", path, None).await
}

/// The value of an unlabelled sample (or one with exactly these labels) in `/metrics`.
pub fn metric(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|line| {
        let (name, value) = line.rsplit_once(' ')?;
        (name == series).then(|| value.parse().ok()).flatten()
    })
}
