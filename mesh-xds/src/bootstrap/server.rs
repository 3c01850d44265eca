//! [`XdsServer`] and [`ChannelCreds`]: one management server of `xds_servers` (gRFC A27, A47, A71).

use std::net::{Ipv4Addr, Ipv6Addr};

use serde_json::{Value, json};

use super::certificate::{self, FileWatcherConfig};
use super::error::FieldError;
use super::fields::{self, Object};

/// `server_features` entry: keep a resource the server stops sending instead of dropping it (gRFC A53).
pub const FEATURE_IGNORE_RESOURCE_DELETION: &str = "ignore_resource_deletion";
/// `server_features` entry: the server speaks xDS transport v3 (gRFC A30). Every server does now; the
/// feature is accepted and has no effect.
pub const FEATURE_XDS_V3: &str = "xds_v3";
/// `server_features` entry, **our extension**: the server supports incremental (Delta) ADS. gRPC
/// clients ignore server features they do not know, so a bootstrap carrying it still works for them.
pub const FEATURE_DELTA_XDS: &str = "delta_xds";

/// The port gRPC's `dns` resolver uses when a target has none.
const DEFAULT_PORT: u16 = 443;

/// One management (xDS) server.
///
/// In a list (`xds_servers`, top level or per authority) servers are in priority order (gRFC A71):
/// the first is the primary, the others are fallbacks, each tried only when the ones before it are
/// unreachable. Every server carries its own credentials and features; nothing is inherited.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XdsServer {
    /// The server as a gRPC target: `host:port`, `dns:///host:port`, `dns:host:port`,
    /// `ipv4:a.b.c.d:port` or `ipv6:[::1]:port`. The port defaults to 443, as in gRPC's DNS resolver.
    /// `unix:` targets are rejected for now. Validated when the bootstrap is loaded.
    pub server_uri: String,
    /// The credentials to connect with: the first entry of the JSON `channel_creds` list whose type
    /// this client knows (gRPC semantics: unknown types are skipped; none known is an error).
    pub channel_creds: ChannelCreds,
    /// `server_features`, the string entries in order (gRPC ignores non-string entries, and so do we).
    /// Unknown features are kept here (so they survive [`to_json`](super::Bootstrap::to_json)) but
    /// have no effect.
    pub server_features: Vec<String>,
}

/// The channel credentials to use with a management server (`channel_creds[].type` and `config`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChannelCreds {
    /// `"insecure"`: plaintext HTTP/2. Takes no configuration.
    Insecure,
    /// `"google_default"`: Google's application default credentials over TLS. Takes no configuration.
    /// Parsed for compatibility; this client cannot produce such credentials.
    GoogleDefault,
    /// `"tls"` (gRFC A65): TLS, or mTLS when a certificate and key are given. The config (always a JSON
    /// object, `{}` when absent) has the same fields as the `file_watcher` certificate provider, all
    /// optional; see [`ChannelCreds::tls_files`]. Parsed and validated now; the client may still refuse
    /// to connect with it until mTLS to the control plane is implemented.
    Tls {
        /// The `config` object.
        config: Value,
    },
}

impl ChannelCreds {
    /// The `type` name used in the bootstrap JSON.
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::Insecure => "insecure",
            Self::GoogleDefault => "google_default",
            Self::Tls { .. } => "tls",
        }
    }

    /// For [`ChannelCreds::Tls`]: the files to read (CA bundle, certificate and key) and how often.
    /// `None` for other types, or if the config is invalid (never the case after loading a bootstrap).
    pub fn tls_files(&self) -> Option<FileWatcherConfig> {
        match self {
            Self::Tls { config } => certificate::parse_pem_files(config, "config", false).ok(),
            _ => None,
        }
    }

    fn to_json(&self) -> Value {
        match self {
            Self::Tls { config } => json!({ "type": self.type_name(), "config": config }),
            _ => json!({ "type": self.type_name() }),
        }
    }
}

impl XdsServer {
    /// A server reached in plaintext, with no server features.
    pub fn insecure(server_uri: impl Into<String>) -> Self {
        Self { server_uri: server_uri.into(), channel_creds: ChannelCreds::Insecure, server_features: Vec::new() }
    }

    /// Whether `server_features` has `"ignore_resource_deletion"` (gRFC A53): when this server stops
    /// sending a Listener or Cluster, keep using the last one instead of treating it as deleted.
    pub fn ignore_resource_deletion(&self) -> bool {
        self.has_feature(FEATURE_IGNORE_RESOURCE_DELETION)
    }

    /// Whether `server_features` has `"delta_xds"`: **our extension**, meaning the server supports
    /// incremental (Delta) ADS. gRPC clients ignore features they do not know, so the same bootstrap
    /// still works for grpc-go, grpcio and tonic-xds (which then use State-of-the-World).
    pub fn supports_delta(&self) -> bool {
        self.has_feature(FEATURE_DELTA_XDS)
    }

    /// Whether `server_features` contains `feature`.
    pub fn has_feature(&self, feature: &str) -> bool {
        self.server_features.iter().any(|f| f == feature)
    }

    /// The URI to connect to: `http://host:port` for insecure credentials, `https://host:port`
    /// otherwise, from [`server_uri`](Self::server_uri) with any `dns:`/`ipv4:`/`ipv6:` scheme removed
    /// and the default port (443) added when missing. For a hand-built server whose `server_uri` is
    /// invalid, the raw `server_uri` is put after the scheme (loading a bootstrap rejects those).
    pub fn endpoint_uri(&self) -> String {
        let scheme = match self.channel_creds {
            ChannelCreds::Insecure => "http",
            ChannelCreds::GoogleDefault | ChannelCreds::Tls { .. } => "https",
        };
        match target_host_port(&self.server_uri) {
            Ok(host_port) => format!("{scheme}://{host_port}"),
            Err(_) => format!("{scheme}://{}", self.server_uri),
        }
    }

    pub(super) fn to_json(&self) -> Value {
        let mut obj = Object::new();
        obj.insert("server_uri".into(), json!(self.server_uri));
        obj.insert("channel_creds".into(), json!([self.channel_creds.to_json()]));
        if !self.server_features.is_empty() {
            obj.insert("server_features".into(), json!(self.server_features));
        }
        Value::Object(obj)
    }
}

/// Parses one entry of an `xds_servers` list.
pub(super) fn parse_server(value: &Value, path: &str) -> Result<XdsServer, FieldError> {
    let obj = fields::object(value, path)?;
    let server_uri = fields::req_string(obj, "server_uri", path)?;
    if server_uri.is_empty() {
        return Err(FieldError::new(fields::child(path, "server_uri"), "must not be empty"));
    }
    target_host_port(&server_uri).map_err(|reason| FieldError::new(fields::child(path, "server_uri"), reason))?;
    let channel_creds = parse_channel_creds(obj, path)?;
    let server_features = match fields::opt_array(obj, "server_features", path)? {
        None => Vec::new(),
        Some(items) => items.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect(),
    };
    Ok(XdsServer { server_uri, channel_creds, server_features })
}

/// The first supported entry of `channel_creds`. Like gRPC C-core, every supported entry's config is
/// validated, not only the chosen one's.
fn parse_channel_creds(server: &Object, path: &str) -> Result<ChannelCreds, FieldError> {
    let list_path = fields::child(path, "channel_creds");
    let items =
        fields::opt_array(server, "channel_creds", path)?.ok_or_else(|| FieldError::new(&list_path, "missing"))?;
    let mut chosen = None;
    for (i, item) in items.iter().enumerate() {
        let item_path = fields::index(&list_path, i);
        let obj = fields::object(item, &item_path)?;
        let kind = fields::req_string(obj, "type", &item_path)?;
        if !matches!(kind.as_str(), "insecure" | "google_default" | "tls") {
            continue; // not ours: skipped, config unseen (an unknown type may take any config)
        }
        let config = Value::Object(fields::opt_object(obj, "config", &item_path)?.cloned().unwrap_or_default());
        let creds = match kind.as_str() {
            "insecure" => ChannelCreds::Insecure,
            "google_default" => ChannelCreds::GoogleDefault,
            _ => {
                certificate::parse_pem_files(&config, &fields::child(&item_path, "config"), false)?;
                ChannelCreds::Tls { config }
            }
        };
        chosen.get_or_insert(creds);
    }
    chosen.ok_or_else(|| {
        FieldError::new(
            list_path,
            "no supported credentials type (this client knows \"insecure\", \"google_default\", \"tls\")",
        )
    })
}

/// `host:port` from a gRPC target, or why it cannot be used.
pub(super) fn target_host_port(uri: &str) -> Result<String, String> {
    if let Some(rest) = strip_scheme(uri, "dns") {
        let host_port = match rest.strip_prefix("//") {
            None => rest,
            Some(after) => match after.split_once('/') {
                Some(("", host_port)) => host_port,
                Some(_) => {
                    return Err(
                        "a DNS server in the target (dns://<server>/...) is not supported; use dns:///host:port".into(),
                    );
                }
                None => return Err("expected dns:///host:port".into()),
            },
        };
        return host_port_of(host_port);
    }
    for scheme in ["ipv4", "ipv6"] {
        if let Some(rest) = strip_scheme(uri, scheme) {
            if rest.contains(',') {
                return Err(format!("only one address is supported in an {scheme}: target"));
            }
            let host_port = host_port_of(rest)?;
            let host = host_port.rsplit_once(':').map_or("", |(h, _)| h.trim_start_matches('[').trim_end_matches(']'));
            let is_ip = match scheme {
                "ipv4" => host.parse::<Ipv4Addr>().is_ok(),
                _ => host.parse::<Ipv6Addr>().is_ok(),
            };
            return if is_ip { Ok(host_port) } else { Err(format!("{host:?} is not an {scheme} address")) };
        }
    }
    for scheme in ["unix", "unix-abstract"] {
        if strip_scheme(uri, scheme).is_some() {
            return Err("unix domain socket targets are not supported yet; use host:port or dns:///host:port".into());
        }
    }
    if let Some((scheme, rest)) = uri.split_once("://") {
        // tonic-xds 0.1 only connects with `http://host:port`; accept that spelling too
        // so one file can serve it and us (grpc-go and grpcio want `host:port`).
        if scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https") {
            return host_port_of(rest.strip_suffix('/').unwrap_or(rest));
        }
        return Err(format!("unsupported target scheme {scheme:?}; use host:port or dns:///host:port"));
    }
    host_port_of(uri)
}

/// `rest` if `uri` is `scheme:rest` (scheme compared case-insensitively).
fn strip_scheme<'u>(uri: &'u str, scheme: &str) -> Option<&'u str> {
    let (head, rest) = uri.split_once(':')?;
    head.eq_ignore_ascii_case(scheme).then_some(rest)
}

/// Validates `host[:port]` / `[v6][:port]` and returns it with the port made explicit.
fn host_port_of(s: &str) -> Result<String, String> {
    if s.is_empty() {
        return Err("has no host".into());
    }
    let (host, port) = if let Some(bracketed) = s.strip_prefix('[') {
        let (v6, rest) = bracketed.split_once(']').ok_or("unclosed '[' in an IPv6 address")?;
        v6.parse::<Ipv6Addr>().map_err(|_| format!("{v6:?} is not an IPv6 address"))?;
        let port = match rest {
            "" => None,
            _ => Some(rest.strip_prefix(':').ok_or("expected ':' and a port after ']'")?),
        };
        (format!("[{v6}]"), port)
    } else {
        match s.rsplit_once(':') {
            Some((host, _)) if host.contains(':') => {
                return Err("an IPv6 address must be in brackets, e.g. [::1]:18000".into());
            }
            Some((host, port)) => (host.to_owned(), Some(port)),
            None => (s.to_owned(), None),
        }
    };
    if host.is_empty() {
        return Err("has no host".into());
    }
    if let Some(bad) = host.chars().find(|c| c.is_whitespace() || matches!(c, '/' | '?' | '#' | '@')) {
        return Err(format!("host {host:?} contains {bad:?}"));
    }
    let port = match port {
        None => DEFAULT_PORT,
        Some(p) => match p.parse::<u16>() {
            Ok(port) if port != 0 => port,
            _ => return Err(format!("port {p:?} is not a number from 1 to 65535")),
        },
    };
    Ok(format!("{host}:{port}"))
}
