//! A control plane for tests and benches: mesh-xds's ADS server over a snapshot cache,
//! on its own runtime and thread, so that killing it closes every connection at once, as
//! if the process died.
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::sync::Arc;

use mesh_xds::server::{AdsServer, SnapshotCache};
use tokio::net::TcpListener;

/// A control plane on loopback that can be killed and restarted on the same port.
pub struct ControlPlane {
    /// The resources served.
    pub cache: Arc<SnapshotCache>,
    /// The server (client status, events).
    pub server: AdsServer,
    /// Where it listens.
    pub addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl ControlPlane {
    /// Starts on 127.0.0.1:0.
    pub async fn start() -> Self {
        Self::serve(Arc::new(SnapshotCache::new()), "127.0.0.1:0".parse().unwrap()).await
    }

    /// Serves `cache` on `addr` (e.g. the address of a killed one).
    pub async fn serve(cache: Arc<SnapshotCache>, addr: SocketAddr) -> Self {
        let listener = std::net::TcpListener::bind(addr).expect("bind");
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let server = AdsServer::new(cache.clone());
        let svc = server.clone().into_service();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async move {
                let listener = TcpListener::from_std(listener).unwrap();
                let serve = tonic::transport::Server::builder()
                    .add_service(svc)
                    .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener));
                tokio::select! {
                    _ = serve => {}
                    _ = stopped => {}
                }
            });
            // Dropping the runtime drops every connection task: sockets close.
            rt.shutdown_background();
        });
        Self { cache, server, addr, stop: Some(stop), thread: Some(thread) }
    }

    /// Kills the server: connections drop as if the process died.
    pub fn kill(mut self) -> (Arc<SnapshotCache>, SocketAddr) {
        self.shutdown();
        (self.cache.clone(), self.addr)
    }

    fn shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }

    /// `http://addr`.
    pub fn uri(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for ControlPlane {
    fn drop(&mut self) {
        self.shutdown();
    }
}
