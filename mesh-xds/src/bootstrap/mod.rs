//! gRPC's xDS bootstrap: which management servers to talk to, who we are, and how to name resources.
//!
//! A proxyless client has no Envoy config to start from; it reads one small JSON document, the same
//! one gRPC reads, so that a single file configures our client and grpc-go, grpcio or tonic-xds alike:
//!
//! ```json
//! {
//!   "xds_servers": [
//!     { "server_uri": "istiod.istio-system.svc:15010",
//!       "channel_creds": [{ "type": "insecure" }],
//!       "server_features": ["xds_v3", "ignore_resource_deletion"] }
//!   ],
//!   "node": { "id": "sidecar~10.1.2.3~app-7d9.default~default.svc.cluster.local",
//!             "locality": { "region": "eu-west1", "zone": "eu-west1-b" },
//!             "metadata": { "ISTIO_VERSION": "1.24" } },
//!   "certificate_providers": {
//!     "default": { "plugin_name": "file_watcher",
//!                  "config": { "certificate_file": "/certs/cert.pem", "private_key_file": "/certs/key.pem",
//!                              "ca_certificate_file": "/certs/root.pem", "refresh_interval": "600s" } }
//!   },
//!   "server_listener_resource_name_template": "grpc/server?xds.resource.listening_address=%s"
//! }
//! ```
//!
//! What each part is, and the gRFC it comes from:
//! - `xds_servers` (A27): management servers in priority order (A71: the first is the primary; the
//!   next is used only while the ones before it are unreachable). Each has a `server_uri` (a gRPC
//!   target), `channel_creds` (a list: the first type the client knows is used, unknown types are
//!   skipped) and `server_features` (unknown ones are ignored: `ignore_resource_deletion` (A53),
//!   `xds_v3` (A30), and our own `delta_xds`). Required and non-empty.
//! - `node` (A27): `id`, `cluster`, `locality {region, zone, sub_zone}`, `metadata`, sent to the server
//!   as an Envoy `Node` with the client's user agent and client features.
//! - `certificate_providers` (A29): instance name → `{plugin_name, config}`; the control plane's TLS
//!   contexts refer to instances by name. `file_watcher` configs are validated.
//! - `server_listener_resource_name_template` (A36): the Listener an xDS-enabled server asks for, `%s`
//!   being its listening `IP:port`. No default.
//! - `client_default_listener_resource_name_template` and `authorities` (A47, federation): how a client
//!   target `xds:///svc` or `xds://authority/svc` becomes a Listener name, and which servers serve each
//!   `xdstp://authority/...` name. See [`Bootstrap::client_listener_name`].
//!
//! Loading follows gRPC: fields this client does not know are ignored (forward compatibility), a
//! `null` field counts as absent, and an invalid value is an error naming the source and the field
//! ([`BootstrapError`]). The bootstrap is validated once, here, so users of a [`Bootstrap`] can rely on it.

mod builder;
mod certificate;
mod error;
mod fields;
mod mesh_ca;
mod names;
mod node;
mod parse;
mod server;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Value, json};

pub use builder::BootstrapBuilder;
pub use certificate::{CertificateProvider, DEFAULT_REFRESH_INTERVAL, FILE_WATCHER_PLUGIN, FileWatcherConfig};
pub use error::BootstrapError;
pub use mesh_ca::{MESH_CA_PLUGIN, MeshCaConfig};
pub use names::XdsTarget;
pub use node::{CLIENT_FEATURES, Locality, Node, USER_AGENT_NAME};
pub use server::{ChannelCreds, FEATURE_DELTA_XDS, FEATURE_IGNORE_RESOURCE_DELETION, FEATURE_XDS_V3, XdsServer};

/// The environment variable holding the path of the bootstrap file.
pub const BOOTSTRAP_FILE_ENV: &str = "GRPC_XDS_BOOTSTRAP";
/// The environment variable holding the bootstrap JSON itself.
pub const BOOTSTRAP_CONFIG_ENV: &str = "GRPC_XDS_BOOTSTRAP_CONFIG";

/// A loaded, validated xDS bootstrap. See the [module docs](self) for the format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bootstrap {
    /// `xds_servers`: the management servers, in priority order (never empty once loaded). The first is
    /// the primary; each later one is a fallback used only while all before it are unreachable (A71).
    pub xds_servers: Vec<XdsServer>,
    /// `node`: who this client is.
    pub node: Node,
    /// `certificate_providers`: certificate provider instances by name (A29).
    pub certificate_providers: BTreeMap<String, CertificateProvider>,
    /// `server_listener_resource_name_template` (A36): see [`Bootstrap::server_listener_name`].
    pub server_listener_resource_name_template: Option<String>,
    /// `client_default_listener_resource_name_template` (A47): the template for `xds:` targets without
    /// an authority; `%s` when absent. See [`Bootstrap::client_listener_name`].
    pub client_default_listener_resource_name_template: Option<String>,
    /// `authorities` (A47): federation authorities by name.
    pub authorities: BTreeMap<String, Authority>,
}

/// One entry of `authorities` (gRFC A47).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Authority {
    /// `client_listener_resource_name_template`: the Listener name template for `xds://<this
    /// authority>/...` targets. Starts with `xdstp://<authority>/` (checked on load); when absent,
    /// `xdstp://<authority>/envoy.config.listener.v3.Listener/%s`.
    pub client_listener_resource_name_template: Option<String>,
    /// `xds_servers`: this authority's servers in priority order; empty means the top-level ones.
    pub xds_servers: Vec<XdsServer>,
    /// `fallback_on_reachability_only` (gRFC A95): fall back to the next server as soon as the current
    /// one is unreachable, even when every watched resource is cached (the A71 default is to fall back
    /// only when some watched resource is not cached). Data only: the client decides what to do with it.
    pub fallback_on_reachability_only: bool,
}

impl Bootstrap {
    /// Loads the bootstrap the way gRPC does: from the file named by `GRPC_XDS_BOOTSTRAP` if it is set,
    /// else from the JSON in `GRPC_XDS_BOOTSTRAP_CONFIG`. When both are set the file wins (gRPC's
    /// documented precedence); an empty variable counts as unset. Neither set is
    /// [`BootstrapError::NotConfigured`].
    pub fn from_env() -> Result<Bootstrap, BootstrapError> {
        Self::from_env_with(|name| std::env::var(name).ok())
    }

    /// [`Bootstrap::from_env`] with the environment given as a function (tests cannot safely set
    /// process-wide variables).
    pub(crate) fn from_env_with(var: impl Fn(&str) -> Option<String>) -> Result<Bootstrap, BootstrapError> {
        let var = |name: &str| var(name).filter(|v| !v.is_empty());
        if let Some(path) = var(BOOTSTRAP_FILE_ENV) {
            return Self::read_file(Path::new(&path), &format!("{BOOTSTRAP_FILE_ENV}={path}"));
        }
        if let Some(text) = var(BOOTSTRAP_CONFIG_ENV) {
            return Self::parse_text(&text, BOOTSTRAP_CONFIG_ENV);
        }
        Err(BootstrapError::NotConfigured)
    }

    /// Parses bootstrap JSON text. Errors name the source as `bootstrap JSON`.
    pub fn from_json(text: &str) -> Result<Bootstrap, BootstrapError> {
        Self::parse_text(text, "bootstrap JSON")
    }

    /// Reads and parses a bootstrap file. Errors name the source by its path.
    pub fn from_file(path: &Path) -> Result<Bootstrap, BootstrapError> {
        Self::read_file(path, &path.display().to_string())
    }

    /// Builds one in code (e.g. for tests): a single server reached in plaintext, see
    /// [`BootstrapBuilder`].
    pub fn builder(server_uri: impl Into<String>) -> BootstrapBuilder {
        BootstrapBuilder::new(server_uri.into())
    }

    /// The bootstrap as gRPC's JSON, e.g. to write a bootstrap file for grpc-go or grpcio from the same
    /// data. Each server lists only its chosen credentials; absent optional fields are left out.
    /// Loading the result gives back an equal [`Bootstrap`].
    pub fn to_json(&self) -> Value {
        let mut obj = fields::Object::new();
        obj.insert("xds_servers".into(), servers_json(&self.xds_servers));
        obj.insert("node".into(), self.node.to_json());
        if !self.certificate_providers.is_empty() {
            let providers = self.certificate_providers.iter().map(|(k, v)| (k.clone(), v.to_json()));
            obj.insert("certificate_providers".into(), Value::Object(providers.collect()));
        }
        let templates = [
            ("server_listener_resource_name_template", &self.server_listener_resource_name_template),
            ("client_default_listener_resource_name_template", &self.client_default_listener_resource_name_template),
        ];
        for (key, template) in templates {
            if let Some(template) = template {
                obj.insert(key.into(), json!(template));
            }
        }
        if !self.authorities.is_empty() {
            let authorities = self.authorities.iter().map(|(name, a)| (name.clone(), a.to_json()));
            obj.insert("authorities".into(), Value::Object(authorities.collect()));
        }
        Value::Object(obj)
    }

    fn read_file(path: &Path, origin: &str) -> Result<Bootstrap, BootstrapError> {
        let text =
            std::fs::read_to_string(path).map_err(|error| BootstrapError::Read { origin: origin.to_owned(), error })?;
        Self::parse_text(&text, origin)
    }

    fn parse_text(text: &str, origin: &str) -> Result<Bootstrap, BootstrapError> {
        let value: Value =
            serde_json::from_str(text).map_err(|error| BootstrapError::Json { origin: origin.to_owned(), error })?;
        let bootstrap = Self::from_value(&value, origin)?;
        if bootstrap.node.id.is_empty() {
            tracing::warn!(
                origin,
                "xDS bootstrap has no node.id; control planes usually need it to identify the client"
            );
        }
        Ok(bootstrap)
    }

    fn from_value(value: &Value, origin: &str) -> Result<Bootstrap, BootstrapError> {
        parse::parse_bootstrap(value).map_err(|e| e.at_origin(origin))
    }
}

impl Authority {
    fn to_json(&self) -> Value {
        let mut obj = fields::Object::new();
        if let Some(template) = &self.client_listener_resource_name_template {
            obj.insert("client_listener_resource_name_template".into(), json!(template));
        }
        if !self.xds_servers.is_empty() {
            obj.insert("xds_servers".into(), servers_json(&self.xds_servers));
        }
        if self.fallback_on_reachability_only {
            obj.insert("fallback_on_reachability_only".into(), json!(true));
        }
        Value::Object(obj)
    }
}

fn servers_json(servers: &[XdsServer]) -> Value {
    Value::Array(servers.iter().map(XdsServer::to_json).collect())
}
