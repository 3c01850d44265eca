//! The admin HTTP server (default `127.0.0.1:15014`, Istio's istiod monitoring port): health,
//! metrics, debug pages — and the [registration API](crate::registry) on the same port.
//!
//! | endpoint | answer |
//! |---|---|
//! | `GET /` | an HTML index: generation served, clients, the last configuration errors, links |
//! | `GET /ready` | `200 ready` once the first configuration is served, else `503 not ready` |
//! | `GET /metrics` | Prometheus metrics, OpenMetrics text (see below) |
//! | `GET /debug/config_dump` | JSON: generation, the Istio objects loaded (kind, namespace, name, `file:line`), errors and warnings, registrations, the cache (version and names per type), and per connected client what it was sent (version and names per type) |
//! | `GET /debug/syncz` | JSON per connected client and type: subscription, versions sent and ACKed, the NACKed version and its error, and a state (`SYNCED`, `STALE`, `NACKED`, `NOT_SENT`) |
//! | `/v1/registrations` | the registration API ([`crate::registry`]) |
//!
//! # Why errors are shown here and not only logged
//!
//! An invalid file never replaces the configuration being served: the control plane keeps
//! pushing the last valid one. That is the safe choice, and also the one that hides mistakes
//! — the file on disk no longer says what is served. So a rejected load is logged (one
//! `ERROR` line per problem), exported (`mesh_control_config_errors`,
//! `mesh_control_config_reloads_total{result="error"}`, alertable) and shown on `/` and in
//! `/debug/config_dump` until a valid load replaces it.
//!
//! # Metrics
//!
//! Istio-shaped (`pilot_xds_pushes`, `pilot_proxy_convergence_time`, …) under our own prefix:
//!
//! | metric | type | meaning |
//! |---|---|---|
//! | `mesh_control_xds_connected_clients` | gauge | ADS streams open now |
//! | `mesh_control_xds_pushes_total{type}` | counter | responses sent (`type`: `lds`, `rds`, `cds`, `eds`, `other`) |
//! | `mesh_control_xds_push_duration_seconds` | histogram | from a configuration accepted to the response carrying it, per client already connected |
//! | `mesh_control_xds_nacks_total{type}` | counter | responses rejected by clients |
//! | `mesh_control_config_errors` | gauge | problems in the latest load of the files if it was rejected; 0 once a load succeeds |
//! | `mesh_control_config_reloads_total{result}` | counter | loads of the files, `result="ok"` or `"error"` |
//! | `mesh_control_config_generation` | gauge | the generation served |
//! | `mesh_control_registrations` | gauge | workload instances in the registry |

mod debug;
mod index;
mod metrics;
mod observer;
mod sent;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use mesh_xds::server::{AdsServer, SnapshotCache};
use tokio::sync::watch;

use crate::registry::Registry;
use crate::runtime::ConfigStatus;

pub(crate) use metrics::Metrics;
pub(crate) use observer::spawn as spawn_observer;
pub(crate) use sent::SentLog;

/// What the admin pages read.
#[derive(Debug)]
pub(crate) struct AdminState {
    pub(crate) ads: AdsServer,
    pub(crate) cache: Arc<SnapshotCache>,
    pub(crate) registry: Arc<dyn Registry>,
    pub(crate) status: watch::Receiver<ConfigStatus>,
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) sent: Arc<SentLog>,
    /// Set once the first configuration is served.
    pub(crate) ready: AtomicBool,
}

/// Every admin route, the registration API included.
pub(crate) fn router(state: Arc<AdminState>) -> Router {
    let registrations = crate::registry::routes(state.registry.clone());
    Router::new()
        .route("/", get(index::index))
        .route("/ready", get(ready))
        .route("/metrics", get(metrics))
        .route("/debug/config_dump", get(debug::config_dump))
        .route("/debug/syncz", get(debug::syncz))
        .with_state(state)
        .merge(registrations)
}

async fn ready(State(state): State<Arc<AdminState>>) -> Response {
    if state.ready.load(Ordering::Acquire) {
        (StatusCode::OK, "ready\n").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready\n").into_response()
    }
}

async fn metrics(State(state): State<Arc<AdminState>>) -> Response {
    let text = state.metrics.encode(state.ads.clients().len(), state.registry.list().len());
    let content_type = "application/openmetrics-text; version=1.0.0; charset=utf-8";
    ([(header::CONTENT_TYPE, content_type)], text).into_response()
}
