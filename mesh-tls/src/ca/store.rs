//! The CA directory: Istio's "plug-in CA" file names, so a directory prepared for istiod
//! (`cacerts` secret) works here, and a root generated here survives restarts.
//!
//! | file | holds |
//! |---|---|
//! | `ca-cert.pem` | the signing certificate (a root, or an intermediate) |
//! | `ca-key.pem` | its private key, PKCS#8 (written with mode 0600) |
//! | `cert-chain.pem` | the signing certificate then those above it up to the root |
//! | `root-cert.pem` | the trust bundle: every trusted root. Several roots during a root rotation (the old one keeps being trusted while the new one signs), the signing chain's root among them |
//!
//! Files are written atomically (a temporary file renamed over the target), so a crash
//! never leaves a half-written key.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::CaError;
use super::authority::{CertificateAuthority, DEFAULT_ROOT_TTL};

/// The signing certificate.
pub const CA_CERT_FILE: &str = "ca-cert.pem";
/// The signing key.
pub const CA_KEY_FILE: &str = "ca-key.pem";
/// The signing certificate and the chain above it.
pub const CERT_CHAIN_FILE: &str = "cert-chain.pem";
/// The trust bundle.
pub const ROOT_CERT_FILE: &str = "root-cert.pem";

impl CertificateAuthority {
    /// Writes the four files into `dir` (created if missing).
    pub fn persist(&self, dir: &Path) -> Result<(), CaError> {
        fs::create_dir_all(dir).map_err(|source| CaError::Io { path: dir.to_path_buf(), source })?;
        write_atomic(&dir.join(CA_KEY_FILE), self.issuer.key().serialize_pem().as_bytes(), true)?;
        write_atomic(&dir.join(CA_CERT_FILE), self.signing_cert_pem().as_bytes(), false)?;
        write_atomic(&dir.join(CERT_CHAIN_FILE), self.cert_chain_pem().as_bytes(), false)?;
        write_atomic(&dir.join(ROOT_CERT_FILE), self.trust_bundle_pem().as_bytes(), false)?;
        Ok(())
    }

    /// Loads the CA from `dir`: `ca-cert.pem` and `ca-key.pem` are required;
    /// `cert-chain.pem` (the chain above `ca-cert.pem`, with or without `ca-cert.pem` first)
    /// and `root-cert.pem` (further trusted roots) are read when present.
    pub fn load_dir(dir: &Path) -> Result<Self, CaError> {
        let cert_path = dir.join(CA_CERT_FILE);
        let key_path = dir.join(CA_KEY_FILE);
        let chain_path = dir.join(CERT_CHAIN_FILE);
        let roots_path = dir.join(ROOT_CERT_FILE);
        let cert = read(&cert_path)?;
        let key = read(&key_path)?;
        let mut chain = read_optional(&chain_path)?.unwrap_or_default();
        let roots = read_optional(&roots_path)?.unwrap_or_default();
        // cert-chain.pem starting with ca-cert.pem (Istio's layout) or holding only what is
        // above it: either way the chain read is ca-cert.pem then what is above.
        let cert_ders = super::pem::certs(&cert_path.display().to_string(), &cert)?;
        let chain_ders = super::pem::certs(&chain_path.display().to_string(), &chain)?;
        if cert_ders.len() != 1 {
            return Err(CaError::load(
                cert_path.display().to_string(),
                format!("holds {} certificates; exactly one (the signing certificate) is expected", cert_ders.len()),
            ));
        }
        let above = if chain_ders.first() == cert_ders.first() { &chain_ders[1..] } else { &chain_ders[..] };
        chain = cert;
        chain.push('\n');
        chain.push_str(&super::pem::certs_pem(above));
        let chain_what = if above.is_empty() {
            cert_path.display().to_string()
        } else {
            format!("{} + {}", cert_path.display(), chain_path.display())
        };
        Self::load_named(
            (&chain_what, &chain),
            (&key_path.display().to_string(), &key),
            (&roots_path.display().to_string(), &roots),
        )
    }

    /// Loads the CA from `dir` if it holds one (`ca-cert.pem` and `ca-key.pem`); if it
    /// holds neither, generates a root for `trust_domain` ([`DEFAULT_ROOT_TTL`]) and
    /// persists it there, so the next start signs with the same root. One file without
    /// the other is an error (never overwrite half of someone's CA).
    pub fn load_or_generate(dir: &Path, trust_domain: &str) -> Result<Self, CaError> {
        Self::load_or_generate_with_ttl(dir, trust_domain, DEFAULT_ROOT_TTL)
    }

    /// [`CertificateAuthority::load_or_generate`] with the lifetime of a generated root.
    pub fn load_or_generate_with_ttl(dir: &Path, trust_domain: &str, root_ttl: Duration) -> Result<Self, CaError> {
        let cert = dir.join(CA_CERT_FILE).exists();
        let key = dir.join(CA_KEY_FILE).exists();
        match (cert, key) {
            (true, true) => {
                let ca = Self::load_dir(dir)?;
                tracing::info!(dir = %dir.display(), roots = ca.roots().len(), "CA loaded");
                Ok(ca)
            }
            (false, false) => {
                let ca = Self::generate_root(trust_domain, root_ttl)?;
                ca.persist(dir)?;
                tracing::info!(dir = %dir.display(), %trust_domain, "CA root generated and saved");
                Ok(ca)
            }
            (true, false) => Err(CaError::load(
                dir.join(CA_KEY_FILE).display().to_string(),
                format!("missing, but {CA_CERT_FILE} exists: add the key or remove both to generate a new root"),
            )),
            (false, true) => Err(CaError::load(
                dir.join(CA_CERT_FILE).display().to_string(),
                format!("missing, but {CA_KEY_FILE} exists: add the certificate or remove both to generate a new root"),
            )),
        }
    }
}

fn read(path: &Path) -> Result<String, CaError> {
    fs::read_to_string(path).map_err(|source| CaError::Io { path: path.to_path_buf(), source })
}

fn read_optional(path: &Path) -> Result<Option<String>, CaError> {
    match fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(CaError::Io { path: path.to_path_buf(), source }),
    }
}

/// Writes `path` through a temporary file in the same directory, renamed over it;
/// `private` files are created with mode 0600.
fn write_atomic(path: &Path, content: &[u8], private: bool) -> Result<(), CaError> {
    let io = |path: &Path| {
        let path: PathBuf = path.to_path_buf();
        move |source| CaError::Io { path, source }
    };
    let file_name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = path.with_file_name(format!(".{file_name}.tmp"));
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(if private { 0o600 } else { 0o644 });
    }
    #[cfg(not(unix))]
    let _ = private;
    let mut file = options.open(&tmp).map_err(io(&tmp))?;
    #[cfg(unix)]
    if private {
        // A stale temporary file keeps its old mode: force it.
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(fs::Permissions::from_mode(0o600)).map_err(io(&tmp))?;
    }
    file.write_all(content).map_err(io(&tmp))?;
    file.sync_all().map_err(io(&tmp))?;
    drop(file);
    fs::rename(&tmp, path).map_err(io(path))
}
