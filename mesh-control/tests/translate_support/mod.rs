//! Shared by the `translate_*` tests: bookinfo's workloads as WorkloadEntries, a request
//! to route, and decoding resources through our own client's translation.

#![allow(dead_code, unreachable_pub)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use mesh_control::istio::{ConfigSet, parse_str};
use mesh_control::translate::Resources;
use mesh_core::matcher::RequestAttributes;
use mesh_xds::translate::{ClusterConfig, EndpointsConfig, Resource, ResourceError, RouteConfig, decode};

/// Istio's bookinfo samples, or `None` (after printing why) when they are absent.
pub fn bookinfo_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/conformance/istio-bookinfo"));
    if dir.is_dir() {
        return Some(dir);
    }
    assert!(
        std::env::var("MESH_REQUIRE_PEERS").as_deref() != Ok("1"),
        "istio-bookinfo conformance data not found at {} (MESH_REQUIRE_PEERS=1)",
        dir.display()
    );
    eprintln!("SKIPPED: istio-bookinfo conformance data not found");
    None
}

/// Bookinfo's workloads (what Kubernetes Deployments would be), as WorkloadEntries
/// without a ServiceEntry: each becomes an instance of `<app>.default.svc.cluster.local`.
pub const WORKLOADS: &str = "
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: productpage-v1}
spec: {address: 10.0.0.1, labels: {app: productpage, version: v1}, ports: {http: 9080}, serviceAccount: bookinfo-productpage}
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: details-v1}
spec: {address: 10.0.0.2, labels: {app: details, version: v1}, ports: {http: 9080}, serviceAccount: bookinfo-details}
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: ratings-v1}
spec: {address: 10.0.0.3, labels: {app: ratings, version: v1}, ports: {http: 9080}, serviceAccount: bookinfo-ratings}
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: reviews-v1}
spec: {address: 10.0.1.1, labels: {app: reviews, version: v1}, ports: {http: 9080}, serviceAccount: bookinfo-reviews, locality: eu-west1/eu-west1-a}
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: reviews-v2}
spec: {address: 10.0.1.2, labels: {app: reviews, version: v2}, ports: {http: 9080}, serviceAccount: bookinfo-reviews, weight: 3}
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: reviews-v2-b}
spec: {address: 10.0.1.4, labels: {app: reviews, version: v2}, ports: {http: 19080}, serviceAccount: bookinfo-reviews}
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: reviews-v3}
spec: {address: 10.0.1.3, labels: {app: reviews, version: v3}, ports: {http: 9080}, serviceAccount: bookinfo-reviews}
";

/// Parses YAML texts into one set (panics on issues).
pub fn config(texts: &[(&str, &str)]) -> ConfigSet {
    let mut set = ConfigSet::default();
    for (file, text) in texts {
        match parse_str(text, Path::new(file), "default") {
            Ok(s) => set.extend(s),
            Err(issues) => panic!("{file}: {issues:#?}"),
        }
    }
    let issues = mesh_control::istio::validate(&set);
    assert!(issues.is_empty(), "{issues:#?}");
    set
}

/// Whether `name` is a server's inbound listener (`xds.istio.io/grpc/lds/inbound/…`):
/// servers fetch those, clients never do.
pub fn is_inbound(name: &str) -> bool {
    name.starts_with(mesh_control::translate::security::INBOUND_LISTENER_PREFIX)
}

/// The names of the client listeners (`host:port`), sorted.
pub fn client_listeners(r: &Resources) -> Vec<&str> {
    r.names(mesh_xds::type_url::LISTENER).into_iter().filter(|n| !is_inbound(n)).collect()
}

/// Every client resource (inbound listeners left out) decoded by our client's
/// translation: (type URL, name, result).
pub fn decode_all(r: &Resources) -> Vec<(&'static str, String, Result<Resource, ResourceError>)> {
    let mut out = Vec::new();
    for (type_url, resources) in &r.by_type {
        for (name, any) in resources.iter().filter(|(name, _)| !is_inbound(name)) {
            let d = decode(type_url, any);
            assert_eq!(d.name.as_deref(), Some(name.as_str()), "resource named as keyed");
            out.push((*type_url, name.clone(), d.result));
        }
    }
    out
}

/// Asserts that every resource decodes, and returns the failures otherwise.
pub fn rejected(r: &Resources) -> Vec<String> {
    decode_all(r).into_iter().filter_map(|(_, name, res)| res.err().map(|e| format!("{name}: {e}"))).collect()
}

/// The decoded route configuration `name`.
pub fn routes(r: &Resources, name: &str) -> RouteConfig {
    let any = r.get(mesh_xds::type_url::ROUTE, name).unwrap_or_else(|| panic!("no route configuration {name}"));
    match decode(mesh_xds::type_url::ROUTE, any).result {
        Ok(Resource::Route(rc)) => rc,
        other => panic!("{name}: {other:?}"),
    }
}

/// The decoded cluster `name`.
pub fn cluster(r: &Resources, name: &str) -> ClusterConfig {
    let any = r.get(mesh_xds::type_url::CLUSTER, name).unwrap_or_else(|| panic!("no cluster {name}"));
    match decode(mesh_xds::type_url::CLUSTER, any).result {
        Ok(Resource::Cluster(c)) => c,
        other => panic!("{name}: {other:?}"),
    }
}

/// The decoded endpoints of cluster `name`.
pub fn endpoints(r: &Resources, name: &str) -> EndpointsConfig {
    let any = r.get(mesh_xds::type_url::ENDPOINT, name).unwrap_or_else(|| panic!("no endpoints {name}"));
    match decode(mesh_xds::type_url::ENDPOINT, any).result {
        Ok(Resource::Endpoints(e)) => e,
        other => panic!("{name}: {other:?}"),
    }
}

/// The addresses of cluster `name`'s endpoints.
pub fn addresses(r: &Resources, name: &str) -> Vec<SocketAddr> {
    endpoints(r, name).endpoints.iter().map(|e| e.address()).collect()
}

/// `outbound|9080|<subset>|<app>.default.svc.cluster.local`.
pub fn bookinfo_cluster(app: &str, subset: &str) -> String {
    format!("outbound|9080|{subset}|{app}.default.svc.cluster.local")
}

/// A request to route.
#[derive(Debug, Clone)]
pub struct Req {
    pub authority: String,
    pub path: String,
    pub method: String,
    pub headers: Vec<(String, String)>,
}

impl Req {
    pub fn get(authority: &str, path: &str) -> Self {
        Self { authority: authority.into(), path: path.into(), method: "GET".into(), headers: Vec::new() }
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }
}

impl RequestAttributes for Req {
    fn authority(&self) -> &str {
        &self.authority
    }
    fn path(&self) -> &str {
        self.path.split('?').next().unwrap_or_default()
    }
    fn query(&self) -> Option<&str> {
        self.path.split_once('?').map(|(_, q)| q)
    }
    fn method(&self) -> &str {
        &self.method
    }
    fn for_each_header_value(&self, name: &str, f: &mut dyn FnMut(&str)) {
        self.headers.iter().filter(|(n, _)| n == name).for_each(|(_, v)| f(v));
    }
}

/// The clusters and weights a request is routed to.
pub fn route(rc: &RouteConfig, req: &Req) -> Vec<(String, u32)> {
    let (_, r) = rc.routes.route(req).unwrap_or_else(|e| panic!("{req:?} not routed: {e:?}"));
    r.action().destinations.entries().iter().map(|(d, w)| (d.cluster.clone(), *w)).collect()
}
