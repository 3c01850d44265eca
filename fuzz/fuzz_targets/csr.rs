//! Arbitrary bytes as a certificate signing request — DER, PEM text, and the body of a
//! `CERTIFICATE REQUEST` PEM block: `mesh_tls::ca::Csr` must refuse or accept them, never
//! panic. A CSR that parses is then signed by a CA, which must not panic either.
//!
//! Run with `cargo +nightly fuzz run csr` from the repository root. The same code paths
//! run on stable in `mesh-tls/tests/ca_csr.rs`'s proptests.

#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use mesh_tls::SpiffeId;
use mesh_tls::ca::{CertificateAuthority, Csr, DEFAULT_ROOT_TTL};

static CA: LazyLock<Option<(CertificateAuthority, SpiffeId)>> = LazyLock::new(|| {
    let ca = CertificateAuthority::generate_root("cluster.local", DEFAULT_ROOT_TTL).ok()?;
    let id = SpiffeId::workload("cluster.local", "fuzz", "fuzz").ok()?;
    Some((ca, id))
});

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let wrapped = format!("-----BEGIN CERTIFICATE REQUEST-----\n{text}\n-----END CERTIFICATE REQUEST-----\n");
    for parsed in [Csr::from_der(data), Csr::from_pem(&text), Csr::from_pem(&wrapped)] {
        if let (Ok(csr), Some((ca, id))) = (parsed, CA.as_ref()) {
            let _ = ca.sign(&csr, id, None);
        }
    }
});
