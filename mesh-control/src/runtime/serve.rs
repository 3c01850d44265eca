//! The two servers — ADS (gRPC, tonic) and admin (HTTP, axum) — on listeners bound
//! beforehand (so port 0 works), both stopping gracefully on `stop` and dropping whatever
//! connections remain on `cut` (see [`Severable`]).

use axum::Router;
use mesh_xds::server::AdsServer;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_stream::StreamExt;
use tonic::transport::server::TcpIncoming;

use super::severable::{Severable, SeverableListener};

/// Resolves when `signal` turns true or its sender is gone.
async fn fired(mut signal: watch::Receiver<bool>) {
    let _ = signal.wait_for(|fired| *fired).await;
}

/// Serves ADS on `listener` (TCP_NODELAY: responses are small and latency matters).
pub(crate) fn spawn_xds(
    listener: TcpListener,
    ads: AdsServer,
    stop: watch::Receiver<bool>,
    cut: watch::Receiver<bool>,
) -> JoinHandle<()> {
    let incoming = TcpIncoming::from(listener)
        .with_nodelay(Some(true))
        .map(move |conn| conn.map(|io| Severable::new(io, cut.clone())));
    tokio::spawn(async move {
        let served = tonic::transport::Server::builder()
            .add_service(ads.into_service())
            .serve_with_incoming_shutdown(incoming, fired(stop))
            .await;
        if let Err(error) = served {
            tracing::error!(%error, "the xDS server failed");
        }
    })
}

/// Serves `router` on `listener`.
pub(crate) fn spawn_admin(
    listener: TcpListener,
    router: Router,
    stop: watch::Receiver<bool>,
    cut: watch::Receiver<bool>,
) -> JoinHandle<()> {
    let listener = SeverableListener { listener, cut };
    tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, router).with_graceful_shutdown(fired(stop)).await {
            tracing::error!(%error, "the admin server failed");
        }
    })
}
