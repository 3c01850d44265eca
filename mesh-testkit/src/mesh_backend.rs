//! Backends behind the mesh's server side: a [`MeshListener`] (PeerAuthentication mode,
//! TLS with an identity store) and [`MeshServerLayer`] (path normalization,
//! authorization) in front of the Echo gRPC service or an axum app.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Extension;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use mesh_tls::identity::IdentityStore;
use mesh_tower::server::{MeshListener, MeshServerLayer, PeerInfo, ServerPolicyHandle, serve};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tower::Layer;

use crate::backend::{BackendState, Failure};
use crate::echo::EchoServer;

/// A backend served through the mesh's server side; stops when dropped.
#[derive(Debug)]
pub struct MeshBackend {
    addr: SocketAddr,
    state: Arc<BackendState>,
    policy: ServerPolicyHandle,
    _stop: oneshot::Sender<()>,
}

impl MeshBackend {
    /// Its address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
    /// Its state.
    pub fn state(&self) -> &Arc<BackendState> {
        &self.state
    }
    /// Its policy (live: update it to change mode or authorization).
    pub fn policy(&self) -> &ServerPolicyHandle {
        &self.policy
    }

    async fn listener(
        policy: &ServerPolicyHandle,
        identity: Option<&Arc<IdentityStore>>,
    ) -> std::io::Result<(SocketAddr, MeshListener)> {
        Self::listener_on(TcpListener::bind("127.0.0.1:0").await?, policy, identity)
    }

    fn listener_on(
        tcp: TcpListener,
        policy: &ServerPolicyHandle,
        identity: Option<&Arc<IdentityStore>>,
    ) -> std::io::Result<(SocketAddr, MeshListener)> {
        let addr = tcp.local_addr()?;
        let mut listener = MeshListener::new(tcp, policy.clone());
        if let Some(store) = identity {
            listener = listener.with_identity(store);
        }
        Ok((addr, listener))
    }

    /// The Echo gRPC service on tonic's server, named `name`.
    pub async fn grpc(
        name: &str,
        policy: ServerPolicyHandle,
        identity: Option<&Arc<IdentityStore>>,
    ) -> std::io::Result<Self> {
        Self::grpc_on(TcpListener::bind("127.0.0.1:0").await?, name, policy, identity)
    }

    /// As [`grpc`](Self::grpc), on a listener the caller bound (so it could register the
    /// address with a control plane first).
    pub fn grpc_on(
        tcp: TcpListener,
        name: &str,
        policy: ServerPolicyHandle,
        identity: Option<&Arc<IdentityStore>>,
    ) -> std::io::Result<Self> {
        let (addr, listener) = Self::listener_on(tcp, &policy, identity)?;
        let state = Arc::new(BackendState::new(name));
        let (tx, rx) = oneshot::channel::<()>();
        let svc = EchoServer::new(state.clone());
        let layer = MeshServerLayer::new(policy.clone());
        tokio::spawn(async move {
            let _ = tonic::transport::Server::builder()
                .layer(layer)
                .add_service(svc)
                .serve_with_incoming_shutdown(listener.incoming(), async {
                    let _ = rx.await;
                })
                .await;
        });
        Ok(Self { addr, state, policy, _stop: tx })
    }

    /// An axum app, named `name`: every path answers 200 (or the scripted failure) with
    /// `x-served-by`, `x-seen-path` (the path the app received), `x-peer-identity` and
    /// `x-peer-tls` (from [`PeerInfo`]).
    pub async fn http(
        name: &str,
        policy: ServerPolicyHandle,
        identity: Option<&Arc<IdentityStore>>,
    ) -> std::io::Result<Self> {
        let (addr, listener) = Self::listener(&policy, identity).await?;
        let state = Arc::new(BackendState::new(name));
        let (tx, rx) = oneshot::channel::<()>();
        let app = axum::Router::new().fallback(handler).with_state(state.clone());
        let app = MeshServerLayer::new(policy.clone()).layer(app);
        tokio::spawn(async move {
            tokio::select! {
                _ = serve(listener, app) => {}
                _ = rx => {}
            }
        });
        Ok(Self { addr, state, policy, _stop: tx })
    }
}

async fn handler(
    State(state): State<Arc<BackendState>>,
    peer: Option<Extension<PeerInfo>>,
    uri: Uri,
) -> (StatusCode, HeaderMap, String) {
    let status = match state.begin().await {
        None => StatusCode::OK,
        Some(Failure::Unavailable) => StatusCode::SERVICE_UNAVAILABLE,
        Some(Failure::Internal) => StatusCode::INTERNAL_SERVER_ERROR,
    };
    let mut h = HeaderMap::new();
    let mut put = |k: &'static str, v: &str| {
        if let Ok(v) = v.parse() {
            h.insert(k, v);
        }
    };
    put("x-served-by", state.name());
    put("x-seen-path", uri.path_and_query().map_or("", |p| p.as_str()));
    if let Some(Extension(p)) = &peer {
        put("x-peer-tls", if p.tls { "true" } else { "false" });
        put("x-peer-identity", p.identity.as_ref().map_or("", |i| i.as_str()));
    }
    (status, h, state.name().to_string())
}
