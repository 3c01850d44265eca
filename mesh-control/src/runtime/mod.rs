//! The running control plane: configuration files watched and reloaded, the registry
//! followed, the translation pushed into the xDS cache, the ADS and admin servers.
//!
//! ```no_run
//! # async fn run() -> Result<(), mesh_control::runtime::StartError> {
//! use mesh_control::ControlPlane;
//!
//! let cp = ControlPlane::builder()
//!     .config_paths(vec!["/etc/mesh/istio".into()])
//!     .xds_addr("127.0.0.1:0".parse().unwrap())
//!     .admin_addr("127.0.0.1:0".parse().unwrap())
//!     .start()
//!     .await?;
//! println!("ADS on {}, admin on {}", cp.xds_addr(), cp.admin_addr());
//! let mut status = cp.subscribe();
//! status.changed().await.ok(); // the next reload (accepted or rejected)
//! cp.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! # The life of a change
//!
//! ```text
//! file event ─┐  (inotify; polling fallback)       registry change ─┐
//!             ▼                                                       ▼
//!        debounce: quiet for 100 ms (at most 1 s after the first event)
//!             ▼                                                       ▼
//!   istio::load_paths ── invalid ──► log each issue, metrics, ConfigStatus.errors;
//!             │ valid                 keep serving the last valid configuration
//!             ▼                                                       │
//!   translate(config, registry.list()) ◄──────────────────────────────┘ (config already loaded)
//!             ▼
//!   SnapshotCache::apply([SetAll per type])   — one atomic write; identical resources are
//!             ▼                                 no-ops, so clients get only what changed
//!   generation += 1, ConfigStatus published, streams push (CDS → EDS → LDS → RDS)
//! ```
//!
//! At start an invalid configuration is an error ([`StartError::Config`]), not a state to
//! serve from: there is no "last valid configuration" yet.
//!
//! # Shutdown
//!
//! [`RunningControlPlane::shutdown`] stops the watcher and the reconcile loop, stops
//! accepting connections and asks open ones to finish (HTTP/2 GOAWAY); ADS streams never
//! finish on their own, so after the grace period (1 s by default) the remaining connections
//! are cut and the clients reconnect elsewhere.

mod debounce;
mod error;
mod reconcile;
mod serve;
pub(crate) mod severable;
mod status;
mod watcher;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use mesh_xds::server::{AdsServer, SnapshotCache};
use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

use crate::admin::{self, AdminState, Metrics, SentLog};
use crate::ca::{CaConfig, CaMetrics, RunningCa};
use crate::registry::{MemoryRegistry, Registry};

pub use error::StartError;
pub use status::{ConfigStatus, LoadedObject};

use reconcile::Reconciler;
use watcher::ConfigWatcher;

/// The control plane; start one with [`ControlPlane::builder`].
#[derive(Debug)]
pub struct ControlPlane;

impl ControlPlane {
    /// A builder with the defaults: xDS on `127.0.0.1:15010`, admin on `127.0.0.1:15014`,
    /// namespace `default`, debounce 100 ms, an in-memory registry, no configuration paths.
    pub fn builder() -> ControlPlaneBuilder {
        ControlPlaneBuilder {
            config_paths: Vec::new(),
            default_namespace: "default".to_owned(),
            xds_addr: SocketAddr::from(([127, 0, 0, 1], 15010)),
            admin_addr: SocketAddr::from(([127, 0, 0, 1], 15014)),
            debounce: Duration::from_millis(100),
            registry: None,
            poll_interval: None,
            shutdown_grace: Duration::from_secs(1),
            ca: None,
        }
    }
}

/// How to start a [`ControlPlane`].
#[derive(Debug)]
pub struct ControlPlaneBuilder {
    config_paths: Vec<PathBuf>,
    default_namespace: String,
    xds_addr: SocketAddr,
    admin_addr: SocketAddr,
    debounce: Duration,
    registry: Option<Arc<dyn Registry>>,
    poll_interval: Option<Duration>,
    shutdown_grace: Duration,
    ca: Option<CaConfig>,
}

impl ControlPlaneBuilder {
    /// Directories (read recursively, `*.yaml` / `*.yml`) and files of Istio objects, loaded
    /// and watched.
    #[must_use]
    pub fn config_paths(mut self, paths: Vec<PathBuf>) -> Self {
        self.config_paths = paths;
        self
    }

    /// The namespace of objects without `metadata.namespace` (default `default`).
    #[must_use]
    pub fn default_namespace(mut self, namespace: &str) -> Self {
        namespace.clone_into(&mut self.default_namespace);
        self
    }

    /// Where ADS is served (default `127.0.0.1:15010`; port 0 picks a free port, see
    /// [`RunningControlPlane::xds_addr`]).
    #[must_use]
    pub fn xds_addr(mut self, addr: SocketAddr) -> Self {
        self.xds_addr = addr;
        self
    }

    /// Where the admin server listens (default `127.0.0.1:15014`; port 0 supported).
    #[must_use]
    pub fn admin_addr(mut self, addr: SocketAddr) -> Self {
        self.admin_addr = addr;
        self
    }

    /// How long changes must be quiet before a reload (default 100 ms; see the reconcile
    /// loop's docs in the source for why).
    #[must_use]
    pub fn debounce(mut self, debounce: Duration) -> Self {
        self.debounce = debounce;
        self
    }

    /// Where registrations are kept (default: a new [`MemoryRegistry`]).
    #[must_use]
    pub fn registry(mut self, registry: Arc<dyn Registry>) -> Self {
        self.registry = Some(registry);
        self
    }

    /// Watch the files by polling every `interval` instead of inotify (for NFS and other
    /// file systems whose changes inotify does not see). By default inotify is used, and
    /// polling (every second) only if inotify cannot be set up.
    #[must_use]
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = Some(interval);
        self
    }

    /// How long [`RunningControlPlane::shutdown`] lets connections finish before cutting
    /// them (default 1 s).
    #[must_use]
    pub fn shutdown_grace(mut self, grace: Duration) -> Self {
        self.shutdown_grace = grace;
        self
    }

    /// Also run the certificate authority ([`crate::ca`]) as `config` says (default: no CA).
    #[must_use]
    pub fn ca(mut self, config: CaConfig) -> Self {
        self.ca = Some(config);
        self
    }

    /// Loads the configuration (failing with every problem if it is invalid), binds both
    /// addresses (and the CA's, when configured), starts watching, and serves.
    pub async fn start(self) -> Result<RunningControlPlane, StartError> {
        let registry = self.registry.unwrap_or_else(|| Arc::new(MemoryRegistry::new()));
        let cache = Arc::new(SnapshotCache::new());
        let mut metrics = Metrics::new();
        let ca_metrics = self.ca.as_ref().map(|_| {
            let ca_metrics = CaMetrics::new();
            ca_metrics.register(metrics.registry_mut());
            ca_metrics
        });
        let metrics = Arc::new(metrics);
        // Watch (files and registry) before the first load, so that no change made while it
        // runs is missed; a change during the load costs one more reload, right after start.
        let registry_changes = registry.subscribe();
        let file_changes = Arc::new(Notify::new());
        let watcher = if self.config_paths.is_empty() {
            Ok(None)
        } else {
            ConfigWatcher::start(&self.config_paths, file_changes.clone(), self.poll_interval).map(Some)
        };
        let loaded = Reconciler::start(
            self.config_paths.clone(),
            self.default_namespace,
            registry.clone(),
            cache.clone(),
            metrics.clone(),
        )
        .await;
        // Configuration problems first: they say more than "cannot watch" about a bad path.
        let reconciler = Arc::new(loaded?);
        let watcher = watcher?;

        let xds_listener = TcpListener::bind(self.xds_addr)
            .await
            .map_err(|source| StartError::BindXds { addr: self.xds_addr, source })?;
        let admin_listener = TcpListener::bind(self.admin_addr)
            .await
            .map_err(|source| StartError::BindAdmin { addr: self.admin_addr, source })?;
        let xds_addr =
            xds_listener.local_addr().map_err(|source| StartError::BindXds { addr: self.xds_addr, source })?;
        let admin_addr =
            admin_listener.local_addr().map_err(|source| StartError::BindAdmin { addr: self.admin_addr, source })?;

        let ca = match (&self.ca, ca_metrics) {
            (Some(config), Some(ca_metrics)) => Some(crate::ca::start(config, ca_metrics).await?),
            _ => None,
        };

        let (stop, stop_rx) = watch::channel(false);
        let (cut, cut_rx) = watch::channel(false);
        let ads = AdsServer::new(cache.clone());
        let sent = Arc::new(SentLog::default());
        let mut tasks = vec![admin::spawn_observer(ads.events(), metrics.clone(), sent.clone(), stop_rx.clone())];
        tasks.push(debounce::spawn(reconciler.clone(), file_changes, registry_changes, self.debounce, stop_rx.clone()));
        let admin_state = Arc::new(AdminState {
            ads: ads.clone(),
            cache: cache.clone(),
            registry: registry.clone(),
            status: reconciler.status().subscribe(),
            metrics,
            sent,
            ready: false.into(),
        });
        let servers = vec![
            serve::spawn_xds(xds_listener, ads.clone(), stop_rx.clone(), cut_rx.clone()),
            serve::spawn_admin(admin_listener, admin::router(admin_state.clone()), stop_rx, cut_rx),
        ];
        // The cache holds the first translation and ADS is accepting: the config is served.
        admin_state.ready.store(true, Ordering::Release);
        tracing::info!(%xds_addr, %admin_addr, ca_addr = ?ca.as_ref().map(RunningCa::local_addr), "mesh-control serving");
        Ok(RunningControlPlane {
            xds_addr,
            admin_addr,
            ca,
            cache,
            ads,
            registry,
            reconciler,
            watcher,
            stop,
            cut,
            tasks,
            servers,
            shutdown_grace: self.shutdown_grace,
        })
    }
}

/// A started control plane. Dropping it stops every task and cuts every connection at
/// once; [`RunningControlPlane::shutdown`] does it gracefully.
#[derive(Debug)]
pub struct RunningControlPlane {
    xds_addr: SocketAddr,
    admin_addr: SocketAddr,
    ca: Option<RunningCa>,
    cache: Arc<SnapshotCache>,
    ads: AdsServer,
    registry: Arc<dyn Registry>,
    reconciler: Arc<Reconciler>,
    watcher: Option<ConfigWatcher>,
    stop: watch::Sender<bool>,
    cut: watch::Sender<bool>,
    /// The observer and the reconcile loop.
    tasks: Vec<JoinHandle<()>>,
    /// The ADS and admin servers.
    servers: Vec<JoinHandle<()>>,
    shutdown_grace: Duration,
}

impl RunningControlPlane {
    /// The address ADS is served on (the bound port when port 0 was asked for).
    pub fn xds_addr(&self) -> SocketAddr {
        self.xds_addr
    }

    /// The address of the admin server (the bound port when port 0 was asked for).
    pub fn admin_addr(&self) -> SocketAddr {
        self.admin_addr
    }

    /// The address of the certificate authority, when one runs (the bound port when port 0
    /// was asked for).
    pub fn ca_addr(&self) -> Option<SocketAddr> {
        self.ca.as_ref().map(RunningCa::local_addr)
    }

    /// The certificate authority server, when one runs.
    pub fn ca(&self) -> Option<&RunningCa> {
        self.ca.as_ref()
    }

    /// The xDS resources served.
    pub fn cache(&self) -> &Arc<SnapshotCache> {
        &self.cache
    }

    /// The ADS server (connected clients, protocol events).
    pub fn ads(&self) -> &AdsServer {
        &self.ads
    }

    /// The registry of workload instances.
    pub fn registry(&self) -> &Arc<dyn Registry> {
        &self.registry
    }

    /// The generation served: 1 after start, bumped by every accepted configuration (a valid
    /// reload of the files or a registry change).
    pub fn config_version(&self) -> u64 {
        self.reconciler.status().borrow().generation
    }

    /// The configuration status, updated after every load attempt and every accepted
    /// translation (wait on it instead of sleeping).
    pub fn subscribe(&self) -> watch::Receiver<ConfigStatus> {
        self.reconciler.status().subscribe()
    }

    /// Reloads the files now, without waiting for a change or the debounce; returns once the
    /// result (accepted or rejected) is published.
    pub async fn reload(&self) {
        let _accepted = self.reconciler.reload_files().await;
    }

    /// Stops watching and reconciling, lets connections finish for the grace period, then
    /// cuts the remaining ones; returns once every task has ended.
    pub async fn shutdown(mut self) {
        tracing::info!("mesh-control shutting down");
        self.watcher.take();
        let ca = self.ca.take().map(RunningCa::shutdown);
        let _ = self.stop.send(true);
        for task in self.tasks.drain(..) {
            let _ = task.await;
        }
        let servers: Vec<JoinHandle<()>> = self.servers.drain(..).collect();
        let mut all = Box::pin(async move {
            for server in servers {
                let _ = server.await;
            }
        });
        if tokio::time::timeout(self.shutdown_grace, &mut all).await.is_err() {
            tracing::debug!("grace period over; closing the remaining connections");
            let _ = self.cut.send(true);
            all.await;
        }
        if let Some(ca) = ca {
            ca.await;
        }
    }
}

impl Drop for RunningControlPlane {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        let _ = self.cut.send(true);
        for task in self.tasks.iter().chain(&self.servers) {
            task.abort();
        }
    }
}
