//! Shared by the CA tests: CSRs, a rustls client (optionally with a client certificate),
//! one `CreateCertificate` call over real TLS, and checks of what comes back.
#![allow(dead_code, unreachable_pub, missing_docs, clippy::unwrap_used)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use mesh_tls::SpiffeId;
use mesh_tls::ca::proto::{IstioCertificateRequest, IstioCertificateServiceClient};
use rcgen::{CertificateParams, KeyPair, PKCS_ECDSA_P256_SHA256, SanType};
use rustls::{ClientConfig, RootCertStore};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
use webpki::{EndEntityCert, KeyUsage};
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::{FromDer, X509Certificate};

pub const TD: &str = "cluster.local";
pub const SLEEP_TOKEN: &str = "sleep-token-0123456789abcdef";
pub const CART_TOKEN: &str = "cart-token-0123456789abcdef";

pub fn id(ns: &str, sa: &str) -> SpiffeId {
    SpiffeId::workload(TD, ns, sa).unwrap()
}

/// A CSR for a fresh P-256 key asking for `uris`; the key PEM too.
pub fn csr(uris: &[&str]) -> (String, KeyPair) {
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    for uri in uris {
        params.subject_alt_names.push(SanType::URI((*uri).try_into().unwrap()));
    }
    (params.serialize_request(&key).unwrap().pem().unwrap(), key)
}

pub fn pem_certs(pem: &str) -> Vec<CertificateDer<'static>> {
    CertificateDer::pem_slice_iter(pem.as_bytes()).collect::<Result<_, _>>().unwrap()
}

/// Each PEM of a `cert_chain` as DER.
pub fn ders(chain: &[String]) -> Vec<CertificateDer<'static>> {
    chain.iter().map(|pem| CertificateDer::from_pem_slice(pem.as_bytes()).unwrap()).collect()
}

/// A client trusting `roots`, presenting `client` (chain PEM elements, key PEM) if given.
pub fn client_tls(roots: &[CertificateDer<'static>], client: Option<(&[String], &str)>) -> Arc<ClientConfig> {
    let mut store = RootCertStore::empty();
    for root in roots {
        store.add(root.clone()).unwrap();
    }
    let builder = ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(store);
    let config = match client {
        None => builder.with_no_client_auth(),
        Some((chain, key)) => {
            builder.with_client_auth_cert(ders(chain), PrivateKeyDer::from_pem_slice(key.as_bytes()).unwrap()).unwrap()
        }
    };
    Arc::new(config)
}

/// One CreateCertificate over TLS to `localhost:<port of addr>`.
pub async fn call(
    addr: SocketAddr,
    tls: Arc<ClientConfig>,
    token: Option<&str>,
    csr: &str,
    validity_duration: i64,
) -> Result<Vec<String>, tonic::Status> {
    let channel = mesh_tls::ca::client::connect(&format!("https://localhost:{}", addr.port()), tls).unwrap();
    let mut client = IstioCertificateServiceClient::new(channel);
    let mut request =
        tonic::Request::new(IstioCertificateRequest { csr: csr.to_owned(), validity_duration, metadata: None });
    if let Some(token) = token {
        request.metadata_mut().insert("authorization", format!("Bearer {token}").parse().unwrap());
    }
    client.create_certificate(request).await.map(|r| r.into_inner().cert_chain)
}

/// Whether `chain` (leaf first) verifies to `roots` now, for `usage`.
pub fn verifies(chain: &[CertificateDer<'_>], roots: &[CertificateDer<'_>], usage: KeyUsage) -> bool {
    let anchors: Vec<_> = roots.iter().map(|r| webpki::anchor_from_trusted_cert(r).unwrap()).collect();
    let ee = EndEntityCert::try_from(&chain[0]).unwrap();
    let now = UnixTime::since_unix_epoch(SystemTime::now().duration_since(UNIX_EPOCH).unwrap());
    ee.verify_for_usage(webpki::ALL_VERIFICATION_ALGS, &anchors, &chain[1..], now, usage, None, None).is_ok()
}

pub fn uri_sans(der: &CertificateDer<'_>) -> Vec<String> {
    let (_, cert) = X509Certificate::from_der(der).unwrap();
    let Some(san) = cert.subject_alternative_name().unwrap() else { return Vec::new() };
    san.value
        .general_names
        .iter()
        .filter_map(|n| match n {
            GeneralName::URI(u) => Some((*u).to_owned()),
            _ => None,
        })
        .collect()
}

/// notAfter − notBefore of `der`.
pub fn lifetime(der: &CertificateDer<'_>) -> Duration {
    let (_, cert) = X509Certificate::from_der(der).unwrap();
    let v = cert.validity();
    Duration::from_secs((v.not_after.timestamp() - v.not_before.timestamp()).try_into().unwrap())
}

/// A directory removed on drop.
pub struct TempDir(std::path::PathBuf);

impl TempDir {
    pub fn new() -> Self {
        use std::sync::atomic::{AtomicU64, Ordering};
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos();
        let name = format!("mesh-control-ca-{}-{}-{nanos}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
        let path = std::env::temp_dir().join(name);
        std::fs::create_dir_all(&path).unwrap();
        Self(path)
    }

    pub fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
