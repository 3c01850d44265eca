//! Building and sending the copies of one request.

use std::sync::Arc;

use http::header::HOST;
use http::uri::Authority;
use http::{HeaderValue, Method, Request, Response, Uri, Version};
use http_body::Body;
use http_body_util::BodyExt;
use tower_service::Service;

use super::MirrorCounters;
use crate::MeshError;
use crate::client::body::{RequestBody, ResponseBody};
use crate::client::request::RouteDecision;
use crate::client::retry::{NotReplayable, ReplayBody};

/// How much of a copy's response is read before it is dropped: small answers are read to
/// the end, which keeps HTTP/1.1 connections reusable; larger ones are cut off.
const DRAIN_LIMIT: usize = 64 * 1024;

/// What a copy keeps of the request: everything but the body.
pub(super) struct Head {
    method: Method,
    uri: Uri,
    version: Version,
    headers: http::HeaderMap,
    extensions: http::Extensions,
}

pub(super) fn head(parts: &http::request::Parts) -> Head {
    Head {
        method: parts.method.clone(),
        uri: parts.uri.clone(),
        version: parts.version,
        headers: parts.headers.clone(),
        extensions: parts.extensions.clone(),
    }
}

/// The copies of one request, to the mirrors at `chosen`.
pub(super) struct Copies<S> {
    pub(super) inner: S,
    pub(super) head: Head,
    pub(super) decision: RouteDecision,
    pub(super) chosen: Vec<usize>,
    pub(super) body: ReplayBody,
    pub(super) counters: Arc<MirrorCounters>,
}

impl<S> Copies<S>
where
    S: Service<Request<RequestBody>, Response = Response<ResponseBody>, Error = MeshError> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    /// Waits for the request's body, then sends one copy per chosen mirror.
    pub(super) async fn run(self) {
        let Self { inner, head, decision, chosen, body, counters } = self;
        let n = chosen.len() as u64;
        let body = match body.finished().await {
            Ok(body) => body,
            Err(why) => {
                tracing::debug!(?why, copies = n, "request not mirrored: its body cannot be replayed");
                counters.add(|s| match why {
                    NotReplayable::TooLarge => s.body_too_large += n,
                    NotReplayable::Unfinished => s.body_unfinished += n,
                });
                return;
            }
        };
        // One task per copy: a slow mirror does not hold back another.
        for i in chosen {
            let req = request(&head, &decision, i, body.handle());
            tokio::spawn(send(inner.clone(), req, counters.clone()));
        }
    }
}

/// The copy of the request for the mirror at index `mirror` of the route.
fn request(head: &Head, decision: &RouteDecision, mirror: usize, body: ReplayBody) -> Request<RequestBody> {
    let policy = &decision.route().action().mirrors[mirror];
    let mut req = Request::new(RequestBody::replay(body));
    *req.method_mut() = head.method.clone();
    *req.version_mut() = head.version;
    *req.headers_mut() = head.headers.clone();
    *req.extensions_mut() = head.extensions.clone();
    let authority = match head.uri.authority() {
        Some(a) => a.as_str(),
        None => head.headers.get(HOST).and_then(|h| h.to_str().ok()).unwrap_or_default(),
    };
    let shadow = policy.authority(authority);
    let mut parts = head.uri.clone().into_parts();
    match shadow.parse::<Authority>() {
        Ok(a) => parts.authority = Some(a),
        // `[::1]-shadow:80` is no URI authority; the Host header carries it.
        Err(_) => tracing::debug!(shadow, "mirror authority is not a URI authority; sent in Host only"),
    }
    *req.uri_mut() = Uri::from_parts(parts).unwrap_or_else(|_| head.uri.clone());
    let in_uri = req.uri().authority().map(Authority::as_str) == Some(shadow.as_str());
    if (req.headers().contains_key(HOST) || !in_uri)
        && let Ok(v) = HeaderValue::from_str(&shadow)
    {
        req.headers_mut().insert(HOST, v);
    }
    let mut decision = decision.clone();
    decision.mirror = Some(mirror);
    req.extensions_mut().insert(decision);
    req
}

/// Sends one copy; its response is read (bounded) and dropped.
async fn send<S>(mut svc: S, req: Request<RequestBody>, counters: Arc<MirrorCounters>)
where
    S: Service<Request<RequestBody>, Response = Response<ResponseBody>, Error = MeshError>,
{
    let result = match std::future::poll_fn(|cx| svc.poll_ready(cx)).await {
        Ok(()) => svc.call(req).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(res) => {
            counters.add(|s| s.answered += 1);
            drain(res.into_body()).await;
        }
        Err(e) => {
            tracing::debug!(error = %e, "mirrored copy failed");
            counters.add(|s| s.failed += 1);
        }
    }
}

async fn drain(mut body: ResponseBody) {
    let mut read = 0;
    while read <= DRAIN_LIMIT && !body.is_end_stream() {
        match body.frame().await {
            Some(Ok(frame)) => read += frame.data_ref().map_or(0, bytes::Bytes::len),
            Some(Err(_)) | None => return,
        }
    }
}
