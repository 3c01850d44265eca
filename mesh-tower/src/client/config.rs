use std::path::{Path, PathBuf};
use std::sync::Arc;

use arc_swap::ArcSwap;
use mesh_core::{ConfigError, Snapshot};
use tokio::sync::watch;

use mesh_tls::identity::CertificateProviders;

use super::cluster::{BudgetRegistry, ClusterProtection, EndpointPool, Resolved, TlsCache, TlsContext};

/// A static configuration file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// Reading the file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// The file is not a valid configuration.
    #[error("{path}: {source}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong, with the field path.
        source: ConfigError,
    },
}

/// The live configuration of one or more [`MeshChannel`](super::MeshChannel)s.
///
/// Holds the current configuration behind an atomic pointer; [`update`](Self::update)
/// swaps in a new one in one step. Requests that started before the swap finish on the
/// configuration they started with; requests that start after it see only the new one.
/// Static files, code and the xDS client all install configuration through this handle,
/// so every source exercises the same path.
#[derive(Debug, Clone)]
pub struct ConfigHandle {
    inner: Arc<Inner>,
}

#[derive(Debug)]
pub(crate) struct Inner {
    current: ArcSwap<Resolved>,
    pool: EndpointPool,
    budgets: BudgetRegistry,
    protection: ClusterProtection,
    providers: ArcSwap<CertificateProviders>,
    tls: TlsCache,
    version: watch::Sender<String>,
}

impl ConfigHandle {
    /// A handle serving `snapshot`.
    pub fn new(snapshot: Snapshot) -> Self {
        Self::with_certificate_providers(snapshot, CertificateProviders::new())
    }

    /// A handle serving `snapshot`, whose clusters may use TLS with certificates from
    /// `providers` (by instance name; `default` is the mesh identity, as in Istio).
    pub fn with_certificate_providers(snapshot: Snapshot, providers: CertificateProviders) -> Self {
        let pool = EndpointPool::default();
        let budgets = BudgetRegistry::default();
        let tls = TlsCache::default();
        let protection = ClusterProtection::default();
        let version = snapshot.version().to_string();
        let resolved = Resolved::build(
            Arc::new(snapshot),
            &pool,
            &budgets,
            &TlsContext { providers: &providers, cache: &tls },
            &protection,
        );
        Self {
            inner: Arc::new(Inner {
                current: ArcSwap::from_pointee(resolved),
                pool,
                budgets,
                protection,
                providers: ArcSwap::from_pointee(providers),
                tls,
                version: watch::channel(version).0,
            }),
        }
    }

    /// Replaces the certificate providers (clusters' TLS settings are rebuilt; existing
    /// connections of changed settings are replaced as requests need them).
    pub fn set_certificate_providers(&self, providers: CertificateProviders) {
        self.inner.providers.store(Arc::new(providers));
        self.inner.tls.clear();
        self.update_shared(self.snapshot());
    }

    /// A handle serving the YAML static configuration in `path`.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, LoadError> {
        Ok(Self::new(read_file(path.as_ref())?))
    }

    /// Installs a new configuration.
    pub fn update(&self, snapshot: Snapshot) {
        self.update_shared(Arc::new(snapshot));
    }

    /// Installs a new configuration that is shared (e.g. published by the xDS client).
    pub fn update_shared(&self, snapshot: Arc<Snapshot>) {
        let version = snapshot.version().to_string();
        let providers = self.inner.providers.load();
        let tls = TlsContext { providers: &providers, cache: &self.inner.tls };
        let resolved = Resolved::build(snapshot, &self.inner.pool, &self.inner.budgets, &tls, &self.inner.protection);
        self.inner.current.store(Arc::new(resolved));
        tracing::info!(%version, "mesh configuration applied");
        self.inner.version.send_replace(version);
    }

    /// Re-reads a static configuration file; on error the current configuration stays.
    pub fn reload_file(&self, path: impl AsRef<Path>) -> Result<(), LoadError> {
        let snapshot = read_file(path.as_ref()).inspect_err(|e| {
            tracing::warn!(error = %e, "configuration rejected; keeping the current one");
        })?;
        self.update(snapshot);
        Ok(())
    }

    /// The current configuration.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.inner.current.load().snapshot.clone()
    }

    /// The endpoints of `cluster` that outlier detection has ejected right now, in
    /// address order (empty for a cluster without outlier detection).
    pub fn ejected_endpoints(&self, cluster: &str) -> Vec<std::net::SocketAddr> {
        self.inner.protection.outliers.ejected(cluster)
    }

    /// Notified with the version of each configuration applied.
    pub fn subscribe(&self) -> watch::Receiver<String> {
        self.inner.version.subscribe()
    }

    /// A weak handle, which does not keep the configuration alive.
    pub(crate) fn downgrade(&self) -> std::sync::Weak<Inner> {
        Arc::downgrade(&self.inner)
    }

    pub(crate) fn from_weak(weak: &std::sync::Weak<Inner>) -> Option<Self> {
        weak.upgrade().map(|inner| Self { inner })
    }

    pub(crate) fn resolved(&self) -> Arc<Resolved> {
        self.inner.current.load_full()
    }
}

fn read_file(path: &Path) -> Result<Snapshot, LoadError> {
    let text = std::fs::read_to_string(path).map_err(|source| LoadError::Io { path: path.into(), source })?;
    mesh_core::config::from_yaml(&text).map_err(|source| LoadError::Invalid { path: path.into(), source })
}
