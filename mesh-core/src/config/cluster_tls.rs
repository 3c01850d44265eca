//! `clusters[].tls` of the static format: a DestinationRule `tls` block in our YAML,
//! with Istio's mode names.
//!
//! ```yaml
//! tls: { mode: ISTIO_MUTUAL, subject_alt_names: [spiffe://cluster.local/ns/default/sa/reviews] }
//! tls: { mode: SIMPLE, ca_certificates: /etc/certs/ca.pem, sni: api.example.com }
//! tls: { mode: MUTUAL, ca_certificates: ca.pem, client_certificate: c.pem, private_key: k.pem }
//! ```

use serde::Deserialize;

use crate::ConfigError;
use crate::cluster::{CertSource, SanMatch, UpstreamTls};

/// `clusters[].tls`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsFile {
    /// `ISTIO_MUTUAL`, `MUTUAL`, `SIMPLE` or `DISABLE`.
    pub mode: String,
    /// Certificate provider instance for `ISTIO_MUTUAL` (default `default`).
    pub provider: Option<String>,
    /// Accepted server SANs (`spiffe://…` and other URIs are URI SANs, the rest DNS).
    #[serde(default)]
    pub subject_alt_names: Vec<String>,
    /// Roots file (`SIMPLE`/`MUTUAL`).
    pub ca_certificates: Option<String>,
    /// Client certificate chain file (`MUTUAL`).
    pub client_certificate: Option<String>,
    /// Client key file (`MUTUAL`).
    pub private_key: Option<String>,
    /// SNI to send.
    pub sni: Option<String>,
    /// Skip server verification (`SIMPLE`/`MUTUAL` only).
    #[serde(default)]
    pub insecure_skip_verify: bool,
}

fn san(s: &str) -> SanMatch {
    if s.contains("://") { SanMatch::Uri(s.to_string()) } else { SanMatch::Dns(s.to_string()) }
}

/// Translates the block (`None` for `DISABLE`).
pub(super) fn tls(f: &TlsFile) -> Result<Option<UpstreamTls>, ConfigError> {
    let sans = f.subject_alt_names.iter().map(|s| san(s)).collect();
    let sni = f.sni.clone();
    let files_only = |field: &str, set: bool| {
        if set { Err(ConfigError::new(field, format!("is not used with mode {}", f.mode))) } else { Ok(()) }
    };
    let tls = match f.mode.as_str() {
        "DISABLE" => return Ok(None),
        "ISTIO_MUTUAL" => {
            files_only("ca_certificates", f.ca_certificates.is_some())?;
            files_only("client_certificate", f.client_certificate.is_some())?;
            files_only("private_key", f.private_key.is_some())?;
            files_only("insecure_skip_verify", f.insecure_skip_verify)?;
            let instance = f.provider.clone().unwrap_or_else(|| "default".into());
            UpstreamTls {
                identity: Some(CertSource::Provider { instance: instance.clone(), certificate: "default".into() }),
                roots: Some(CertSource::Provider { instance, certificate: "ROOTCA".into() }),
                sans,
                sni,
            }
        }
        mode @ ("SIMPLE" | "MUTUAL") => {
            files_only("provider", f.provider.is_some())?;
            let identity = if mode == "MUTUAL" {
                let (Some(certificate), Some(key)) = (&f.client_certificate, &f.private_key) else {
                    return Err(ConfigError::new(
                        "client_certificate",
                        "MUTUAL needs client_certificate and private_key",
                    ));
                };
                Some(CertSource::Files { certificate: certificate.clone(), key: Some(key.clone()) })
            } else {
                files_only("client_certificate", f.client_certificate.is_some())?;
                files_only("private_key", f.private_key.is_some())?;
                None
            };
            let roots = match (&f.ca_certificates, f.insecure_skip_verify) {
                (Some(_), true) => {
                    return Err(ConfigError::new("insecure_skip_verify", "cannot be combined with ca_certificates"));
                }
                (Some(ca), false) => Some(CertSource::Files { certificate: ca.clone(), key: None }),
                (None, true) => None,
                (None, false) => {
                    return Err(ConfigError::new("ca_certificates", "is required unless insecure_skip_verify is set"));
                }
            };
            UpstreamTls { identity, roots, sans, sni }
        }
        other => {
            return Err(ConfigError::new(
                "mode",
                format!("{other:?}: expected ISTIO_MUTUAL, MUTUAL, SIMPLE or DISABLE"),
            ));
        }
    };
    tls.validate()?;
    Ok(Some(tls))
}
