use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::uri::{Authority, Scheme};
use http::{Request, Response, Uri};
use tower_layer::Layer;
use tower_service::Service;

use super::balance::BalanceService;
use super::cluster::{ClusterLayer, ClusterService};
use super::fault::{FaultLayer, FaultService};
use super::future::Staged;
use super::mirror::{MirrorLayer, MirrorService, MirrorStats};
use super::request::is_grpc;
use super::retry::{DEFAULT_REPLAY_CAP, RetryLayer, RetryService};
use super::route::{RouteLayer, RouteService};
use super::timeout::{TimeoutLayer, TimeoutService};
use super::{ConfigHandle, RequestBody, ResponseBody};
use crate::{BoxError, MeshError};

type Stack = RouteService<FaultService<MirrorService<TimeoutService<RetryService<ClusterService<BalanceService>>>>>>;

/// A channel through the mesh: a `tower::Service<http::Request<B>>` that routes,
/// balances, retries, times out and injects faults per the configuration of its
/// [`ConfigHandle`].
///
/// It is also a tonic `GrpcService` (tonic implements that for every such service), so
/// generated tonic clients work unchanged: `GreeterClient::new(channel)`. Requests
/// without an authority (tonic sends only the path) get the channel's target authority.
///
/// Errors are [`MeshError`]s; for gRPC requests they arrive as a `tonic::Status` with
/// the matching code (`UNIMPLEMENTED` for no route, `UNAVAILABLE` for no endpoint,
/// `DEADLINE_EXCEEDED` for timeouts) whose `source()` is the `MeshError`.
/// [`MeshError::find`] gets it back from either.
///
/// Cloning is cheap; clones share configuration and connections.
#[derive(Debug, Clone)]
pub struct MeshChannel {
    stack: Stack,
    authority: Option<Authority>,
    config: ConfigHandle,
    mirror_stats: tokio::sync::watch::Receiver<MirrorStats>,
}

/// Configures a [`MeshChannel`].
#[derive(Debug, Clone)]
pub struct MeshChannelBuilder {
    config: ConfigHandle,
    authority: Option<Authority>,
    replay_cap: usize,
}

impl MeshChannelBuilder {
    /// The authority (`host:port`) for requests that carry none, e.g. from tonic.
    pub fn authority(mut self, authority: &str) -> Result<Self, BoxError> {
        self.authority = Some(authority.parse::<Authority>().map_err(|e| format!("authority {authority:?}: {e}"))?);
        Ok(self)
    }

    /// Bytes of each request body kept so the request can be retried or mirrored
    /// (default 64 KiB).
    #[must_use]
    pub fn replay_cap(mut self, bytes: usize) -> Self {
        self.replay_cap = bytes;
        self
    }

    /// Builds the channel.
    pub fn build(self) -> MeshChannel {
        let mirror = MirrorLayer::new(self.replay_cap);
        let mirror_stats = mirror.stats();
        let stack =
            RouteLayer::new(self.config.clone()).layer(FaultLayer::new().layer(
                mirror.layer(
                    TimeoutLayer::new().layer(
                        RetryLayer::new(self.replay_cap).layer(ClusterLayer::new().layer(BalanceService::new())),
                    ),
                ),
            ));
        MeshChannel { stack, authority: self.authority, config: self.config, mirror_stats }
    }
}

impl MeshChannel {
    /// A channel with default settings.
    pub fn new(config: ConfigHandle) -> Self {
        Self::builder(config).build()
    }

    /// A builder.
    pub fn builder(config: ConfigHandle) -> MeshChannelBuilder {
        MeshChannelBuilder { config, authority: None, replay_cap: DEFAULT_REPLAY_CAP }
    }

    /// The configuration handle.
    pub fn config(&self) -> &ConfigHandle {
        &self.config
    }

    /// What happened to the copies of mirrored requests sent through this channel (and
    /// its clones): the current counts, and a way to wait for a change.
    pub fn mirror_stats(&self) -> tokio::sync::watch::Receiver<MirrorStats> {
        self.mirror_stats.clone()
    }

    fn complete_uri(&self, uri: Uri, host: Option<&http::HeaderValue>) -> Result<Uri, MeshError> {
        if uri.authority().is_some() && uri.scheme().is_some() {
            return Ok(uri);
        }
        let mut parts = uri.into_parts();
        if parts.authority.is_none() {
            let from_host = host.and_then(|h| h.to_str().ok()).and_then(|h| h.parse::<Authority>().ok());
            parts.authority = Some(from_host.or_else(|| self.authority.clone()).ok_or(MeshError::MissingAuthority)?);
        }
        if parts.scheme.is_none() {
            parts.scheme = Some(Scheme::HTTP);
        }
        if parts.path_and_query.is_none() {
            parts.path_and_query = Some(http::uri::PathAndQuery::from_static("/"));
        }
        Uri::from_parts(parts).map_err(|_| MeshError::MissingAuthority)
    }
}

impl<B> Service<Request<B>> for MeshChannel
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = Response<ResponseBody>;
    type Error = BoxError;
    type Future = ResponseFuture;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        // Every stage is always ready: back-pressure comes from the endpoints' own
        // connections, and a request that cannot be served fails fast with a reason.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<B>) -> ResponseFuture {
        let grpc = is_grpc(&req);
        let (mut parts, body) = req.into_parts();
        let uri = std::mem::take(&mut parts.uri);
        parts.uri = match self.complete_uri(uri, parts.headers.get(http::header::HOST)) {
            Ok(uri) => uri,
            Err(e) => return ResponseFuture { inner: Staged::ready(Err(e)), grpc },
        };
        let req = Request::from_parts(parts, RequestBody::new(body));
        ResponseFuture { inner: self.stack.call(req), grpc }
    }
}

pin_project_lite::pin_project! {
    /// The future of a [`MeshChannel`] call.
    pub struct ResponseFuture {
        #[pin]
        inner: <Stack as Service<Request<RequestBody>>>::Future,
        grpc: bool,
    }
}

impl std::fmt::Debug for ResponseFuture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

impl Future for ResponseFuture {
    type Output = Result<Response<ResponseBody>, BoxError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let grpc = *this.grpc;
        this.inner.poll(cx).map_err(|e| -> BoxError {
            if grpc { Box::new(e.into_status()) } else { Box::new(e) }
        })
    }
}
