//! A control plane with a CA and the Istio YAML of a STRICT, authorized `reviews`
//! service; workloads with `mesh_ca` bootstraps (tests/zero_trust.rs).
#![allow(clippy::unwrap_used)] // test setup: a failure is a test failure

use std::path::{Path, PathBuf};
use std::sync::Arc;

use mesh::tls::identity::IdentityStore;
use mesh_control::ca::CaConfig;
use mesh_xds::bootstrap::Bootstrap;
use mesh_xds::client::{ClientOptions, XdsClient};

pub const TARGET: &str = "xds:///reviews.default.svc.cluster.local:9080";

pub fn config(port: u16) -> String {
    config_with(port, "STRICT", true)
}

/// The mesh config with PeerAuthentication `mode`, and the AuthorizationPolicy or not.
pub fn config_with(port: u16, mode: &str, authz: bool) -> String {
    let text = format!(
        r#"apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {{ name: reviews, namespace: default }}
spec:
  hosts: [reviews.default.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{{ number: 9080, name: grpc, protocol: GRPC }}]
  workloadSelector: {{ labels: {{ app: reviews }} }}
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {{ name: reviews-v1, namespace: default }}
spec:
  address: 127.0.0.1
  ports: {{ grpc: {port} }}
  labels: {{ app: reviews, version: v1 }}
  serviceAccount: reviews
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {{ name: reviews, namespace: default }}
spec:
  host: reviews.default.svc.cluster.local
  trafficPolicy: {{ tls: {{ mode: ISTIO_MUTUAL }} }}
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {{ name: reviews-strict, namespace: default }}
spec:
  selector: {{ matchLabels: {{ app: reviews }} }}
  mtls: {{ mode: {mode} }}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {{ name: reviews-callers, namespace: default }}
spec:
  selector: {{ matchLabels: {{ app: reviews }} }}
  action: ALLOW
  rules:
    - from: [{{ source: {{ principals: ["cluster.local/ns/default/sa/productpage"] }} }}]
      to: [{{ operation: {{ paths: ["/mesh.test.Echo/*"] }} }}]
"#
    );
    if authz {
        text
    } else {
        text.split("---\napiVersion: security.istio.io/v1\nkind: AuthorizationPolicy").next().unwrap_or("").to_string()
    }
}

pub const TOKENS: &str = "- { token: tok-productpage-0123456789, namespace: default, serviceAccount: productpage }\n- { token: tok-ratings-0123456789, namespace: default, serviceAccount: ratings }\n- { token: tok-reviews-0123456789, namespace: default, serviceAccount: reviews }\n";

pub fn bootstrap(
    dir: &Path,
    xds: std::net::SocketAddr,
    ca: std::net::SocketAddr,
    who: &str,
    lifetime: Option<&str>,
) -> Bootstrap {
    let token_file = dir.join(format!("{who}.token"));
    std::fs::write(&token_file, format!("tok-{who}-0123456789\n")).unwrap();
    let json = serde_json::json!({
        "xds_servers": [{ "server_uri": format!("{xds}"), "channel_creds": [{ "type": "insecure" }], "server_features": ["xds_v3"] }],
        "node": { "id": format!("{who}~127.0.0.1~{who}.default~default.svc.cluster.local") },
        "server_listener_resource_name_template": "xds.istio.io/grpc/lds/inbound/%s",
        "certificate_providers": { "default": { "plugin_name": "mesh_ca", "config": {
            "server_uri": format!("{ca}"),
            "ca_certificate_file": dir.join("ca").join("root-cert.pem"),
            "token_file": token_file,
        } } },
    });
    let mut json = json;
    if let Some(l) = lifetime {
        json["certificate_providers"]["default"]["config"]["certificate_lifetime"] = serde_json::json!(l);
    }
    Bootstrap::from_json(&json.to_string()).unwrap()
}

pub async fn identity(client: &XdsClient) -> Arc<IdentityStore> {
    let store = client.certificate_providers().get("default").expect("provider default").clone();
    let mut changes = store.subscribe();
    changes.wait_for(|_| store.usable_certificate().is_some()).await.unwrap();
    store
}

pub struct Mesh {
    pub dir: PathBuf,
    pub cp: mesh_control::RunningControlPlane,
}

pub async fn control_plane(port: u16) -> Mesh {
    control_plane_with(port, &config(port)).await
}

/// A control plane serving `yaml` (see [`config_with`]).
pub async fn control_plane_with(port: u16, yaml: &str) -> Mesh {
    let dir = std::env::temp_dir().join(format!("mesh-zero-trust-{}-{port}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("config")).unwrap();
    std::fs::write(dir.join("config").join("mesh.yaml"), yaml).unwrap();
    std::fs::write(dir.join("tokens.yaml"), TOKENS).unwrap();
    let mut ca = CaConfig::new("127.0.0.1:0".parse().unwrap(), dir.join("ca"));
    ca.tokens = Some(dir.join("tokens.yaml"));
    let cp = mesh_control::ControlPlane::builder()
        .config_paths(vec![dir.join("config")])
        .xds_addr("127.0.0.1:0".parse().unwrap())
        .admin_addr("127.0.0.1:0".parse().unwrap())
        .ca(ca)
        .start()
        .await
        .expect("control plane starts");
    Mesh { dir, cp }
}

pub async fn client(m: &Mesh, who: &str, lifetime: Option<&str>) -> XdsClient {
    let b = bootstrap(&m.dir, m.cp.xds_addr(), m.cp.ca_addr().unwrap(), who, lifetime);
    XdsClient::from_bootstrap(&b, ClientOptions::default()).unwrap()
}

/// Replaces the served YAML the way editors do (write, then rename).
pub fn rewrite(m: &Mesh, yaml: &str) {
    let tmp = m.dir.join("config").join(".mesh.yaml.tmp");
    std::fs::write(&tmp, yaml).unwrap();
    std::fs::rename(&tmp, m.dir.join("config").join("mesh.yaml")).unwrap();
}
