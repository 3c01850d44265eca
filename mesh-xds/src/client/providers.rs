//! The bootstrap's certificate providers (gRFC A29) turned into live identity stores:
//! `file_watcher` re-reads PEM files, `mesh_ca` obtains and renews certificates from the
//! mesh CA. Clusters and server listeners name these instances; the stores are what their
//! TLS configurations read at every handshake.

use std::sync::Arc;

use mesh_tls::ca::client::{IstioCaSigner, TlsConnector};
use mesh_tls::identity::files::{self, FileWatcherConfig as FilesConfig};
use mesh_tls::identity::rotation::{self, RotationConfig};
use mesh_tls::identity::{CertificateProviders, IdentityStore, TrustBundle};
use mesh_tls::verify::ca_client_config;
use rustls::pki_types::ServerName;
use tonic::transport::Endpoint;

use crate::bootstrap::{Bootstrap, BootstrapError, FILE_WATCHER_PLUGIN, MESH_CA_PLUGIN};

/// Keeps the providers' background tasks alive (dropped with the last client handle).
#[derive(Debug, Default)]
pub(crate) struct ProviderTasks {
    tasks: Vec<tokio::task::JoinHandle<()>>,
    _rotations: Vec<rotation::Rotation>,
}

impl Drop for ProviderTasks {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

fn invalid(instance: &str, field: &str, reason: impl Into<String>) -> BootstrapError {
    BootstrapError::Invalid {
        origin: "bootstrap".into(),
        field: format!("certificate_providers[\"{instance}\"].config.{field}"),
        reason: reason.into(),
    }
}

/// Builds a store per instance the client can serve (plugins it does not know are left
/// out, as gRPC does: they matter only if a resource names them). Must run in a runtime.
pub(crate) fn build(bootstrap: &Bootstrap) -> Result<(CertificateProviders, ProviderTasks), BootstrapError> {
    let mut providers = CertificateProviders::new();
    let mut tasks = ProviderTasks::default();
    for (instance, provider) in &bootstrap.certificate_providers {
        let store = IdentityStore::new(TrustBundle::default());
        if provider.plugin_name == FILE_WATCHER_PLUGIN {
            let Some(c) = provider.file_watcher_config() else { continue };
            let config = FilesConfig {
                certificate_file: c.certificate_file,
                private_key_file: c.private_key_file,
                ca_certificate_file: c.ca_certificate_file,
                refresh_interval: c.refresh_interval,
            };
            let task_store = store.clone();
            let name = instance.clone();
            tasks.tasks.push(tokio::spawn(async move {
                match files::watch(config, task_store).await {
                    // Keep the watcher alive as long as this task.
                    Ok(watcher) => {
                        let _keep = watcher;
                        std::future::pending::<()>().await
                    }
                    Err(e) => tracing::error!(instance = %name, error = %e, "file_watcher certificate provider failed"),
                }
            }));
        } else if provider.plugin_name == MESH_CA_PLUGIN {
            let Some(c) = provider.mesh_ca_config() else { continue };
            let path = c.ca_certificate_file.display().to_string();
            let pem = std::fs::read_to_string(&c.ca_certificate_file)
                .map_err(|e| invalid(instance, "ca_certificate_file", format!("{path}: {e}")))?;
            let roots =
                TrustBundle::from_pem(&pem).map_err(|e| invalid(instance, "ca_certificate_file", e.to_string()))?;
            store.set_trust_bundle(roots.clone());
            let mut connector = TlsConnector::new(ca_client_config(roots, &store));
            if let Some(name) = &c.server_name {
                let server_name =
                    ServerName::try_from(name.clone()).map_err(|e| invalid(instance, "server_name", e.to_string()))?;
                connector = connector.server_name(server_name);
            }
            let channel = Endpoint::from_shared(format!("http://{}", c.server_uri))
                .map_err(|e| invalid(instance, "server_uri", e.to_string()))?
                .connect_timeout(std::time::Duration::from_secs(10))
                .connect_with_connector_lazy(connector);
            let mut signer = IstioCaSigner::new(channel);
            if let Some(token) = &c.token_file {
                signer = signer.with_token_file(token.clone());
            }
            let config = RotationConfig { ttl: c.certificate_lifetime, ..RotationConfig::default() };
            tasks._rotations.push(rotation::spawn(store.clone(), Arc::new(signer), config));
        } else {
            continue;
        }
        providers.insert(instance.clone(), store);
    }
    Ok((providers, tasks))
}
