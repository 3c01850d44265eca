//! Retries: re-sends a failed attempt per the route's [`RetryPolicy`], with a per-try
//! timeout, jittered exponential backoff and the cluster's retry budget.
//!
//! It sits above the cluster and balance stages, so each retry picks an endpoint anew
//! (usually another one), and below the timeout stage, so retries and backoff never
//! outlive the request's deadline.
//!
//! # What is retried, and what is never retried
//!
//! An attempt is retried only if its outcome is one of the policy's `retry_on`
//! conditions. Listing a condition is the policy saying it is safe: `connect-failure`
//! and `refused-stream` are always safe (the request never reached the application),
//! `reset`, `5xx` and the gRPC codes are the operator's call. The request must also be
//! replayable: its body is kept (up to 64 KiB by default) as the first attempt streams
//! it; a larger body, or one not yet fully sent when the attempt failed, is not retried,
//! and the failure is returned as is. The cluster's retry limit then decides whether the
//! fleet can afford the retry: its retry budget (see `mesh_core::retry`), or, for a
//! cluster with a `max_retries` circuit breaker and no budget, the number of retries in
//! progress (a retry holds its slot from the decision until its outcome is known, as in
//! Envoy). When it cannot, the last response is returned, or the last error wrapped in
//! [`MeshError::BudgetExhausted`]. An [`MeshError::Overflow`] (a circuit breaker of the
//! cluster) is never retried: the retry would meet the same limit.

mod replay;

use std::task::{Context, Poll};

use http::{Request, Response};
use mesh_core::retry::AttemptOutcome;
use tokio::time::Instant;
use tower_layer::Layer;
use tower_service::Service;

pub(crate) use replay::NotReplayable;
pub use replay::{DEFAULT_REPLAY_CAP, ReplayBody};

use super::body::{RequestBody, ResponseBody};
use super::cluster::RetryLimit;
use super::future::{StageResult, Staged};
use super::request::RouteDecision;
use crate::{MeshError, TimeoutScope};

/// Layer for [`RetryService`].
#[derive(Debug, Clone)]
pub struct RetryLayer {
    replay_cap: usize,
}

impl RetryLayer {
    /// Keeps up to `replay_cap` bytes of each request body for replay.
    pub fn new(replay_cap: usize) -> Self {
        Self { replay_cap }
    }
}

impl Default for RetryLayer {
    fn default() -> Self {
        Self::new(DEFAULT_REPLAY_CAP)
    }
}

impl<S> Layer<S> for RetryLayer {
    type Service = RetryService<S>;
    fn layer(&self, inner: S) -> RetryService<S> {
        RetryService { inner, replay_cap: self.replay_cap }
    }
}

/// The retry stage.
#[derive(Debug, Clone)]
pub struct RetryService<S> {
    inner: S,
    replay_cap: usize,
}

/// The deadline of the current attempt (its per-try timeout), for the stages below.
/// Not sent as `grpc-timeout` (see [`RetryService`]); the balance stage reads it to tell
/// an attempt abandoned at its deadline (a timeout, charged to the endpoint) from one
/// the caller cancelled.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PerTryDeadline(pub(crate) Instant);

/// Classifies an attempt's result.
pub fn outcome(result: &StageResult) -> Option<AttemptOutcome> {
    Some(match result {
        Ok(res) => AttemptOutcome::Response {
            status: res.status().as_u16(),
            grpc_status: res.headers().get("grpc-status").and_then(|v| v.to_str().ok()?.parse().ok()),
        },
        Err(MeshError::Connect { .. }) => AttemptOutcome::ConnectFailure,
        Err(MeshError::RefusedStream { .. }) => AttemptOutcome::RefusedStream,
        Err(MeshError::Upstream { .. }) => AttemptOutcome::Reset,
        Err(MeshError::Timeout { scope: TimeoutScope::PerTry, .. }) => AttemptOutcome::PerTryTimeout,
        // Routing, configuration and caller-side errors are not helped by a retry.
        Err(_) => return None,
    })
}

impl<S> Service<Request<RequestBody>> for RetryService<S>
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
        // A mirrored copy is sent once and never touches the retry budget.
        if d.route().action().retry.is_none() || d.is_mirror() {
            return Staged::inner(self.inner.call(req));
        }
        // The decision (one Arc) carries the policy and the cluster name: nothing of the
        // route is copied per request.
        let decision = d.clone();
        let limit = d.resolved.retry_limit(&d.destination().cluster).cloned();
        let clone = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, clone);
        let (parts, body) = req.into_parts();
        let template = ReplayBody::new(body.into_boxed(), self.replay_cap);
        Staged::boxed(Attempts { inner, decision, limit, parts, template }.run())
    }
}

struct Attempts<S> {
    inner: S,
    decision: RouteDecision,
    limit: Option<RetryLimit>,
    parts: http::request::Parts,
    template: ReplayBody,
}

impl<S> Attempts<S>
where
    S: Service<Request<RequestBody>, Response = Response<ResponseBody>, Error = MeshError> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    async fn run(mut self) -> StageResult {
        // A second handle on the decision, so the policy can be borrowed while `self`
        // is used mutably; `call` only builds `Attempts` for routes with a policy.
        let decision = self.decision.clone();
        let Some(policy) = decision.route().action().retry.as_ref() else {
            let body = self.template.try_clone().map(RequestBody::replay).unwrap_or_default();
            return self.attempt(body, None).await;
        };
        if let Some(l) = &self.limit {
            l.deposit();
        }
        let mut body = self.template.try_clone();
        let mut retries = 0u32;
        // The `max_retries` slot of the retry in progress, if the limit counts them.
        let mut permit = None;
        loop {
            let this_body = match body.take() {
                Some(b) => RequestBody::replay(b),
                None => return Err(MeshError::RequestBody("request body could not be replayed".into())),
            };
            let result = self.attempt(this_body, policy.per_try_timeout()).await;
            // The retry (if this was one) is over: its slot is free again.
            drop(permit.take());
            let Some(outcome) = outcome(&result) else { return result };
            if outcome.is_success() || !policy.should_retry(outcome) || retries >= policy.max_retries() {
                return result;
            }
            let Some(next) = self.template.try_clone() else {
                tracing::debug!(?outcome, "not retried: request body is not replayable");
                return result;
            };
            let granted = match &self.limit {
                Some(l) => l.withdraw(),
                None => Some(Default::default()),
            };
            let Some(granted) = granted else {
                let cluster = self.decision.destination().cluster.clone();
                tracing::debug!(%cluster, ?outcome, "not retried: retry budget or max_retries exhausted");
                return match result {
                    Ok(res) => Ok(res),
                    Err(last) => Err(MeshError::BudgetExhausted { cluster, last: Box::new(last) }),
                };
            };
            permit = Some(granted);
            drop(result);
            let wait = policy.backoff().delay(retries, fastrand::u64(..));
            tracing::debug!(?outcome, retry = retries + 1, ?wait, "retrying");
            tokio::time::sleep(wait).await;
            retries += 1;
            body = Some(next);
        }
    }

    async fn attempt(&mut self, body: RequestBody, per_try: Option<std::time::Duration>) -> StageResult {
        let mut req = Request::new(body);
        *req.method_mut() = self.parts.method.clone();
        *req.uri_mut() = self.parts.uri.clone();
        *req.version_mut() = self.parts.version;
        *req.headers_mut() = self.parts.headers.clone();
        *req.extensions_mut() = self.parts.extensions.clone();
        // The per-try deadline is enforced here and not sent as `grpc-timeout`: the
        // server would answer its own expiry with a status (tonic: CANCELLED) that the
        // retry policy may not list, turning a retriable per-try timeout into a final
        // error. Cancelling the stream at the per-try deadline stops the server's work
        // all the same.
        let try_deadline = per_try.map(|t| Instant::now() + t);
        if let Some(d) = try_deadline {
            req.extensions_mut().insert(PerTryDeadline(d));
        }
        let mut svc = self.inner.clone();
        let call = async move {
            std::future::poll_fn(|cx| svc.poll_ready(cx)).await?;
            svc.call(req).await
        };
        match (try_deadline, per_try) {
            (Some(deadline), Some(after)) => match tokio::time::timeout_at(deadline, call).await {
                Ok(r) => r,
                Err(_) => Err(MeshError::Timeout { after, scope: TimeoutScope::PerTry }),
            },
            _ => call.await,
        }
    }
}
