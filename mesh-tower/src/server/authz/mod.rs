//! `MeshServerLayer`: the server side's request stage — path normalization and
//! authorization (Istio AuthorizationPolicy, compiled to RBAC) before the application.
//!
//! Where it sits: after the [`MeshListener`](super::MeshListener) has applied the
//! PeerAuthentication mode and attached [`PeerInfo`], and before the user's tonic or axum
//! service. Why normalize here: a policy on `/admin` means nothing if `//admin`,
//! `/a/../admin` or `/%61dmin` reach the application unchecked. So the path is normalized
//! once (Envoy's `normalize_path` + `merge_slashes`, escaped slashes rejected by
//! default), the normalized path is what policies see, and the request forwarded to the
//! application carries *exactly that path* — what was authorized is what runs.
//!
//! A denial answers `403 RBAC: access denied` (HTTP) or `PERMISSION_DENIED` (gRPC,
//! trailers-only), logs one line with the peer and the matched policy, and is counted in
//! [`ServerStats`](super::ServerStats). A path that cannot be normalized safely answers
//! 400 (HTTP) or `INVALID_ARGUMENT` (gRPC).

mod deny;

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::{Request, Response};
use http_body_util::{Either, Full};
use mesh_core::authz::{AuthzRequest, Decision, is_normalized, normalize_path};
use mesh_core::matcher::RequestAttributes;
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

use super::PeerInfo;
use super::policy::{ServerPolicyHandle, bump};

/// The response body of a [`MeshServerService`]: the application's, or a denial's.
pub type ServerBody<B> = Either<B, Full<bytes::Bytes>>;

/// Wraps a service with path normalization and authorization (see the module docs).
#[derive(Debug, Clone)]
pub struct MeshServerLayer {
    policy: ServerPolicyHandle,
}

impl MeshServerLayer {
    /// A layer enforcing `policy` (the same handle the listener uses).
    pub fn new(policy: ServerPolicyHandle) -> Self {
        Self { policy }
    }
}

impl<S> Layer<S> for MeshServerLayer {
    type Service = MeshServerService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        MeshServerService { inner, policy: self.policy.clone() }
    }
}

/// The service made by [`MeshServerLayer`].
#[derive(Debug, Clone)]
pub struct MeshServerService<S> {
    inner: S,
    policy: ServerPolicyHandle,
}

struct Headers<'a>(&'a http::HeaderMap);

impl RequestAttributes for Headers<'_> {
    fn authority(&self) -> &str {
        ""
    }
    fn path(&self) -> &str {
        ""
    }
    fn query(&self) -> Option<&str> {
        None
    }
    fn method(&self) -> &str {
        ""
    }
    fn for_each_header_value(&self, name: &str, f: &mut dyn FnMut(&str)) {
        for v in self.0.get_all(name) {
            if let Ok(s) = v.to_str() {
                f(s);
            }
        }
    }
}

fn authority<B>(req: &Request<B>) -> &str {
    match req.uri().authority() {
        Some(a) => a.as_str(),
        None => req.headers().get(http::header::HOST).and_then(|h| h.to_str().ok()).unwrap_or(""),
    }
}

impl<S, B, RB> Service<Request<B>> for MeshServerService<S>
where
    S: Service<Request<B>, Response = Response<RB>>,
{
    type Response = Response<ServerBody<RB>>;
    type Error = S::Error;
    type Future = ServerFuture<S::Future, RB, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        let policy = self.policy.current();
        let stats = self.policy.stats();
        let grpc = deny::is_grpc(&req);
        let peer = req.extensions().get::<PeerInfo>();
        let tls = peer.is_some_and(|p| p.tls);
        let Some(conn) = policy.for_connection(tls) else {
            // The mode changed since the connection was accepted: it is no longer allowed.
            bump(&stats.denied);
            tracing::info!(tls, "request refused: connections of this kind are no longer accepted");
            return ServerFuture::ready(deny::forbidden(grpc));
        };
        // Most paths are already normal: checked without allocating, forwarded as they are.
        let normalized = if is_normalized(req.uri().path()) {
            None
        } else {
            let raw = req.uri().path_and_query().map_or("/", |pq| pq.as_str());
            match normalize_path(raw, &conn.path) {
                Ok(n) => Some(n),
                Err(rejection) => {
                    bump(&stats.bad_path);
                    tracing::info!(path = raw, reason = rejection.reason, "request refused: unsafe path");
                    return ServerFuture::ready(deny::bad_path(grpc, &rejection.to_string()));
                }
            }
        };
        let path = normalized.as_ref().map_or(req.uri().path(), |n| n.path.as_str());
        let query = normalized.as_ref().map_or(req.uri().query(), |n| n.query.as_deref());
        let headers = Headers(req.headers());
        let direct = peer.map(|p| p.remote.ip());
        let authz = AuthzRequest {
            method: req.method().as_str(),
            path,
            query,
            authority: authority(&req),
            headers: &headers,
            destination_port: peer.map_or(0, |p| p.local.port()),
            direct_remote: direct,
            remote: direct.map(|d| conn.remote_address.resolve(d, &headers)),
            principal: peer.and_then(|p| p.identity.as_ref()).map(|i| i.as_str()),
            authenticated: peer.is_some_and(PeerInfo::is_authenticated),
            sni: peer.and_then(|p| p.sni.as_deref()),
            request_principal: None,
        };
        let decision = conn.authz.evaluate(&authz);
        match decision {
            Decision::Allow { logged } => {
                if !logged.is_empty() {
                    bump(&stats.audited);
                    tracing::info!(path, policies = ?logged, "AUDIT: request matched audit policy");
                }
                bump(&stats.allowed);
            }
            Decision::Deny { action, policy: matched, .. } => {
                bump(&stats.denied);
                tracing::info!(
                    method = %req.method(),
                    path,
                    peer = authz.principal.unwrap_or("-"),
                    remote = ?authz.direct_remote,
                    ?action,
                    policy = matched.as_deref().unwrap_or("-"),
                    "RBAC: access denied"
                );
                return ServerFuture::ready(deny::forbidden(grpc));
            }
        }
        // Forward exactly the path that was authorized.
        if let Some(normalized) = normalized.filter(|n| n.path != req.uri().path()) {
            let pq = normalized.path_and_query();
            let mut parts = req.uri().clone().into_parts();
            match pq.parse() {
                Ok(pq) => parts.path_and_query = Some(pq),
                Err(_) => return ServerFuture::ready(deny::bad_path(grpc, "normalized path is not a valid URI")),
            }
            match http::Uri::from_parts(parts) {
                Ok(uri) => *req.uri_mut() = uri,
                Err(_) => return ServerFuture::ready(deny::bad_path(grpc, "normalized path is not a valid URI")),
            }
        }
        ServerFuture::inner(self.inner.call(req))
    }
}

pin_project! {
    /// The future of [`MeshServerService`].
    pub struct ServerFuture<F, RB, E> {
        #[pin]
        state: State<F, RB, E>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<F, RB, E> {
        Ready { response: Option<Result<Response<ServerBody<RB>>, E>> },
        Inner { #[pin] future: F },
    }
}

impl<F, RB, E> ServerFuture<F, RB, E> {
    fn ready(response: Response<Full<bytes::Bytes>>) -> Self {
        Self { state: State::Ready { response: Some(Ok(response.map(Either::Right))) } }
    }

    fn inner(future: F) -> Self {
        Self { state: State::Inner { future } }
    }
}

impl<F, RB, E> Future for ServerFuture<F, RB, E>
where
    F: Future<Output = Result<Response<RB>, E>>,
{
    type Output = Result<Response<ServerBody<RB>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            StateProj::Ready { response } => match response.take() {
                Some(r) => Poll::Ready(r),
                None => Poll::Pending,
            },
            StateProj::Inner { future } => future.poll(cx).map(|r| r.map(|res| res.map(Either::Left))),
        }
    }
}
