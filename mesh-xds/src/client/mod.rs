//! The ADS client: one per process (or per bootstrap), shared by every channel.
//!
//! A channel asks for a *target* (`xds:///reviews:9080` → listener `reviews:9080`); the
//! client subscribes to that listener, follows it to its route configuration, the
//! clusters the routes name and their endpoint assignments (LDS → RDS → CDS → EDS), and
//! publishes a validated [`mesh_core::Snapshot`] for the target each time one of those
//! inputs changes. `mesh-tower` installs it into the channel's `ConfigHandle`, the same
//! path static configuration takes.
//!
//! Protocol behaviour (Envoy's xDS protocol and gRPC's gRFCs):
//! - State-of-the-World or Delta per server (`ServerConfig::delta`);
//! - ACK echoes version and nonce; a response with invalid resources is NACKed with the
//!   previous version, the nonce and an `error_detail` naming each rejected resource,
//!   and its valid resources are applied (A46); a rejected resource keeps its last good
//!   value;
//! - a resource not received 15 s after it was requested on a live stream is marked as
//!   not existing (A57); resources already cached never time out;
//! - reconnects with exponential backoff and jitter, reset once a response arrives;
//!   everything cached keeps serving while the server is away;
//! - falls back to the next server only while some wanted resource was never received,
//!   and returns to the primary when it answers again (A71);
//! - resources deleted by the server (SotW LDS/CDS absence, Delta `removed_resources`)
//!   are dropped, logged, counted, and reported as [`XdsEvent::ResourceDeleted`], unless
//!   the server has `ignore_resource_deletion` (A53).

mod assemble;
mod conn;
mod dump;
mod from_bootstrap;
mod providers;
mod state;
mod worker;

use std::sync::Arc;
use std::time::Duration;

use envoy_types::pb::envoy::config::core::v3::Node;
use mesh_core::Snapshot;
use tokio::sync::{broadcast, mpsc, oneshot, watch};

/// One xDS server.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// `http://host:port`.
    pub uri: String,
    /// Use the Delta (incremental) protocol instead of State-of-the-World.
    pub delta: bool,
    /// Keep resources the server deletes (gRFC A53).
    pub ignore_resource_deletion: bool,
}

impl ServerConfig {
    /// A State-of-the-World server at `uri`.
    pub fn new(uri: impl Into<String>) -> Self {
        Self { uri: uri.into(), delta: false, ignore_resource_deletion: false }
    }
    /// Switches to the Delta protocol.
    #[must_use]
    pub fn delta(mut self, yes: bool) -> Self {
        self.delta = yes;
        self
    }
}

/// Timing knobs, with gRPC's defaults.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Resource-does-not-exist timeout (A57): 15 s.
    pub resource_timeout: Duration,
    /// First reconnect delay: 1 s.
    pub backoff_initial: Duration,
    /// Reconnect delay ceiling: 120 s.
    pub backoff_max: Duration,
    /// Connect timeout: 20 s.
    pub connect_timeout: Duration,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            resource_timeout: Duration::from_secs(15),
            backoff_initial: Duration::from_secs(1),
            backoff_max: Duration::from_secs(120),
            connect_timeout: Duration::from_secs(20),
        }
    }
}

/// Something the client did or learned; for logs, metrics, tests and applications.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum XdsEvent {
    /// A stream to this server is up.
    Connected {
        /// Server URI.
        server: String,
    },
    /// The stream ended or could not be opened.
    Disconnected {
        /// Server URI.
        server: String,
        /// Why.
        error: String,
    },
    /// A response was accepted.
    Ack {
        /// Resource type.
        type_url: String,
        /// Its version.
        version: String,
    },
    /// A response was rejected (in part).
    Nack {
        /// Resource type.
        type_url: String,
        /// The response's version (not applied as a whole).
        version: String,
        /// The error detail sent.
        error: String,
    },
    /// A requested resource did not arrive in time (A57).
    ResourceDoesNotExist {
        /// Resource type.
        type_url: String,
        /// Name.
        name: String,
    },
    /// The server removed a resource.
    ResourceDeleted {
        /// Resource type.
        type_url: String,
        /// Name.
        name: String,
    },
    /// A target's snapshot was republished.
    TargetUpdated {
        /// Listener name.
        target: String,
        /// Snapshot version.
        version: String,
    },
}

/// The configuration state of one target.
#[derive(Debug, Clone)]
pub enum TargetState {
    /// Waiting for the listener and its routes.
    Pending,
    /// The current configuration.
    Ready(Arc<Snapshot>),
    /// The listener or its routes do not exist (or were deleted).
    Failed(String),
}

/// The state of a server's inbound listener (gRFC A36).
#[derive(Debug, Clone)]
pub enum ServerState {
    /// Waiting for the listener.
    Pending,
    /// The current listener (its mTLS mode and authorization).
    Ready(Arc<crate::translate::ServerListener>),
    /// The listener does not exist, was deleted, or its only version was rejected.
    Failed(String),
}

/// Counters of the client's activity.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientStats {
    /// Responses ACKed.
    pub acks: u64,
    /// Responses NACKed.
    pub nacks: u64,
    /// Streams opened.
    pub connects: u64,
    /// Streams lost or failed to open.
    pub disconnects: u64,
    /// Resources deleted by a server.
    pub deletions: u64,
    /// Resources that timed out as not existing.
    pub does_not_exist: u64,
}

pub(crate) enum Command {
    Watch { listener: String, reply: oneshot::Sender<watch::Receiver<TargetState>> },
    WatchServer { listener: String, reply: oneshot::Sender<watch::Receiver<ServerState>> },
    Dump { reply: oneshot::Sender<serde_json::Value> },
    Stats { reply: oneshot::Sender<ClientStats> },
}

/// Handle to the shared ADS client. Cheap to clone; the worker stops when the last
/// handle is dropped.
#[derive(Debug, Clone)]
pub struct XdsClient {
    commands: mpsc::UnboundedSender<Command>,
    events: broadcast::Sender<XdsEvent>,
    providers: mesh_tls::identity::CertificateProviders,
    _provider_tasks: Arc<providers::ProviderTasks>,
}

/// The client stopped (its worker task ended).
#[derive(Debug, thiserror::Error)]
#[error("the xDS client is not running")]
pub struct ClientGone;

impl XdsClient {
    /// Starts a client for `servers` (in priority order) identifying itself as `node`.
    /// Must be called within a tokio runtime.
    pub fn new(servers: Vec<ServerConfig>, node: Node, options: ClientOptions) -> Self {
        let (commands, rx) = mpsc::unbounded_channel();
        let (events, _) = broadcast::channel(1024);
        tokio::spawn(worker::Worker::new(servers, node, options, rx, events.clone()).run());
        Self { commands, events, providers: Default::default(), _provider_tasks: Arc::default() }
    }

    /// The certificate provider instances of this client's bootstrap (gRFC A29), as live
    /// identity stores: what clusters' and server listeners' TLS settings refer to.
    pub fn certificate_providers(&self) -> &mesh_tls::identity::CertificateProviders {
        &self.providers
    }

    /// Watches the target `xds:///host:port` (or a bare listener name).
    pub async fn watch(&self, target: &str) -> Result<watch::Receiver<TargetState>, ClientGone> {
        let listener = target.strip_prefix("xds:///").unwrap_or(target).to_string();
        let (reply, rx) = oneshot::channel();
        self.commands.send(Command::Watch { listener, reply }).map_err(|_| ClientGone)?;
        rx.await.map_err(|_| ClientGone)
    }

    /// Watches a server's inbound listener by resource name (see
    /// [`Bootstrap::server_listener_name`](crate::bootstrap::Bootstrap::server_listener_name)):
    /// the mTLS mode and authorization policy the control plane wants enforced.
    pub async fn watch_server(&self, listener: &str) -> Result<watch::Receiver<ServerState>, ClientGone> {
        let (reply, rx) = oneshot::channel();
        self.commands.send(Command::WatchServer { listener: listener.to_string(), reply }).map_err(|_| ClientGone)?;
        rx.await.map_err(|_| ClientGone)
    }

    /// Protocol events (bounded buffer: a slow reader misses old events).
    pub fn events(&self) -> broadcast::Receiver<XdsEvent> {
        self.events.subscribe()
    }

    /// What the client holds, in the shape of Envoy's client status (CSDS) dump.
    pub async fn config_dump(&self) -> Result<serde_json::Value, ClientGone> {
        let (reply, rx) = oneshot::channel();
        self.commands.send(Command::Dump { reply }).map_err(|_| ClientGone)?;
        rx.await.map_err(|_| ClientGone)
    }

    /// Activity counters.
    pub async fn stats(&self) -> Result<ClientStats, ClientGone> {
        let (reply, rx) = oneshot::channel();
        self.commands.send(Command::Stats { reply }).map_err(|_| ClientGone)?;
        rx.await.map_err(|_| ClientGone)
    }
}
