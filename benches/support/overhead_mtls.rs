//! The mTLS comparison of the overhead bench, and the handshake rate.
//!
//! - **bare-mtls**: tonic's server over tokio-rustls (rustls's own WebPKI client
//!   verifier, client certificate required) and a tonic `Channel` over tokio-rustls
//!   (rustls's WebPKI server verifier, host name `localhost`): what a team would write by
//!   hand;
//! - **mesh-mtls**: the mesh on both sides — `MeshListener` (PeerAuthentication STRICT)
//!   and `MeshServerLayer` with an AuthorizationPolicy-style ALLOW for the caller's SPIFFE
//!   ID, and a `MeshChannel` whose cluster is `ISTIO_MUTUAL` with the server's SPIFFE ID.
//!
//! Both use certificates of one test root (ECDSA P-256), TLS 1.3, HTTP/2.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use mesh::core::authz::Permission;
use mesh::core::authz::{AuthzChain, ConnectionPolicy, MtlsMode, Policy, Principal, Rbac, RbacAction, ServerPolicy};
use mesh::core::matcher::StringMatcher;
use mesh::tls::ca::client::TlsConnector;
use mesh::tls::identity::{CertificateProviders, IdentityStore};
use mesh::tls::verify::{AlpnProtocols, SanPolicy, client_config};
use mesh::tower::server::ServerPolicyHandle;
use mesh::{BoxError, ConfigHandle, MeshChannel};
use mesh_testkit::pki::TestCa;
use mesh_testkit::{BackendState, EchoClient, EchoServer, MeshBackend};
use rustls::pki_types::ServerName;
use rustls::pki_types::pem::PemObject;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tonic::transport::Endpoint;

use super::{Client, Transport};

const SERVER_ID: &str = "spiffe://cluster.local/ns/default/sa/echo";
const CLIENT_ID: &str = "spiffe://cluster.local/ns/default/sa/client";

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A TLS server connection for tonic's `serve_with_incoming`.
struct BareTls(tokio_rustls::server::TlsStream<TcpStream>);

impl tonic::transport::server::Connected for BareTls {
    type ConnectInfo = ();
    fn connect_info(&self) {}
}

impl AsyncRead for BareTls {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for BareTls {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

/// Plain rustls configurations from `ca`'s certificates.
struct BareConfigs {
    server: Arc<rustls::ServerConfig>,
    client: Arc<rustls::ClientConfig>,
}

fn bare_configs(ca: &TestCa) -> Result<BareConfigs, BoxError> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca.bundle().roots()[0].clone())?;
    let roots = Arc::new(roots);
    let now = std::time::SystemTime::now();
    let (from, to) = (now - std::time::Duration::from_secs(60), now + std::time::Duration::from_secs(3600));
    let s = ca.issue_pem(SERVER_ID, from, to);
    let c = ca.issue_pem(CLIENT_ID, from, to);
    let certs =
        |pem: &str| rustls::pki_types::CertificateDer::pem_slice_iter(pem.as_bytes()).collect::<Result<Vec<_>, _>>();
    let key = |pem: &str| rustls::pki_types::PrivateKeyDer::from_pem_slice(pem.as_bytes());
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(roots.clone(), provider()).build()?;
    let mut server = rustls::ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .with_client_cert_verifier(verifier)
        .with_single_cert(certs(&s.chain)?, key(&s.key)?)?;
    server.alpn_protocols = vec![b"h2".to_vec()];
    let client = rustls::ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .with_root_certificates(roots)
        .with_client_auth_cert(certs(&c.chain)?, key(&c.key)?)?;
    Ok(BareConfigs { server: Arc::new(server), client: Arc::new(client) })
}

/// tonic's server with the Echo service over plain tokio-rustls.
async fn bare_server(config: Arc<rustls::ServerConfig>) -> Result<SocketAddr, BoxError> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let acceptor = TlsAcceptor::from(config);
    let (tx, rx) = tokio::sync::mpsc::channel::<io::Result<BareTls>>(64);
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (acceptor, tx) = (acceptor.clone(), tx.clone());
            tokio::spawn(async move {
                let _ = tcp.set_nodelay(true);
                if let Ok(tls) = acceptor.accept(tcp).await {
                    let _ = tx.send(Ok(BareTls(tls))).await;
                }
            });
        }
    });
    let svc = EchoServer::new(Arc::new(BackendState::named("echo")));
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(svc)
            .serve_with_incoming(tokio_stream::wrappers::ReceiverStream::new(rx)),
    );
    Ok(addr)
}

/// The two clients of the comparison, and what keeps their servers alive.
pub(crate) struct MtlsSetup {
    pub(crate) bare: Client,
    pub(crate) mesh: Client,
    _mesh_backend: MeshBackend,
}

fn mesh_yaml(addr: SocketAddr) -> String {
    format!(
        "version: mtls\nvirtual_hosts:\n  - name: echo\n    domains: [\"echo\", \"echo:50051\"]\n    routes:\n      - route: {{ destinations: [{{ cluster: echo }}] }}\nclusters:\n  - name: echo\n    protocol: http2\n    tls: {{ mode: ISTIO_MUTUAL, subject_alt_names: [\"{SERVER_ID}\"] }}\n    endpoints:\n      - {{ address: \"{addr}\" }}\n"
    )
}

/// An ALLOW policy for the client's identity, as mesh-control compiles
/// `from.source.principals` (STRICT: TLS connections only).
fn allow_client() -> Result<ServerPolicyHandle, BoxError> {
    let allow = Policy {
        permissions: vec![Permission::Any],
        principals: vec![Principal::Authenticated(Some(StringMatcher::exact(CLIENT_ID)))],
    };
    let chain =
        AuthzChain::new(vec![Rbac::new(RbacAction::Allow, [("ns[default]-policy[echo]-rule[0]".into(), allow)])?]);
    let conn = ConnectionPolicy { authz: chain, ..ConnectionPolicy::default() };
    Ok(ServerPolicyHandle::new(ServerPolicy::new(MtlsMode::Strict, conn)))
}

impl MtlsSetup {
    pub(crate) async fn start() -> Result<MtlsSetup, BoxError> {
        let ca = TestCa::new("bench-root");
        let bare = bare_configs(&ca)?;
        let bare_addr = bare_server(bare.server.clone()).await?;
        let channel = Endpoint::from_shared(format!("http://{bare_addr}"))?
            .connect_with_connector(
                TlsConnector::new(bare.client.clone()).server_name(ServerName::try_from("localhost")?),
            )
            .await?;
        let bare = Client { name: "bare-mtls", transport: Transport::Bare(EchoClient::new(channel)) };

        let server_store = IdentityStore::with_certificate(ca.issue(SERVER_ID), ca.bundle());
        let client_store = IdentityStore::with_certificate(ca.issue(CLIENT_ID), ca.bundle());
        let backend = MeshBackend::grpc("echo", allow_client()?, Some(&server_store)).await?;
        let snapshot = mesh::core::config::from_yaml(&mesh_yaml(backend.addr()))?;
        let config = ConfigHandle::with_certificate_providers(snapshot, CertificateProviders::single(client_store));
        let mesh = MeshChannel::builder(config).authority("echo:50051")?.build();
        let mesh = Client { name: "mesh-mtls", transport: Transport::Mesh(EchoClient::new(mesh)) };
        Ok(MtlsSetup { bare, mesh, _mesh_backend: backend })
    }
}

/// Full mTLS handshakes per second (TCP connect + TLS 1.3 handshake, both ends in this
/// process, sequential): plain rustls configurations vs the mesh's (SPIFFE verifiers,
/// certificates from identity stores, no session resumption).
pub(crate) async fn handshake_rates(n: usize) -> Result<(f64, f64), BoxError> {
    let ca = TestCa::new("handshake-root");
    let bare = bare_configs(&ca)?;
    let server_store = IdentityStore::with_certificate(ca.issue(SERVER_ID), ca.bundle());
    let client_store = IdentityStore::with_certificate(ca.issue(CLIENT_ID), ca.bundle());
    let mesh_server = mesh::tls::verify::server_config(&server_store, true, AlpnProtocols::Http);
    let mesh_client = client_config(&client_store, SanPolicy::uris([SERVER_ID]), AlpnProtocols::Http);
    let bare_client = {
        // Fresh sessions every time, as the mesh's: resumption would skip the handshake.
        let mut c = (*bare.client).clone();
        c.resumption = rustls::client::Resumption::disabled();
        Arc::new(c)
    };
    let mut rates = Vec::new();
    for (server, client) in [(bare.server, bare_client), (mesh_server, mesh_client)] {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let acceptor = TlsAcceptor::from(server);
        let accepting = tokio::spawn(async move {
            for _ in 0..n {
                let Ok((tcp, _)) = listener.accept().await else { return };
                let _ = acceptor.accept(tcp).await;
            }
        });
        let connector = tokio_rustls::TlsConnector::from(client);
        let start = Instant::now();
        for _ in 0..n {
            let tcp = TcpStream::connect(addr).await?;
            let mut tls = connector.connect(ServerName::try_from("localhost")?, tcp).await?;
            // TLS 1.3: the client finishes first; a read round-trips the server's verdict.
            tokio::io::AsyncWriteExt::shutdown(&mut tls).await.ok();
        }
        rates.push(n as f64 / start.elapsed().as_secs_f64());
        accepting.abort();
    }
    Ok((rates[0], rates[1]))
}
