//! Building the client from gRPC's bootstrap, and the process-wide shared client.

use std::sync::{Arc, OnceLock};

use super::{ClientOptions, ServerConfig, XdsClient};
use crate::bootstrap::{Bootstrap, BootstrapError, ChannelCreds};

impl XdsClient {
    /// A client for the servers and node of a bootstrap (A27; several servers: A71).
    ///
    /// Servers are used in the bootstrap's order; `server_features` select Delta
    /// (`delta_xds`) and `ignore_resource_deletion`. Only `insecure` channel credentials
    /// can be used today (TLS to the control plane comes with the mTLS work).
    pub fn from_bootstrap(bootstrap: &Bootstrap, options: ClientOptions) -> Result<Self, BootstrapError> {
        let servers = bootstrap
            .xds_servers
            .iter()
            .enumerate()
            .map(|(i, s)| match s.channel_creds {
                ChannelCreds::Insecure => Ok(ServerConfig {
                    uri: s.endpoint_uri(),
                    delta: s.supports_delta(),
                    ignore_resource_deletion: s.ignore_resource_deletion(),
                }),
                ref other => Err(BootstrapError::Invalid {
                    origin: "bootstrap".into(),
                    field: format!("xds_servers[{i}].channel_creds"),
                    reason: format!(
                        "{:?} credentials are not supported by this client yet; use \"insecure\"",
                        other.type_name()
                    ),
                }),
            })
            .collect::<Result<Vec<_>, _>>()?;
        let (providers, tasks) = super::providers::build(bootstrap)?;
        let mut client = Self::new(servers, bootstrap.node.to_proto(), options);
        client.providers = providers;
        client._provider_tasks = std::sync::Arc::new(tasks);
        Ok(client)
    }

    /// The process-wide client, from `GRPC_XDS_BOOTSTRAP` / `GRPC_XDS_BOOTSTRAP_CONFIG`,
    /// created on first use — every channel of the process shares it (one ADS stream).
    ///
    /// Its worker runs on the tokio runtime of the first caller; call it from the
    /// application's main runtime.
    pub fn global() -> Result<Self, Arc<BootstrapError>> {
        static GLOBAL: OnceLock<Result<XdsClient, Arc<BootstrapError>>> = OnceLock::new();
        GLOBAL
            .get_or_init(|| {
                let bootstrap = Bootstrap::from_env().map_err(Arc::new)?;
                XdsClient::from_bootstrap(&bootstrap, ClientOptions::default()).map_err(Arc::new)
            })
            .clone()
    }
}
