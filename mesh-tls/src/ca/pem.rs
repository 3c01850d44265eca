//! PEM in and out for the CA: certificate lists read with `rustls-pki-types`, certificates
//! written back as `CERTIFICATE` blocks (64-column base64, as OpenSSL and Go write them).

use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

use super::CaError;

/// Every `CERTIFICATE` block of `pem` (other blocks are skipped); `what` names the input in
/// errors.
pub(crate) fn certs(what: &str, pem: &str) -> Result<Vec<CertificateDer<'static>>, CaError> {
    CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| CaError::load(what, format!("not valid PEM: {e}")))
}

/// One `CERTIFICATE` PEM block, ending with a newline.
pub(crate) fn cert_pem(der: &[u8]) -> String {
    encode("CERTIFICATE", der)
}

/// Concatenated `CERTIFICATE` blocks.
pub(crate) fn certs_pem(ders: &[CertificateDer<'_>]) -> String {
    ders.iter().map(|d| cert_pem(d)).collect()
}

fn encode(label: &str, der: &[u8]) -> String {
    let b64 = base64(der);
    let mut out = String::with_capacity(b64.len() + b64.len() / 64 + 2 * label.len() + 40);
    out.push_str("-----BEGIN ");
    out.push_str(label);
    out.push_str("-----\n");
    for line in b64.as_bytes().chunks(64) {
        // base64 output is ASCII.
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str("-----END ");
    out.push_str(label);
    out.push_str("-----\n");
    out
}

fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [chunk[0], chunk.get(1).copied().unwrap_or(0), chunk.get(2).copied().unwrap_or(0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648_vectors() {
        for (input, expected) in
            [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("foobar", "Zm9vYmFy")]
        {
            assert_eq!(base64(input.as_bytes()), expected);
        }
    }

    #[test]
    fn pem_round_trips() {
        let der: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
        let pem = cert_pem(&der);
        assert!(pem.lines().all(|l| l.len() <= 64));
        let back = certs("test", &pem).unwrap();
        assert_eq!(back.len(), 1);
        assert_eq!(back[0].as_ref(), der.as_slice());
    }
}
