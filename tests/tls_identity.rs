//! mesh-tls over real TLS handshakes on loopback: SPIFFE verification on both sides,
//! validity windows, trust bundles and hot rotation.
#![allow(clippy::unwrap_used)] // test helpers unwrap on setup failures

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use mesh::tls::SpiffeId;
use mesh::tls::identity::{IdentityStore, TrustBundle, spiffe_id_from_der};
use mesh::tls::verify::{AlpnProtocols, PeerServerVerifier, Roots, SanPolicy, client_config, server_config};
use mesh_testkit::pki::TestCa;
use rustls_pki_types::ServerName;
use rustls_pki_types::pem::PemObject;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::{TlsAcceptor, TlsConnector};

const SERVER: &str = "spiffe://cluster.local/ns/default/sa/server";
const CLIENT: &str = "spiffe://cluster.local/ns/default/sa/client";

/// A TLS server that reports, per accepted connection, the handshake outcome and the
/// client's SPIFFE ID, then echoes one line.
async fn server(
    config: Arc<rustls::ServerConfig>,
) -> (std::net::SocketAddr, mpsc::UnboundedReceiver<Result<Option<SpiffeId>, String>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = mpsc::unbounded_channel();
    let acceptor = TlsAcceptor::from(config);
    tokio::spawn(async move {
        loop {
            let (tcp, _) = listener.accept().await.unwrap();
            let acceptor = acceptor.clone();
            let tx = tx.clone();
            tokio::spawn(async move {
                match acceptor.accept(tcp).await {
                    Ok(mut tls) => {
                        let peer = tls
                            .get_ref()
                            .1
                            .peer_certificates()
                            .and_then(|c| c.first())
                            .and_then(|c| spiffe_id_from_der(c));
                        let _ = tx.send(Ok(peer));
                        let mut buf = [0u8; 64];
                        while let Ok(n) = tls.read(&mut buf).await {
                            if n == 0 || tls.write_all(&buf[..n]).await.is_err() {
                                break;
                            }
                        }
                    }
                    Err(e) => {
                        let _ = tx.send(Err(e.to_string()));
                    }
                }
            });
        }
    });
    (addr, rx)
}

/// Connects, exchanges one message, returns the stream and the server's SPIFFE ID.
async fn call(
    addr: std::net::SocketAddr,
    config: Arc<rustls::ClientConfig>,
) -> Result<(tokio_rustls::client::TlsStream<TcpStream>, Option<SpiffeId>), String> {
    let tcp = TcpStream::connect(addr).await.unwrap();
    let mut tls = TlsConnector::from(config)
        .connect(ServerName::try_from("server.default.svc").unwrap(), tcp)
        .await
        .map_err(|e| e.to_string())?;
    tls.write_all(b"ping").await.map_err(|e| e.to_string())?;
    let mut buf = [0u8; 4];
    tls.read_exact(&mut buf).await.map_err(|e| e.to_string())?;
    assert_eq!(&buf, b"ping");
    let peer = tls.get_ref().1.peer_certificates().and_then(|c| c.first()).and_then(|c| spiffe_id_from_der(c));
    Ok((tls, peer))
}

fn stores(ca: &TestCa) -> (Arc<IdentityStore>, Arc<IdentityStore>) {
    (
        IdentityStore::with_certificate(ca.issue(SERVER), ca.bundle()),
        IdentityStore::with_certificate(ca.issue(CLIENT), ca.bundle()),
    )
}

#[tokio::test]
async fn mutual_tls_with_expected_identity() {
    let ca = TestCa::new("root");
    let (s, c) = stores(&ca);
    let (addr, mut accepted) = server(server_config(&s, true, AlpnProtocols::Http)).await;
    let (tls, peer) = call(addr, client_config(&c, SanPolicy::uris([SERVER]), AlpnProtocols::Http)).await.unwrap();
    assert_eq!(peer.unwrap().as_str(), SERVER);
    assert_eq!(accepted.recv().await.unwrap().unwrap().unwrap().as_str(), CLIENT);
    assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
    assert_eq!(tls.get_ref().1.protocol_version(), Some(rustls::ProtocolVersion::TLSv1_3));
}

#[tokio::test]
async fn server_with_another_identity_is_refused() {
    let ca = TestCa::new("root");
    let (s, c) = stores(&ca);
    let (addr, _accepted) = server(server_config(&s, true, AlpnProtocols::Http)).await;
    let err = call(
        addr,
        client_config(&c, SanPolicy::uris(["spiffe://cluster.local/ns/default/sa/reviews"]), AlpnProtocols::Http),
    )
    .await
    .unwrap_err();
    assert!(err.contains("NotValidForName"), "{err}");
}

#[tokio::test]
async fn expired_and_not_yet_valid_server_certificates_are_refused() {
    let ca = TestCa::new("root");
    let now = SystemTime::now();
    let hour = Duration::from_secs(3600);
    for (pem, want) in [
        (ca.issue_pem(SERVER, now - 2 * hour, now - hour), "Expired"),
        (ca.issue_pem(SERVER, now + hour, now + 2 * hour), "NotValidYet"),
    ] {
        // A raw rustls server presenting the bad certificate (our store would refuse to).
        let cert = pem.parse();
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                cert.chain().to_vec(),
                rustls_pki_types::PrivateKeyDer::from_pem_slice(pem.key.as_bytes()).unwrap(),
            )
            .unwrap();
        let (addr, _accepted) = server(Arc::new(config)).await;
        let c = IdentityStore::with_certificate(ca.issue(CLIENT), ca.bundle());
        let err = call(addr, client_config(&c, SanPolicy::uris([SERVER]), AlpnProtocols::Http)).await.unwrap_err();
        assert!(err.contains(want), "{want}: {err}");
    }
}

#[tokio::test]
async fn expired_client_certificate_is_refused_by_the_server() {
    let ca = TestCa::new("root");
    let (s, _) = stores(&ca);
    let (addr, mut accepted) = server(server_config(&s, true, AlpnProtocols::Http)).await;
    let now = SystemTime::now();
    let pem = ca.issue_pem(CLIENT, now - Duration::from_secs(7200), now - Duration::from_secs(3600));
    let cert = pem.parse();
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(PeerServerVerifier::new(
            Roots::Fixed(Arc::new(ca.bundle())),
            SanPolicy::any(),
        ))
        .with_client_auth_cert(
            cert.chain().to_vec(),
            rustls_pki_types::PrivateKeyDer::from_pem_slice(pem.key.as_bytes()).unwrap(),
        )
        .unwrap();
    let tcp = TcpStream::connect(addr).await.unwrap();
    // In TLS 1.3 the client finishes first; the server's verdict arrives as an alert.
    let result = async {
        let mut tls = TlsConnector::from(Arc::new(config))
            .connect(ServerName::try_from("server.default.svc").unwrap(), tcp)
            .await?;
        tls.write_all(b"ping").await?;
        let mut buf = [0u8; 4];
        tls.read_exact(&mut buf).await
    }
    .await;
    assert!(result.is_err());
    let err = accepted.recv().await.unwrap().unwrap_err();
    assert!(err.contains("Expired"), "{err}");
}

#[tokio::test]
async fn a_store_never_presents_an_expired_certificate() {
    let ca = TestCa::new("root");
    let (s, _) = stores(&ca);
    let (addr, mut accepted) = server(server_config(&s, true, AlpnProtocols::Http)).await;
    let now = SystemTime::now();
    let expired = ca.issue_pem(CLIENT, now - Duration::from_secs(7200), now - Duration::from_secs(3600)).parse();
    let c = IdentityStore::with_certificate(expired, ca.bundle());
    assert!(call(addr, client_config(&c, SanPolicy::uris([SERVER]), AlpnProtocols::Http)).await.is_err());
    let err = accepted.recv().await.unwrap().unwrap_err();
    // Nothing was offered: not an expired certificate the server had to refuse.
    assert!(err.contains("peer sent no certificates"), "{err}");
}

#[tokio::test]
async fn untrusted_root_is_refused_both_ways() {
    let ca = TestCa::new("root");
    let other = TestCa::new("other-root");
    let (s, _) = stores(&ca);
    let (addr, mut accepted) = server(server_config(&s, true, AlpnProtocols::Http)).await;
    // Client trusts only `other`: refuses the server.
    let c = IdentityStore::with_certificate(other.issue(CLIENT), other.bundle());
    let err = call(addr, client_config(&c, SanPolicy::any(), AlpnProtocols::Http)).await.unwrap_err();
    assert!(err.contains("UnknownIssuer"), "{err}");
    // Client trusts `ca` but its own certificate is from `other`: the server refuses it.
    let c = IdentityStore::with_certificate(other.issue(CLIENT), ca.bundle());
    let _ = call(addr, client_config(&c, SanPolicy::any(), AlpnProtocols::Http)).await;
    let mut saw = Vec::new();
    while let Ok(Some(r)) = tokio::time::timeout(Duration::from_secs(5), accepted.recv()).await {
        saw.push(r.clone());
        if let Err(e) = &r
            && e.contains("UnknownIssuer")
        {
            return;
        }
    }
    panic!("server never refused the foreign client certificate: {saw:?}");
}

#[tokio::test]
async fn rotation_applies_to_new_connections_and_keeps_old_ones() {
    let ca = TestCa::new("root");
    let (s, c) = stores(&ca);
    let (addr, mut accepted) = server(server_config(&s, true, AlpnProtocols::Http)).await;
    let cfg = client_config(&c, SanPolicy::any(), AlpnProtocols::Http);
    let (mut old, peer) = call(addr, cfg.clone()).await.unwrap();
    assert_eq!(peer.unwrap().as_str(), SERVER);
    accepted.recv().await.unwrap().unwrap();

    // Rotate both sides to new identities; the rustls configs are not rebuilt.
    s.set_certificate(ca.issue("spiffe://cluster.local/ns/default/sa/server-v2"));
    c.set_certificate(ca.issue("spiffe://cluster.local/ns/default/sa/client-v2"));
    let (_new, peer) = call(addr, cfg).await.unwrap();
    assert_eq!(peer.unwrap().as_str(), "spiffe://cluster.local/ns/default/sa/server-v2");
    assert_eq!(
        accepted.recv().await.unwrap().unwrap().unwrap().as_str(),
        "spiffe://cluster.local/ns/default/sa/client-v2"
    );

    // The connection made before the rotation still works.
    old.write_all(b"pong").await.unwrap();
    let mut buf = [0u8; 4];
    old.read_exact(&mut buf).await.unwrap();
    assert_eq!(&buf, b"pong");
}

#[tokio::test]
async fn trust_bundle_update_with_overlap() {
    let old_root = TestCa::new("root-1");
    let new_root = TestCa::new("root-2");
    let s = IdentityStore::with_certificate(old_root.issue(SERVER), old_root.bundle());
    let c = IdentityStore::with_certificate(old_root.issue(CLIENT), old_root.bundle());
    let (addr, _accepted) = server(server_config(&s, true, AlpnProtocols::Http)).await;
    let cfg = client_config(&c, SanPolicy::uris([SERVER]), AlpnProtocols::Http);
    call(addr, cfg.clone()).await.unwrap();

    // Overlap: both trust both roots, then the server moves to a certificate from the new root.
    let both = old_root.bundle().union(&new_root.bundle());
    s.set_trust_bundle(both.clone());
    c.set_trust_bundle(both);
    s.set_certificate(new_root.issue(SERVER));
    call(addr, cfg.clone()).await.unwrap();
    c.set_certificate(new_root.issue(CLIENT));
    call(addr, cfg.clone()).await.unwrap();

    // The old root is dropped everywhere: still fine, all certificates are from the new root.
    s.set_trust_bundle(new_root.bundle());
    c.set_trust_bundle(new_root.bundle());
    call(addr, cfg.clone()).await.unwrap();

    // A client that only ever trusted the old root now refuses the server.
    let stale = IdentityStore::with_certificate(old_root.issue(CLIENT), old_root.bundle());
    let err = call(addr, client_config(&stale, SanPolicy::uris([SERVER]), AlpnProtocols::Http)).await.unwrap_err();
    assert!(err.contains("UnknownIssuer"), "{err}");
}

/// A CA that can be switched off; counts the requests it receives.
struct FlakyCa {
    ca: mesh::tls::ca::CertificateAuthority,
    identity: SpiffeId,
    down: std::sync::atomic::AtomicBool,
    attempts: tokio::sync::watch::Sender<u32>,
}

impl mesh::tls::identity::rotation::CertificateSigner for FlakyCa {
    fn sign(&self, csr: String, ttl: Option<Duration>) -> mesh::tls::identity::rotation::SignFuture<'_> {
        Box::pin(async move {
            self.attempts.send_modify(|n| *n += 1);
            if self.down.load(std::sync::atomic::Ordering::SeqCst) {
                return Err(mesh::tls::TlsError::Ca("unavailable".into()));
            }
            let chain =
                self.ca.sign_csr(&csr, &self.identity, ttl).map_err(|e| mesh::tls::TlsError::Ca(e.to_string()))?;
            Ok(chain.into_pem())
        })
    }
}

#[tokio::test]
async fn an_unreachable_ca_keeps_the_current_certificate_and_is_retried_with_backoff() {
    use mesh::tls::identity::rotation::{self, RotationConfig};
    use std::sync::atomic::Ordering;
    let ca = mesh::tls::ca::CertificateAuthority::generate_root("cluster.local", Duration::from_secs(3600)).unwrap();
    let bundle = TrustBundle::from_pem(&ca.trust_bundle_pem()).unwrap();
    let flaky = Arc::new(FlakyCa {
        ca,
        identity: SpiffeId::parse(CLIENT).unwrap(),
        down: std::sync::atomic::AtomicBool::new(false),
        attempts: tokio::sync::watch::channel(0).0,
    });
    let mut attempts = flaky.attempts.subscribe();
    let store = IdentityStore::new(bundle);
    let mut changes = store.subscribe();
    let config = RotationConfig {
        ttl: Some(Duration::from_secs(3)),
        min_backoff: Duration::from_millis(50),
        max_backoff: Duration::from_millis(200),
        ..RotationConfig::default()
    };
    let _rotation = rotation::spawn(store.clone(), flaky.clone(), config);
    changes.wait_for(|_| store.usable_certificate().is_some()).await.unwrap();
    let first = store.certificate().unwrap();
    assert_eq!(first.identity().unwrap().as_str(), CLIENT);

    // The CA goes away: renewals (due after ~1.5 s) fail and are retried, the certificate stays.
    flaky.down.store(true, Ordering::SeqCst);
    let before = *attempts.borrow_and_update();
    attempts.wait_for(|n| *n >= before + 4).await.unwrap();
    assert_eq!(store.certificate().unwrap().not_after(), first.not_after(), "the current certificate is kept");
    assert!(store.usable_certificate().is_some(), "still valid, still presented");

    // The CA comes back: the next retry installs a new certificate.
    flaky.down.store(false, Ordering::SeqCst);
    changes.borrow_and_update();
    changes.changed().await.unwrap();
    let renewed = store.certificate().unwrap();
    assert!(renewed.not_after() > first.not_after() || renewed.chain()[0] != first.chain()[0]);
    assert_eq!(renewed.identity().unwrap().as_str(), CLIENT);
}

#[tokio::test]
async fn file_watcher_rereads_changed_files_and_skips_broken_ones() {
    use mesh::tls::identity::files::{self, FileWatcherConfig};
    let ca = TestCa::new("root");
    let dir = std::env::temp_dir().join(format!("mesh-file-watcher-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (cert, key, roots) = (dir.join("cert.pem"), dir.join("key.pem"), dir.join("roots.pem"));
    let write = |pair: &mesh_testkit::pki::PemPair| {
        // Key first: a reader between the two writes sees a mismatch and skips it.
        std::fs::write(&key, &pair.key).unwrap();
        std::fs::write(&cert, &pair.chain).unwrap();
    };
    let now = SystemTime::now();
    write(&ca.issue_pem(CLIENT, now - Duration::from_secs(60), now + Duration::from_secs(3600)));
    std::fs::write(&roots, ca.root_pem()).unwrap();
    let store = IdentityStore::new(TrustBundle::default());
    let config = FileWatcherConfig {
        certificate_file: Some(cert.clone()),
        private_key_file: Some(key.clone()),
        ca_certificate_file: Some(roots.clone()),
        refresh_interval: Duration::from_millis(20),
    };
    let _watcher = files::watch(config.clone(), store.clone()).await.unwrap();
    assert_eq!(store.certificate().unwrap().identity().unwrap().as_str(), CLIENT);
    assert_eq!(store.trust_bundle().roots().len(), 1);

    // A new certificate on disk is picked up.
    let mut changes = store.subscribe();
    changes.borrow_and_update();
    write(&ca.issue_pem(SERVER, now - Duration::from_secs(60), now + Duration::from_secs(3600)));
    let picked = tokio::time::timeout(
        Duration::from_secs(10),
        changes.wait_for(|_| {
            store.certificate().and_then(|c| c.identity().cloned()).is_some_and(|i| i.as_str() == SERVER)
        }),
    )
    .await
    .is_ok_and(|r| r.is_ok());
    assert!(picked, "the rewritten certificate was not picked up");

    // A broken file is reported and skipped: the last good certificate keeps serving, and
    // a later good write is picked up again.
    std::fs::write(&cert, "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n").unwrap();
    let err = files::load(&config, &IdentityStore::new(TrustBundle::default())).await.unwrap_err();
    assert!(err.to_string().contains("cert.pem"), "{err}");
    assert_eq!(store.certificate().unwrap().identity().unwrap().as_str(), SERVER);
    changes.borrow_and_update();
    write(&ca.issue_pem(CLIENT, now - Duration::from_secs(60), now + Duration::from_secs(3600)));
    let picked = tokio::time::timeout(
        Duration::from_secs(10),
        changes.wait_for(|_| {
            store.certificate().and_then(|c| c.identity().cloned()).is_some_and(|i| i.as_str() == CLIENT)
        }),
    )
    .await
    .is_ok_and(|r| r.is_ok());
    assert!(picked, "recovery after a broken write");
    std::fs::remove_dir_all(&dir).ok();
}
