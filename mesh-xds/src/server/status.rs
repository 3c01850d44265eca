//! [`ClientStatus`]: what the server knows about each connected client, for debug pages
//! (`/debug/syncz`) and tests; and the registry the streams keep it in.

use std::collections::BTreeMap;
use std::collections::BTreeSet;
use std::sync::{Mutex, PoisonError};

/// One connected client (one ADS stream), as [`AdsServer::clients`](super::AdsServer::clients)
/// reports it. Maps are keyed by type URL.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientStatus {
    /// The stream id, unique for the server's lifetime (events carry it too).
    pub id: u64,
    /// `node.id` of the first request.
    pub node_id: String,
    /// Delta (`true`) or State-of-the-World stream.
    pub delta: bool,
    /// What the client subscribes to, per type.
    pub subscribed: BTreeMap<String, SubscriptionStatus>,
    /// The version last ACKed, per type.
    pub acked: BTreeMap<String, String>,
    /// Types whose latest response was NACKed and not superseded by an ACK since:
    /// (the version the client kept, the error message).
    pub nacked: BTreeMap<String, (String, String)>,
    /// The version last sent, per type.
    pub sent: BTreeMap<String, String>,
}

/// One type's subscription: the wildcard, explicit names, or both.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SubscriptionStatus {
    /// Subscribed to every resource of the type.
    pub wildcard: bool,
    /// Explicitly subscribed names.
    pub names: BTreeSet<String>,
}

/// Every connected client's status, updated by the stream tasks.
#[derive(Debug, Default)]
pub(crate) struct ClientRegistry {
    clients: Mutex<BTreeMap<u64, ClientStatus>>,
}

impl ClientRegistry {
    /// Adds a client.
    pub(crate) fn insert(&self, status: ClientStatus) {
        self.lock().insert(status.id, status);
    }

    /// Drops a client.
    pub(crate) fn remove(&self, id: u64) {
        self.lock().remove(&id);
    }

    /// Updates one client's status (no-op if it is gone).
    pub(crate) fn update(&self, id: u64, f: impl FnOnce(&mut ClientStatus)) {
        if let Some(status) = self.lock().get_mut(&id) {
            f(status);
        }
    }

    /// A copy of every status, by id.
    pub(crate) fn snapshot(&self) -> Vec<ClientStatus> {
        self.lock().values().cloned().collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, ClientStatus>> {
        self.clients.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
