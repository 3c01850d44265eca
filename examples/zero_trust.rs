//! Zero trust in one process: a certificate authority, a tonic server that enforces
//! mTLS (PeerAuthentication STRICT) and an AuthorizationPolicy, and two callers.
//!
//! - The CA is `mesh_tls::ca::CertificateAuthority` (what `mesh-control serve --ca-addr`
//!   runs). Each workload generates its key locally and has a CSR signed for the identity
//!   the CA decided (here: the one we hand the local signer; over the network, the one its
//!   token proves).
//! - The server is the testkit's `Echo` service on tonic's `Server`, behind
//!   `MeshListener` (STRICT: TLS with a client certificate from the mesh's root) and
//!   `MeshServerLayer` (ALLOW only `spiffe://cluster.local/ns/default/sa/productpage`).
//! - Callers are plain `EchoClient`s over a `MeshChannel` whose cluster says
//!   `ISTIO_MUTUAL` with the server's SPIFFE ID: `productpage` is let through,
//!   `ratings` gets `PERMISSION_DENIED`, and a plaintext caller is refused at the door.
//!
//! Run with `cargo run --example zero_trust`. It exits non-zero if any outcome differs.

// An example reports on stdout, as a binary would.
#![allow(clippy::print_stdout)]

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use mesh::core::authz::{
    AuthzChain, ConnectionPolicy, MtlsMode, Permission, Policy, Principal, Rbac, RbacAction, ServerPolicy,
};
use mesh::core::matcher::StringMatcher;
use mesh::tls::SpiffeId;
use mesh::tls::ca::CertificateAuthority;
use mesh::tls::identity::rotation::{self, CertificateSigner, RotationConfig, SignFuture};
use mesh::tls::identity::{CertificateProviders, IdentityStore, TrustBundle};
use mesh::tower::server::{MeshListener, MeshServerLayer, ServerPolicyHandle};
use mesh::{BoxError, ConfigHandle, MeshChannel};
use mesh_testkit::{BackendState, EchoClient, EchoRequest, EchoServer};
use tokio::net::TcpListener;

/// Signs CSRs with an in-process CA for one identity (the network version is
/// `mesh::tls::ca::client::IstioCaSigner`).
struct LocalSigner {
    ca: Arc<CertificateAuthority>,
    identity: SpiffeId,
}

impl CertificateSigner for LocalSigner {
    fn sign(&self, csr_pem: String, ttl: Option<Duration>) -> SignFuture<'_> {
        Box::pin(async move {
            let chain =
                self.ca.sign_csr(&csr_pem, &self.identity, ttl).map_err(|e| mesh::tls::TlsError::Ca(e.to_string()))?;
            Ok(chain.into_pem())
        })
    }
}

/// A workload identity: key generated here, CSR signed by `ca`.
async fn workload(ca: &Arc<CertificateAuthority>, sa: &str) -> Result<Arc<IdentityStore>, BoxError> {
    let bundle = TrustBundle::from_pem(&ca.trust_bundle_pem())?;
    let store = IdentityStore::new(bundle);
    let identity = SpiffeId::workload("cluster.local", "default", sa)?;
    let signer = LocalSigner { ca: ca.clone(), identity: identity.clone() };
    let config = RotationConfig { identity: Some(identity), ..RotationConfig::default() };
    let cert = rotation::obtain(&store, &signer, &config).await?;
    let hours = cert.lifetime().as_secs() / 3600;
    println!("{sa:>12}: {} ({hours} h certificate, key made here)", cert.identity().map_or("-", |i| i.as_str()));
    Ok(store)
}

/// ALLOW requests from productpage only (what mesh-control compiles an
/// AuthorizationPolicy `from.source.principals: [cluster.local/ns/default/sa/productpage]` to).
fn policy() -> Result<ServerPolicyHandle, BoxError> {
    let allow = Policy {
        permissions: vec![Permission::Any],
        principals: vec![Principal::Authenticated(Some(StringMatcher::exact(
            "spiffe://cluster.local/ns/default/sa/productpage",
        )))],
    };
    let rbac = Rbac::new(RbacAction::Allow, [("ns[default]-policy[reviews]-rule[0]".to_string(), allow)])?;
    let conn = ConnectionPolicy { authz: AuthzChain::new(vec![rbac]), ..ConnectionPolicy::default() };
    Ok(ServerPolicyHandle::new(ServerPolicy::new(MtlsMode::Strict, conn)))
}

fn client(addr: std::net::SocketAddr, store: Option<Arc<IdentityStore>>) -> Result<MeshChannel, BoxError> {
    let tls = if store.is_some() {
        "    tls: { mode: ISTIO_MUTUAL, subject_alt_names: [\"spiffe://cluster.local/ns/default/sa/reviews\"] }\n"
    } else {
        ""
    };
    let yaml = format!(
        "version: v1\nvirtual_hosts:\n  - name: reviews\n    domains: [reviews]\n    routes:\n      - route: {{ destinations: [{{ cluster: reviews }}] }}\nclusters:\n  - name: reviews\n    protocol: http2\n{tls}    endpoints:\n      - {{ address: \"{addr}\" }}\n"
    );
    let providers = store.map_or_else(CertificateProviders::new, CertificateProviders::single);
    let config = ConfigHandle::with_certificate_providers(mesh::core::config::from_yaml(&yaml)?, providers);
    Ok(MeshChannel::builder(config).authority("reviews")?.build())
}

async fn call(name: &str, channel: MeshChannel) -> Result<String, tonic::Status> {
    let reply = EchoClient::new(channel).echo(EchoRequest { payload: Bytes::from_static(b"hello") }).await;
    let outcome = match &reply {
        Ok(r) => format!("answered by {}", r.get_ref().server),
        Err(s) => format!("{:?}: {}", s.code(), s.message()),
    };
    println!("{name:>12} → {outcome}");
    reply.map(|r| r.into_inner().server)
}

async fn run() -> Result<ExitCode, BoxError> {
    let ca = Arc::new(CertificateAuthority::generate_root("cluster.local", Duration::from_secs(86_400))?);
    let reviews = workload(&ca, "reviews").await?;
    let productpage = workload(&ca, "productpage").await?;
    let ratings = workload(&ca, "ratings").await?;

    let policy = policy()?;
    let tcp = TcpListener::bind("127.0.0.1:0").await?;
    let addr = tcp.local_addr()?;
    let incoming = MeshListener::new(tcp, policy.clone()).with_identity(&reviews).incoming();
    let state = Arc::new(BackendState::named("reviews"));
    tokio::spawn(
        tonic::transport::Server::builder()
            .layer(MeshServerLayer::new(policy.clone()))
            .add_service(EchoServer::new(state.clone()))
            .serve_with_incoming(incoming),
    );
    println!("reviews listening on {addr} (STRICT, ALLOW productpage)");

    let allowed = call("productpage", client(addr, Some(productpage))?).await;
    let denied = call("ratings", client(addr, Some(ratings))?).await;
    let plaintext = call("plaintext", client(addr, None)?).await;

    let stats = policy.stats();
    println!(
        "server: handshakes={} refused_plaintext={} allowed={} denied={}",
        stats.tls_handshakes(),
        stats.refused_plaintext(),
        stats.allowed(),
        stats.denied()
    );
    let ok = allowed.as_deref().is_ok_and(|s| s == "reviews")
        && denied.as_ref().is_err_and(|s| s.code() == tonic::Code::PermissionDenied)
        && plaintext.is_err()
        && state.hits() == 1;
    Ok(if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

fn main() -> Result<ExitCode, BoxError> {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    runtime.block_on(run())
}
