//! `CreateCertificate` over real TLS on loopback, against `mesh_control::ca::serve`: who may
//! get which certificate, with which credential, for how long, and what is refused how.
#![allow(clippy::unwrap_used)] // test helpers: a failure there is a failed test

mod ca_support;

use std::sync::Arc;
use std::time::Duration;

use ca_support::*;
use mesh_control::ca::{self, Authenticator, RunningCa};
use mesh_tls::ca::{CertificateAuthority, DEFAULT_ROOT_TTL};
use tokio::net::TcpListener;
use tonic::Code;
use webpki::KeyUsage;

async fn start(ca: Arc<CertificateAuthority>) -> RunningCa {
    let auth = Authenticator::new(TD)
        .unwrap()
        .with_tokens([(SLEEP_TOKEN.to_owned(), id("default", "sleep")), (CART_TOKEN.to_owned(), id("shop", "cart"))]);
    ca::serve(TcpListener::bind("127.0.0.1:0").await.unwrap(), ca, auth).await.unwrap()
}

fn new_ca() -> Arc<CertificateAuthority> {
    Arc::new(CertificateAuthority::generate_root(TD, DEFAULT_ROOT_TTL).unwrap())
}

#[tokio::test]
async fn a_token_gets_a_chain_for_its_identity() {
    let authority = new_ca();
    let server = start(authority.clone()).await;
    let tls = client_tls(authority.roots(), None);
    let (csr_pem, key) = csr(&[]);
    let chain = call(server.local_addr(), tls, Some(SLEEP_TOKEN), &csr_pem, 0).await.unwrap();
    assert_eq!(chain.len(), 2, "leaf, root");
    let chain = ders(&chain);
    assert_eq!(uri_sans(&chain[0]), ["spiffe://cluster.local/ns/default/sa/sleep"]);
    assert_eq!(chain[1], authority.roots()[0]);
    assert!(verifies(&chain, authority.roots(), KeyUsage::client_auth()));
    assert!(verifies(&chain, authority.roots(), KeyUsage::server_auth()));
    let (_, leaf) = x509_parser::parse_x509_certificate(&chain[0]).unwrap();
    assert_eq!(leaf.public_key().subject_public_key.data.as_ref(), key.public_key_raw());
    let metrics = server.metrics();
    assert_eq!((metrics.csr_count(), metrics.success_cert_issuance_count()), (1, 1));
    server.shutdown().await;
}

#[tokio::test]
async fn the_server_certificate_is_issued_by_the_ca_for_mesh_control() {
    let authority = new_ca();
    let server = start(authority.clone()).await;
    assert_eq!(server.identity().as_str(), "spiffe://cluster.local/ns/istio-system/sa/mesh-control");
    // Reached by IP address, verified against the CA's root (the IP SAN).
    let tls = client_tls(authority.roots(), None);
    let connector = tokio_rustls::TlsConnector::from(tls);
    let tcp = tokio::net::TcpStream::connect(server.local_addr()).await.unwrap();
    let ip = rustls_pki_types::ServerName::try_from("127.0.0.1").unwrap();
    let stream = connector.connect(ip, tcp).await.unwrap();
    let (_, session) = stream.get_ref();
    assert_eq!(session.alpn_protocol(), None, "this client offered no ALPN");
    let peer = session.peer_certificates().unwrap();
    assert_eq!(uri_sans(&peer[0]), [server.identity().as_str()]);
    // By the name `mesh-control` (a client that resolves it), through the mesh_tls connector.
    let (csr_pem, _) = csr(&[]);
    let channel = mesh_tls::ca::client::connect(
        &format!("https://127.0.0.1:{}", server.local_addr().port()),
        client_tls(authority.roots(), None),
    )
    .unwrap();
    let signer = mesh_tls::ca::client::IstioCaSigner::new(channel).with_token(CART_TOKEN);
    let chain = signer.create_certificate(csr_pem, None).await.unwrap();
    assert_eq!(uri_sans(&ders(&chain)[0]), ["spiffe://cluster.local/ns/shop/sa/cart"]);
    // A client that does not trust the CA's root refuses the server.
    let stranger = new_ca();
    let err = call(server.local_addr(), client_tls(stranger.roots(), None), Some(SLEEP_TOKEN), &csr(&[]).0, 0)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unavailable, "{err:?}");
}

#[tokio::test]
async fn a_csr_for_another_identity_is_permission_denied() {
    let authority = new_ca();
    let server = start(authority.clone()).await;
    let (csr_pem, _) = csr(&["spiffe://cluster.local/ns/shop/sa/cart"]);
    let err = call(server.local_addr(), client_tls(authority.roots(), None), Some(SLEEP_TOKEN), &csr_pem, 0)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied, "{err:?}");
    assert!(err.message().contains("spiffe://cluster.local/ns/shop/sa/cart"), "{}", err.message());
    assert!(err.message().contains("spiffe://cluster.local/ns/default/sa/sleep"), "{}", err.message());
    // The same CSR with the token of its own identity is fine.
    assert!(
        call(server.local_addr(), client_tls(authority.roots(), None), Some(CART_TOKEN), &csr_pem, 0).await.is_ok()
    );
    assert_eq!(server.metrics().success_cert_issuance_count(), 1);
}

#[tokio::test]
async fn no_or_unknown_credentials_are_unauthenticated() {
    let authority = new_ca();
    let server = start(authority.clone()).await;
    let addr = server.local_addr();
    let (csr_pem, _) = csr(&[]);
    let tls = || client_tls(authority.roots(), None);
    for (token, expected) in [
        (None, "no credential"),
        (Some("not-a-known-token-at-all"), "unknown bearer token"),
        (Some(""), "empty bearer token"),
    ] {
        let err = call(addr, tls(), token, &csr_pem, 0).await.unwrap_err();
        assert_eq!(err.code(), Code::Unauthenticated, "{token:?}: {err:?}");
        assert!(err.message().contains(expected), "{token:?}: {}", err.message());
    }
    assert_eq!(server.metrics().authentication_failure_count(), 3);
    assert_eq!(server.metrics().success_cert_issuance_count(), 0);
}

#[tokio::test]
async fn the_issued_certificate_renews_without_a_token_and_a_foreign_one_is_refused() {
    let authority = new_ca();
    let server = start(authority.clone()).await;
    let addr = server.local_addr();
    let (csr_pem, key) = csr(&[]);
    let first = call(addr, client_tls(authority.roots(), None), Some(SLEEP_TOKEN), &csr_pem, 0).await.unwrap();

    // Renewal: the issued certificate as client certificate, no token, a new key.
    let with_cert = client_tls(authority.roots(), Some((&first, &key.serialize_pem())));
    let (renew_csr, _) = csr(&["spiffe://cluster.local/ns/default/sa/sleep"]);
    let renewed = call(addr, with_cert.clone(), None, &renew_csr, 0).await.unwrap();
    assert_eq!(uri_sans(&ders(&renewed)[0]), ["spiffe://cluster.local/ns/default/sa/sleep"]);
    // The certificate proves its own identity only.
    let (other_csr, _) = csr(&["spiffe://cluster.local/ns/shop/sa/cart"]);
    assert_eq!(call(addr, with_cert, None, &other_csr, 0).await.unwrap_err().code(), Code::PermissionDenied);

    // A certificate from another CA proves nothing.
    let stranger = new_ca();
    let foreign = stranger.issue_with_key(&id("default", "sleep"), &[], &[], None).unwrap();
    let foreign_tls = client_tls(authority.roots(), Some((foreign.chain.pem(), foreign.key_pem())));
    let err = call(addr, foreign_tls.clone(), None, &csr(&[]).0, 0).await.unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated, "{err:?}");
    assert!(err.message().contains("client certificate rejected"), "{}", err.message());
    // … but a valid token on the same connection still works (an expired certificate can
    // fall back to the workload's token).
    let chain = call(addr, foreign_tls, Some(CART_TOKEN), &csr(&[]).0, 0).await.unwrap();
    assert_eq!(uri_sans(&ders(&chain)[0]), ["spiffe://cluster.local/ns/shop/sa/cart"]);
}

#[tokio::test]
async fn validity_defaults_to_24h_and_above_the_max_is_invalid_argument() {
    let authority = Arc::new(
        CertificateAuthority::generate_root(TD, DEFAULT_ROOT_TTL)
            .unwrap()
            .with_ttls(Duration::from_secs(24 * 3600), Duration::from_secs(48 * 3600))
            .unwrap(),
    );
    let server = start(authority.clone()).await;
    let addr = server.local_addr();
    let (csr_pem, _) = csr(&[]);
    let tls = || client_tls(authority.roots(), None);
    let skew = Duration::from_secs(60);
    for (asked, expected) in [(0, 24 * 3600), (-5, 24 * 3600), (3600, 3600), (48 * 3600, 48 * 3600)] {
        let chain = call(addr, tls(), Some(SLEEP_TOKEN), &csr_pem, asked).await.unwrap();
        assert_eq!(lifetime(&ders(&chain)[0]), Duration::from_secs(expected) + skew, "asked {asked}");
    }
    let err = call(addr, tls(), Some(SLEEP_TOKEN), &csr_pem, 48 * 3600 + 1).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
    assert!(err.message().contains("greater than the max allowed TTL"), "{}", err.message());
}

#[tokio::test]
async fn an_invalid_csr_is_invalid_argument_saying_why() {
    let authority = new_ca();
    let server = start(authority.clone()).await;
    let addr = server.local_addr();
    let tls = || client_tls(authority.roots(), None);

    let err = call(addr, tls(), Some(SLEEP_TOKEN), "garbage", 0).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(
        err.message().contains("invalid CSR") && err.message().contains("CERTIFICATE REQUEST"),
        "{}",
        err.message()
    );

    // One base64 character of the signature changed: the PEM and DER stay valid.
    let (good, _) = csr(&[]);
    let mut lines: Vec<String> = good.lines().map(str::to_owned).collect();
    let last_body = lines.len() - 2;
    let line = &mut lines[last_body];
    let at = line.trim_end_matches('=').len() - 4;
    let replacement = if line.as_bytes()[at] == b'A' { "B" } else { "A" };
    line.replace_range(at..=at, replacement);
    let tampered = lines.join("\n") + "\n";
    let err = call(addr, tls(), Some(SLEEP_TOKEN), &tampered, 0).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(err.message().contains("signature does not verify"), "{}", err.message());

    assert_eq!(server.metrics().csr_parsing_err_count(), 2);
    assert_eq!(server.metrics().success_cert_issuance_count(), 0);
    // Authentication comes first: a bad CSR without a credential is UNAUTHENTICATED.
    assert_eq!(call(addr, tls(), None, "garbage", 0).await.unwrap_err().code(), Code::Unauthenticated);
}
