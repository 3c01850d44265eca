//! The certificate authority without the network: what an issued certificate says, that it
//! verifies to the trust bundle, the lifetime policy, roots and intermediates from PEM,
//! the CA directory across restarts, root rotation.
// Test helpers unwrap: a failure there is a failed test.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use mesh_tls::SpiffeId;
use mesh_tls::ca::{
    CA_CERT_FILE, CA_KEY_FILE, CERT_CHAIN_FILE, CaError, CertificateAuthority, DEFAULT_ROOT_TTL, IssuedChain,
    ROOT_CERT_FILE,
};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose, PKCS_ECDSA_P256_SHA256,
    PKCS_ECDSA_P384_SHA384, SanType,
};
use rustls_pki_types::{CertificateDer, UnixTime};
use webpki::{EndEntityCert, KeyUsage};
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::{FromDer, X509Certificate};

const TD: &str = "cluster.local";

fn id(ns: &str, sa: &str) -> SpiffeId {
    SpiffeId::workload(TD, ns, sa).unwrap()
}

/// A CSR for a fresh key, asking for `uris` as URI SANs, plus a DNS SAN and a subject CN
/// the CA must ignore.
fn csr(uris: &[&str]) -> (String, KeyPair) {
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
    let mut params = CertificateParams::new(vec!["evil.example.com".to_string()]).unwrap();
    params.distinguished_name.push(DnType::CommonName, "please make me a CA");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    for uri in uris {
        params.subject_alt_names.push(SanType::URI((*uri).try_into().unwrap()));
    }
    (params.serialize_request(&key).unwrap().pem().unwrap(), key)
}

fn parse<'a>(der: &'a CertificateDer<'_>) -> X509Certificate<'a> {
    X509Certificate::from_der(der).unwrap().1
}

fn secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).unwrap().as_secs()
}

/// webpki verification of `chain` against `roots`, as a TLS peer would, for `usage`.
fn verifies(chain: &[CertificateDer<'_>], roots: &[CertificateDer<'_>], usage: KeyUsage, at: SystemTime) -> bool {
    let anchors: Vec<_> = roots.iter().map(|r| webpki::anchor_from_trusted_cert(r).unwrap()).collect();
    let ee = EndEntityCert::try_from(&chain[0]).unwrap();
    let now = UnixTime::since_unix_epoch(at.duration_since(UNIX_EPOCH).unwrap());
    ee.verify_for_usage(webpki::ALL_VERIFICATION_ALGS, &anchors, &chain[1..], now, usage, None, None).is_ok()
}

/// A user's root made with rcgen (P-384, CN + O), as `openssl` or a corporate PKI would.
fn user_root(name: &str) -> (String, Issuer<'static, KeyPair>) {
    let key = KeyPair::generate_for(&PKCS_ECDSA_P384_SHA384).unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name.push(DnType::CommonName, name);
    params.distinguished_name.push(DnType::OrganizationName, "Example Corp");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let cert = params.self_signed(&key).unwrap();
    (cert.pem(), Issuer::new(params, key))
}

/// An intermediate CA signed by `root`, valid for `ttl`: (cert PEM, key PEM).
fn intermediate(root: &Issuer<'static, KeyPair>, ttl: Duration) -> (String, String) {
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name.push(DnType::CommonName, "mesh intermediate");
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params.use_authority_key_identifier_extension = true;
    params.not_before = (SystemTime::now() - Duration::from_secs(3600)).into();
    params.not_after = (SystemTime::now() + ttl).into();
    (params.signed_by(&key, root).unwrap().pem(), key.serialize_pem())
}

fn uri_sans(cert: &X509Certificate<'_>) -> Vec<String> {
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

fn lifetime(chain: &IssuedChain) -> Duration {
    chain.not_after().duration_since(chain.not_before()).unwrap()
}

#[test]
fn generated_root_is_a_p256_ca_named_after_the_trust_domain() {
    let ca = CertificateAuthority::generate_root(TD, DEFAULT_ROOT_TTL).unwrap();
    assert_eq!(ca.roots().len(), 1);
    let root = parse(&ca.roots()[0]);
    assert_eq!(root.subject().to_string(), "O=cluster.local");
    assert_eq!(root.subject().as_raw(), root.issuer().as_raw());
    assert!(root.basic_constraints().unwrap().unwrap().value.ca);
    assert!(root.key_usage().unwrap().unwrap().value.key_cert_sign());
    assert_eq!(root.public_key().algorithm.algorithm, x509_parser::oid_registry::OID_KEY_TYPE_EC_PUBLIC_KEY);
    let life = secs(ca.signing_not_after()) - secs(SystemTime::now());
    assert!(life > 3649 * 86400 && life <= 3650 * 86400, "{life}");
    assert_eq!(ca.trust_bundle_pem(), ca.signing_cert_pem());
    assert!(matches!(CertificateAuthority::generate_root("Bad Domain", DEFAULT_ROOT_TTL), Err(CaError::Load { .. })));
}

#[test]
fn csr_gets_exactly_the_authenticated_identity() {
    let ca = CertificateAuthority::generate_root(TD, DEFAULT_ROOT_TTL).unwrap();
    let (csr, key) = csr(&[]);
    let who = id("default", "sleep");
    let chain = ca.sign_csr(&csr, &who, None).unwrap();
    assert_eq!(chain.pem().len(), 2, "leaf then root");
    assert_eq!(chain.der()[1], ca.roots()[0]);
    assert_eq!(chain.leaf_pem(), chain.pem()[0]);

    let leaf = parse(&chain.der()[0]);
    assert_eq!(uri_sans(&leaf), vec![who.to_string()]);
    let san = leaf.subject_alternative_name().unwrap().unwrap();
    assert_eq!(san.value.general_names.len(), 1, "the requested DNS SAN is dropped");
    assert!(san.critical, "an empty subject makes the SAN critical");
    assert_eq!(leaf.subject().iter().count(), 0, "the requested CN is dropped");
    assert!(!leaf.basic_constraints().unwrap().unwrap().value.ca, "CA:true was asked for and refused");
    let ku = leaf.key_usage().unwrap().unwrap().value;
    assert!(ku.digital_signature() && ku.key_encipherment() && !ku.key_cert_sign());
    let eku = leaf.extended_key_usage().unwrap().unwrap().value;
    assert!(eku.server_auth && eku.client_auth);
    assert_eq!(leaf.public_key().subject_public_key.data.as_ref(), key.public_key_raw());

    let now = SystemTime::now();
    assert!(verifies(chain.der(), ca.roots(), KeyUsage::server_auth(), now));
    assert!(verifies(chain.der(), ca.roots(), KeyUsage::client_auth(), now));
    assert_eq!(ca.verify_issued(chain.der(), now).unwrap(), who);
}

#[test]
fn csr_naming_the_same_identity_is_accepted_and_another_is_refused() {
    let ca = CertificateAuthority::generate_root(TD, DEFAULT_ROOT_TTL).unwrap();
    let who = id("default", "sleep");
    let (same, _) = csr(&[who.as_str()]);
    assert!(ca.sign_csr(&same, &who, None).is_ok());

    let (other, _) = csr(&["spiffe://cluster.local/ns/prod/sa/payments"]);
    let err = ca.sign_csr(&other, &who, None).unwrap_err();
    match &err {
        CaError::IdentityMismatch { requested, authenticated } => {
            assert_eq!(requested, "spiffe://cluster.local/ns/prod/sa/payments");
            assert_eq!(authenticated, who.as_str());
        }
        e => panic!("unexpected {e:?}"),
    }
    let message = err.to_string();
    assert!(message.contains("ns/prod/sa/payments") && message.contains("ns/default/sa/sleep"), "{message}");

    let (both, _) = csr(&[who.as_str(), "spiffe://cluster.local/ns/prod/sa/payments"]);
    assert!(matches!(ca.sign_csr(&both, &who, None), Err(CaError::IdentityMismatch { .. })));
}

#[test]
fn ttl_defaults_to_24h_is_capped_by_the_max_and_by_the_signing_certificate() {
    let ca = CertificateAuthority::generate_root(TD, DEFAULT_ROOT_TTL).unwrap();
    let who = id("default", "sleep");
    let (csr_pem, _) = csr(&[]);
    let skew = Duration::from_secs(60);
    let default = ca.sign_csr(&csr_pem, &who, None).unwrap();
    assert!(lifetime(&default).abs_diff(Duration::from_secs(86400) + skew) <= Duration::from_secs(2));
    let zero = ca.sign_csr(&csr_pem, &who, Some(Duration::ZERO)).unwrap();
    assert!(lifetime(&zero).abs_diff(Duration::from_secs(86400) + skew) <= Duration::from_secs(2));
    let hour = ca.sign_csr(&csr_pem, &who, Some(Duration::from_secs(3600))).unwrap();
    assert!(lifetime(&hour).abs_diff(Duration::from_secs(3600) + skew) <= Duration::from_secs(2));
    assert!(hour.not_before() <= SystemTime::now() - Duration::from_secs(59));

    let max = Duration::from_secs(90 * 86400);
    assert!(ca.sign_csr(&csr_pem, &who, Some(max)).is_ok());
    let err = ca.sign_csr(&csr_pem, &who, Some(max + Duration::from_secs(1))).unwrap_err();
    assert!(matches!(err, CaError::TtlTooLong { .. }), "{err:?}");
    assert!(err.to_string().contains("7776001s") && err.to_string().contains("7776000s"), "{err}");

    let ca = ca.with_ttls(Duration::from_secs(600), Duration::from_secs(1200)).unwrap();
    let short = ca.sign_csr(&csr_pem, &who, None).unwrap();
    assert!(lifetime(&short).abs_diff(Duration::from_secs(600) + skew) <= Duration::from_secs(2));
    assert!(matches!(ca.sign_csr(&csr_pem, &who, Some(Duration::from_secs(1201))), Err(CaError::TtlTooLong { .. })));
    let ca = CertificateAuthority::generate_root(TD, DEFAULT_ROOT_TTL).unwrap();
    assert!(matches!(ca.with_ttls(Duration::from_secs(10), Duration::from_secs(5)), Err(CaError::Policy(_))));

    // An intermediate that expires in 2 hours never issues past its own end.
    let (root_pem, root) = user_root("Example Root");
    let (inter_pem, inter_key) = intermediate(&root, Duration::from_secs(7200));
    let ca = CertificateAuthority::load(&inter_pem, &inter_key, &root_pem).unwrap();
    let clamped = ca.sign_csr(&csr_pem, &who, None).unwrap();
    assert_eq!(clamped.not_after(), ca.signing_not_after());
    assert!(secs(clamped.not_after()) <= secs(SystemTime::now()) + 7200);
}

#[test]
fn serials_are_random() {
    let ca = CertificateAuthority::generate_root(TD, DEFAULT_ROOT_TTL).unwrap();
    let (csr_pem, _) = csr(&[]);
    let a = ca.sign_csr(&csr_pem, &id("a", "a"), None).unwrap();
    let b = ca.sign_csr(&csr_pem, &id("a", "a"), None).unwrap();
    let (a, b) = (parse(&a.der()[0]).raw_serial().to_vec(), parse(&b.der()[0]).raw_serial().to_vec());
    assert_ne!(a, b);
    assert!(a.len() >= 16 && a[0] & 0x80 == 0, "positive 128-bit serial: {a:02x?}");
}

#[test]
fn intermediate_from_the_users_root_appends_the_chain() {
    let (root_pem, root) = user_root("Example Root");
    let (inter_pem, inter_key) = intermediate(&root, Duration::from_secs(365 * 86400));
    let (csr_pem, _) = csr(&[]);
    let who = id("shop", "cart");
    // The root given in the chain file, or only in the bundle: the same CA either way.
    for (chain_pem, bundle) in [(format!("{inter_pem}{root_pem}"), ""), (inter_pem.clone(), root_pem.as_str())] {
        let ca = CertificateAuthority::load(&chain_pem, &inter_key, bundle).unwrap();
        assert_eq!(ca.roots().len(), 1);
        let chain = ca.sign_csr(&csr_pem, &who, None).unwrap();
        assert_eq!(chain.der().len(), 3, "leaf, intermediate, root");
        assert_eq!(parse(&chain.der()[1]).subject().to_string(), "CN=mesh intermediate");
        assert_eq!(chain.der()[2], ca.roots()[0]);
        assert!(verifies(chain.der(), ca.roots(), KeyUsage::server_auth(), SystemTime::now()));
        assert_eq!(ca.verify_issued(chain.der(), SystemTime::now()).unwrap(), who);
        // A peer given only the root verifies the leaf with the intermediate the chain carries.
        assert!(verifies(chain.der(), &mesh_roots(&root_pem), KeyUsage::client_auth(), SystemTime::now()));
    }
    // Without the root anywhere, the chain does not end at a trusted root.
    let err = CertificateAuthority::load(&inter_pem, &inter_key, "").unwrap_err();
    assert!(err.to_string().contains("does not end at a root"), "{err}");
}

fn mesh_roots(pem: &str) -> Vec<CertificateDer<'static>> {
    use rustls_pki_types::pem::PemObject;
    CertificateDer::pem_slice_iter(pem.as_bytes()).collect::<Result<_, _>>().unwrap()
}

#[test]
fn unusable_ca_material_is_refused_with_the_reason() {
    let ca = CertificateAuthority::generate_root(TD, DEFAULT_ROOT_TTL).unwrap();
    let other = CertificateAuthority::generate_root(TD, DEFAULT_ROOT_TTL).unwrap();
    let key_pem = {
        let dir = TempDir::new();
        ca.persist(dir.path()).unwrap();
        std::fs::read_to_string(dir.path().join(CA_KEY_FILE)).unwrap()
    };
    let cases: Vec<(String, String, &str)> = vec![
        (String::new(), key_pem.clone(), "no CERTIFICATE PEM block"),
        (other.signing_cert_pem(), key_pem.clone(), "does not match"),
        (
            ca.signing_cert_pem(),
            "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n".into(),
            "PKCS#8",
        ),
        ("-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n".into(), key_pem.clone(), "certificate chain"),
    ];
    for (chain, key, expected) in cases {
        let err = CertificateAuthority::load(&chain, &key, "").unwrap_err();
        assert!(err.to_string().contains(expected), "{err} does not say {expected:?}");
    }
    // A leaf is not a CA.
    let issued = ca.issue_with_key(&id("a", "b"), &[], &[], None).unwrap();
    let err =
        CertificateAuthority::load(issued.chain.leaf_pem(), issued.key_pem(), &ca.trust_bundle_pem()).unwrap_err();
    assert!(err.to_string().contains("not a CA certificate"), "{err}");
    // An expired root.
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.not_before = (SystemTime::now() - Duration::from_secs(7200)).into();
    params.not_after = (SystemTime::now() - Duration::from_secs(3600)).into();
    let expired = params.self_signed(&key).unwrap();
    let err = CertificateAuthority::load(&expired.pem(), &key.serialize_pem(), "").unwrap_err();
    assert!(err.to_string().contains("not valid now"), "{err}");
}

#[test]
fn issue_with_key_adds_dns_and_ip_names() {
    let ca = CertificateAuthority::generate_root(TD, DEFAULT_ROOT_TTL).unwrap();
    let who = id("istio-system", "mesh-control");
    let issued = ca
        .issue_with_key(&who, &["localhost".into(), "mesh-control".into()], &["127.0.0.1".parse().unwrap()], None)
        .unwrap();
    let leaf = parse(&issued.chain.der()[0]);
    let san = leaf.subject_alternative_name().unwrap().unwrap();
    let names = &san.value.general_names;
    assert_eq!(names.len(), 4, "{names:?}");
    assert!(names.contains(&GeneralName::URI(who.as_str())));
    assert!(
        names.contains(&GeneralName::DNSName("localhost")) && names.contains(&GeneralName::DNSName("mesh-control"))
    );
    assert!(names.contains(&GeneralName::IPAddress(&[127, 0, 0, 1])));
    assert!(format!("{issued:?}").contains("[elided]"), "the key is never printed");
    assert!(issued.key_pem().starts_with("-----BEGIN PRIVATE KEY-----"));
    let name = rustls_pki_types::ServerName::try_from("mesh-control").unwrap();
    let ee = EndEntityCert::try_from(&issued.chain.der()[0]).unwrap();
    assert!(ee.verify_is_valid_for_subject_name(&name).is_ok());
}

#[test]
fn verify_issued_refuses_other_cas_and_expired_certificates() {
    let ca = CertificateAuthority::generate_root(TD, DEFAULT_ROOT_TTL).unwrap();
    let other = CertificateAuthority::generate_root(TD, DEFAULT_ROOT_TTL).unwrap();
    let foreign = other.issue_with_key(&id("a", "b"), &[], &[], None).unwrap();
    let err = ca.verify_issued(foreign.chain.der(), SystemTime::now()).unwrap_err();
    assert!(matches!(err, CaError::Untrusted(_)), "{err:?}");
    let own = ca.issue_with_key(&id("a", "b"), &[], &[], Some(Duration::from_secs(3600))).unwrap();
    assert!(ca.verify_issued(own.chain.der(), SystemTime::now()).is_ok());
    let later = SystemTime::now() + Duration::from_secs(7200);
    assert!(matches!(ca.verify_issued(own.chain.der(), later), Err(CaError::Untrusted(_))));
    assert!(matches!(ca.verify_issued(&[], SystemTime::now()), Err(CaError::Untrusted(_))));
}

/// A directory removed on drop.
struct TempDir(std::path::PathBuf);

impl TempDir {
    fn new() -> Self {
        use std::sync::atomic::{AtomicU64, Ordering};
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos();
        let name = format!("mesh-tls-ca-{}-{}-{nanos}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
        let path = std::env::temp_dir().join(name);
        std::fs::create_dir_all(&path).unwrap();
        Self(path)
    }

    fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn generated_root_is_persisted_and_reloaded() {
    let dir = TempDir::new();
    let first = CertificateAuthority::load_or_generate(dir.path(), TD).unwrap();
    for file in [CA_CERT_FILE, CA_KEY_FILE, CERT_CHAIN_FILE, ROOT_CERT_FILE] {
        assert!(dir.path().join(file).is_file(), "{file} written");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join(CA_KEY_FILE)).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let second = CertificateAuthority::load_or_generate(dir.path(), TD).unwrap();
    assert_eq!(first.roots(), second.roots());
    assert_eq!(first.signing_cert_pem(), second.signing_cert_pem());
    // The reloaded CA signs: its chains verify to the first one's root.
    let chain = second.sign_csr(&csr(&[]).0, &id("a", "b"), None).unwrap();
    assert!(verifies(chain.der(), first.roots(), KeyUsage::server_auth(), SystemTime::now()));

    // Half a CA is never overwritten.
    std::fs::remove_file(dir.path().join(CA_KEY_FILE)).unwrap();
    let err = CertificateAuthority::load_or_generate(dir.path(), TD).unwrap_err();
    assert!(err.to_string().contains("ca-key.pem") && err.to_string().contains("missing"), "{err}");
}

#[test]
fn istio_plugin_layout_with_an_intermediate_loads_from_files() {
    let (root_pem, root) = user_root("Example Root");
    let (inter_pem, inter_key) = intermediate(&root, Duration::from_secs(365 * 86400));
    let dir = TempDir::new();
    std::fs::write(dir.path().join(CA_CERT_FILE), &inter_pem).unwrap();
    std::fs::write(dir.path().join(CA_KEY_FILE), &inter_key).unwrap();
    std::fs::write(dir.path().join(CERT_CHAIN_FILE), format!("{inter_pem}{root_pem}")).unwrap();
    std::fs::write(dir.path().join(ROOT_CERT_FILE), &root_pem).unwrap();
    let ca = CertificateAuthority::load_or_generate(dir.path(), TD).unwrap();
    let chain = ca.sign_csr(&csr(&[]).0, &id("a", "b"), None).unwrap();
    assert_eq!(chain.der().len(), 3);
    assert!(verifies(chain.der(), &mesh_roots(&root_pem), KeyUsage::server_auth(), SystemTime::now()));
    // The key file named in the error when it does not belong to the certificate.
    std::fs::write(dir.path().join(CA_KEY_FILE), KeyPair::generate().unwrap().serialize_pem()).unwrap();
    let err = CertificateAuthority::load_dir(dir.path()).unwrap_err();
    assert!(err.to_string().contains("ca-key.pem") && err.to_string().contains("does not match"), "{err}");
}

#[test]
fn rotated_out_root_stays_trusted_while_the_new_one_signs() {
    let old = CertificateAuthority::generate_root(TD, DEFAULT_ROOT_TTL).unwrap();
    let new = CertificateAuthority::generate_root(TD, DEFAULT_ROOT_TTL).unwrap();
    let dir = TempDir::new();
    new.persist(dir.path()).unwrap();
    // root-cert.pem: the old root first, then the new (signing) one.
    std::fs::write(dir.path().join(ROOT_CERT_FILE), format!("{}{}", old.trust_bundle_pem(), new.trust_bundle_pem()))
        .unwrap();
    let ca = CertificateAuthority::load_dir(dir.path()).unwrap();
    assert_eq!(ca.roots().len(), 2);
    assert_eq!(ca.trust_bundle_pem(), format!("{}{}", old.trust_bundle_pem(), new.trust_bundle_pem()));
    let chain = ca.sign_csr(&csr(&[]).0, &id("a", "b"), None).unwrap();
    assert_eq!(chain.der()[1], new.roots()[0], "signed by the new root");
    // Workloads still holding certificates from the old root are trusted during the overlap.
    let from_old = old.issue_with_key(&id("legacy", "app"), &[], &[], None).unwrap();
    assert_eq!(ca.verify_issued(from_old.chain.der(), SystemTime::now()).unwrap(), id("legacy", "app"));
    assert!(verifies(from_old.chain.der(), ca.roots(), KeyUsage::server_auth(), SystemTime::now()));
}
