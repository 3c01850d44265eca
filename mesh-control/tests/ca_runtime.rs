//! The CA as the control plane runs it (`CaConfig`, `ControlPlane::builder().ca(..)`, the
//! CLI flags, in `ca_cli.rs`): the CA directory across restarts, the user's intermediate from files, the
//! tokens file (validated, re-read on change), `citadel_server_*` on `/metrics`.
#![allow(clippy::unwrap_used)] // test helpers: a failure there is a failed test

mod ca_support;
mod common;

use std::time::Duration;

use ca_support::*;
use common::{get, metric};
use mesh_control::ca::{self, CaConfig, CaMetrics, CaStartError};
use mesh_tls::ca::{CA_CERT_FILE, CA_KEY_FILE, CERT_CHAIN_FILE, ROOT_CERT_FILE};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use tonic::Code;
use webpki::KeyUsage;

const TOKENS: &str = "- token: sleep-token-0123456789abcdef\n  namespace: default\n  serviceAccount: sleep\n";

/// A CA config on a free loopback port, files in `dir/ca`, tokens in `dir/tokens.yaml`.
fn config(dir: &TempDir) -> CaConfig {
    let mut config = CaConfig::new("127.0.0.1:0".parse().unwrap(), dir.path().join("ca"));
    config.tokens = Some(dir.path().join("tokens.yaml"));
    config
}

#[tokio::test]
async fn the_generated_root_survives_a_restart() {
    let dir = TempDir::new();
    std::fs::write(dir.path().join("tokens.yaml"), TOKENS).unwrap();
    let first = ca::start(&config(&dir), CaMetrics::new()).await.unwrap();
    let root_pem = std::fs::read_to_string(dir.path().join("ca").join(ROOT_CERT_FILE)).unwrap();
    let roots = pem_certs(&root_pem);
    let (csr_pem, key) = csr(&[]);
    let issued = call(first.local_addr(), client_tls(&roots, None), Some(SLEEP_TOKEN), &csr_pem, 0).await.unwrap();
    first.shutdown().await;

    let second = ca::start(&config(&dir), CaMetrics::new()).await.unwrap();
    assert_eq!(std::fs::read_to_string(dir.path().join("ca").join(ROOT_CERT_FILE)).unwrap(), root_pem);
    // The second start's server verifies with the first start's root, and accepts the
    // certificate the first start issued as a credential.
    let with_cert = client_tls(&roots, Some((&issued, &key.serialize_pem())));
    let renewed = call(second.local_addr(), with_cert, None, &csr(&[]).0, 0).await.unwrap();
    assert_eq!(uri_sans(&ders(&renewed)[0]), ["spiffe://cluster.local/ns/default/sa/sleep"]);
    assert_eq!(ders(&renewed)[1], ders(&issued)[1], "the same root");
    second.shutdown().await;
}

#[tokio::test]
async fn the_users_intermediate_signs_and_chains_to_the_users_root() {
    let root_key = KeyPair::generate().unwrap();
    let mut root_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    root_params.distinguished_name.push(DnType::CommonName, "Example Corp Root");
    root_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    root_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let root_pem = root_params.self_signed(&root_key).unwrap().pem();
    let root = Issuer::new(root_params, root_key);
    let inter_key = KeyPair::generate().unwrap();
    let mut inter_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    inter_params.distinguished_name.push(DnType::CommonName, "mesh-control intermediate");
    inter_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    inter_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let inter_pem = inter_params.signed_by(&inter_key, &root).unwrap().pem();

    let dir = TempDir::new();
    std::fs::write(dir.path().join("tokens.yaml"), TOKENS).unwrap();
    let ca_dir = dir.path().join("ca");
    std::fs::create_dir_all(&ca_dir).unwrap();
    std::fs::write(ca_dir.join(CA_CERT_FILE), &inter_pem).unwrap();
    std::fs::write(ca_dir.join(CA_KEY_FILE), inter_key.serialize_pem()).unwrap();
    std::fs::write(ca_dir.join(CERT_CHAIN_FILE), format!("{inter_pem}{root_pem}")).unwrap();
    std::fs::write(ca_dir.join(ROOT_CERT_FILE), &root_pem).unwrap();

    let server = ca::start(&config(&dir), CaMetrics::new()).await.unwrap();
    // The client trusts only the user's root: the server's chain carries the intermediate.
    let roots = pem_certs(&root_pem);
    let chain = call(server.local_addr(), client_tls(&roots, None), Some(SLEEP_TOKEN), &csr(&[]).0, 0).await.unwrap();
    let chain = ders(&chain);
    assert_eq!(chain.len(), 3, "leaf, intermediate, root");
    assert_eq!(chain[1], pem_certs(&inter_pem)[0]);
    assert_eq!(chain[2], roots[0]);
    assert!(verifies(&chain, &roots, KeyUsage::client_auth()));
    server.shutdown().await;
}

#[tokio::test]
async fn the_tokens_file_is_validated_and_reread_when_it_changes() {
    let dir = TempDir::new();
    let tokens = dir.path().join("tokens.yaml");
    std::fs::write(&tokens, "- token: sleep-token-0123456789abcdef\n  namespace: default\n").unwrap();
    match ca::start(&config(&dir), CaMetrics::new()).await {
        Err(CaStartError::Tokens(e)) => {
            let message = e.to_string();
            assert!(message.contains("tokens.yaml") && message.contains("serviceAccount"), "{message}");
        }
        other => panic!("expected a tokens error, got {other:?}"),
    }

    std::fs::write(&tokens, TOKENS).unwrap();
    let server = ca::start(&config(&dir), CaMetrics::new()).await.unwrap();
    let roots = pem_certs(&std::fs::read_to_string(dir.path().join("ca").join(ROOT_CERT_FILE)).unwrap());
    let addr = server.local_addr();
    let tls = || client_tls(&roots, None);
    let (csr_pem, _) = csr(&[]);
    assert!(call(addr, tls(), Some(SLEEP_TOKEN), &csr_pem, 0).await.is_ok());
    assert_eq!(call(addr, tls(), Some(CART_TOKEN), &csr_pem, 0).await.unwrap_err().code(), Code::Unauthenticated);

    // A new token, no restart.
    std::fs::write(&tokens, format!("{TOKENS}- token: {CART_TOKEN}\n  namespace: shop\n  serviceAccount: cart\n"))
        .unwrap();
    let chain = call(addr, tls(), Some(CART_TOKEN), &csr_pem, 0).await.unwrap();
    assert_eq!(uri_sans(&ders(&chain)[0]), ["spiffe://cluster.local/ns/shop/sa/cart"]);

    // A broken edit keeps the previous tokens.
    std::fs::write(&tokens, "- token: x\n").unwrap();
    assert!(call(addr, tls(), Some(CART_TOKEN), &csr_pem, 0).await.is_ok());
    server.shutdown().await;
}

#[tokio::test]
async fn the_control_plane_serves_the_ca_and_exports_its_metrics() {
    let config_dir = common::fixture();
    let dir = TempDir::new();
    std::fs::write(dir.path().join("tokens.yaml"), TOKENS).unwrap();
    let cp = common::builder(&config_dir).ca(config(&dir)).start().await.unwrap();
    let addr = cp.ca_addr().unwrap();
    let roots = pem_certs(&std::fs::read_to_string(dir.path().join("ca").join(ROOT_CERT_FILE)).unwrap());
    call(addr, client_tls(&roots, None), Some(SLEEP_TOKEN), &csr(&[]).0, 0).await.unwrap();
    call(addr, client_tls(&roots, None), None, &csr(&[]).0, 0).await.unwrap_err();
    call(addr, client_tls(&roots, None), Some(SLEEP_TOKEN), "garbage", 0).await.unwrap_err();

    let text = get(cp.admin_addr(), "/metrics").await.body;
    assert_eq!(metric(&text, "citadel_server_csr_count_total"), Some(3.0), "{text}");
    assert_eq!(metric(&text, "citadel_server_success_cert_issuance_count_total"), Some(1.0), "{text}");
    assert_eq!(metric(&text, "citadel_server_authentication_failure_count_total"), Some(1.0), "{text}");
    assert_eq!(metric(&text, "citadel_server_csr_parsing_err_count_total"), Some(1.0), "{text}");
    assert!(metric(&text, "citadel_server_cert_chain_expiry_timestamp").unwrap() > 1.7e9, "{text}");
    cp.shutdown().await;
    // Shut down: the CA answers no more (promptly: not a hang on a listener nobody accepts on).
    let after = tokio::time::timeout(
        Duration::from_secs(5),
        call(addr, client_tls(&roots, None), Some(SLEEP_TOKEN), &csr(&[]).0, 0),
    )
    .await
    .expect("a prompt refusal");
    assert_eq!(after.unwrap_err().code(), Code::Unavailable);
}
