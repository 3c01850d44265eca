//! Fault injection (Istio's `HTTPFaultInjection`): delays and/or aborts a configured
//! share of the requests of a route, before any deadline starts counting (as Envoy's
//! fault filter runs before its router).
//!
//! An abort answers in place of the destination: with the HTTP status, or for gRPC with
//! a trailers-only response carrying `grpc-status`, so a generated tonic client sees a
//! `Status` with that code, exactly as it would from a real failing server.

use std::task::{Context, Poll};

use http::{HeaderValue, Request, Response};
use mesh_core::fault::{AbortKind, FaultPolicy};
use tower_layer::Layer;
use tower_service::Service;

use super::body::{RequestBody, ResponseBody};
use super::future::Staged;
use super::request::RouteDecision;
use crate::MeshError;

/// Layer for [`FaultService`].
#[derive(Debug, Clone, Default)]
pub struct FaultLayer {
    _priv: (),
}

impl FaultLayer {
    /// A new layer.
    pub fn new() -> Self {
        Self::default()
    }
}

impl<S> Layer<S> for FaultLayer {
    type Service = FaultService<S>;
    fn layer(&self, inner: S) -> FaultService<S> {
        FaultService { inner }
    }
}

/// The fault stage.
#[derive(Debug, Clone)]
pub struct FaultService<S> {
    inner: S,
}

/// Builds the response of an abort.
pub fn abort_response(kind: AbortKind, grpc: bool) -> Response<ResponseBody> {
    match kind {
        AbortKind::Grpc(code) => {
            let mut res = Response::new(ResponseBody::empty());
            let h = res.headers_mut();
            h.insert(http::header::CONTENT_TYPE, HeaderValue::from_static("application/grpc"));
            h.insert("grpc-status", HeaderValue::from(u16::from(code)));
            h.insert("grpc-message", HeaderValue::from_static("fault%20filter%20abort"));
            res
        }
        AbortKind::Http(status) => {
            let mut res =
                Response::new(if grpc { ResponseBody::empty() } else { ResponseBody::full("fault filter abort") });
            *res.status_mut() = http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::SERVICE_UNAVAILABLE);
            res
        }
    }
}

impl<S> Service<Request<RequestBody>> for FaultService<S>
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
        let (fault, grpc): (Option<FaultPolicy>, bool) = match req.extensions().get::<RouteDecision>() {
            Some(d) => (d.route().action().fault, d.grpc),
            None => (None, false),
        };
        let Some(fault) = fault else { return Staged::inner(self.inner.call(req)) };
        let delay = fault.delay.filter(|d| d.percentage.hit(fastrand::u64(..))).map(|d| d.duration);
        let abort = fault.abort.filter(|a| a.percentage.hit(fastrand::u64(..))).map(|a| a.kind);
        match (delay, abort) {
            (None, None) => Staged::inner(self.inner.call(req)),
            (None, Some(kind)) => Staged::ready(Ok(abort_response(kind, grpc))),
            (Some(delay), abort) => {
                // The inner service was made ready for this call; move that clone into
                // the future and leave a fresh clone behind (tower's clone-swap idiom).
                let clone = self.inner.clone();
                let mut inner = std::mem::replace(&mut self.inner, clone);
                Staged::boxed(async move {
                    tokio::time::sleep(delay).await;
                    match abort {
                        Some(kind) => Ok(abort_response(kind, grpc)),
                        None => inner.call(req).await,
                    }
                })
            }
        }
    }
}
