//! Incremental ADS (`DeltaAggregatedResources`): only what changed, per resource.
//!
//! Per type URL on a stream we keep the subscription (names and/or the wildcard) and what
//! the client *has*: name → resource version (the content hash), or "told it does not
//! exist". Every response is the difference between that and the cache:
//!
//! - a wanted resource whose version differs from the client's (or that it lacks) is sent
//!   with its name and version; the client's entry is updated as sent (a NACKed version is
//!   therefore not resent: the next change of that resource is);
//! - a resource the client has that disappeared from the cache goes to `removed_resources`;
//!   so does an explicitly subscribed name that does not exist, once, so the client need not
//!   wait for its does-not-exist timer (xDS spec, *Knowing When a Requested Resource Does
//!   Not Exist*).
//!
//! Requests (protocol doc, *Incremental xDS*):
//! - Subscription changes are honoured whatever the nonce: the nonce only pairs an ACK or a
//!   NACK (`error_detail`) with the response it answers, and several responses may be in
//!   flight. A nonce we do not know (too old, or from a previous stream) is ignored.
//! - Subscribing to a name resends it even if we believe the client has it (it may have
//!   forgotten). Unsubscribing sends nothing — except under the wildcard, where the client
//!   cannot tell whether the name is still covered: it is resent, or reported removed.
//! - `initial_resource_versions` (first request of a type on a stream: a reconnect) seeds what
//!   the client has, so unchanged resources are not resent.
//! - Legacy wildcard for LDS and CDS: see [`Subscription`](super::subscription).
//!
//! A response is sent only when it carries something, except the first one of a wildcard
//! subscription, which is sent even if empty so the client knows its initial state is
//! complete (there may be no resources of that type yet).

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::Arc;

use envoy_types::pb::envoy::service::discovery::v3::{DeltaDiscoveryRequest, DeltaDiscoveryResponse, Resource};

use super::cache::{Changed, Entry, TypeView};
use super::event::ServerEvent;
use super::stream::{Protocol, StreamCtx, push_order};
use super::subscription::{Subscription, WILDCARD};

/// How many unacknowledged responses per type are remembered for ACK/NACK pairing.
const IN_FLIGHT: usize = 16;

/// The Delta state machine of one stream.
#[derive(Debug, Default)]
pub(crate) struct Delta {
    types: HashMap<String, TypeStream>,
}

/// One type on one Delta stream.
#[derive(Debug, Default)]
struct TypeStream {
    sub: Subscription,
    /// What the client has: `Some(version)`, or `None` = told it does not exist.
    known: HashMap<Arc<str>, Option<Arc<str>>>,
    /// The cache type version `known` reflects.
    evaluated: u64,
    /// Responses not yet ACKed or NACKed: (nonce, system version), oldest first.
    in_flight: VecDeque<(String, String)>,
    /// The system version last ACKed.
    acked: String,
    /// Whether a response for this type was sent on this stream.
    responded: bool,
}

/// Which names to diff: the changes since the last evaluation are always added.
#[derive(Debug, Default)]
struct Scope {
    /// Diff every name the client wants or has.
    all: bool,
    names: BTreeSet<Arc<str>>,
    /// Names that must appear in the response, as a resource or as removed.
    force: BTreeSet<Arc<str>>,
}

impl Protocol for Delta {
    type Request = DeltaDiscoveryRequest;
    type Response = DeltaDiscoveryResponse;
    const DELTA: bool = true;

    fn node_id(request: &DeltaDiscoveryRequest) -> Option<&str> {
        request.node.as_ref().map(|node| node.id.as_str())
    }

    fn on_request(
        &mut self,
        ctx: &mut StreamCtx,
        request: DeltaDiscoveryRequest,
        out: &mut Vec<DeltaDiscoveryResponse>,
    ) {
        let DeltaDiscoveryRequest {
            type_url,
            resource_names_subscribe: subscribe,
            resource_names_unsubscribe: unsubscribe,
            initial_resource_versions,
            response_nonce,
            error_detail,
            ..
        } = request;
        if type_url.is_empty() {
            tracing::warn!(client = ctx.id, "xDS request without a type_url ignored");
            return;
        }
        let first = !self.types.contains_key(&type_url);
        let t = self.types.entry(type_url.clone()).or_default();
        let changes_subscription = first || !subscribe.is_empty() || !unsubscribe.is_empty();
        let scope = if changes_subscription {
            t.resubscribe(ctx, &type_url, first, &subscribe, &unsubscribe, initial_resource_versions)
        } else {
            Scope::default()
        };
        // After the status update: whoever waits on the event sees the new subscription.
        ctx.emit(|| ServerEvent::Request {
            client: ctx.id,
            type_url: type_url.clone(),
            delta: true,
            response_nonce: response_nonce.clone(),
            subscribe,
            unsubscribe,
            stale: false,
        });
        if !response_nonce.is_empty() {
            t.acknowledge(ctx, &type_url, response_nonce, error_detail.map(|status| status.message));
        }
        if changes_subscription {
            evaluate(ctx, &type_url, t, scope, out);
        }
    }

    fn on_cache_change(&mut self, ctx: &mut StreamCtx, out: &mut Vec<DeltaDiscoveryResponse>) {
        for type_url in push_order(&self.types) {
            if let Some(t) = self.types.get_mut(&type_url) {
                evaluate(ctx, &type_url, t, Scope::default(), out);
            }
        }
    }
}

impl TypeStream {
    /// Applies a request's subscription changes; returns the names to diff.
    fn resubscribe(
        &mut self,
        ctx: &StreamCtx,
        type_url: &str,
        first: bool,
        subscribe: &[String],
        unsubscribe: &[String],
        initial_resource_versions: HashMap<String, String>,
    ) -> Scope {
        let before = self.sub.clone();
        self.sub.update_delta(type_url, first, subscribe, unsubscribe);
        let mut scope = Scope { all: first || self.sub.wildcard != before.wildcard, ..Scope::default() };
        for name in subscribe.iter().filter(|name| *name != WILDCARD) {
            let name: Arc<str> = name.as_str().into();
            self.known.remove(&name);
            scope.names.insert(name);
        }
        for name in unsubscribe.iter().filter(|name| *name != WILDCARD) {
            let name: Arc<str> = name.as_str().into();
            self.known.remove(&name);
            if self.sub.contains(&name) {
                scope.force.insert(name); // Still under the wildcard: say so.
            } else {
                scope.names.insert(name);
            }
        }
        if first {
            for (name, version) in initial_resource_versions {
                if self.sub.contains(&name) {
                    self.known.insert(name.into(), Some(version.into()));
                }
            }
        }
        if self.sub != before || first {
            ctx.update_status(|status| {
                status.subscribed.insert(type_url.to_owned(), self.sub.status());
            });
        }
        scope
    }

    /// Pairs an ACK or NACK with the in-flight response it answers.
    fn acknowledge(&mut self, ctx: &StreamCtx, type_url: &str, nonce: String, error: Option<String>) {
        let client = ctx.id;
        let Some(position) = self.in_flight.iter().position(|(sent, _)| *sent == nonce) else {
            tracing::debug!(client, type_url, nonce, "xDS ACK/NACK of an unknown response ignored");
            return;
        };
        // Responses are processed in order: older ones in flight are answered too.
        let Some((_, version)) = self.in_flight.drain(..=position).next_back() else { return };
        match error {
            Some(error) => {
                let kept = self.acked.clone();
                tracing::warn!(client, type_url, version, nonce, error, "xDS client rejected a response (NACK)");
                ctx.update_status(|status| {
                    status.nacked.insert(type_url.to_owned(), (kept.clone(), error.clone()));
                });
                ctx.emit(|| ServerEvent::Nack { client, type_url: type_url.to_owned(), version: kept, nonce, error });
            }
            None => {
                tracing::debug!(client, type_url, version, nonce, "xDS ACK");
                self.acked = version.clone();
                ctx.update_status(|status| {
                    status.nacked.remove(type_url);
                    status.acked.insert(type_url.to_owned(), version.clone());
                });
                ctx.emit(|| ServerEvent::Ack { client, type_url: type_url.to_owned(), version, nonce });
            }
        }
    }

    /// Diffs one name, updating `known` as if the result were sent.
    fn diff(&mut self, view: &TypeView<'_>, name: Arc<str>, forced: bool, out: &mut Diff) {
        let explicit = self.sub.names.contains(&*name);
        if !explicit && !self.sub.wildcard {
            self.known.remove(&name);
            return;
        }
        let known = self.known.get(&name);
        match view.get(&name) {
            Some(entry) => {
                if !matches!(known, Some(Some(version)) if *version == entry.version) {
                    out.resources.push(entry.clone());
                    self.known.insert(name, Some(entry.version.clone()));
                }
            }
            None => {
                let had = matches!(known, Some(Some(_)));
                let told = matches!(known, Some(None));
                if had || forced || (explicit && !told) {
                    out.removed.push(name.to_string());
                }
                if explicit {
                    self.known.insert(name, None);
                } else {
                    self.known.remove(&name);
                }
            }
        }
    }
}

/// A response's content.
#[derive(Debug, Default)]
struct Diff {
    resources: Vec<Arc<Entry>>,
    removed: Vec<String>,
}

/// Diffs `scope` plus everything changed since the last evaluation, and responds if needed.
fn evaluate(
    ctx: &mut StreamCtx,
    type_url: &str,
    t: &mut TypeStream,
    scope: Scope,
    out: &mut Vec<DeltaDiscoveryResponse>,
) {
    let mut diff = Diff::default();
    let version = ctx.cache().read(type_url, |view| {
        let version = view.version();
        let mut all = scope.all;
        let mut names = scope.names;
        if version != t.evaluated {
            match view.changed_since(t.evaluated) {
                Changed::Nothing => {}
                Changed::Names(changed) => names.extend(changed),
                Changed::Unknown => all = true,
            }
        }
        if all {
            if t.sub.wildcard {
                names.extend(view.entries().map(|entry| entry.name.clone()));
            }
            names.extend(t.sub.names.iter().map(|name| Arc::from(name.as_str())));
            names.extend(t.known.keys().cloned());
        }
        names.extend(scope.force.iter().cloned());
        for name in names {
            let forced = scope.force.contains(&name);
            t.diff(&view, name, forced, &mut diff);
        }
        version
    });
    t.evaluated = version;
    let first_wildcard = !t.responded && t.sub.wildcard;
    if diff.resources.is_empty() && diff.removed.is_empty() && !first_wildcard {
        return;
    }

    let nonce = ctx.next_nonce();
    let version = version.to_string();
    t.responded = true;
    t.in_flight.push_back((nonce.clone(), version.clone()));
    if t.in_flight.len() > IN_FLIGHT {
        t.in_flight.pop_front();
    }
    let Diff { resources, removed } = diff;
    tracing::debug!(
        client = ctx.id,
        type_url,
        version,
        nonce,
        resources = resources.len(),
        removed = removed.len(),
        "xDS Delta response"
    );
    ctx.update_status(|status| {
        status.sent.insert(type_url.to_owned(), version.clone());
    });
    ctx.emit(|| ServerEvent::Pushed {
        client: ctx.id,
        type_url: type_url.to_owned(),
        version: version.clone(),
        nonce: nonce.clone(),
        resources: resources.iter().map(|entry| entry.name.to_string()).collect(),
        removed: removed.clone(),
    });
    out.push(DeltaDiscoveryResponse {
        system_version_info: version,
        resources: resources
            .iter()
            .map(|entry| Resource {
                name: entry.name.to_string(),
                version: entry.version.to_string(),
                resource: Some(entry.resource.clone()),
                ..Resource::default()
            })
            .collect(),
        type_url: type_url.to_owned(),
        removed_resources: removed,
        nonce,
        ..DeltaDiscoveryResponse::default()
    });
}
