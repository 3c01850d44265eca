//! The overall request deadline: the route's `timeout` and, for gRPC, the caller's own
//! deadline (`grpc-timeout`), whichever is sooner. It covers every retry and backoff
//! below it, which is why it sits above the retry stage.
//!
//! The deadline also travels: each attempt writes the time left as `grpc-timeout` on
//! gRPC requests, so the server can stop working on a request nobody waits for any
//! more. (Per-try timeouts are enforced by the retry stage and not propagated; see
//! there.)

mod grpc_timeout;

use std::task::{Context, Poll};
use std::time::Duration;

use http::{Request, Response};
use tokio::time::Instant;
use tower_layer::Layer;
use tower_service::Service;

pub use grpc_timeout::{encode_grpc_timeout, parse_grpc_timeout};

use super::body::{RequestBody, ResponseBody};
use super::future::Staged;
use super::request::{Deadline, RouteDecision};
use crate::{MeshError, TimeoutScope};

/// Layer for [`TimeoutService`].
#[derive(Debug, Clone, Default)]
pub struct TimeoutLayer {
    _priv: (),
}

impl TimeoutLayer {
    /// A new layer.
    pub fn new() -> Self {
        Self::default()
    }
}

impl<S> Layer<S> for TimeoutLayer {
    type Service = TimeoutService<S>;
    fn layer(&self, inner: S) -> TimeoutService<S> {
        TimeoutService { inner }
    }
}

/// The timeout stage.
#[derive(Debug, Clone)]
pub struct TimeoutService<S> {
    inner: S,
}

impl<S> Service<Request<RequestBody>> for TimeoutService<S>
where
    S: Service<Request<RequestBody>, Response = Response<ResponseBody>, Error = MeshError>,
    S::Future: Send + 'static,
{
    type Response = Response<ResponseBody>;
    type Error = MeshError;
    type Future = Staged<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), MeshError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<RequestBody>) -> Self::Future {
        let (route_timeout, grpc) = match req.extensions().get::<RouteDecision>() {
            Some(d) => (d.route().action().timeout, d.grpc),
            None => (None, false),
        };
        let caller =
            if grpc { req.headers().get("grpc-timeout").and_then(|v| parse_grpc_timeout(v.as_bytes())) } else { None };
        let timeout: Option<Duration> = match (route_timeout, caller) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let Some(timeout) = timeout else { return Staged::inner(self.inner.call(req)) };
        let deadline = Instant::now() + timeout;
        req.extensions_mut().insert(Deadline(deadline));
        let fut = self.inner.call(req);
        Staged::boxed(async move {
            match tokio::time::timeout_at(deadline, fut).await {
                // The server got our deadline as `grpc-timeout` and may answer its expiry
                // itself (tonic says CANCELLED) a hair before our timer runs: past the
                // deadline, a gRPC error is the deadline, as gRPC clients report it.
                Ok(Ok(res)) if grpc && Instant::now() >= deadline && is_grpc_error(&res) => {
                    Err(MeshError::Timeout { after: timeout, scope: TimeoutScope::Overall })
                }
                Ok(res) => res,
                Err(_) => Err(MeshError::Timeout { after: timeout, scope: TimeoutScope::Overall }),
            }
        })
    }
}

fn is_grpc_error(res: &Response<ResponseBody>) -> bool {
    res.headers().get("grpc-status").is_some_and(|v| v.as_bytes() != b"0")
}

/// Writes the time left before the attempt's deadline as `grpc-timeout`.
pub(crate) fn write_grpc_timeout<B>(req: &mut Request<B>, grpc: bool) {
    if !grpc {
        return;
    }
    if let Some(Deadline(d)) = req.extensions().get::<Deadline>().copied() {
        let left = d.saturating_duration_since(Instant::now());
        req.headers_mut().insert("grpc-timeout", encode_grpc_timeout(left));
    }
}
