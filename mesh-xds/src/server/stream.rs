//! The task behind every ADS stream, shared by SotW and Delta.
//!
//! One task per stream owns all of that stream's protocol state (no locks on the hot path)
//! and waits on two things: the client's next request and the cache's change signal. Both
//! are handled synchronously by a [`Protocol`], which appends responses to a buffer; the
//! task then queues them on a small bounded channel that tonic drains. So no lock is ever
//! held across an `.await`, a slow client only slows its own task, and a burst of cache
//! writes while the task is busy collapses into one wake-up (the `watch` keeps only the
//! latest revision), after which each type is diffed once.
//!
//! The stream ends when the client half-closes or errors, or when tonic drops the response
//! stream (client gone). Dropping the task's [`StreamCtx`] then removes the client from
//! [`AdsServer::clients`](super::AdsServer::clients) and broadcasts `Disconnected`.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::{Stream, StreamExt};
use tonic::Status;

use crate::type_url;

use super::Shared;
use super::cache::SnapshotCache;
use super::event::ServerEvent;
use super::status::ClientStatus;

/// The types of `types` in the order a batch of changes is pushed: clusters, endpoints,
/// listeners, routes, then any other type — make before break (xDS spec, *Eventual
/// consistency considerations*: a route must not reach a client before its cluster).
pub(crate) fn push_order<T>(types: &HashMap<String, T>) -> Vec<String> {
    let rank = |type_url: &str| match type_url {
        type_url::CLUSTER => 0,
        type_url::ENDPOINT => 1,
        type_url::LISTENER => 2,
        type_url::ROUTE => 3,
        _ => 4,
    };
    let mut order: Vec<String> = types.keys().cloned().collect();
    order.sort_by(|a, b| rank(a).cmp(&rank(b)).then_with(|| a.cmp(b)));
    order
}

/// Responses queued per stream before its task waits for tonic to send them.
const RESPONSE_QUEUE: usize = 16;

/// One ADS protocol variant (SotW or Delta): the per-stream state machine.
pub(crate) trait Protocol: Send + 'static {
    /// `DiscoveryRequest` or `DeltaDiscoveryRequest`.
    type Request: Send + 'static;
    /// `DiscoveryResponse` or `DeltaDiscoveryResponse`.
    type Response: Send + 'static;
    /// Whether this is the Delta variant.
    const DELTA: bool;

    /// The request's `node.id`, if it carries a node.
    fn node_id(request: &Self::Request) -> Option<&str>;

    /// Handles one request, appending any responses to `out`.
    fn on_request(&mut self, ctx: &mut StreamCtx, request: Self::Request, out: &mut Vec<Self::Response>);

    /// Handles a cache change, appending any responses to `out`.
    fn on_cache_change(&mut self, ctx: &mut StreamCtx, out: &mut Vec<Self::Response>);
}

/// What a [`Protocol`] may use of its stream: identity, cache, nonces, events and status.
/// Dropping it unregisters the client.
pub(crate) struct StreamCtx {
    /// The client's stream id.
    pub(crate) id: u64,
    shared: Arc<Shared>,
    nonces: u64,
}

impl StreamCtx {
    /// The cache the server serves from.
    pub(crate) fn cache(&self) -> &SnapshotCache {
        &self.shared.cache
    }

    /// A nonce unique on this stream (a counter; nonces are per stream by definition).
    pub(crate) fn next_nonce(&mut self) -> String {
        self.nonces += 1;
        self.nonces.to_string()
    }

    /// Broadcasts an event, building it only if someone listens.
    pub(crate) fn emit(&self, event: impl FnOnce() -> ServerEvent) {
        if self.shared.events.receiver_count() > 0 {
            // An error only means every receiver went away meanwhile.
            let _ = self.shared.events.send(event());
        }
    }

    /// Updates this client's [`ClientStatus`].
    pub(crate) fn update_status(&self, f: impl FnOnce(&mut ClientStatus)) {
        self.shared.clients.update(self.id, f);
    }
}

impl Drop for StreamCtx {
    fn drop(&mut self) {
        self.shared.clients.remove(self.id);
        tracing::info!(client = self.id, "xDS client disconnected");
        let client = self.id;
        self.emit(|| ServerEvent::Disconnected { client });
    }
}

/// Spawns the task serving one stream and returns the response stream for tonic.
pub(crate) fn spawn<P, S>(shared: Arc<Shared>, inbound: S, protocol: P) -> ReceiverStream<Result<P::Response, Status>>
where
    P: Protocol,
    S: Stream<Item = Result<P::Request, Status>> + Send + Unpin + 'static,
{
    let (tx, rx) = mpsc::channel(RESPONSE_QUEUE);
    tokio::spawn(run(shared, inbound, protocol, tx));
    ReceiverStream::new(rx)
}

async fn run<P, S>(shared: Arc<Shared>, mut inbound: S, mut protocol: P, tx: mpsc::Sender<Result<P::Response, Status>>)
where
    P: Protocol,
    S: Stream<Item = Result<P::Request, Status>> + Send + Unpin + 'static,
{
    // Register on the first request: it carries the node.
    let first = match inbound.next().await {
        Some(Ok(request)) => request,
        Some(Err(status)) => {
            tracing::debug!(%status, "xDS stream failed before its first request");
            return;
        }
        None => return,
    };
    // Subscribe before reading the cache, so no write can slip between the two unseen.
    let mut changes = shared.cache.subscribe();
    changes.borrow_and_update();
    let id = shared.next_client.fetch_add(1, Ordering::Relaxed);
    let node_id = P::node_id(&first).unwrap_or_default().to_owned();
    shared.clients.insert(ClientStatus { id, node_id: node_id.clone(), delta: P::DELTA, ..ClientStatus::default() });
    tracing::info!(client = id, node = %node_id, delta = P::DELTA, "xDS client connected");
    let mut ctx = StreamCtx { id, shared, nonces: 0 };
    ctx.emit(|| ServerEvent::Connected { client: id, node_id, delta: P::DELTA });

    let mut out = Vec::new();
    protocol.on_request(&mut ctx, first, &mut out);
    loop {
        for response in out.drain(..) {
            if tx.send(Ok(response)).await.is_err() {
                return; // The client is gone.
            }
        }
        tokio::select! {
            request = inbound.next() => match request {
                Some(Ok(request)) => protocol.on_request(&mut ctx, request, &mut out),
                Some(Err(status)) => {
                    tracing::debug!(client = id, %status, "xDS stream ended with an error");
                    return;
                }
                None => return,
            },
            changed = changes.changed() => {
                if changed.is_err() {
                    return; // The cache is gone: the server is shutting down.
                }
                changes.borrow_and_update();
                protocol.on_cache_change(&mut ctx, &mut out);
            }
            () = tx.closed() => return,
        }
    }
}
