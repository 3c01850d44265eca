//! The CA's TLS listener: rustls (tokio-rustls) under tonic, without tonic's TLS features.
//!
//! - The server certificate is issued by the CA itself (see [`ServerCert`]) and renewed at
//!   half its lifetime, swapped under the live configuration.
//! - A client certificate is optional. The handshake checks only that the client holds
//!   the key of the certificate it presents (rustls verifies the CertificateVerify
//!   signature); whether the chain leads to the CA's trust bundle is checked per request,
//!   by the [`Authenticator`](super::Authenticator), so that a refused certificate gets an
//!   UNAUTHENTICATED status that says why (instead of a bare TLS alert) and a workload
//!   whose certificate expired can still fall back to its token.
//! - Handshakes run in their own tasks (with a timeout), so a slow client never holds up
//!   the accept loop; each accepted connection carries [`ConnInfo`] to the service.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use arc_swap::ArcSwap;
use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::{DigitallySignedStruct, DistinguishedName, ServerConfig, SignatureScheme};
use rustls_pki_types::{CertificateDer, UnixTime};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;
use tonic::transport::server::Connected;

use crate::runtime::severable::Severable;

/// How long a client may take to finish the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The server certificate, swapped when renewed.
#[derive(Debug)]
pub(crate) struct ServerCert {
    current: ArcSwap<CertifiedKey>,
}

impl ServerCert {
    pub(crate) fn new(key: Arc<CertifiedKey>) -> Self {
        Self { current: ArcSwap::new(key) }
    }

    pub(crate) fn set(&self, key: Arc<CertifiedKey>) {
        self.current.store(key);
    }
}

impl ResolvesServerCert for ServerCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current.load_full())
    }
}

/// Asks for a client certificate, does not require one, and checks only the proof of
/// possession of its key (see the module docs).
#[derive(Debug)]
struct OptionalClientCert {
    algorithms: WebPkiSupportedAlgorithms,
}

impl ClientCertVerifier for OptionalClientCert {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        false
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        // Checked per request against the CA's trust bundle (Authenticator::authenticate).
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// The rustls configuration of the CA port: `cert` as server certificate, optional client
/// certificates, ALPN `h2` (grpc-go clients require it).
pub(crate) fn server_config(cert: Arc<ServerCert>) -> Result<ServerConfig, rustls::Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = Arc::new(OptionalClientCert { algorithms: provider.signature_verification_algorithms });
    let mut config = ServerConfig::builder_with_provider(provider as Arc<CryptoProvider>)
        .with_safe_default_protocol_versions()?
        .with_client_cert_verifier(verifier)
        .with_cert_resolver(cert);
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(config)
}

/// What the service learns about the connection a request came on.
#[derive(Debug, Clone)]
pub(crate) struct ConnInfo {
    pub(crate) remote: Option<SocketAddr>,
    peer_chain: Option<Arc<[CertificateDer<'static>]>>,
}

impl ConnInfo {
    /// The client certificate chain, leaf first, if one was presented.
    pub(crate) fn chain(&self) -> Option<&[CertificateDer<'static>]> {
        self.peer_chain.as_deref()
    }
}

/// An accepted TLS connection, cut at shutdown.
pub(crate) struct CaConn {
    io: Severable<TlsStream<TcpStream>>,
    info: ConnInfo,
}

impl Connected for CaConn {
    type ConnectInfo = ConnInfo;

    fn connect_info(&self) -> ConnInfo {
        self.info.clone()
    }
}

impl AsyncRead for CaConn {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_read(cx, buf)
    }
}

impl AsyncWrite for CaConn {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}

/// Accepts on `listener` until `stop`, handshaking each connection in its own task; the
/// established ones come out of the returned channel (closed when accepting stops).
pub(crate) fn spawn_acceptor(
    listener: TcpListener,
    config: Arc<ServerConfig>,
    mut stop: watch::Receiver<bool>,
    cut: watch::Receiver<bool>,
) -> (JoinHandle<()>, mpsc::Receiver<Result<CaConn, io::Error>>) {
    let (tx, rx) = mpsc::channel(64);
    let acceptor = TlsAcceptor::from(config);
    let task = tokio::spawn(async move {
        loop {
            let accepted = tokio::select! {
                _ = stop.wait_for(|stop| *stop) => break,
                accepted = listener.accept() => accepted,
            };
            let (tcp, remote) = match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // EMFILE and friends: back off briefly instead of spinning.
                    tracing::warn!(%error, "CA listener cannot accept");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            if let Err(error) = tcp.set_nodelay(true) {
                tracing::debug!(%error, "cannot set TCP_NODELAY");
            }
            let (acceptor, tx, cut) = (acceptor.clone(), tx.clone(), cut.clone());
            tokio::spawn(async move {
                let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                    Ok(Ok(tls)) => tls,
                    Ok(Err(error)) => {
                        tracing::debug!(%error, %remote, "CA TLS handshake failed");
                        return;
                    }
                    Err(_) => {
                        tracing::debug!(%remote, "CA TLS handshake timed out");
                        return;
                    }
                };
                let peer_chain = tls.get_ref().1.peer_certificates().map(|c| Arc::from(c.to_vec()));
                let info = ConnInfo { remote: Some(remote), peer_chain };
                let _ = tx.send(Ok(CaConn { io: Severable::new(tls, cut), info })).await;
            });
        }
    });
    (task, rx)
}
