//! CSR parsing, the CA's untrusted input: bad requests are refused with a reason, and no
//! input — random, or a valid request with bytes changed — makes it panic. The same code
//! path is fuzzed by `fuzz/fuzz_targets/csr.rs`.
// Test helpers unwrap: a failure there is a failed test.
#![allow(clippy::unwrap_used)]

use mesh_tls::SpiffeId;
use mesh_tls::ca::{CaError, CertificateAuthority, Csr, DEFAULT_ROOT_TTL, MAX_CSR_BYTES};
use proptest::prelude::*;
use rcgen::{CertificateParams, KeyPair, PKCS_ECDSA_P256_SHA256, PKCS_ED25519, SanType};

fn valid_csr(uri: Option<&str>) -> (String, Vec<u8>) {
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    if let Some(uri) = uri {
        params.subject_alt_names.push(SanType::URI(uri.try_into().unwrap()));
    }
    let csr = params.serialize_request(&key).unwrap();
    (csr.pem().unwrap(), csr.der().to_vec())
}

fn reason(result: Result<Csr, CaError>) -> String {
    match result {
        Err(CaError::InvalidCsr { reason }) => reason,
        other => panic!("expected InvalidCsr, got {other:?}"),
    }
}

#[test]
fn valid_requests_parse_with_their_uri_sans() {
    let (pem, der) = valid_csr(Some("spiffe://cluster.local/ns/a/sa/b"));
    assert_eq!(Csr::from_pem(&pem).unwrap().uri_sans(), ["spiffe://cluster.local/ns/a/sa/b"]);
    assert_eq!(Csr::from_der(&der).unwrap().uri_sans(), ["spiffe://cluster.local/ns/a/sa/b"]);
    assert!(Csr::from_pem(&valid_csr(None).0).unwrap().uri_sans().is_empty());
    // Ed25519 keys are certified too.
    let key = KeyPair::generate_for(&PKCS_ED25519).unwrap();
    let ed = CertificateParams::new(Vec::<String>::new()).unwrap().serialize_request(&key).unwrap();
    assert!(Csr::from_pem(&ed.pem().unwrap()).is_ok());
}

#[test]
fn garbage_is_refused_with_a_reason() {
    assert!(reason(Csr::from_pem("")).contains("no \"CERTIFICATE REQUEST\" PEM block"));
    assert!(reason(Csr::from_pem("hello")).contains("no \"CERTIFICATE REQUEST\""));
    let cert_block = "-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n";
    assert!(reason(Csr::from_pem(cert_block)).contains("no \"CERTIFICATE REQUEST\""));
    let junk = "-----BEGIN CERTIFICATE REQUEST-----\nMAA=\n-----END CERTIFICATE REQUEST-----\n";
    assert!(reason(Csr::from_pem(junk)).contains("not a PKCS#10 request"));
    let broken_base64 = "-----BEGIN CERTIFICATE REQUEST-----\n!!!!\n-----END CERTIFICATE REQUEST-----\n";
    assert!(!reason(Csr::from_pem(broken_base64)).is_empty());
    let huge = "A".repeat(MAX_CSR_BYTES + 1);
    assert!(reason(Csr::from_pem(&huge)).contains("more than"));
}

#[test]
fn a_bad_signature_is_refused() {
    let (_, mut der) = valid_csr(Some("spiffe://cluster.local/ns/a/sa/b"));
    // The last byte is inside the signature's last INTEGER: the DER stays well formed.
    let last = der.len() - 1;
    der[last] ^= 0x01;
    assert!(reason(Csr::from_der(&der)).contains("signature does not verify"));
    // A request whose signed part was changed after signing (the SAN edited).
    let (_, der) = valid_csr(Some("spiffe://cluster.local/ns/a/sa/b"));
    let at = der.windows(4).position(|w| w == b"sa/b").unwrap() + 3;
    let mut edited = der.clone();
    edited[at] = b'c';
    assert!(reason(Csr::from_der(&edited)).contains("signature does not verify"));
}

#[test]
fn trailing_bytes_are_refused() {
    let (_, mut der) = valid_csr(None);
    der.extend_from_slice(&[0, 0]);
    assert!(reason(Csr::from_der(&der)).contains("trailing"));
}

#[test]
fn the_ca_refuses_invalid_csrs_before_identity_checks() {
    let ca = CertificateAuthority::generate_root("cluster.local", DEFAULT_ROOT_TTL).unwrap();
    let id = SpiffeId::workload("cluster.local", "a", "b").unwrap();
    assert!(matches!(ca.sign_csr("garbage", &id, None), Err(CaError::InvalidCsr { .. })));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = Csr::from_der(&bytes);
        let _ = Csr::from_pem(&String::from_utf8_lossy(&bytes));
        let wrapped = format!(
            "-----BEGIN CERTIFICATE REQUEST-----\n{}\n-----END CERTIFICATE REQUEST-----\n",
            String::from_utf8_lossy(&bytes)
        );
        let _ = Csr::from_pem(&wrapped);
    }

    #[test]
    fn mutated_requests_never_panic(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in any::<prop::sample::Index>(),
    ) {
        let (_, der) = valid_csr(Some("spiffe://cluster.local/ns/a/sa/b"));
        let mut mutated = der.clone();
        for (at, byte) in &edits {
            let i = at.index(mutated.len());
            mutated[i] = *byte;
        }
        let _ = Csr::from_der(&mutated);
        // A cut DER never has its declared length.
        let truncated = &der[..cut.index(der.len())];
        prop_assert!(Csr::from_der(truncated).is_err());
    }
}
