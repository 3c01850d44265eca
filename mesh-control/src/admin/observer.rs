//! The task that turns [`ServerEvent`]s into metrics and the [`SentLog`].

use std::sync::Arc;
use std::time::Instant;

use mesh_xds::server::ServerEvent;
use tokio::sync::{broadcast, watch};
use tokio::task::JoinHandle;

use super::metrics::Metrics;
use super::sent::SentLog;

/// Consumes `events` until `stop` turns true (or the server is gone). Take the receiver
/// before the server accepts connections, so that no client is missed.
pub(crate) fn spawn(
    mut events: broadcast::Receiver<ServerEvent>,
    metrics: Arc<Metrics>,
    sent: Arc<SentLog>,
    mut stop: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let event = tokio::select! {
                event = events.recv() => event,
                _ = stop.wait_for(|stop| *stop) => return,
            };
            match event {
                Ok(event) => observe(&event, &metrics, &sent),
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    tracing::warn!(missed, "admin fell behind the xDS events; metrics may undercount");
                }
                Err(broadcast::error::RecvError::Closed) => return,
            }
        }
    })
}

fn observe(event: &ServerEvent, metrics: &Metrics, sent: &SentLog) {
    match event {
        ServerEvent::Connected { client, delta, .. } => sent.connected(*client, *delta),
        ServerEvent::Disconnected { client } => sent.disconnected(*client),
        ServerEvent::Pushed { client, type_url, version, nonce, resources, removed } => {
            metrics.pushed(type_url);
            if let (Some(accepted), Some(connected)) =
                (metrics.accepted_at(type_url, version), sent.connected_at(*client))
                && connected <= accepted
            {
                metrics.push_latency(Instant::now().saturating_duration_since(accepted));
            }
            sent.pushed(*client, type_url, version, nonce, resources, removed);
        }
        ServerEvent::Nack { type_url, .. } => metrics.nacked(type_url),
        ServerEvent::Request { .. } | ServerEvent::Ack { .. } => {}
    }
}
