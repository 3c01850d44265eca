//! Talking to a CA: a TLS channel ([`connect`], [`TlsConnector`]: rustls under tonic,
//! without tonic's own TLS features) and [`IstioCaSigner`], the
//! [`CertificateSigner`] that certificate rotation uses to call `CreateCertificate`.

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use hyper_util::rt::TokioIo;
use rustls::ClientConfig;
use rustls_pki_types::ServerName;
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tonic::codegen::http::Uri;
use tonic::metadata::MetadataValue;
use tonic::transport::{Channel, Endpoint};

use super::CaError;
use super::proto::{IstioCertificateRequest, IstioCertificateServiceClient, Struct};
use crate::TlsError;
use crate::identity::rotation::{CertificateSigner, SignFuture};

/// A tonic connector: TCP, then a rustls handshake (ALPN `h2`) with the URI's host as
/// server name unless one is set.
#[derive(Clone)]
pub struct TlsConnector {
    connector: tokio_rustls::TlsConnector,
    server_name: Option<ServerName<'static>>,
}

impl std::fmt::Debug for TlsConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsConnector").field("server_name", &self.server_name).finish_non_exhaustive()
    }
}

impl TlsConnector {
    /// Connects with `tls`; `h2` is offered by ALPN if `tls` offers nothing (gRPC servers,
    /// grpc-go's among them, require it).
    pub fn new(tls: Arc<ClientConfig>) -> Self {
        let tls = if tls.alpn_protocols.is_empty() {
            let mut with_alpn = (*tls).clone();
            with_alpn.alpn_protocols = vec![b"h2".to_vec()];
            Arc::new(with_alpn)
        } else {
            tls
        };
        Self { connector: tokio_rustls::TlsConnector::from(tls), server_name: None }
    }

    /// Verifies the server certificate for `name` instead of the URI's host.
    #[must_use]
    pub fn server_name(mut self, name: ServerName<'static>) -> Self {
        self.server_name = Some(name);
        self
    }
}

impl tower_service::Service<Uri> for TlsConnector {
    type Response = TokioIo<TlsStream<TcpStream>>;
    type Error = std::io::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let connector = self.connector.clone();
        let fixed_name = self.server_name.clone();
        Box::pin(async move {
            let invalid = |why: String| std::io::Error::new(std::io::ErrorKind::InvalidInput, why);
            let host = uri.host().ok_or_else(|| invalid(format!("no host in {uri}")))?;
            let host = host.trim_start_matches('[').trim_end_matches(']');
            let port = uri.port_u16().unwrap_or(443);
            let name = match fixed_name {
                Some(name) => name,
                None => ServerName::try_from(host.to_owned()).map_err(|e| invalid(format!("{host}: {e}")))?,
            };
            let tcp = TcpStream::connect((host, port)).await?;
            tcp.set_nodelay(true)?;
            let tls = connector.connect(name, tcp).await?;
            Ok(TokioIo::new(tls))
        })
    }
}

/// A lazily connecting channel to the CA at `address` (`host:port`, `https://host:port`
/// or `http://host:port`; TLS in every case), verifying the server as `tls` says for the
/// host name. The channel reconnects by itself.
pub fn connect(address: &str, tls: Arc<ClientConfig>) -> Result<Channel, CaError> {
    let rest = address.strip_prefix("https://").or_else(|| address.strip_prefix("http://")).unwrap_or(address);
    // The scheme given to tonic is http: TLS is the connector's job, and tonic built with
    // its own TLS features would refuse https with a custom connector.
    let endpoint = Endpoint::from_shared(format!("http://{rest}"))
        .map_err(|e| CaError::Address(format!("{address:?}: {e}")))?
        .connect_timeout(Duration::from_secs(10));
    Ok(endpoint.connect_with_connector_lazy(TlsConnector::new(tls)))
}

/// Where the bearer token comes from.
#[derive(Debug, Clone)]
enum Token {
    None,
    Fixed(String),
    /// Re-read at every request (Kubernetes rotates projected tokens).
    File(PathBuf),
}

/// Calls `CreateCertificate` on an Istio-compatible CA, authenticating with a bearer token
/// (fixed or read from a file at each request) and/or the channel's client certificate.
#[derive(Debug, Clone)]
pub struct IstioCaSigner {
    client: IstioCertificateServiceClient<Channel>,
    token: Token,
    metadata: Option<Struct>,
}

impl IstioCaSigner {
    /// A signer over `channel` (see [`connect`]), with no token.
    pub fn new(channel: Channel) -> Self {
        Self { client: IstioCertificateServiceClient::new(channel), token: Token::None, metadata: None }
    }

    /// Sends `authorization: Bearer <token>`.
    #[must_use]
    pub fn with_token(mut self, token: impl Into<String>) -> Self {
        self.token = Token::Fixed(token.into());
        self
    }

    /// Sends the content of `path` (trimmed) as bearer token, read at each request.
    #[must_use]
    pub fn with_token_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.token = Token::File(path.into());
        self
    }

    /// Sends `metadata` with each request (Istio: `ClusterID`, …).
    #[must_use]
    pub fn with_metadata(mut self, metadata: Struct) -> Self {
        self.metadata = Some(metadata);
        self
    }

    /// Sends one request; the chain comes back leaf first, root last.
    pub async fn create_certificate(&self, csr_pem: String, ttl: Option<Duration>) -> Result<Vec<String>, TlsError> {
        let validity_duration = ttl.map_or(0, |t| i64::try_from(t.as_secs()).unwrap_or(i64::MAX));
        let mut request = tonic::Request::new(IstioCertificateRequest {
            csr: csr_pem,
            validity_duration,
            metadata: self.metadata.clone(),
        });
        let token = match &self.token {
            Token::None => None,
            Token::Fixed(token) => Some(token.clone()),
            Token::File(path) => Some(
                tokio::fs::read_to_string(path)
                    .await
                    .map_err(|source| TlsError::Io { path: path.display().to_string(), source })?
                    .trim()
                    .to_owned(),
            ),
        };
        if let Some(token) = token {
            let value = MetadataValue::try_from(format!("Bearer {token}"))
                .map_err(|_| TlsError::Ca("the bearer token holds characters not allowed in a header".into()))?;
            request.metadata_mut().insert("authorization", value);
        }
        let mut client = self.client.clone();
        let response = client
            .create_certificate(request)
            .await
            .map_err(|status| TlsError::Ca(format!("{:?}: {}", status.code(), status.message())))?;
        let chain = response.into_inner().cert_chain;
        if chain.is_empty() {
            return Err(TlsError::Ca("CreateCertificate returned an empty chain".into()));
        }
        Ok(chain)
    }
}

impl CertificateSigner for IstioCaSigner {
    fn sign(&self, csr_pem: String, ttl: Option<Duration>) -> SignFuture<'_> {
        Box::pin(self.create_certificate(csr_pem, ttl))
    }
}
