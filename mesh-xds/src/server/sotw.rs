//! State-of-the-World ADS (`StreamAggregatedResources`): per type, the complete set of
//! subscribed resources in every response.
//!
//! Per type URL on a stream we keep what the client *wants* (its latest `resource_names`),
//! the subscription its current state *covers* (the one our last response answered), the
//! resource versions that response carried, the cache version they reflect, and its nonce.
//!
//! - **Responses** always carry every subscribed resource that exists — required for LDS
//!   and CDS (an absent resource means deleted) and simplest for RDS and EDS. `version_info`
//!   is the cache's type version.
//! - **When**: on the first request for a type on the stream (even if the client already has
//!   that version: a new stream always gets an answer), when a request wants something the
//!   covered subscription lacked (a new name, or the wildcard), and when a cache write
//!   changes a resource the stream wants *relative to what it was last sent* (an unrelated
//!   write, or one that restores the bytes it has, pushes nothing). A request that only
//!   unsubscribes gets no response.
//! - **ACK / NACK**: a request whose `response_nonce` is the latest nonce sent for the type.
//!   With `error_detail` it is a NACK: recorded, logged, and the same version is not resent
//!   (the next write to a wanted resource pushes a new one; only a NACK that also subscribes
//!   to new names is answered, and that answer is the full current state). Otherwise an ACK
//!   of its `version_info`.
//! - **Stale requests** (`response_nonce` set but not the latest nonce sent for the type): per
//!   the xDS spec they get no response and are neither ACK nor NACK. Their `resource_names`
//!   are still remembered as what the client wants, so the next push honours them, and the
//!   ACK of the newer response, which repeats them, gets the response (see envoy#10363 on why
//!   dropping them entirely can starve a client). A nonce on the first request for a type is
//!   not considered stale: nonces do not survive streams, and some clients send an old one.

use std::collections::HashMap;
use std::sync::Arc;

use envoy_types::pb::envoy::service::discovery::v3::{DiscoveryRequest, DiscoveryResponse};

use super::cache::{Changed, Entry, TypeView};
use super::event::ServerEvent;
use super::stream::{Protocol, StreamCtx, push_order};
use super::subscription::Subscription;

/// The SotW state machine of one stream.
#[derive(Debug, Default)]
pub(crate) struct Sotw {
    types: HashMap<String, TypeStream>,
}

/// One type on one SotW stream.
#[derive(Debug, Default)]
struct TypeStream {
    /// The client's latest subscription (stale requests included).
    wanted: Subscription,
    /// The subscription the client's state reflects; `None` before the first response.
    covered: Option<Subscription>,
    /// Name → resource version, as in the last response.
    known: HashMap<Arc<str>, Arc<str>>,
    /// The cache type version `known` reflects.
    evaluated: u64,
    /// Nonce of the last response for this type.
    last_nonce: Option<String>,
}

impl Protocol for Sotw {
    type Request = DiscoveryRequest;
    type Response = DiscoveryResponse;
    const DELTA: bool = false;

    fn node_id(request: &DiscoveryRequest) -> Option<&str> {
        request.node.as_ref().map(|node| node.id.as_str())
    }

    fn on_request(&mut self, ctx: &mut StreamCtx, request: DiscoveryRequest, out: &mut Vec<DiscoveryResponse>) {
        let DiscoveryRequest { version_info, resource_names, type_url, response_nonce, error_detail, .. } = request;
        if type_url.is_empty() {
            tracing::warn!(client = ctx.id, "xDS request without a type_url ignored");
            return;
        }
        let t = self.types.entry(type_url.clone()).or_default();
        let stale = !response_nonce.is_empty() && t.last_nonce.as_ref().is_some_and(|last| *last != response_nonce);
        let mut unsubscribe = Vec::new();
        if !t.wanted.unchanged_by_sotw(&type_url, &resource_names) || t.covered.is_none() {
            let mut wanted = t.wanted.clone();
            wanted.set_sotw(&type_url, &resource_names);
            unsubscribe = t.wanted.names.difference(&wanted.names).cloned().collect();
            ctx.update_status(|status| {
                status.subscribed.insert(type_url.clone(), wanted.status());
            });
            t.wanted = wanted;
        }
        // After the status update: whoever waits on the event sees the new subscription.
        ctx.emit(|| ServerEvent::Request {
            client: ctx.id,
            type_url: type_url.clone(),
            delta: false,
            response_nonce: response_nonce.clone(),
            subscribe: resource_names,
            unsubscribe,
            stale,
        });
        if stale {
            tracing::debug!(client = ctx.id, type_url, nonce = response_nonce, "stale xDS request: no response");
            return;
        }
        if t.last_nonce.is_some() && !response_nonce.is_empty() {
            acknowledge(ctx, &type_url, version_info, response_nonce, error_detail.map(|status| status.message));
        }
        match &t.covered {
            Some(covered) if !t.wanted.adds_to(covered) => {
                if *covered != t.wanted {
                    // Only unsubscribed: nothing to send; forget what is no longer wanted.
                    let wanted = &t.wanted;
                    t.known.retain(|name, _| wanted.contains(name));
                    t.covered = Some(t.wanted.clone());
                }
            }
            _ => respond(ctx, &type_url, t, out),
        }
    }

    fn on_cache_change(&mut self, ctx: &mut StreamCtx, out: &mut Vec<DiscoveryResponse>) {
        for type_url in push_order(&self.types) {
            let Some(t) = self.types.get_mut(&type_url).filter(|t| t.covered.is_some()) else { continue };
            let (affected, version) = ctx.cache().read(&type_url, |view| (t.affected(&view), view.version()));
            if affected {
                respond(ctx, &type_url, t, out);
            } else {
                t.evaluated = version;
            }
        }
    }
}

impl TypeStream {
    /// Whether a resource the client wants differs from what it was last sent.
    fn affected(&self, view: &TypeView<'_>) -> bool {
        let differs = |name: &str| view.get(name).map(|entry| &entry.version) != self.known.get(name);
        match view.changed_since(self.evaluated) {
            Changed::Nothing => false,
            Changed::Names(names) => names.iter().any(|name| self.wanted.contains(name) && differs(name)),
            Changed::Unknown if self.wanted.wildcard => {
                view.entries().count() != self.known.len()
                    || view.entries().any(|entry| self.known.get(&entry.name) != Some(&entry.version))
            }
            Changed::Unknown => self.wanted.names.iter().any(|name| differs(name)),
        }
    }
}

/// Records an ACK (no error) or a NACK of the latest response for `type_url`.
fn acknowledge(ctx: &StreamCtx, type_url: &str, version: String, nonce: String, error: Option<String>) {
    let client = ctx.id;
    match error {
        Some(error) => {
            tracing::warn!(client, type_url, version, nonce, error, "xDS client rejected a response (NACK)");
            ctx.update_status(|status| {
                status.nacked.insert(type_url.to_owned(), (version.clone(), error.clone()));
            });
            ctx.emit(|| ServerEvent::Nack { client, type_url: type_url.to_owned(), version, nonce, error });
        }
        None => {
            tracing::debug!(client, type_url, version, nonce, "xDS ACK");
            ctx.update_status(|status| {
                status.nacked.remove(type_url);
                status.acked.insert(type_url.to_owned(), version.clone());
            });
            ctx.emit(|| ServerEvent::Ack { client, type_url: type_url.to_owned(), version, nonce });
        }
    }
}

/// Sends every wanted resource of `type_url` at the cache's current version.
fn respond(ctx: &mut StreamCtx, type_url: &str, t: &mut TypeStream, out: &mut Vec<DiscoveryResponse>) {
    let (version, entries) = ctx.cache().read(type_url, |view| {
        let entries: Vec<Arc<Entry>> = if t.wanted.wildcard {
            view.entries().cloned().collect()
        } else {
            t.wanted.names.iter().filter_map(|name| view.get(name).cloned()).collect()
        };
        (view.version(), entries)
    });
    let nonce = ctx.next_nonce();
    t.known = entries.iter().map(|entry| (entry.name.clone(), entry.version.clone())).collect();
    t.evaluated = version;
    t.covered = Some(t.wanted.clone());
    t.last_nonce = Some(nonce.clone());
    let version = version.to_string();
    tracing::debug!(client = ctx.id, type_url, version, nonce, resources = entries.len(), "xDS SotW response");
    ctx.update_status(|status| {
        status.sent.insert(type_url.to_owned(), version.clone());
    });
    ctx.emit(|| ServerEvent::Pushed {
        client: ctx.id,
        type_url: type_url.to_owned(),
        version: version.clone(),
        nonce: nonce.clone(),
        resources: entries.iter().map(|entry| entry.name.to_string()).collect(),
        removed: Vec::new(),
    });
    out.push(DiscoveryResponse {
        version_info: version,
        resources: entries.iter().map(|entry| entry.resource.clone()).collect(),
        type_url: type_url.to_owned(),
        nonce,
        ..DiscoveryResponse::default()
    });
}
