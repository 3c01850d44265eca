//! The server's live policy (PeerAuthentication mode, authorization, path
//! normalization) and its counters.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use arc_swap::ArcSwap;
use mesh_core::authz::ServerPolicy;

/// A shared, atomically replaceable [`ServerPolicy`]: the listener reads it per
/// connection (mTLS mode), the authorization layer per request. Feed it from code, or
/// from the control plane with `ServerPolicyHandle::from_xds`.
#[derive(Debug, Clone)]
pub struct ServerPolicyHandle {
    inner: Arc<Shared>,
}

#[derive(Debug)]
pub(crate) struct Shared {
    policy: ArcSwap<ServerPolicy>,
    stats: ServerStats,
    changes: tokio::sync::watch::Sender<u64>,
}

impl ServerPolicyHandle {
    /// A handle holding `policy`.
    pub fn new(policy: ServerPolicy) -> Self {
        Self {
            inner: Arc::new(Shared {
                policy: ArcSwap::from_pointee(policy),
                stats: ServerStats::default(),
                changes: tokio::sync::watch::channel(0).0,
            }),
        }
    }

    /// The current policy.
    pub fn load(&self) -> Arc<ServerPolicy> {
        self.inner.policy.load_full()
    }

    /// The current policy without touching its reference count (the request path).
    pub(crate) fn current(&self) -> arc_swap::Guard<Arc<ServerPolicy>> {
        self.inner.policy.load()
    }

    /// Replaces the policy: new connections and requests use it at once.
    pub fn update(&self, policy: ServerPolicy) {
        self.inner.policy.store(Arc::new(policy));
        self.inner.changes.send_modify(|n| *n += 1);
    }

    /// A receiver that changes each time the policy is replaced.
    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<u64> {
        self.inner.changes.subscribe()
    }

    pub(crate) fn downgrade(&self) -> std::sync::Weak<Shared> {
        Arc::downgrade(&self.inner)
    }

    pub(crate) fn upgrade(weak: &std::sync::Weak<Shared>) -> Option<Self> {
        weak.upgrade().map(|inner| Self { inner })
    }

    /// The counters of everything served with this handle.
    pub fn stats(&self) -> &ServerStats {
        &self.inner.stats
    }
}

impl Default for ServerPolicyHandle {
    fn default() -> Self {
        Self::new(ServerPolicy::default())
    }
}

/// Counters of the server side (what Envoy reports as `rbac.allowed`/`rbac.denied`,
/// `ssl.handshake`, `ssl.connection_error`, …).
#[derive(Debug, Default)]
pub struct ServerStats {
    pub(crate) allowed: AtomicU64,
    pub(crate) denied: AtomicU64,
    pub(crate) audited: AtomicU64,
    pub(crate) bad_path: AtomicU64,
    pub(crate) tls_handshakes: AtomicU64,
    pub(crate) tls_failures: AtomicU64,
    pub(crate) plaintext: AtomicU64,
    pub(crate) refused_plaintext: AtomicU64,
}

macro_rules! getters {
    ($($name:ident: $doc:literal),* $(,)?) => {
        impl ServerStats {
            $(
                #[doc = $doc]
                pub fn $name(&self) -> u64 {
                    self.$name.load(Ordering::Relaxed)
                }
            )*
        }
    };
}

getters! {
    allowed: "Requests authorization let through.",
    denied: "Requests denied by authorization (403 / PERMISSION_DENIED).",
    audited: "Requests that matched an AUDIT (log) policy.",
    bad_path: "Requests refused because their path could not be normalized safely (400).",
    tls_handshakes: "Completed TLS handshakes.",
    tls_failures: "Failed TLS handshakes (untrusted, expired, no client certificate, …).",
    plaintext: "Accepted plaintext connections.",
    refused_plaintext: "Plaintext connections refused because the mode is STRICT.",
}

pub(crate) fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}
