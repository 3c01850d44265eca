//! Serving any HTTP service (an axum `Router`, tonic `Routes`, a hyper service) on a
//! [`MeshListener`]: HTTP/1.1 and HTTP/2 on every connection, [`PeerInfo`] in each
//! request's extensions.

use std::convert::Infallible;

use http::{Request, Response};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio_stream::StreamExt;
use tower_service::Service;

use super::{MeshListener, PeerInfo};
use crate::BoxError;

/// Serves `service` on `listener` until the listener stops. Each connection gets a
/// clone of `service`; errors of one connection are logged and do not stop the others.
pub async fn serve<S, B>(listener: MeshListener, service: S)
where
    S: Service<Request<Incoming>, Response = Response<B>, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    let mut incoming = listener.incoming();
    while let Some(conn) = incoming.next().await {
        let Ok(io) = conn else { continue };
        let peer = io.peer().clone();
        let service = service.clone();
        tokio::spawn(async move {
            let svc = hyper::service::service_fn(move |mut req: Request<Incoming>| {
                req.extensions_mut().insert::<PeerInfo>(peer.clone());
                let mut service = service.clone();
                async move { service.call(req).await }
            });
            let remote = io.peer().remote;
            if let Err(e) = auto::Builder::new(TokioExecutor::new()).serve_connection(TokioIo::new(io), svc).await {
                tracing::debug!(%remote, error = %e, "connection ended with an error");
            }
        });
    }
}
