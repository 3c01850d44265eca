//! The body types that travel through the client stack.
//!
//! Requests are erased once, at the channel's entry, into [`RequestBody`] (a boxed body,
//! or a [`ReplayBody`](super::retry::ReplayBody) when the route retries); responses come
//! back as [`ResponseBody`], which also releases the endpoint's in-flight count when the
//! response ends so that least-request balancing sees the true load.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;
use http_body_util::combinators::UnsyncBoxBody;

use super::cluster::ResourceGuard;
use super::retry::ReplayBody;
use crate::BoxError;

/// A request body inside the stack.
#[derive(Debug)]
pub struct RequestBody(ReqKind);

#[derive(Debug)]
enum ReqKind {
    Empty,
    Boxed(UnsyncBoxBody<Bytes, BoxError>),
    Replay(ReplayBody),
}

impl RequestBody {
    /// Erases any body.
    pub fn new<B>(body: B) -> Self
    where
        B: Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        if body.is_end_stream() {
            return Self(ReqKind::Empty);
        }
        Self(ReqKind::Boxed(body.map_err(Into::into).boxed_unsync()))
    }

    /// An empty body.
    pub fn empty() -> Self {
        Self(ReqKind::Empty)
    }

    pub(crate) fn replay(body: ReplayBody) -> Self {
        Self(ReqKind::Replay(body))
    }

    /// Takes the body out for wrapping, leaving an empty one.
    pub(crate) fn into_boxed(self) -> Option<UnsyncBoxBody<Bytes, BoxError>> {
        match self.0 {
            ReqKind::Empty => None,
            ReqKind::Boxed(b) => Some(b),
            ReqKind::Replay(r) => Some(r.boxed_unsync()),
        }
    }
}

impl Default for RequestBody {
    fn default() -> Self {
        Self::empty()
    }
}

impl Body for RequestBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        match &mut self.0 {
            ReqKind::Empty => Poll::Ready(None),
            ReqKind::Boxed(b) => Pin::new(b).poll_frame(cx),
            ReqKind::Replay(r) => Pin::new(r).poll_frame(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.0 {
            ReqKind::Empty => true,
            ReqKind::Boxed(b) => b.is_end_stream(),
            ReqKind::Replay(r) => r.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.0 {
            ReqKind::Empty => SizeHint::with_exact(0),
            ReqKind::Boxed(b) => b.size_hint(),
            ReqKind::Replay(r) => r.size_hint(),
        }
    }
}

/// Counts a request against an endpoint (and holds its cluster's `max_requests` slot)
/// until the response ends (or is dropped).
#[derive(Debug)]
pub(crate) struct InFlight {
    endpoint: Arc<AtomicU64>,
    _cluster: Option<ResourceGuard>,
}

impl InFlight {
    pub(crate) fn start(counter: &Arc<AtomicU64>) -> Self {
        counter.fetch_add(1, Ordering::Relaxed);
        Self { endpoint: counter.clone(), _cluster: None }
    }

    /// Also holds the cluster's request slot until the response ends.
    pub(crate) fn holding(mut self, slot: ResourceGuard) -> Self {
        self._cluster = Some(slot);
        self
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.endpoint.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The body of a response returned by the mesh: the endpoint's body, or a body the mesh
/// made itself (fault aborts).
#[derive(Debug)]
pub struct ResponseBody(ResKind);

#[derive(Debug)]
enum ResKind {
    Upstream { body: hyper::body::Incoming, in_flight: Option<InFlight> },
    Full(Option<Bytes>),
}

impl ResponseBody {
    pub(crate) fn upstream(body: hyper::body::Incoming, in_flight: InFlight) -> Self {
        Self(ResKind::Upstream { body, in_flight: Some(in_flight) })
    }

    /// A body made by the mesh.
    pub fn full(bytes: impl Into<Bytes>) -> Self {
        Self(ResKind::Full(Some(bytes.into())))
    }

    /// An empty body.
    pub fn empty() -> Self {
        Self(ResKind::Full(None))
    }
}

impl Body for ResponseBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        match &mut self.0 {
            ResKind::Upstream { body, in_flight } => {
                let polled = Pin::new(body).poll_frame(cx);
                if let Poll::Ready(frame) = &polled {
                    let ended = match frame {
                        None | Some(Err(_)) => true,
                        Some(Ok(f)) => f.is_trailers(),
                    };
                    if ended {
                        in_flight.take();
                    }
                }
                polled.map_err(Into::into)
            }
            ResKind::Full(bytes) => Poll::Ready(bytes.take().filter(|b| !b.is_empty()).map(|b| Ok(Frame::data(b)))),
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.0 {
            ResKind::Upstream { body, .. } => body.is_end_stream(),
            ResKind::Full(b) => b.as_ref().is_none_or(Bytes::is_empty),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.0 {
            ResKind::Upstream { body, .. } => body.size_hint(),
            ResKind::Full(b) => SizeHint::with_exact(b.as_ref().map_or(0, |b| b.len() as u64)),
        }
    }
}
