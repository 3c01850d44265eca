//! `GET /debug/config_dump` and `GET /debug/syncz`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use mesh_xds::server::ClientStatus;
use mesh_xds::type_url;
use serde::Serialize;

use super::AdminState;
use super::sent::TypeSent;
use crate::registry::{WorkloadInstance, json_response};
use crate::runtime::LoadedObject;

/// The types the control plane serves, in push order.
const TYPES: [&str; 4] = [type_url::CLUSTER, type_url::ENDPOINT, type_url::LISTENER, type_url::ROUTE];

#[derive(Serialize)]
struct ConfigDump {
    generation: u64,
    config: ConfigView,
    registrations: Vec<WorkloadInstance>,
    /// By type URL.
    cache: BTreeMap<&'static str, CacheType>,
    clients: Vec<ClientDump>,
}

#[derive(Serialize)]
struct ConfigView {
    objects: Vec<LoadedObject>,
    errors: Vec<String>,
    warnings: Vec<String>,
    reloads_ok: u64,
    reloads_error: u64,
}

#[derive(Serialize)]
struct CacheType {
    version: String,
    names: Vec<String>,
}

#[derive(Serialize)]
struct ClientDump {
    id: u64,
    node_id: String,
    delta: bool,
    /// By type URL: the latest response's version and the names the client holds.
    sent: BTreeMap<String, TypeSent>,
}

pub(super) async fn config_dump(State(state): State<Arc<AdminState>>) -> Response {
    let status = state.status.borrow().clone();
    let cache = TYPES
        .into_iter()
        .map(|t| (t, CacheType { version: state.cache.version(t), names: state.cache.names(t) }))
        .collect();
    let clients = state
        .ads
        .clients()
        .into_iter()
        .map(|client| {
            let mut log = state.sent.get(client.id).map(|c| c.types).unwrap_or_default();
            // The version is authoritative from the server; names come from the event log
            // (empty if the log missed the client's events).
            let sent = client
                .sent
                .iter()
                .map(|(t, version)| {
                    let mut entry = log.remove(t).unwrap_or_default();
                    entry.version.clone_from(version);
                    (t.clone(), entry)
                })
                .collect();
            ClientDump { id: client.id, node_id: client.node_id, delta: client.delta, sent }
        })
        .collect();
    let dump = ConfigDump {
        generation: status.generation,
        config: ConfigView {
            objects: status.objects.as_ref().clone(),
            errors: status.errors,
            warnings: status.warnings.as_ref().clone(),
            reloads_ok: status.reloads_ok,
            reloads_error: status.reloads_error,
        },
        registrations: state.registry.list(),
        cache,
        clients,
    };
    json_response(StatusCode::OK, &dump)
}

#[derive(Serialize)]
struct Syncz {
    generation: u64,
    clients: Vec<SyncClient>,
}

#[derive(Serialize)]
struct SyncClient {
    id: u64,
    node_id: String,
    delta: bool,
    /// By type URL.
    types: BTreeMap<String, SyncType>,
}

#[derive(Serialize)]
struct SyncType {
    /// `SYNCED` (the last response was ACKed), `STALE` (sent, not acknowledged yet), `NACKED`
    /// (the last response was rejected), `NOT_SENT` (subscribed, nothing sent yet).
    state: &'static str,
    wildcard: bool,
    subscribed: BTreeSet<String>,
    sent: Option<String>,
    acked: Option<String>,
    nacked: Option<Nacked>,
}

#[derive(Serialize)]
struct Nacked {
    /// The version the client kept.
    version: String,
    error: String,
}

pub(super) async fn syncz(State(state): State<Arc<AdminState>>) -> Response {
    let generation = state.status.borrow().generation;
    let clients = state.ads.clients().into_iter().map(sync_client).collect();
    json_response(StatusCode::OK, &Syncz { generation, clients })
}

fn sync_client(client: ClientStatus) -> SyncClient {
    let ClientStatus { id, node_id, delta, subscribed, acked, nacked, sent } = client;
    let types: BTreeSet<&String> =
        subscribed.keys().chain(sent.keys()).chain(acked.keys()).chain(nacked.keys()).collect();
    let types = types
        .into_iter()
        .map(|t| {
            let sub = subscribed.get(t).cloned().unwrap_or_default();
            let nacked =
                nacked.get(t).map(|(version, error)| Nacked { version: version.clone(), error: error.clone() });
            let sent = sent.get(t).cloned();
            let acked = acked.get(t).cloned();
            let state = match (&sent, &acked, &nacked) {
                (_, _, Some(_)) => "NACKED",
                (None, _, None) => "NOT_SENT",
                (Some(s), Some(a), None) if s == a => "SYNCED",
                (Some(_), _, None) => "STALE",
            };
            (t.clone(), SyncType { state, wildcard: sub.wildcard, subscribed: sub.names, sent, acked, nacked })
        })
        .collect();
    SyncClient { id, node_id, delta, types }
}
