//! Request mirroring: copies a share of a route's requests to the route's mirror
//! destinations (Istio `mirror`/`mirrors`, Envoy `request_mirror_policies`), fire and
//! forget.
//!
//! It sits below fault (an aborted request is not mirrored, a delayed one is mirrored
//! after its delay, as with Envoy's fault filter in front of its router) and above
//! timeout and retry: each request is copied once, however many attempts it takes, and
//! the copy gets the route's deadline of its own. The copy goes down the same stack as
//! the request with a [`RouteDecision`] marked as a mirror, so the cluster and balance
//! stages serve the mirror's destination and the retry stage passes it through: a copy
//! is never retried and never touches the destination's retry budget.
//!
//! # Why the copy waits for the body
//!
//! The copy must never delay or fail the request. It has the request's headers after
//! the route's changes (destination and route header mutations, path and host rewrites,
//! as Envoy shadows the finalized headers), with the authority given the `-shadow` host
//! suffix. Its body is the request's own, kept by a [`ReplayBody`]: the copy is sent only
//! once the request has read the caller's body to its end, replaying the kept bytes, so
//! it never reads ahead of the request and never holds it back. A body larger than the
//! replay cap (64 KiB by default) is not kept, and the copy is skipped and counted in
//! [`MirrorStats::body_too_large`]; streaming requests are therefore copied after their
//! stream ends. The copy's response is read (up to 64 KiB) and dropped; its errors are
//! counted, never returned.

mod shadow;

use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use tokio::sync::watch;
use tower_layer::Layer;
use tower_service::Service;

use super::body::{RequestBody, ResponseBody};
use super::future::Staged;
use super::request::RouteDecision;
use super::retry::{DEFAULT_REPLAY_CAP, ReplayBody};
use crate::MeshError;

/// What happened to mirrored copies since the channel was built.
///
/// Every copy is counted in `selected` when its request is routed, and later in exactly
/// one of the other fields; [`settled`](Self::settled) says when all have ended.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MirrorStats {
    /// Copies decided on (the mirror's percentage hit).
    pub selected: u64,
    /// Copies that got a response (whatever its status).
    pub answered: u64,
    /// Copies that failed (unknown mirror cluster, no endpoint, connect error, timeout…).
    pub failed: u64,
    /// Copies skipped because the request body was larger than the replay cap.
    pub body_too_large: u64,
    /// Copies skipped because the request ended before its body was read to the end
    /// (or reading it failed), or because no tokio runtime was running.
    pub body_unfinished: u64,
}

impl MirrorStats {
    /// Whether every selected copy has been answered, has failed or was skipped.
    pub fn settled(&self) -> bool {
        self.selected == self.answered + self.failed + self.body_too_large + self.body_unfinished
    }
}

/// Counters shared by a channel's mirror stage and the channel, watchable.
#[derive(Debug)]
pub(crate) struct MirrorCounters(watch::Sender<MirrorStats>);

impl MirrorCounters {
    fn new() -> Self {
        Self(watch::channel(MirrorStats::default()).0)
    }
    fn add(&self, f: impl FnOnce(&mut MirrorStats)) {
        self.0.send_modify(f);
    }
}

/// Layer for [`MirrorService`].
#[derive(Debug, Clone)]
pub struct MirrorLayer {
    replay_cap: usize,
    counters: Arc<MirrorCounters>,
}

impl MirrorLayer {
    /// Keeps up to `replay_cap` bytes of a mirrored request's body for its copies.
    pub fn new(replay_cap: usize) -> Self {
        Self { replay_cap, counters: Arc::new(MirrorCounters::new()) }
    }

    /// Watches this layer's [`MirrorStats`].
    pub fn stats(&self) -> watch::Receiver<MirrorStats> {
        self.counters.0.subscribe()
    }
}

impl Default for MirrorLayer {
    fn default() -> Self {
        Self::new(DEFAULT_REPLAY_CAP)
    }
}

impl<S> Layer<S> for MirrorLayer {
    type Service = MirrorService<S>;
    fn layer(&self, inner: S) -> MirrorService<S> {
        MirrorService { inner, replay_cap: self.replay_cap, counters: self.counters.clone() }
    }
}

/// The mirror stage.
#[derive(Debug, Clone)]
pub struct MirrorService<S> {
    inner: S,
    replay_cap: usize,
    counters: Arc<MirrorCounters>,
}

impl<S> Service<Request<RequestBody>> for MirrorService<S>
where
    S: Service<Request<RequestBody>, Response = Response<ResponseBody>, Error = MeshError> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response<ResponseBody>;
    type Error = MeshError;
    type Future = Staged<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), MeshError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<RequestBody>) -> Self::Future {
        let Some(d) = req.extensions().get::<RouteDecision>() else { return Staged::inner(self.inner.call(req)) };
        let mirrors = &d.route().action().mirrors;
        if mirrors.is_empty() || d.is_mirror() {
            return Staged::inner(self.inner.call(req));
        }
        let chosen: Vec<usize> = (0..mirrors.len()).filter(|&i| mirrors[i].percentage.hit(fastrand::u64(..))).collect();
        if chosen.is_empty() {
            return Staged::inner(self.inner.call(req));
        }
        let n = chosen.len() as u64;
        self.counters.add(|s| s.selected += n);
        let decision = d.clone();
        let (parts, body) = req.into_parts();
        let body = ReplayBody::new(body.into_boxed(), self.replay_cap);
        let copies = shadow::Copies {
            inner: self.inner.clone(),
            head: shadow::head(&parts),
            decision,
            chosen,
            body: body.handle(),
            counters: self.counters.clone(),
        };
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => drop(rt.spawn(copies.run())),
            Err(_) => self.counters.add(|s| s.body_unfinished += n),
        }
        Staged::inner(self.inner.call(Request::from_parts(parts, RequestBody::replay(body))))
    }
}
