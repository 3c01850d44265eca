//! [`SentLog`]: which resources each connected client was sent, for `/debug/config_dump`.
//!
//! [`AdsServer::clients`](mesh_xds::server::AdsServer::clients) knows the *version* sent per
//! type but not the names; the `Pushed` events carry them: a State-of-the-World response
//! carries every subscribed resource of its type (it replaces what was sent), a Delta
//! response only the changed ones plus `removed` (it amends it).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use serde::Serialize;

/// What each client was sent, by client id.
#[derive(Debug, Default)]
pub(crate) struct SentLog {
    clients: Mutex<BTreeMap<u64, ClientSent>>,
}

/// One client.
#[derive(Clone, Debug)]
pub(crate) struct ClientSent {
    pub(crate) delta: bool,
    pub(crate) connected_at: Instant,
    /// By type URL.
    pub(crate) types: BTreeMap<String, TypeSent>,
}

/// One type of one client: the latest response's version and nonce, and the resource
/// names the client holds from us.
#[derive(Clone, Debug, Default, Serialize)]
pub(crate) struct TypeSent {
    pub(crate) version: String,
    pub(crate) nonce: String,
    pub(crate) names: BTreeSet<String>,
}

impl SentLog {
    fn lock(&self) -> MutexGuard<'_, BTreeMap<u64, ClientSent>> {
        self.clients.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn connected(&self, client: u64, delta: bool) {
        let sent = ClientSent { delta, connected_at: Instant::now(), types: BTreeMap::new() };
        self.lock().insert(client, sent);
    }

    pub(crate) fn disconnected(&self, client: u64) {
        self.lock().remove(&client);
    }

    /// When `client` connected, if it is known.
    pub(crate) fn connected_at(&self, client: u64) -> Option<Instant> {
        self.lock().get(&client).map(|c| c.connected_at)
    }

    /// Records a response.
    pub(crate) fn pushed(
        &self,
        client: u64,
        type_url: &str,
        version: &str,
        nonce: &str,
        resources: &[String],
        removed: &[String],
    ) {
        let mut clients = self.lock();
        let Some(sent) = clients.get_mut(&client) else { return };
        let delta = sent.delta;
        let entry = sent.types.entry(type_url.to_owned()).or_default();
        entry.version = version.to_owned();
        entry.nonce = nonce.to_owned();
        if !delta {
            entry.names.clear();
        }
        entry.names.extend(resources.iter().cloned());
        for name in removed {
            entry.names.remove(name);
        }
    }

    /// A copy of one client's record.
    pub(crate) fn get(&self, client: u64) -> Option<ClientSent> {
        self.lock().get(&client).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(log: &SentLog, client: u64) -> Vec<String> {
        log.get(client).unwrap().types["t"].names.iter().cloned().collect()
    }

    #[test]
    fn sotw_replaces_and_delta_amends() {
        let log = SentLog::default();
        log.connected(1, false);
        log.connected(2, true);
        for client in [1, 2] {
            log.pushed(client, "t", "1", "n1", &["a".into(), "b".into()], &[]);
            log.pushed(client, "t", "2", "n2", &["c".into()], &["a".into()]);
        }
        assert_eq!(names(&log, 1), ["c"]);
        assert_eq!(names(&log, 2), ["b", "c"]);
        assert_eq!(log.get(2).unwrap().types["t"].version, "2");
        log.disconnected(1);
        assert!(log.get(1).is_none());
    }
}
