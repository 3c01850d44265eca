//! [`CertificateProvider`]: the `certificate_providers` map (gRFC A29).
//!
//! The control plane never sends certificates or file paths: a Cluster's or Listener's TLS context
//! names a *certificate provider instance*, and the client looks that name up in its bootstrap to learn
//! which plugin produces the certificates and with what config. The one plugin every gRPC language
//! ships is `file_watcher`, which re-reads PEM files periodically (this is also what the `"tls"`
//! channel credentials of gRFC A65 are configured with).

use std::path::PathBuf;
use std::time::Duration;

use serde_json::{Value, json};

use super::error::FieldError;
use super::fields;

/// The name of the PEM file watcher plugin.
pub const FILE_WATCHER_PLUGIN: &str = "file_watcher";

/// How often the file watcher re-reads its files when the config does not say (gRPC's default).
pub const DEFAULT_REFRESH_INTERVAL: Duration = Duration::from_secs(600);

/// One certificate provider instance: `certificate_providers["<instance name>"]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateProvider {
    /// The plugin that implements it, e.g. `"file_watcher"`.
    pub plugin_name: String,
    /// The plugin's configuration (a JSON object, `{}` when absent). For `file_watcher` it is validated
    /// when the bootstrap is loaded; other plugins' configs are kept as they are (like grpc-go, a plugin
    /// this client does not know is not an error: it only matters if the control plane refers to it).
    pub config: Value,
}

impl CertificateProvider {
    /// A `file_watcher` provider for the given files.
    pub fn file_watcher(config: &FileWatcherConfig) -> Self {
        Self { plugin_name: FILE_WATCHER_PLUGIN.to_owned(), config: config.to_json() }
    }

    /// The typed config, for a `file_watcher` provider. `None` for other plugins, or if the config is
    /// invalid (never the case after loading a bootstrap).
    pub fn file_watcher_config(&self) -> Option<FileWatcherConfig> {
        if self.plugin_name != FILE_WATCHER_PLUGIN {
            return None;
        }
        parse_pem_files(&self.config, "config", true).ok()
    }

    /// The typed config, for a `mesh_ca` provider.
    pub fn mesh_ca_config(&self) -> Option<super::mesh_ca::MeshCaConfig> {
        if self.plugin_name != super::mesh_ca::MESH_CA_PLUGIN {
            return None;
        }
        super::mesh_ca::parse_mesh_ca(&self.config, "config").ok()
    }

    pub(super) fn to_json(&self) -> Value {
        json!({ "plugin_name": self.plugin_name, "config": self.config })
    }
}

/// The config of the `file_watcher` plugin (gRFC A29), also that of `"tls"` channel credentials
/// (gRFC A65): PEM files re-read every `refresh_interval`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileWatcherConfig {
    /// `certificate_file`: the identity certificate chain. Set together with `private_key_file`.
    pub certificate_file: Option<PathBuf>,
    /// `private_key_file`: the identity's private key. Set together with `certificate_file`.
    pub private_key_file: Option<PathBuf>,
    /// `ca_certificate_file`: the roots to verify peers with.
    pub ca_certificate_file: Option<PathBuf>,
    /// `spiffe_trust_bundle_map_file` (grpc-go): a SPIFFE bundle map, preferred over
    /// `ca_certificate_file` when both are set.
    pub spiffe_trust_bundle_map_file: Option<PathBuf>,
    /// `refresh_interval`, a protobuf JSON duration such as `"600s"`; [`DEFAULT_REFRESH_INTERVAL`] when absent.
    pub refresh_interval: Duration,
}

impl FileWatcherConfig {
    fn to_json(&self) -> Value {
        let mut obj = fields::Object::new();
        let files = [
            ("certificate_file", &self.certificate_file),
            ("private_key_file", &self.private_key_file),
            ("ca_certificate_file", &self.ca_certificate_file),
            ("spiffe_trust_bundle_map_file", &self.spiffe_trust_bundle_map_file),
        ];
        for (key, path) in files {
            if let Some(path) = path {
                obj.insert(key.into(), json!(path.to_string_lossy()));
            }
        }
        obj.insert("refresh_interval".into(), json!(format_duration(self.refresh_interval)));
        Value::Object(obj)
    }
}

/// Parses one entry of `certificate_providers`.
pub(super) fn parse_provider(value: &Value, path: &str) -> Result<CertificateProvider, FieldError> {
    let obj = fields::object(value, path)?;
    let plugin_name = fields::req_string(obj, "plugin_name", path)?;
    if plugin_name.is_empty() {
        return Err(FieldError::new(fields::child(path, "plugin_name"), "must not be empty"));
    }
    let config = Value::Object(fields::opt_object(obj, "config", path)?.cloned().unwrap_or_default());
    if plugin_name == FILE_WATCHER_PLUGIN {
        parse_pem_files(&config, &fields::child(path, "config"), true)?;
    }
    if plugin_name == super::mesh_ca::MESH_CA_PLUGIN {
        super::mesh_ca::parse_mesh_ca(&config, &fields::child(path, "config"))?;
    }
    Ok(CertificateProvider { plugin_name, config })
}

/// Validates a `file_watcher` / `"tls"` config at `path`. The certificate and key go together (both or
/// neither); with `require_some` (the file watcher), a certificate or a CA file must be given (the rule
/// of gRPC C-core; grpc-go also counts `spiffe_trust_bundle_map_file`, and so do we).
pub(super) fn parse_pem_files(config: &Value, path: &str, require_some: bool) -> Result<FileWatcherConfig, FieldError> {
    let obj = fields::object(config, path)?;
    let file = |key: &str| -> Result<Option<PathBuf>, FieldError> {
        match fields::opt_string(obj, key, path)? {
            Some(s) if s.is_empty() => Err(FieldError::new(fields::child(path, key), "must not be empty")),
            other => Ok(other.map(PathBuf::from)),
        }
    };
    let certificate_file = file("certificate_file")?;
    let private_key_file = file("private_key_file")?;
    let ca_certificate_file = file("ca_certificate_file")?;
    let spiffe_trust_bundle_map_file = file("spiffe_trust_bundle_map_file")?;
    if certificate_file.is_some() != private_key_file.is_some() {
        let missing = if certificate_file.is_some() { "private_key_file" } else { "certificate_file" };
        return Err(FieldError::new(
            fields::child(path, missing),
            "missing (\"certificate_file\" and \"private_key_file\" must be set together)",
        ));
    }
    if require_some
        && certificate_file.is_none()
        && ca_certificate_file.is_none()
        && spiffe_trust_bundle_map_file.is_none()
    {
        return Err(FieldError::new(
            path,
            "needs \"certificate_file\" and \"private_key_file\", or \"ca_certificate_file\", or both",
        ));
    }
    let refresh_interval = match fields::opt_string(obj, "refresh_interval", path)? {
        None => DEFAULT_REFRESH_INTERVAL,
        Some(text) => {
            parse_duration(&text).map_err(|reason| FieldError::new(fields::child(path, "refresh_interval"), reason))?
        }
    };
    Ok(FileWatcherConfig {
        certificate_file,
        private_key_file,
        ca_certificate_file,
        spiffe_trust_bundle_map_file,
        refresh_interval,
    })
}

/// A positive protobuf JSON duration: seconds with up to 9 fractional digits and an `s`, e.g. `"600s"`
/// or `"1.5s"`.
pub(super) fn parse_duration(text: &str) -> Result<Duration, String> {
    let invalid = || format!("{text:?} is not a duration such as \"600s\" or \"1.5s\"");
    let number = text.strip_suffix('s').ok_or_else(invalid)?;
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !digits(whole) || !digits(fraction) || fraction.len() > 9 || number.ends_with('.') {
        return Err(invalid());
    }
    let secs: u64 = whole.parse().map_err(|_| invalid())?;
    let nanos: u32 = format!("{fraction:0<9}").parse().map_err(|_| invalid())?;
    let duration = Duration::new(secs, nanos);
    if duration.is_zero() {
        return Err(format!("{text:?} must be more than zero"));
    }
    Ok(duration)
}

/// The protobuf JSON form of `duration` (`"600s"`, `"1.500s"`).
fn format_duration(duration: Duration) -> String {
    match duration.subsec_nanos() {
        0 => format!("{}s", duration.as_secs()),
        nanos => format!("{}.{nanos:09}s", duration.as_secs()),
    }
}
