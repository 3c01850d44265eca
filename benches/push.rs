//! Control-plane push latency and memory: N simulated ADS clients (in-process tonic
//! clients, half State-of-the-World, half Delta) subscribed to a mesh of 100 services
//! served by mesh-control; after a VirtualService edit on disk, how long until each
//! client has the new route configuration (and has ACKed it: the clients ACK on receipt),
//! and the control plane's resident memory per connected client.
//!
//! The control plane runs in a child process (this same executable, re-executed with
//! `MESH_PUSH_BENCH_ROLE=server`) so that its RSS is measured alone; the edit goes through
//! the file watcher and its debounce (100 ms, mesh-control's default), as a user's edit
//! does. Each client subscribes to LDS, RDS, CDS and EDS of 5 services, one of which is
//! `svc-0`, the one edited. Prints, last:
//!
//! `push: clients=1000 p50_ms=<a> p99_ms=<b> max_ms=<c> rss_kb_per_client=<d>`
#![allow(clippy::print_stdout, clippy::unwrap_used, missing_docs)]

use std::collections::{BTreeSet, HashMap};
use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use std::time::{Duration, Instant};

use envoy_types::pb::envoy::config::core::v3::Node;
use envoy_types::pb::envoy::service::discovery::v3::aggregated_discovery_service_client::AggregatedDiscoveryServiceClient;
use envoy_types::pb::envoy::service::discovery::v3::{DeltaDiscoveryRequest, DiscoveryRequest};
use mesh_xds::type_url::{CLUSTER, ENDPOINT, LISTENER, ROUTE};
use tokio::sync::mpsc;
use tokio_stream::wrappers::UnboundedReceiverStream;

const SERVICES: usize = 100;
const ROLE: &str = "MESH_PUSH_BENCH_ROLE";

fn host(k: usize) -> String {
    format!("svc-{k}.default.svc.cluster.local")
}

fn virtual_service(k: usize, v1: u32) -> String {
    format!(
        "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {{ name: svc-{k}, namespace: default }}\nspec:\n  hosts: [{h}]\n  http:\n    - route:\n        - {{ destination: {{ host: {h}, subset: v1 }}, weight: {v1} }}\n        - {{ destination: {{ host: {h}, subset: v2 }}, weight: {v2} }}\n",
        h = host(k),
        v2 = 100 - v1
    )
}

fn write_mesh(dir: &Path) {
    for k in 0..SERVICES {
        let mut y = String::new();
        let h = host(k);
        // Documentation-range addresses: configuration data only, never connected to.
        let (a, b) = (format!("192.0.2.{}", k % 250 + 1), format!("198.51.100.{}", k % 250 + 1));
        write!(
            y,
            "apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {{ name: svc-{k}, namespace: default }}\nspec:\n  hosts: [{h}]\n  location: MESH_INTERNAL\n  resolution: STATIC\n  ports: [{{ number: 9080, name: grpc, protocol: GRPC }}]\n  endpoints:\n    - {{ address: {a}, labels: {{ version: v1 }} }}\n    - {{ address: {b}, labels: {{ version: v2 }} }}\n---\napiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {{ name: svc-{k}, namespace: default }}\nspec:\n  host: {h}\n  subsets:\n    - {{ name: v1, labels: {{ version: v1 }} }}\n    - {{ name: v2, labels: {{ version: v2 }} }}\n"
        )
        .unwrap();
        std::fs::write(dir.join(format!("svc-{k}.yaml")), y).unwrap();
        std::fs::write(dir.join(format!("vs-{k}.yaml")), virtual_service(k, 90)).unwrap();
    }
}

fn rss_kb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Child: runs the control plane; answers `rss` on stdin with its RSS in kB.
fn server(dir: &str) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async {
        let cp = mesh_control::ControlPlane::builder()
            .config_paths(vec![dir.into()])
            .xds_addr("127.0.0.1:0".parse().unwrap())
            .admin_addr("127.0.0.1:0".parse().unwrap())
            .start()
            .await
            .unwrap();
        println!("xds {}", cp.xds_addr());
        std::io::stdout().flush().unwrap();
        let lines = tokio::task::spawn_blocking(|| {
            for line in std::io::stdin().lock().lines() {
                match line.as_deref() {
                    Ok("rss") => {
                        println!("rss {}", rss_kb());
                        std::io::stdout().flush().unwrap();
                    }
                    _ => return,
                }
            }
        });
        let _ = lines.await;
        cp.shutdown().await;
    });
}

/// One simulated proxyless client: subscribes, ACKs every response, and reports when
/// `svc-0`'s route configuration changes after `edited` is set.
async fn client(
    id: usize,
    uri: String,
    delta: bool,
    synced: mpsc::UnboundedSender<usize>,
    changed: mpsc::UnboundedSender<(usize, Instant)>,
) {
    let mut services: BTreeSet<usize> = BTreeSet::from([0]);
    let mut k = id * 7 + 1;
    while services.len() < 5 {
        services.insert(k % SERVICES);
        k += 13;
    }
    let listeners: Vec<String> = services.iter().map(|k| format!("{}:9080", host(*k))).collect();
    let clusters: Vec<String> =
        services.iter().flat_map(|k| ["", "v1", "v2"].map(|s| format!("outbound|9080|{s}|{}", host(*k)))).collect();
    let names: HashMap<&str, Vec<String>> = HashMap::from([
        (LISTENER, listeners.clone()),
        (ROUTE, listeners),
        (CLUSTER, clusters.clone()),
        (ENDPOINT, clusters),
    ]);
    let node = Node { id: format!("bench-{id}"), ..Default::default() };
    let channel = tonic::transport::Endpoint::from_shared(uri).unwrap().connect().await.unwrap();
    let mut ads = AggregatedDiscoveryServiceClient::new(channel).max_decoding_message_size(64 << 20);
    let route0 = format!("{}:9080", host(0));
    let mut seen0: Option<Vec<u8>> = None;
    let mut pending_types: BTreeSet<&str> = names.keys().copied().collect();
    if delta {
        let (tx, rx) = mpsc::unbounded_channel();
        for (t, n) in &names {
            tx.send(DeltaDiscoveryRequest {
                node: Some(node.clone()),
                type_url: t.to_string(),
                resource_names_subscribe: n.clone(),
                ..Default::default()
            })
            .unwrap();
        }
        let mut stream = ads.delta_aggregated_resources(UnboundedReceiverStream::new(rx)).await.unwrap().into_inner();
        while let Ok(Some(resp)) = stream.message().await {
            let _ = tx.send(DeltaDiscoveryRequest {
                type_url: resp.type_url.clone(),
                response_nonce: resp.nonce.clone(),
                ..Default::default()
            });
            let route = resp.resources.iter().filter(|_| resp.type_url == ROUTE).find(|r| r.name == route0);
            if let Some(r) = route.and_then(|r| r.resource.as_ref()) {
                if seen0.as_ref().is_some_and(|s| *s != r.value) {
                    let _ = changed.send((id, Instant::now()));
                }
                seen0 = Some(r.value.clone());
            }
            if pending_types.remove(resp.type_url.as_str()) && pending_types.is_empty() {
                let _ = synced.send(id);
            }
        }
    } else {
        let (tx, rx) = mpsc::unbounded_channel();
        for (t, n) in &names {
            tx.send(DiscoveryRequest {
                node: Some(node.clone()),
                type_url: t.to_string(),
                resource_names: n.clone(),
                ..Default::default()
            })
            .unwrap();
        }
        let mut stream = ads.stream_aggregated_resources(UnboundedReceiverStream::new(rx)).await.unwrap().into_inner();
        while let Ok(Some(resp)) = stream.message().await {
            let _ = tx.send(DiscoveryRequest {
                version_info: resp.version_info.clone(),
                type_url: resp.type_url.clone(),
                resource_names: names.get(resp.type_url.as_str()).cloned().unwrap_or_default(),
                response_nonce: resp.nonce.clone(),
                ..Default::default()
            });
            if resp.type_url == ROUTE {
                let r0 = resp.resources.iter().find(|a| {
                    // The name is inside the RouteConfiguration; compare by content.
                    let rc: envoy_types::pb::envoy::config::route::v3::RouteConfiguration =
                        prost::Message::decode(a.value.as_slice()).unwrap_or_default();
                    rc.name == route0
                });
                if let Some(r) = r0 {
                    if seen0.as_ref().is_some_and(|s| *s != r.value) {
                        let _ = changed.send((id, Instant::now()));
                    }
                    seen0 = Some(r.value.clone());
                }
            }
            if pending_types.remove(resp.type_url.as_str()) && pending_types.is_empty() {
                let _ = synced.send(id);
            }
        }
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1]
}

fn main() {
    if let Ok(dir) = std::env::var(ROLE) {
        return server(&dir);
    }
    let full = std::env::args().any(|a| a == "--bench");
    let n: usize =
        std::env::var("PUSH_CLIENTS").ok().and_then(|v| v.parse().ok()).unwrap_or(if full { 1000 } else { 20 });
    let edits = if full { 5 } else { 1 };
    let dir = std::env::temp_dir().join(format!("mesh-push-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    write_mesh(&dir);

    let mut child = Command::new(std::env::current_exe().unwrap())
        .env(ROLE, &dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut child_in = child.stdin.take().unwrap();
    let mut child_out = BufReader::new(child.stdout.take().unwrap()).lines();
    let xds = child_out.next().unwrap().unwrap().strip_prefix("xds ").unwrap().to_string();
    let mut ask_rss = move || -> u64 {
        writeln!(child_in, "rss").unwrap();
        child_in.flush().unwrap();
        child_out.next().unwrap().unwrap().strip_prefix("rss ").unwrap().parse().unwrap()
    };
    let rss_before = ask_rss();

    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let (p50, p99, max) = rt.block_on(async {
        let (synced_tx, mut synced) = mpsc::unbounded_channel();
        let (changed_tx, mut changed) = mpsc::unbounded_channel();
        for id in 0..n {
            tokio::spawn(client(id, format!("http://{xds}"), id % 2 == 1, synced_tx.clone(), changed_tx.clone()));
        }
        for _ in 0..n {
            tokio::time::timeout(Duration::from_secs(120), synced.recv()).await.expect("clients sync").unwrap();
        }
        let mut all = Vec::new();
        for e in 0..edits {
            let start = Instant::now();
            // Write-then-rename, as editors do: the watcher never sees a half-written file.
            let tmp = dir.join(".vs-0.yaml.tmp");
            std::fs::write(&tmp, virtual_service(0, if e % 2 == 0 { 50 } else { 90 })).unwrap();
            std::fs::rename(&tmp, dir.join("vs-0.yaml")).unwrap();
            // The first change each client sees after the edit; anything older is a
            // leftover of the previous round and is dropped.
            let mut lat = Vec::with_capacity(n);
            let mut done = vec![false; n];
            let mut stale = 0;
            while lat.len() < n {
                let (id, at) =
                    tokio::time::timeout(Duration::from_secs(60), changed.recv()).await.expect("push").unwrap();
                if at < start || done[id] {
                    stale += 1;
                    continue;
                }
                done[id] = true;
                lat.push(at.duration_since(start).as_secs_f64() * 1e3);
            }
            if stale > 0 {
                println!("edit {e}: {stale} change notifications from before the edit (or repeats) ignored");
            }
            lat.sort_by(f64::total_cmp);
            println!(
                "edit {e}: p50_ms={:.1} p99_ms={:.1} max_ms={:.1}",
                percentile(&lat, 0.5),
                percentile(&lat, 0.99),
                lat[lat.len() - 1]
            );
            all.extend(lat);
        }
        all.sort_by(f64::total_cmp);
        (percentile(&all, 0.5), percentile(&all, 0.99), all[all.len() - 1])
    });
    let rss_after = ask_rss();
    let per_client = rss_after.saturating_sub(rss_before) as f64 / n as f64;
    println!(
        "control plane RSS: {rss_before} kB idle, {rss_after} kB with {n} clients (includes 100 ms debounce in latencies)"
    );
    println!("push: clients={n} p50_ms={p50:.1} p99_ms={p99:.1} max_ms={max:.1} rss_kb_per_client={per_client:.1}");
    drop(rt);
    let _ = child.kill();
    let _ = child.wait();
    std::fs::remove_dir_all(&dir).ok();
}
