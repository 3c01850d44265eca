//! mTLS end to end: a MeshChannel with `ISTIO_MUTUAL` clusters against servers behind
//! the mesh's server side (MeshListener + MeshServerLayer), PeerAuthentication modes,
//! identities visible to the application, wrong identities refused.

mod common;

use std::sync::Arc;

use common::*;
use mesh::core::authz::{ConnectionPolicy, MtlsMode, ServerPolicy};
use mesh::tls::identity::{CertificateProviders, IdentityStore};
use mesh::tower::server::ServerPolicyHandle;
use mesh::{ConfigHandle, MeshChannel};
use mesh_testkit::MeshBackend;
use mesh_testkit::pki::TestCa;

const SERVER: &str = "spiffe://cluster.local/ns/default/sa/reviews";
const CLIENT: &str = "spiffe://cluster.local/ns/default/sa/productpage";

fn policy(mode: MtlsMode) -> ServerPolicyHandle {
    ServerPolicyHandle::new(ServerPolicy::new(mode, ConnectionPolicy::default()))
}

/// A channel to `addr`; `tls` is the cluster's `tls:` block or "" for plaintext.
fn mesh_channel(addr: std::net::SocketAddr, tls: &str, identity: Option<&Arc<IdentityStore>>) -> MeshChannel {
    let yaml = format!(
        "version: t\nvirtual_hosts:\n  - name: svc\n    domains: [\"svc\"]\n    routes:\n      - route: {{ destinations: [{{ cluster: svc }}] }}\nclusters:\n  - name: svc\n{tls}    endpoints:\n      - {{ address: \"{addr}\" }}\n"
    );
    let snapshot = mesh::core::config::from_yaml(&yaml).unwrap_or_else(|e| panic!("{e}\n{yaml}"));
    let providers = identity.map_or_else(CertificateProviders::new, |s| CertificateProviders::single(s.clone()));
    let handle = ConfigHandle::with_certificate_providers(snapshot, providers);
    MeshChannel::builder(handle).authority("svc").expect("authority").build()
}

fn istio_mutual(san: &str) -> String {
    format!("    tls: {{ mode: ISTIO_MUTUAL, subject_alt_names: [\"{san}\"] }}\n")
}

struct Mesh {
    ca: TestCa,
    server: Arc<IdentityStore>,
    client: Arc<IdentityStore>,
}

fn mesh() -> Mesh {
    let ca = TestCa::new("root");
    let server = IdentityStore::with_certificate(ca.issue(SERVER), ca.bundle());
    let client = IdentityStore::with_certificate(ca.issue(CLIENT), ca.bundle());
    Mesh { ca, server, client }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_over_mutual_tls_with_spiffe_identities() {
    let m = mesh();
    let backend = MeshBackend::grpc("reviews", policy(MtlsMode::Strict), Some(&m.server)).await.unwrap();
    let ch = mesh_channel(backend.addr(), &istio_mutual(SERVER), Some(&m.client));
    for _ in 0..20 {
        assert_eq!(echo(&ch).await.unwrap(), "reviews");
    }
    let stats = backend.policy().stats();
    assert_eq!(stats.tls_handshakes(), 1, "one multiplexed HTTP/2 connection");
    assert_eq!(stats.allowed(), 20);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_application_sees_the_peer_identity_over_http1_and_http2() {
    let m = mesh();
    let backend = MeshBackend::http("reviews", policy(MtlsMode::Strict), Some(&m.server)).await.unwrap();
    let ch = mesh_channel(backend.addr(), &istio_mutual(SERVER), Some(&m.client));
    for version in [http::Version::HTTP_11, http::Version::HTTP_2] {
        let mut req = get("http://svc/who");
        *req.version_mut() = version;
        let (status, headers, _) = http(&ch, req).await.unwrap();
        assert_eq!(status, 200, "{version:?}");
        assert_eq!(headers["x-peer-tls"], "true");
        assert_eq!(headers["x-peer-identity"], CLIENT);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strict_refuses_plaintext() {
    let m = mesh();
    let backend = MeshBackend::grpc("reviews", policy(MtlsMode::Strict), Some(&m.server)).await.unwrap();
    let plain = mesh_channel(backend.addr(), "", None);
    let err = echo(&plain).await.unwrap_err();
    assert_eq!(err.code(), tonic::Code::Unavailable, "{err:?}");
    assert!(backend.policy().stats().refused_plaintext() >= 1);
    assert_eq!(backend.state().hits(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permissive_accepts_both_on_one_port() {
    let m = mesh();
    let backend = MeshBackend::http("reviews", policy(MtlsMode::Permissive), Some(&m.server)).await.unwrap();
    let tls = mesh_channel(backend.addr(), &istio_mutual(SERVER), Some(&m.client));
    let plain = mesh_channel(backend.addr(), "", None);
    let (status, headers, _) = http(&tls, get("http://svc/")).await.unwrap();
    assert_eq!((status.as_u16(), &headers["x-peer-identity"]), (200, &http::HeaderValue::from_static(CLIENT)));
    let (status, headers, _) = http(&plain, get("http://svc/")).await.unwrap();
    assert_eq!(status, 200);
    assert_eq!(headers["x-peer-tls"], "false");
    assert_eq!(headers["x-peer-identity"], "");
    let stats = backend.policy().stats();
    assert_eq!((stats.tls_handshakes(), stats.plaintext()), (1, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disable_serves_plaintext_only() {
    let m = mesh();
    let backend = MeshBackend::grpc("reviews", policy(MtlsMode::Disable), Some(&m.server)).await.unwrap();
    assert_eq!(echo(&mesh_channel(backend.addr(), "", None)).await.unwrap(), "reviews");
    let tls = mesh_channel(backend.addr(), &istio_mutual(SERVER), Some(&m.client));
    assert!(echo(&tls).await.is_err(), "a TLS client cannot talk to a DISABLE server");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_with_the_wrong_identity_is_refused() {
    let m = mesh();
    let backend = MeshBackend::grpc("reviews", policy(MtlsMode::Strict), Some(&m.server)).await.unwrap();
    let ch =
        mesh_channel(backend.addr(), &istio_mutual("spiffe://cluster.local/ns/default/sa/ratings"), Some(&m.client));
    let err = echo(&ch).await.unwrap_err();
    assert_eq!(err.code(), tonic::Code::Unavailable);
    let chain = format!("{:?}", std::error::Error::source(&err));
    assert!(chain.contains("NotValidForName"), "{chain}");
    assert_eq!(backend.state().hits(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_from_another_trust_domain_root_is_refused() {
    let m = mesh();
    let backend = MeshBackend::grpc("reviews", policy(MtlsMode::Strict), Some(&m.server)).await.unwrap();
    let stranger_ca = TestCa::new("elsewhere");
    // Trusts our root (so it accepts the server) but holds a certificate from another root.
    let stranger = IdentityStore::with_certificate(stranger_ca.issue(CLIENT), m.ca.bundle());
    let ch = mesh_channel(backend.addr(), &istio_mutual(SERVER), Some(&stranger));
    assert!(echo(&ch).await.is_err());
    assert!(backend.policy().stats().tls_failures() >= 1);
    assert_eq!(backend.state().hits(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_naming_a_missing_certificate_provider_fails_closed() {
    let m = mesh();
    let backend = MeshBackend::grpc("reviews", policy(MtlsMode::Permissive), Some(&m.server)).await.unwrap();
    // ISTIO_MUTUAL but this process has no certificate provider: no plaintext fallback.
    let ch = mesh_channel(backend.addr(), &istio_mutual(SERVER), None);
    let err = echo(&ch).await.unwrap_err();
    let chain = format!("{:?}", std::error::Error::source(&err));
    assert!(chain.contains("certificate provider instance \\\"default\\\""), "{chain}");
    assert_eq!(backend.state().hits(), 0);
}
