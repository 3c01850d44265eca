//! What the server knows about the peer of a connection, attached to every request.

use std::net::SocketAddr;
use std::sync::Arc;

use mesh_tls::SpiffeId;

/// The connection a request arrived on, as a request extension (also tonic's
/// `ConnectInfo` for connections from a [`MeshListener`](super::MeshListener)).
///
/// `identity` is set only when the peer presented a client certificate that verified
/// against the trust bundle (mTLS); applications read it to know *who* calls. It is put
/// on every request of the connection, so cloning it is two reference-count increments.
#[derive(Debug, Clone)]
pub struct PeerInfo {
    /// The TCP peer.
    pub remote: SocketAddr,
    /// The local address the connection was accepted on.
    pub local: SocketAddr,
    /// Whether the connection is TLS.
    pub tls: bool,
    /// The peer's SPIFFE ID from its verified client certificate.
    pub identity: Option<Arc<SpiffeId>>,
    /// The SNI the client sent.
    pub sni: Option<Arc<str>>,
}

impl PeerInfo {
    /// Whether the peer authenticated with a verified client certificate.
    pub fn is_authenticated(&self) -> bool {
        self.tls && self.identity.is_some()
    }
}
