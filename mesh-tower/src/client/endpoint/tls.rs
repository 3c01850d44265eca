//! TLS to an endpoint: the connection type shared by HTTP/1.1 and HTTP/2, and the
//! connector the HTTP/1.1 pool uses.
//!
//! A handshake failure (untrusted chain, wrong SPIFFE identity, expired certificate) is
//! a connect error: the request never reached the application, so the retry stage may
//! send it to another endpoint.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::Uri;
use hyper_util::client::legacy::connect::{Connected, Connection, HttpConnector};
use hyper_util::rt::TokioIo;
use rustls::ClientConfig;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tower_service::Service;

use crate::BoxError;

/// How to secure connections to an endpoint: a rustls configuration (from the
/// cluster's `UpstreamTls`) and the SNI to send. `Err` when the cluster's TLS settings
/// could not be turned into a configuration (missing certificate provider, unreadable
/// file): every connection then fails with that reason.
#[derive(Debug, Clone)]
pub(crate) struct TlsConnect {
    pub(crate) config: Result<Arc<ClientConfig>, Arc<str>>,
    pub(crate) server_name: Option<ServerName<'static>>,
    /// Identifies the settings (connections are shared only between equal settings).
    pub(crate) key: u64,
}

impl TlsConnect {
    pub(crate) async fn connect(&self, tcp: TcpStream) -> Result<ClientIo, BoxError> {
        let config = self.config.clone().map_err(|e| -> BoxError { format!("TLS configuration: {e}").into() })?;
        let name = match &self.server_name {
            Some(n) => n.clone(),
            None => ServerName::IpAddress(tcp.peer_addr()?.ip().into()),
        };
        let tls = TlsConnector::from(config).connect(name, tcp).await?;
        Ok(ClientIo::Tls(Box::new(tls)))
    }
}

/// A connection to an endpoint, plaintext or TLS.
#[derive(Debug)]
pub(crate) enum ClientIo {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl Connection for ClientIo {
    fn connected(&self) -> Connected {
        match self {
            ClientIo::Plain(s) => s.connected(),
            ClientIo::Tls(s) => s.get_ref().0.connected(),
        }
    }
}

impl AsyncRead for ClientIo {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ClientIo::Plain(s) => Pin::new(s).poll_read(cx, buf),
            ClientIo::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for ClientIo {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            ClientIo::Plain(s) => Pin::new(s).poll_write(cx, buf),
            ClientIo::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            ClientIo::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            ClientIo::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            ClientIo::Plain(s) => s.is_write_vectored(),
            ClientIo::Tls(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ClientIo::Plain(s) => Pin::new(s).poll_flush(cx),
            ClientIo::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ClientIo::Plain(s) => Pin::new(s).poll_shutdown(cx),
            ClientIo::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// The HTTP/1.1 pool's connector: TCP from hyper-util's `HttpConnector`, then TLS when
/// the cluster asks for it.
#[derive(Debug, Clone)]
pub(crate) struct Connector {
    pub(crate) http: HttpConnector,
    pub(crate) tls: Option<TlsConnect>,
}

impl Service<Uri> for Connector {
    type Response = TokioIo<ClientIo>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.http.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let connecting = self.http.call(uri);
        let tls = self.tls.clone();
        Box::pin(async move {
            let tcp = connecting.await?.into_inner();
            let io = match tls {
                Some(tls) => tls.connect(tcp).await?,
                None => ClientIo::Plain(tcp),
            };
            Ok(TokioIo::new(io))
        })
    }
}
