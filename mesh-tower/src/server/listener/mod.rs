//! Accepting connections the way a PeerAuthentication mode says.
//!
//! - `STRICT`: TLS with a client certificate that verifies against the trust bundle
//!   (mTLS); plaintext is refused.
//! - `PERMISSIVE`: both on one port. The first byte tells them apart without consuming
//!   it (`peek`): a TLS record starts with `0x16` (handshake), which no HTTP/1 method and
//!   not the HTTP/2 preface does. TLS connections must still present a client
//!   certificate, as Istio's sidecar requires on its mTLS filter chain.
//! - `DISABLE`: plaintext only.
//!
//! The mode is read from the [`ServerPolicyHandle`] for each connection, so a
//! PeerAuthentication change applies to the next connection. Handshakes run in their own
//! task (a slow or silent client never stalls the accept loop) under a timeout, and
//! their outcome is counted.

mod io;

use std::io as stdio;
use std::sync::Arc;
use std::time::Duration;

use mesh_core::authz::MtlsMode;
use mesh_tls::identity::{IdentityStore, spiffe_id_from_der};
use mesh_tls::verify::{AlpnProtocols, server_config};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_stream::wrappers::ReceiverStream;

pub use io::MeshIo;

use super::PeerInfo;
use super::policy::{ServerPolicyHandle, bump};

/// The first byte of a TLS handshake record.
const TLS_HANDSHAKE: u8 = 0x16;

/// A TCP listener that applies the server's PeerAuthentication mode to every
/// connection and yields [`MeshIo`] streams carrying their [`PeerInfo`].
pub struct MeshListener {
    listener: TcpListener,
    policy: ServerPolicyHandle,
    tls: Option<TlsAcceptor>,
    handshake_timeout: Duration,
}

impl std::fmt::Debug for MeshListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MeshListener")
            .field("listener", &self.listener)
            .field("tls", &self.tls.is_some())
            .field("handshake_timeout", &self.handshake_timeout)
            .finish()
    }
}

/// The accepted connections, ready for HTTP (`tonic`'s `serve_with_incoming`, or
/// [`serve`](super::serve)).
pub type MeshIncoming = ReceiverStream<stdio::Result<MeshIo>>;

impl MeshListener {
    /// A listener applying `policy`. Without [`with_identity`](Self::with_identity) it
    /// can only serve plaintext (STRICT then refuses everything: fail closed).
    pub fn new(listener: TcpListener, policy: ServerPolicyHandle) -> Self {
        Self { listener, policy, tls: None, handshake_timeout: Duration::from_secs(10) }
    }

    /// Serves TLS with the certificate and trust bundle of `store` (both hot-swapped).
    pub fn with_identity(mut self, store: &Arc<IdentityStore>) -> Self {
        self.tls = Some(TlsAcceptor::from(server_config(store, true, AlpnProtocols::Http)));
        self
    }

    /// How long a TLS handshake (or the first byte, in PERMISSIVE mode) may take.
    pub fn handshake_timeout(mut self, timeout: Duration) -> Self {
        self.handshake_timeout = timeout;
        self
    }

    /// The bound address.
    pub fn local_addr(&self) -> stdio::Result<std::net::SocketAddr> {
        self.listener.local_addr()
    }

    /// Starts accepting. Connections that fail their handshake or are refused by the
    /// mode are logged and counted, never yielded.
    pub fn incoming(self) -> MeshIncoming {
        let (tx, rx) = mpsc::channel(64);
        tokio::spawn(accept_loop(self, tx));
        ReceiverStream::new(rx)
    }
}

async fn accept_loop(this: MeshListener, tx: mpsc::Sender<stdio::Result<MeshIo>>) {
    let this = Arc::new(this);
    loop {
        let (tcp, remote) = tokio::select! {
            accepted = this.listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: back off a little and go on.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = tx.closed() => return,
        };
        let this = this.clone();
        let tx = tx.clone();
        tokio::spawn(async move {
            let _ = tcp.set_nodelay(true);
            match this.admit(tcp, remote).await {
                Ok(Some(io)) => {
                    let _ = tx.send(Ok(io)).await;
                }
                Ok(None) => {}
                Err(e) => tracing::debug!(%remote, error = %e, "connection refused"),
            }
        });
    }
}

impl MeshListener {
    async fn admit(&self, tcp: TcpStream, remote: std::net::SocketAddr) -> stdio::Result<Option<MeshIo>> {
        let local = tcp.local_addr()?;
        let stats = self.policy.stats();
        let Some(mode) = self.policy.load().mtls() else {
            bump(&stats.refused_plaintext);
            tracing::info!(%remote, "connection refused: the server policy accepts no connection");
            return Ok(None);
        };
        let tls = match mode {
            MtlsMode::Strict => true,
            MtlsMode::Disable => false,
            MtlsMode::Permissive => {
                let mut first = [0u8; 1];
                match tokio::time::timeout(self.handshake_timeout, tcp.peek(&mut first)).await {
                    Ok(Ok(1)) => first[0] == TLS_HANDSHAKE,
                    Ok(Ok(_)) => return Ok(None),
                    Ok(Err(e)) => return Err(e),
                    Err(_) => return Err(stdio::Error::new(stdio::ErrorKind::TimedOut, "no first byte")),
                }
            }
        };
        let plain = PeerInfo { remote, local, tls: false, identity: None, sni: None };
        if !tls {
            bump(&stats.plaintext);
            return Ok(Some(MeshIo::plain(tcp, plain)));
        }
        let Some(acceptor) = &self.tls else {
            bump(&stats.refused_plaintext);
            tracing::warn!(%remote, ?mode, "TLS required but this server has no identity: connection refused");
            return Ok(None);
        };
        if mode == MtlsMode::Strict {
            // Refuse plaintext quickly and visibly instead of failing inside rustls.
            let mut first = [0u8; 1];
            if let Ok(Ok(1)) = tokio::time::timeout(self.handshake_timeout, tcp.peek(&mut first)).await
                && first[0] != TLS_HANDSHAKE
            {
                bump(&stats.refused_plaintext);
                tracing::info!(%remote, "plaintext connection refused: PeerAuthentication mode is STRICT");
                return Ok(None);
            }
        }
        match tokio::time::timeout(self.handshake_timeout, acceptor.accept(tcp)).await {
            Ok(Ok(stream)) => {
                bump(&stats.tls_handshakes);
                let conn = stream.get_ref().1;
                let identity =
                    conn.peer_certificates().and_then(|c| c.first()).and_then(|c| spiffe_id_from_der(c)).map(Arc::new);
                let sni = conn.server_name().map(Arc::from);
                let info = PeerInfo { identity, sni, tls: true, ..plain };
                Ok(Some(MeshIo::tls(stream, info)))
            }
            Ok(Err(e)) => {
                bump(&stats.tls_failures);
                tracing::info!(%remote, error = %e, "TLS handshake failed");
                Ok(None)
            }
            Err(_) => {
                bump(&stats.tls_failures);
                Err(stdio::Error::new(stdio::ErrorKind::TimedOut, "TLS handshake timed out"))
            }
        }
    }
}
