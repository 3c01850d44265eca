//! rustls configurations for the mesh.
//!
//! Mesh-internal connections (`ISTIO_MUTUAL`, PeerAuthentication) are TLS 1.3 only, as
//! Istio's. Connections to external peers (`SIMPLE`, `MUTUAL`) also allow TLS 1.2.
//! Every configuration offers ALPN `h2` and `http/1.1`. Mesh configurations never resume
//! sessions, so each connection is checked against the current certificates and bundle.

use std::sync::Arc;

use rustls::client::ResolvesClientCert;
use rustls::{ClientConfig, ServerConfig};

use super::{PeerClientVerifier, PeerServerVerifier, Roots, SanPolicy};
use crate::identity::{IdentityStore, StoreResolver, TrustBundle, WorkloadCertificate};

/// ALPN protocols offered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlpnProtocols {
    /// `h2` then `http/1.1`.
    Http,
    /// `h2` only (gRPC).
    H2,
}

impl AlpnProtocols {
    fn list(self) -> Vec<Vec<u8>> {
        match self {
            AlpnProtocols::Http => vec![b"h2".to_vec(), b"http/1.1".to_vec()],
            AlpnProtocols::H2 => vec![b"h2".to_vec()],
        }
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A mesh client configuration (`ISTIO_MUTUAL`): presents the store's certificate,
/// verifies the server against the store's live bundle and `sans`. TLS 1.3 only.
pub fn client_config(store: &Arc<IdentityStore>, sans: SanPolicy, alpn: AlpnProtocols) -> Arc<ClientConfig> {
    let verifier = PeerServerVerifier::new(Roots::Store(store.clone()), sans);
    let mut config = ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .expect("the ring provider supports TLS 1.3")
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_client_cert_resolver(Arc::new(StoreResolver(store.clone())));
    config.alpn_protocols = alpn.list();
    // Every new connection is authenticated with the current certificates and bundle:
    // a resumed session would carry the identity of a rotated-out (or distrusted) chain.
    config.resumption = rustls::client::Resumption::disabled();
    Arc::new(config)
}

/// A mesh server configuration: presents the store's certificate and, with
/// `require_client_cert`, demands a client certificate chaining to the store's live
/// bundle (mTLS). TLS 1.3 only.
pub fn server_config(store: &Arc<IdentityStore>, require_client_cert: bool, alpn: AlpnProtocols) -> Arc<ServerConfig> {
    let verifier = PeerClientVerifier::new(Roots::Store(store.clone()), require_client_cert);
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .expect("the ring provider supports TLS 1.3")
        .with_client_cert_verifier(verifier)
        .with_cert_resolver(Arc::new(StoreResolver(store.clone())));
    config.alpn_protocols = alpn.list();
    // No resumption: see `client_config`.
    config.send_tls13_tickets = 0;
    config.session_storage = Arc::new(rustls::server::NoServerSessionStorage {});
    Arc::new(config)
}

/// A client configuration for an external peer (`SIMPLE` / `MUTUAL`): `roots` to verify
/// (or `None` for `insecureSkipVerify`), an optional client certificate, TLS 1.2 and 1.3.
pub fn external_client_config(
    roots: Option<TrustBundle>,
    client_certificate: Option<WorkloadCertificate>,
    sans: SanPolicy,
    alpn: AlpnProtocols,
) -> Arc<ClientConfig> {
    let verifier = match roots {
        Some(bundle) => PeerServerVerifier::new(Roots::Fixed(Arc::new(bundle)), sans),
        None => PeerServerVerifier::insecure_skip_verify(),
    };
    let builder = ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .expect("the ring provider supports TLS 1.2 and 1.3")
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    let mut config = match client_certificate {
        Some(cert) => {
            let resolver: Arc<dyn ResolvesClientCert> =
                Arc::new(StoreResolver(IdentityStore::with_certificate(cert, TrustBundle::default())));
            builder.with_client_cert_resolver(resolver)
        }
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = alpn.list();
    Arc::new(config)
}

/// A client configuration for talking to the mesh CA: the CA's certificate must chain to
/// `ca_roots` and be valid for the host name dialled; the store's current certificate
/// (when valid) is presented, so an existing identity can renew without a token.
pub fn ca_client_config(ca_roots: TrustBundle, store: &Arc<IdentityStore>) -> Arc<ClientConfig> {
    let verifier = PeerServerVerifier::new(Roots::Fixed(Arc::new(ca_roots)), SanPolicy::host_name());
    let mut config = ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .expect("the ring provider supports TLS 1.2 and 1.3")
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_client_cert_resolver(Arc::new(StoreResolver(store.clone())));
    config.alpn_protocols = AlpnProtocols::H2.list();
    Arc::new(config)
}
