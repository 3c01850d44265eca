//! The server's policy from the control plane: its inbound Listener (gRFC A36), whose
//! filter chains say which connections are accepted (PeerAuthentication) and whose RBAC
//! filters say who may call what (AuthorizationPolicy).

use std::net::SocketAddr;

use mesh_core::authz::ServerPolicy;
use mesh_xds::client::{ServerState, XdsClient};

use super::ServerPolicyHandle;

/// Why the server's policy could not be obtained.
#[derive(Debug, thiserror::Error)]
pub enum ServerXdsError {
    /// The xDS client stopped.
    #[error("the xDS client is not running")]
    ClientGone,
    /// The control plane has no usable listener for this server.
    #[error("inbound listener {listener}: {reason}")]
    Unavailable {
        /// The listener resource name.
        listener: String,
        /// Why.
        reason: String,
    },
}

impl ServerPolicyHandle {
    /// A handle kept up to date with the inbound listener `listener` (named with the
    /// bootstrap's `server_listener_resource_name_template`, e.g.
    /// `xds.istio.io/grpc/lds/inbound/10.0.0.1:8080`) for a server bound to `addr`.
    ///
    /// Waits for the first listener: until the control plane has said what to enforce
    /// the server must not serve (gRFC A36). Afterwards a rejected update keeps the last
    /// good policy (the xDS client NACKs it), and a deleted listener closes the server
    /// to new connections and requests (fail closed) until it comes back.
    pub async fn from_xds(client: &XdsClient, listener: &str, addr: SocketAddr) -> Result<Self, ServerXdsError> {
        let mut rx = client.watch_server(listener).await.map_err(|_| ServerXdsError::ClientGone)?;
        let first = loop {
            let state = rx.borrow_and_update().clone();
            match state {
                ServerState::Ready(l) => break l,
                ServerState::Failed(reason) => {
                    return Err(ServerXdsError::Unavailable { listener: listener.to_string(), reason });
                }
                ServerState::Pending => {}
            }
            rx.changed().await.map_err(|_| ServerXdsError::ClientGone)?;
        };
        check_address(listener, first.address, addr)?;
        let handle = ServerPolicyHandle::new(first.policy.clone());
        let weak = handle.downgrade();
        let name = listener.to_string();
        tokio::spawn(async move {
            while rx.changed().await.is_ok() {
                let Some(handle) = ServerPolicyHandle::upgrade(&weak) else { return };
                let state = rx.borrow_and_update().clone();
                match state {
                    ServerState::Ready(l) => match check_address(&name, l.address, addr) {
                        Ok(()) => {
                            tracing::info!(listener = %name, mtls = ?l.policy.mtls(), "server policy updated");
                            handle.update(l.policy.clone());
                        }
                        Err(e) => tracing::warn!(error = %e, "server policy not applied"),
                    },
                    ServerState::Failed(reason) => {
                        tracing::warn!(listener = %name, %reason, "inbound listener gone: refusing new connections");
                        handle.update(ServerPolicy { tls: None, plaintext: None, cert_provider: None });
                    }
                    ServerState::Pending => {}
                }
            }
        });
        Ok(handle)
    }
}

fn check_address(listener: &str, served: SocketAddr, bound: SocketAddr) -> Result<(), ServerXdsError> {
    // A server bound to 0.0.0.0 / [::] accepts a listener for any of its addresses.
    let ip_ok = bound.ip().is_unspecified() || served.ip() == bound.ip();
    if ip_ok && served.port() == bound.port() {
        Ok(())
    } else {
        Err(ServerXdsError::Unavailable {
            listener: listener.to_string(),
            reason: format!("its address {served} is not this server's {bound}"),
        })
    }
}
