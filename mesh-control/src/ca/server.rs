//! Running the CA server: [`serve`] on a bound listener (tests, embedding), [`start`] from
//! a [`CaConfig`] (the control plane, the CLI), [`RunningCa`] to stop it.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use mesh_tls::SpiffeId;
use mesh_tls::ca::proto::IstioCertificateServiceServer;
use mesh_tls::ca::{CaError, CertificateAuthority, DEFAULT_MAX_WORKLOAD_CERT_TTL, DEFAULT_WORKLOAD_CERT_TTL};
use rustls::sign::CertifiedKey;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_stream::wrappers::ReceiverStream;

use super::auth::{AuthError, Authenticator};
use super::metrics::CaMetrics;
use super::service::CaService;
use super::tls::{ServerCert, server_config, spawn_acceptor};
use super::tokens::TokenFileError;

/// How the CA server presents itself and reports.
#[derive(Debug, Clone)]
pub struct CaServerOptions {
    /// The URI SAN of the server certificate; default
    /// `spiffe://<trust domain>/ns/istio-system/sa/mesh-control`.
    pub identity: Option<SpiffeId>,
    /// DNS SANs of the server certificate (default `localhost`, `mesh-control`).
    pub dns_names: Vec<String>,
    /// IP SANs of the server certificate (default `127.0.0.1`, `::1`).
    pub ip_addresses: Vec<IpAddr>,
    /// Where the counters go (register them in a registry first to export them).
    pub metrics: CaMetrics,
    /// How long [`RunningCa::shutdown`] lets requests in flight finish (default 1 s).
    pub shutdown_grace: Duration,
}

impl Default for CaServerOptions {
    fn default() -> Self {
        Self {
            identity: None,
            dns_names: vec!["localhost".to_owned(), "mesh-control".to_owned()],
            ip_addresses: vec![IpAddr::V4(Ipv4Addr::LOCALHOST), IpAddr::V6(Ipv6Addr::LOCALHOST)],
            metrics: CaMetrics::new(),
            shutdown_grace: Duration::from_secs(1),
        }
    }
}

/// Why the CA server did not start.
#[derive(Debug, thiserror::Error)]
pub enum CaServeError {
    /// The server certificate could not be issued.
    #[error("cannot issue the CA server's certificate: {0}")]
    Certificate(#[from] CaError),
    /// The TLS configuration was refused.
    #[error("CA TLS configuration: {0}")]
    Tls(#[from] rustls::Error),
    /// The listener has no address.
    #[error("CA listener: {0}")]
    Listener(#[from] std::io::Error),
}

/// A running CA server. Dropping it stops it at once; [`RunningCa::shutdown`] does it
/// gracefully.
#[derive(Debug)]
pub struct RunningCa {
    addr: SocketAddr,
    identity: SpiffeId,
    metrics: CaMetrics,
    stop: watch::Sender<bool>,
    cut: watch::Sender<bool>,
    server: Option<JoinHandle<()>>,
    /// The acceptor and the server certificate's renewal.
    tasks: Vec<JoinHandle<()>>,
    grace: Duration,
}

impl RunningCa {
    /// Where it listens (the bound port when port 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The identity in the server certificate.
    pub fn identity(&self) -> &SpiffeId {
        &self.identity
    }

    /// The counters.
    pub fn metrics(&self) -> &CaMetrics {
        &self.metrics
    }

    /// Stops accepting, lets requests in flight finish for the grace period, then closes
    /// the remaining connections; returns once every task has ended.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(mut server) = self.server.take()
            && tokio::time::timeout(self.grace, &mut server).await.is_err()
        {
            let _ = self.cut.send(true);
            let _ = server.await;
        }
        let _ = self.cut.send(true);
        for task in self.tasks.drain(..) {
            task.abort();
            let _ = task.await;
        }
    }
}

impl Drop for RunningCa {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        let _ = self.cut.send(true);
        for task in self.tasks.iter().chain(&self.server) {
            task.abort();
        }
    }
}

/// Serves `IstioCertificateService` with `ca` over TLS on `listener`, authenticating
/// callers with `auth`, with the default [`CaServerOptions`].
pub async fn serve(
    listener: TcpListener,
    ca: Arc<CertificateAuthority>,
    auth: Authenticator,
) -> Result<RunningCa, CaServeError> {
    serve_with(listener, ca, auth, CaServerOptions::default()).await
}

/// [`serve`] with options.
pub async fn serve_with(
    listener: TcpListener,
    ca: Arc<CertificateAuthority>,
    auth: Authenticator,
    options: CaServerOptions,
) -> Result<RunningCa, CaServeError> {
    let addr = listener.local_addr()?;
    let identity = match options.identity {
        Some(identity) => identity,
        None => SpiffeId::workload(auth.trust_domain(), "istio-system", "mesh-control")
            .map_err(|e| CaError::Policy(e.to_string()))?,
    };
    let names = (options.dns_names, options.ip_addresses);
    let (key, not_after) = server_cert(&ca, &identity, &names)?;
    let cert = Arc::new(ServerCert::new(key));
    let config = Arc::new(server_config(cert.clone())?);
    options.metrics.set_expiry(ca.signing_not_after());

    let (stop, stop_rx) = watch::channel(false);
    let (cut, cut_rx) = watch::channel(false);
    let (acceptor, incoming) = spawn_acceptor(listener, config, stop_rx.clone(), cut_rx);
    let service = CaService { ca: ca.clone(), auth, metrics: options.metrics.clone() };
    let mut stopped = stop_rx.clone();
    let server = tokio::spawn(async move {
        let served = tonic::transport::Server::builder()
            .add_service(IstioCertificateServiceServer::new(service))
            .serve_with_incoming_shutdown(ReceiverStream::new(incoming), async move {
                let _ = stopped.wait_for(|stop| *stop).await;
            })
            .await;
        if let Err(error) = served {
            tracing::error!(%error, "the CA server failed");
        }
    });
    let renewal = spawn_renewal(ca, identity.clone(), names, cert, not_after, stop_rx);
    tracing::info!(%addr, %identity, "CA serving istio.v1.auth.IstioCertificateService");
    Ok(RunningCa {
        addr,
        identity,
        metrics: options.metrics,
        stop,
        cut,
        server: Some(server),
        tasks: vec![acceptor, renewal],
        grace: options.shutdown_grace,
    })
}

type Names = (Vec<String>, Vec<IpAddr>);

fn server_cert(
    ca: &CertificateAuthority,
    identity: &SpiffeId,
    (dns, ips): &Names,
) -> Result<(Arc<CertifiedKey>, SystemTime), CaServeError> {
    let issued = ca.issue_with_key(identity, dns, ips, None)?;
    let key = rustls::crypto::ring::sign::any_supported_type(&issued.key_der())?;
    let not_after = issued.chain.not_after();
    Ok((Arc::new(CertifiedKey::new(issued.chain.der().to_vec(), key)), not_after))
}

/// Re-issues the server certificate at half of its remaining lifetime (retrying every
/// minute if that fails).
fn spawn_renewal(
    ca: Arc<CertificateAuthority>,
    identity: SpiffeId,
    names: Names,
    cert: Arc<ServerCert>,
    mut not_after: SystemTime,
    mut stop: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let left = not_after.duration_since(SystemTime::now()).unwrap_or_default();
            let wait = (left / 2).max(Duration::from_secs(1));
            tokio::select! {
                _ = stop.wait_for(|stop| *stop) => return,
                () = tokio::time::sleep(wait) => {}
            }
            match server_cert(&ca, &identity, &names) {
                Ok((key, expiry)) => {
                    cert.set(key);
                    not_after = expiry;
                    tracing::info!(?not_after, "CA server certificate renewed");
                }
                Err(error) => {
                    tracing::error!(%error, "cannot renew the CA server certificate; retrying in a minute");
                    not_after = SystemTime::now() + Duration::from_secs(120);
                }
            }
        }
    })
}

/// The CA of a control plane: where it listens, where its files are, who may ask.
#[derive(Debug, Clone)]
pub struct CaConfig {
    /// Where the CA listens (TLS).
    pub addr: SocketAddr,
    /// The CA directory (`ca-cert.pem`, `ca-key.pem`, …; a root is generated there if empty).
    pub dir: PathBuf,
    /// The trust domain of a generated root and of token identities (default `cluster.local`).
    pub trust_domain: String,
    /// The bearer tokens file, if tokens are accepted.
    pub tokens: Option<PathBuf>,
    /// Lifetime of a workload certificate when the request does not ask (default 24 h).
    pub workload_cert_ttl: Duration,
    /// Longest lifetime a request may ask for (default 90 days).
    pub max_workload_cert_ttl: Duration,
}

impl CaConfig {
    /// A CA on `addr` with its files in `dir`, and the defaults otherwise.
    pub fn new(addr: SocketAddr, dir: PathBuf) -> Self {
        Self {
            addr,
            dir,
            trust_domain: mesh_tls::DEFAULT_TRUST_DOMAIN.to_owned(),
            tokens: None,
            workload_cert_ttl: DEFAULT_WORKLOAD_CERT_TTL,
            max_workload_cert_ttl: DEFAULT_MAX_WORKLOAD_CERT_TTL,
        }
    }
}

/// Why [`start`] failed.
#[derive(Debug, thiserror::Error)]
pub enum CaStartError {
    /// The CA could not be loaded or generated, or its policy is invalid.
    #[error("certificate authority: {0}")]
    Ca(#[from] CaError),
    /// The trust domain is invalid.
    #[error("certificate authority: {0}")]
    Auth(#[from] AuthError),
    /// The tokens file is invalid.
    #[error("CA tokens file {0}")]
    Tokens(#[from] TokenFileError),
    /// The address could not be bound.
    #[error("cannot listen for the CA on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The error.
        source: std::io::Error,
    },
    /// The server did not start.
    #[error("{0}")]
    Serve(#[from] CaServeError),
}

/// Loads (or generates) the CA of `config.dir`, loads the tokens, binds `config.addr` and
/// serves, counting into `metrics`.
pub async fn start(config: &CaConfig, metrics: CaMetrics) -> Result<RunningCa, CaStartError> {
    let ca = CertificateAuthority::load_or_generate(&config.dir, &config.trust_domain)?
        .with_ttls(config.workload_cert_ttl, config.max_workload_cert_ttl)?;
    let mut auth = Authenticator::new(&config.trust_domain)?;
    if let Some(tokens) = &config.tokens {
        auth = auth.with_token_file(tokens)?;
    }
    let listener =
        TcpListener::bind(config.addr).await.map_err(|source| CaStartError::Bind { addr: config.addr, source })?;
    let options = CaServerOptions { metrics, ..CaServerOptions::default() };
    Ok(serve_with(listener, Arc::new(ca), auth, options).await?)
}
