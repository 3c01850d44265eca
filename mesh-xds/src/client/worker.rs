//! The client's single task: owns the cache, the stream, the timers and the targets, and
//! reacts to one thing at a time (a command, a response, a timer), so the protocol state
//! needs no locks.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use envoy_types::pb::envoy::config::core::v3::Node;
use tokio::sync::{broadcast, mpsc, watch};
use tokio::time::Instant;

use super::assemble::{self, Assembled, Fingerprint};
use super::conn::{Conn, Inbound, Subscribe};
use super::state::{Cache, Incoming, TYPES, is_full_state};
use super::{ClientOptions, ClientStats, Command, ServerConfig, ServerState, TargetState, XdsEvent};
use crate::translate::Resource;
use crate::type_url;
use std::sync::Arc;

struct Target {
    tx: watch::Sender<TargetState>,
    fingerprint: Option<Fingerprint>,
}

/// A server watching its inbound listener (gRFC A36).
struct ServerTarget {
    tx: watch::Sender<ServerState>,
    generation: Option<u64>,
}

pub(crate) struct Worker {
    servers: Vec<ServerConfig>,
    node: Node,
    opts: ClientOptions,
    commands: mpsc::UnboundedReceiver<Command>,
    events: broadcast::Sender<XdsEvent>,
    cache: Cache,
    targets: BTreeMap<String, Target>,
    servers_watched: BTreeMap<String, ServerTarget>,
    conn: Option<Conn>,
    /// The server whose versions the cache's ACKed versions are.
    acked_server: Option<usize>,
    dne: BTreeMap<(&'static str, String), Instant>,
    attempt: u32,
    next_connect: Instant,
    probe_at: Option<Instant>,
    probe_attempt: u32,
    stats: ClientStats,
    /// LOGICAL_DNS resolutions, and the channel their results come back on.
    dns: assemble::DnsCache,
    dns_asked: BTreeSet<(String, u16)>,
    dns_tx: mpsc::UnboundedSender<((String, u16), Vec<std::net::SocketAddr>)>,
    dns_rx: mpsc::UnboundedReceiver<((String, u16), Vec<std::net::SocketAddr>)>,
}

impl Worker {
    pub(crate) fn new(
        servers: Vec<ServerConfig>,
        node: Node,
        opts: ClientOptions,
        commands: mpsc::UnboundedReceiver<Command>,
        events: broadcast::Sender<XdsEvent>,
    ) -> Self {
        let (dns_tx, dns_rx) = mpsc::unbounded_channel();
        Self {
            servers,
            node,
            opts,
            commands,
            events,
            cache: Cache::new(),
            targets: BTreeMap::new(),
            servers_watched: BTreeMap::new(),
            conn: None,
            acked_server: None,
            dne: BTreeMap::new(),
            attempt: 0,
            next_connect: Instant::now(),
            probe_at: None,
            probe_attempt: 0,
            stats: ClientStats::default(),
            dns: BTreeMap::new(),
            dns_asked: BTreeSet::new(),
            dns_tx,
            dns_rx,
        }
    }

    pub(crate) async fn run(mut self) {
        loop {
            if self.conn.is_none() && self.wants_anything() && Instant::now() >= self.next_connect {
                self.connect(0, self.servers.len()).await;
            }
            let wake = self.next_wake();
            tokio::select! {
                cmd = self.commands.recv() => match cmd {
                    None => return,
                    Some(cmd) => self.command(cmd),
                },
                inbound = next_inbound(&mut self.conn) => self.inbound(inbound),
                Some((key, addrs)) = self.dns_rx.recv() => {
                    self.dns.insert(key, addrs);
                    self.publish();
                }
                () = sleep_until(wake) => self.timers().await,
            }
        }
    }

    fn next_wake(&self) -> Option<Instant> {
        let mut wake: Option<Instant> = None;
        let mut consider = |t: Instant| wake = Some(wake.map_or(t, |w| w.min(t)));
        match &self.conn {
            None if self.wants_anything() => consider(self.next_connect),
            None => {}
            Some(_) => {
                if let Some(t) = self.dne.values().min() {
                    consider(*t);
                }
                if let Some(t) = self.probe_at {
                    consider(t);
                }
            }
        }
        wake
    }

    fn emit(&self, e: XdsEvent) {
        let _ = self.events.send(e);
    }

    fn backoff(&self, attempt: u32) -> Duration {
        let base = self.opts.backoff_initial.as_secs_f64() * 1.6f64.powi(attempt.min(30) as i32);
        let capped = base.min(self.opts.backoff_max.as_secs_f64());
        let jitter = 1.0 + (fastrand::f64() * 0.4 - 0.2);
        Duration::from_secs_f64(capped * jitter)
    }

    /// Tries servers `from..to` in priority order. A lower-priority server is tried
    /// only while something wanted was never received (A71).
    async fn connect(&mut self, from: usize, to: usize) -> bool {
        for i in from..to.min(self.servers.len()) {
            if i > from && self.conn.is_none() && !self.cache.has_uncached() {
                break;
            }
            let same_server = self.acked_server == Some(i);
            let mut subs = Vec::new();
            let names: Vec<(&'static str, BTreeSet<String>)> =
                TYPES.iter().map(|t| (*t, self.cache.names(t))).filter(|(_, n)| !n.is_empty()).collect();
            for (t, n) in &names {
                let st = self.cache.get(t);
                let initial_versions: HashMap<String, String> = if same_server {
                    st.entries
                        .iter()
                        .filter(|(_, e)| e.value.is_some())
                        .map(|(k, e)| (k.clone(), e.version.clone()))
                        .collect()
                } else {
                    HashMap::new()
                };
                subs.push(Subscribe {
                    type_url: t,
                    names: n,
                    version: if same_server { st.acked_version.as_str() } else { "" },
                    nonce: "",
                    subscribe: n.iter().cloned().collect(),
                    unsubscribe: Vec::new(),
                    initial_versions,
                });
            }
            let server = &self.servers[i];
            match Conn::open(i, server, self.node.clone(), self.opts.connect_timeout, subs).await {
                Ok(conn) => {
                    tracing::info!(server = %server.uri, delta = conn.is_delta(), "xDS stream connected");
                    self.emit(XdsEvent::Connected { server: server.uri.clone() });
                    self.stats.connects += 1;
                    if !same_server {
                        for t in TYPES {
                            if let Some(st) = self.cache.types.get_mut(t) {
                                st.nonce.clear();
                            }
                        }
                    }
                    self.conn = Some(conn);
                    self.dne.clear();
                    self.start_timers();
                    self.probe_at = (i > 0).then(|| Instant::now() + self.backoff(self.probe_attempt));
                    return true;
                }
                Err(e) => {
                    tracing::warn!(server = %server.uri, error = %e.message(), "xDS connect failed");
                    self.emit(XdsEvent::Disconnected { server: server.uri.clone(), error: e.message().to_string() });
                    self.stats.disconnects += 1;
                }
            }
        }
        if self.conn.is_none() {
            self.next_connect = Instant::now() + self.backoff(self.attempt);
            self.attempt += 1;
        }
        false
    }

    fn start_timers(&mut self) {
        if self.conn.is_none() {
            return;
        }
        let deadline = Instant::now() + self.opts.resource_timeout;
        for t in TYPES {
            for name in self.cache.pending(t) {
                self.dne.entry((t, name)).or_insert(deadline);
            }
        }
    }

    fn command(&mut self, cmd: Command) {
        match cmd {
            Command::Watch { listener, reply } => {
                let target = self
                    .targets
                    .entry(listener)
                    .or_insert_with(|| Target { tx: watch::channel(TargetState::Pending).0, fingerprint: None });
                let _ = reply.send(target.tx.subscribe());
                self.update_interest();
                self.publish();
            }
            Command::WatchServer { listener, reply } => {
                let target = self
                    .servers_watched
                    .entry(listener)
                    .or_insert_with(|| ServerTarget { tx: watch::channel(ServerState::Pending).0, generation: None });
                let _ = reply.send(target.tx.subscribe());
                self.update_interest();
                self.publish();
            }
            Command::Dump { reply } => {
                let _ = reply.send(super::dump::client_status(&self.node, &self.cache));
            }
            Command::Stats { reply } => {
                let _ = reply.send(self.stats.clone());
            }
        }
    }

    fn inbound(&mut self, inbound: Result<Option<Inbound>, tonic::Status>) {
        let msg = match inbound {
            Ok(Some(m)) => m,
            Ok(None) | Err(_) => {
                let error = match &inbound {
                    Err(e) => e.message().to_string(),
                    _ => "stream closed by the server".to_string(),
                };
                if let Some(conn) = self.conn.take() {
                    tracing::warn!(server = %conn.uri, %error, "xDS stream lost; serving cached configuration");
                    self.emit(XdsEvent::Disconnected { server: conn.uri.clone(), error });
                    self.stats.disconnects += 1;
                    // A stream that worked is retried at once; one that never answered backs off.
                    if conn.got_response {
                        self.attempt = 0;
                        self.next_connect = Instant::now();
                    } else {
                        self.next_connect = Instant::now() + self.backoff(self.attempt);
                        self.attempt += 1;
                    }
                }
                self.dne.clear();
                self.probe_at = None;
                return;
            }
        };
        let Some(server) = self.conn.as_ref().map(|c| c.server) else { return };
        self.attempt = 0;
        let ignore_deletion = self.servers[server].ignore_resource_deletion;
        let (type_url, version, nonce, applied) = match &msg {
            Inbound::Sotw(r) => {
                let incoming =
                    r.resources.iter().map(|a| Incoming { name: None, any: a, version: &r.version_info }).collect();
                let full = is_full_state(&r.type_url);
                let applied = self.cache.apply(&r.type_url, incoming, &[], full, ignore_deletion);
                (r.type_url.clone(), r.version_info.clone(), r.nonce.clone(), applied)
            }
            Inbound::Delta(r) => {
                let incoming = r
                    .resources
                    .iter()
                    .filter_map(|res| {
                        res.resource.as_ref().map(|a| Incoming {
                            name: Some(res.name.clone()),
                            any: a,
                            version: &res.version,
                        })
                    })
                    .collect();
                let applied = self.cache.apply(&r.type_url, incoming, &r.removed_resources, false, ignore_deletion);
                (r.type_url.clone(), r.system_version_info.clone(), r.nonce.clone(), applied)
            }
        };
        let Some(st) = self.cache.types.get_mut(type_url.as_str()) else {
            tracing::warn!(%type_url, "response of an unknown type ignored");
            return;
        };
        st.nonce = nonce.clone();
        let names: BTreeSet<String> = st.entries.keys().cloned().collect();
        let error = (!applied.errors.is_empty())
            .then(|| applied.errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "));
        let ack_version = match &error {
            None => {
                st.acked_version = version.clone();
                st.last_nack = None;
                version.clone()
            }
            Some(e) => {
                st.last_nack = Some((version.clone(), e.clone()));
                st.acked_version.clone()
            }
        };
        if let Some(conn) = self.conn.as_mut() {
            conn.ack(&type_url, &names, &ack_version, &nonce, error.clone());
        }
        match error {
            None => {
                self.acked_server = Some(server);
                tracing::debug!(%type_url, %version, changed = applied.changed.len(), "xDS ACK");
                self.stats.acks += 1;
                self.emit(XdsEvent::Ack { type_url: type_url.clone(), version });
            }
            Some(error) => {
                tracing::warn!(%type_url, rejected_version = %version, %error, "xDS NACK");
                self.stats.nacks += 1;
                self.emit(XdsEvent::Nack { type_url: type_url.clone(), version, error });
            }
        }
        for name in applied.does_not_exist {
            tracing::warn!(%type_url, %name, "xDS resource does not exist (server says so)");
            self.stats.does_not_exist += 1;
            self.emit(XdsEvent::ResourceDoesNotExist { type_url: type_url.clone(), name });
        }
        for name in applied.deleted {
            tracing::warn!(%type_url, %name, "xDS resource deleted by the server");
            self.stats.deletions += 1;
            self.emit(XdsEvent::ResourceDeleted { type_url: type_url.clone(), name });
        }
        self.update_interest();
        self.publish();
    }

    /// Recomputes the names wanted per type and tells the server about changes.
    fn update_interest(&mut self) {
        let listeners: BTreeSet<String> = self.targets.keys().chain(self.servers_watched.keys()).cloned().collect();
        let wanted = assemble::interest(&listeners, &self.cache);
        let same_server = self.conn.as_ref().is_some_and(|c| Some(c.server) == self.acked_server);
        for t in TYPES {
            let before = self.cache.names(t);
            let now = &wanted[t];
            if !self.cache.set_interest(t, now) {
                continue;
            }
            let st = self.cache.get(t);
            let sub = Subscribe {
                type_url: t,
                names: now,
                version: if same_server { st.acked_version.as_str() } else { "" },
                nonce: st.nonce.as_str(),
                subscribe: now.difference(&before).cloned().collect(),
                unsubscribe: before.difference(now).cloned().collect(),
                initial_versions: HashMap::new(),
            };
            if let Some(conn) = self.conn.as_mut() {
                conn.send(sub);
            }
        }
        self.start_timers();
    }

    /// Resolves LOGICAL_DNS hosts not yet asked for (once; a failed lookup leaves the
    /// cluster without endpoints).
    fn resolve_dns(&mut self) {
        for key in assemble::dns_names(&self.cache) {
            if !self.dns_asked.insert(key.clone()) {
                continue;
            }
            let tx = self.dns_tx.clone();
            tokio::spawn(async move {
                let addrs = match tokio::net::lookup_host((key.0.as_str(), key.1)).await {
                    Ok(a) => a.collect(),
                    Err(e) => {
                        tracing::warn!(host = %key.0, error = %e, "LOGICAL_DNS lookup failed");
                        Vec::new()
                    }
                };
                let _ = tx.send((key, addrs));
            });
        }
    }

    /// Whether any target or server listener is watched (then a stream is needed).
    fn wants_anything(&self) -> bool {
        !self.targets.is_empty() || !self.servers_watched.is_empty()
    }

    /// Republishes every server listener that changed.
    fn publish_servers(&mut self) {
        let listeners = self.cache.get(type_url::LISTENER);
        for (name, target) in &mut self.servers_watched {
            let Some(entry) = listeners.entries.get(name) else { continue };
            match entry.value.as_deref() {
                Some(Resource::ServerListener(s)) if target.generation != Some(entry.generation) => {
                    target.generation = Some(entry.generation);
                    target.tx.send_replace(ServerState::Ready(Arc::new((**s).clone())));
                }
                Some(Resource::ServerListener(_)) => {}
                Some(_) if target.generation.is_some() || !matches!(*target.tx.borrow(), ServerState::Failed(_)) => {
                    target.generation = None;
                    target.tx.send_replace(ServerState::Failed(format!("{name} is a client listener")));
                }
                Some(_) => {}
                None if entry.unusable() => {
                    let reason = match &entry.error {
                        Some(e) => e.to_string(),
                        None => format!("listener {name} does not exist"),
                    };
                    if target.generation.is_some() || !matches!(*target.tx.borrow(), ServerState::Failed(_)) {
                        tracing::warn!(listener = %name, %reason, "server listener unavailable");
                        target.generation = None;
                        target.tx.send_replace(ServerState::Failed(reason));
                    }
                }
                None => {}
            }
        }
    }

    /// Republishes every target whose inputs changed.
    fn publish(&mut self) {
        self.publish_servers();
        self.resolve_dns();
        for (listener, target) in &mut self.targets {
            match assemble::assemble(listener, &self.cache, &self.dns) {
                Assembled::Pending => {}
                Assembled::Missing(reason) => {
                    if target.fingerprint.is_some() || !matches!(*target.tx.borrow(), TargetState::Failed(_)) {
                        tracing::warn!(target = %listener, %reason, "xDS target unavailable");
                        target.fingerprint = None;
                        target.tx.send_replace(TargetState::Failed(reason));
                    }
                }
                Assembled::Ready(snapshot, fp) => {
                    if target.fingerprint.as_ref() != Some(&fp) {
                        let version = snapshot.version().to_string();
                        target.fingerprint = Some(fp);
                        target.tx.send_replace(TargetState::Ready(snapshot));
                        let _ = self.events.send(XdsEvent::TargetUpdated { target: listener.clone(), version });
                    }
                }
            }
        }
    }

    async fn timers(&mut self) {
        let now = Instant::now();
        if self.conn.is_some() {
            let due: Vec<(&'static str, String)> =
                self.dne.iter().filter(|(_, t)| **t <= now).map(|(k, _)| k.clone()).collect();
            let mut changed = false;
            for (t, name) in due {
                self.dne.remove(&(t, name.clone()));
                if self.cache.mark_does_not_exist(t, &name) {
                    tracing::warn!(type_url = t, %name, "xDS resource does not exist (not received in time)");
                    self.stats.does_not_exist += 1;
                    self.emit(XdsEvent::ResourceDoesNotExist { type_url: t.to_string(), name });
                    changed = true;
                }
            }
            if changed {
                self.update_interest();
                self.publish();
            }
        }
        if let (Some(at), Some(conn)) = (self.probe_at, self.conn.as_ref())
            && at <= now
        {
            // Connected to a fallback: try the servers above it (A71).
            let current = conn.server;
            self.probe_at = None;
            let fallback = self.conn.take();
            if self.connect(0, current).await {
                tracing::info!("xDS primary server is back; leaving the fallback");
                self.probe_attempt = 0;
                drop(fallback);
                self.update_interest();
                self.publish();
            } else {
                self.conn = fallback;
                self.probe_attempt += 1;
                self.probe_at = Some(Instant::now() + self.backoff(self.probe_attempt));
            }
        }
    }
}

async fn next_inbound(conn: &mut Option<Conn>) -> Result<Option<Inbound>, tonic::Status> {
    match conn {
        Some(c) => c.next().await,
        None => std::future::pending().await,
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(t) => tokio::time::sleep_until(t).await,
        None => std::future::pending().await,
    }
}
