//! The `mesh_ca` certificate provider plugin: certificates from the mesh's CA (Istio's
//! `IstioCertificateService/CreateCertificate`), the key generated in-process and the
//! certificate renewed at half its lifetime. gRPC has no standard plugin for this (Istio
//! runs an agent that writes files for `file_watcher`); ours removes that agent.
//!
//! ```json
//! "certificate_providers": {
//!   "default": {
//!     "plugin_name": "mesh_ca",
//!     "config": {
//!       "server_uri": "127.0.0.1:15012",
//!       "ca_certificate_file": "/var/run/secrets/mesh/root-cert.pem",
//!       "token_file": "/var/run/secrets/tokens/mesh-token",
//!       "server_name": "mesh-control",
//!       "certificate_lifetime": "86400s"
//!     }
//!   }
//! }
//! ```
//!
//! `ca_certificate_file` holds the roots that verify the CA's own certificate and start
//! the trust bundle; `token_file` is read at every request (a rotated token is picked up);
//! without it the current mesh certificate is the only credential (renewal only).

use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;

use super::certificate::parse_duration;
use super::error::FieldError;
use super::fields;

/// The name of the mesh CA plugin.
pub const MESH_CA_PLUGIN: &str = "mesh_ca";

/// The config of a `mesh_ca` provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeshCaConfig {
    /// `host:port` of the CA (TLS).
    pub server_uri: String,
    /// Roots that verify the CA, and the initial trust bundle.
    pub ca_certificate_file: PathBuf,
    /// Bearer token sent to the CA.
    pub token_file: Option<PathBuf>,
    /// The name the CA's certificate must be valid for (default: the host of `server_uri`).
    pub server_name: Option<String>,
    /// Requested certificate lifetime (default: the CA's, 24 h for Istio).
    pub certificate_lifetime: Option<Duration>,
}

pub(super) fn parse_mesh_ca(config: &Value, path: &str) -> Result<MeshCaConfig, FieldError> {
    let obj = fields::object(config, path)?;
    let non_empty = |key: &str, v: Option<String>| -> Result<Option<String>, FieldError> {
        match v {
            Some(s) if s.is_empty() => Err(FieldError::new(fields::child(path, key), "must not be empty")),
            other => Ok(other),
        }
    };
    let server_uri = fields::req_string(obj, "server_uri", path)?;
    if server_uri.is_empty() || server_uri.contains("://") {
        return Err(FieldError::new(fields::child(path, "server_uri"), "must be host:port"));
    }
    let ca_certificate_file = fields::req_string(obj, "ca_certificate_file", path)?;
    if ca_certificate_file.is_empty() {
        return Err(FieldError::new(fields::child(path, "ca_certificate_file"), "must not be empty"));
    }
    let token_file = non_empty("token_file", fields::opt_string(obj, "token_file", path)?)?.map(PathBuf::from);
    let server_name = non_empty("server_name", fields::opt_string(obj, "server_name", path)?)?;
    let certificate_lifetime = fields::opt_string(obj, "certificate_lifetime", path)?
        .map(|t| parse_duration(&t))
        .transpose()
        .map_err(|reason| FieldError::new(fields::child(path, "certificate_lifetime"), reason))?;
    Ok(MeshCaConfig {
        server_uri,
        ca_certificate_file: PathBuf::from(ca_certificate_file),
        token_file,
        server_name,
        certificate_lifetime,
    })
}
