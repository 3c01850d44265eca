//! The first stage: matches the request against the current route table and records
//! the outcome as a [`RouteDecision`] in the request's extensions.
//!
//! This is also where the request is pinned to a configuration: the decision holds the
//! configuration that was current when the request arrived, and every later stage —
//! including retries — reads that one. The weighted destination and the ring-hash key
//! are chosen here, once per request (as Envoy's router does), so that retries stay
//! within the same destination but may pick another endpoint of it.
//!
//! After the choice the route's changes apply (see [`rewrite`]): request header
//! mutations — the chosen destination's own first, then the route's, as Envoy evaluates
//! a weighted cluster's before its route's — then the prefix or regex path rewrite and
//! the host rewrite; a redirect route answers at once without calling the next stage;
//! response header mutations (destination's, then route's) wrap the next stage's future
//! (boxed only for routes that have them, so the common path stays allocation-free).

mod rewrite;

use std::task::{Context, Poll};

use http::{Request, Response};
use mesh_core::lb::hash_key;
use mesh_core::route::HashPolicy;
use tower_layer::Layer;
use tower_service::Service;

use super::ConfigHandle;
use super::body::{RequestBody, ResponseBody};
use super::future::Staged;
use super::request::{HttpAttributes, RouteDecision, is_grpc};
use crate::MeshError;

/// Layer for [`RouteService`].
#[derive(Debug, Clone)]
pub struct RouteLayer {
    config: ConfigHandle,
}

impl RouteLayer {
    /// Routes with the configuration of `config`.
    pub fn new(config: ConfigHandle) -> Self {
        Self { config }
    }
}

impl<S> Layer<S> for RouteLayer {
    type Service = RouteService<S>;
    fn layer(&self, inner: S) -> RouteService<S> {
        RouteService { config: self.config.clone(), inner }
    }
}

/// The route stage.
#[derive(Debug, Clone)]
pub struct RouteService<S> {
    config: ConfigHandle,
    inner: S,
}

impl<S> Service<Request<RequestBody>> for RouteService<S>
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
        let resolved = self.config.resolved();
        let (vhost, route) = match resolved.snapshot.routes().route_index(&HttpAttributes(&req)) {
            Ok(found) => found,
            Err(no_route) => {
                tracing::debug!(%no_route, "no route");
                return Staged::ready(Err(MeshError::NoRoute(no_route)));
            }
        };
        let chosen = resolved.snapshot.routes().route_at(vhost, route);
        let action = chosen.action();
        if let Some(r) = &action.redirect {
            let mut resp = rewrite::redirect(&req, r, chosen.matcher());
            rewrite::apply_headers(&action.response_headers, resp.headers_mut());
            return Staged::ready(Ok(resp));
        }
        let destination = action.destinations.pick_index(fastrand::u64(..));
        let hash = action.hash_policy.iter().find_map(|p| match p {
            HashPolicy::Header(name) => req.headers().get(name.as_str()).map(|v| hash_key(v.as_bytes())),
        });
        let grpc = is_grpc(&req);
        let to_destination = action.destinations.headers(destination);
        if let Some(h) = to_destination {
            rewrite::apply_headers(&h.request, req.headers_mut());
        }
        rewrite::rewrite_request(&mut req, action, chosen.matcher());
        let respond = (!action.response_headers.is_empty() || to_destination.is_some_and(|h| !h.response.is_empty()))
            .then(|| resolved.clone());
        req.extensions_mut().insert(RouteDecision { resolved, vhost, route, destination, mirror: None, hash, grpc });
        let future = self.inner.call(req);
        match respond {
            None => Staged::inner(future),
            Some(resolved) => Staged::boxed(async move {
                let mut resp = future.await?;
                let action = resolved.snapshot.routes().route_at(vhost, route).action();
                // Envoy's order: the weighted destination's changes, then the route's.
                if let Some(h) = action.destinations.headers(destination) {
                    rewrite::apply_headers(&h.response, resp.headers_mut());
                }
                rewrite::apply_headers(&action.response_headers, resp.headers_mut());
                Ok(resp)
            }),
        }
    }
}
