//! The last stage: one endpoint, spoken to over HTTP/2 (one multiplexed connection,
//! re-established when it closes) or HTTP/1.1 (a pool of connections from
//! `hyper-util`).
//!
//! It also classifies failures for the retry stage: a connection that could not be
//! established, or an HTTP/2 stream the server refused, certainly did not reach the
//! application ([`MeshError::Connect`], [`MeshError::RefusedStream`]); anything else
//! after the request was handed to the connection may have ([`MeshError::Upstream`]).
//! Connections are shared by every configuration generation that contains the endpoint,
//! so a config swap does not reconnect. With TLS (a cluster's `UpstreamTls`, e.g. Istio
//! `ISTIO_MUTUAL`) the connection is wrapped by rustls before HTTP starts ([`tls`]).

mod h1_pool;
mod tls;

pub(crate) use tls::TlsConnect;
use tls::{ClientIo, Connector};

use std::net::SocketAddr;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use arc_swap::ArcSwapOption;
use http::{Request, Response};
use hyper::client::conn::http2;
use hyper_util::client::legacy;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::net::TcpStream;

use super::body::{InFlight, RequestBody, ResponseBody};
use super::cluster::{ClusterResources, Resource};
use crate::{BoxError, MeshError};

/// Which HTTP version a request uses to the endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wire {
    /// HTTP/1.1 (pooled connections).
    Http1,
    /// HTTP/2 (one multiplexed connection).
    Http2,
}

/// A connection (or pool) to one endpoint address, and its in-flight request count.
#[derive(Debug)]
pub struct EndpointConn {
    addr: SocketAddr,
    connect_timeout: Duration,
    pub(crate) in_flight: Arc<AtomicU64>,
    h2: ArcSwapOption<http2::SendRequest<RequestBody>>,
    h2_connect: tokio::sync::Mutex<()>,
    h1: OnceLock<legacy::Client<Connector, RequestBody>>,
    tls: Option<TlsConnect>,
    /// The cluster's circuit breakers, when it limits connections.
    limits: Option<Arc<ClusterResources>>,
    /// HTTP/1.1 under those limits (instead of `h1`).
    limited_h1: Option<Arc<h1_pool::LimitedH1>>,
}

impl EndpointConn {
    pub(crate) fn new(addr: SocketAddr, connect_timeout: Duration, tls: Option<TlsConnect>) -> Self {
        Self {
            tls,
            addr,
            connect_timeout,
            in_flight: Arc::new(AtomicU64::new(0)),
            h2: ArcSwapOption::empty(),
            h2_connect: tokio::sync::Mutex::new(()),
            h1: OnceLock::new(),
            limits: None,
            limited_h1: None,
        }
    }

    /// Counts this endpoint's connections and waiting requests against a cluster's
    /// `max_connections` / `max_pending_requests` (HTTP/1.1 then uses its own pool).
    pub(crate) fn with_limits(mut self, limits: Option<Arc<ClusterResources>>) -> Self {
        self.limited_h1 = limits.clone().map(|l| Arc::new(h1_pool::LimitedH1::new(l)));
        self.limits = limits;
        self
    }

    /// The endpoint address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Requests in flight to this endpoint.
    pub fn in_flight(&self) -> u64 {
        self.in_flight.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Sends the request. `in_flight` is held until the response body ends.
    pub(crate) async fn send(
        self: Arc<Self>,
        req: Request<RequestBody>,
        wire: Wire,
        in_flight: InFlight,
    ) -> Result<Response<ResponseBody>, MeshError> {
        let res = match wire {
            Wire::Http2 => self.send_h2(req).await?,
            Wire::Http1 => self.send_h1(req).await?,
        };
        Ok(res.map(|b| ResponseBody::upstream(b, in_flight)))
    }

    async fn send_h2(&self, req: Request<RequestBody>) -> Result<Response<hyper::body::Incoming>, MeshError> {
        let mut sender = self.h2_sender().await?;
        if sender.ready().await.is_err() {
            // The connection closed since it was cached: drop it and connect again.
            self.h2.store(None);
            sender = self.h2_sender().await?;
        }
        sender.send_request(req).await.map_err(|e| self.classify(e.into()))
    }

    async fn h2_sender(&self) -> Result<http2::SendRequest<RequestBody>, MeshError> {
        if let Some(s) = self.h2.load().as_deref()
            && !s.is_closed()
        {
            return Ok(s.clone());
        }
        // Waiting for the connection makes the request pending (max_pending_requests).
        let _pending = match &self.limits {
            Some(l) => Some(l.try_acquire(Resource::Pending).ok_or_else(|| h1_pool::overflow(l))?),
            None => None,
        };
        let _connecting = self.h2_connect.lock().await;
        if let Some(s) = self.h2.load().as_deref()
            && !s.is_closed()
        {
            return Ok(s.clone());
        }
        let connect_err = |source: BoxError| MeshError::Connect { addr: self.addr, source };
        let tcp = tokio::time::timeout(self.connect_timeout, TcpStream::connect(self.addr))
            .await
            .map_err(|_| connect_err(format!("timed out after {:?}", self.connect_timeout).into()))?
            .map_err(|e| connect_err(e.into()))?;
        let _ = tcp.set_nodelay(true);
        let io = match &self.tls {
            Some(tls) => tokio::time::timeout(self.connect_timeout, tls.connect(tcp))
                .await
                .map_err(|_| connect_err(format!("TLS handshake timed out after {:?}", self.connect_timeout).into()))?
                .map_err(connect_err)?,
            None => ClientIo::Plain(tcp),
        };
        let (sender, conn) = http2::Builder::new(TokioExecutor::new())
            .timer(TokioTimer::new())
            .initial_stream_window_size(1 << 20)
            .initial_connection_window_size(2 << 20)
            .handshake(TokioIo::new(io))
            .await
            .map_err(|e| connect_err(e.into()))?;
        let addr = self.addr;
        // Counted against max_connections while open; one per endpoint is always allowed.
        let counted = self.limits.as_ref().map(|l| l.acquire_anyway(Resource::Connections));
        tokio::spawn(async move {
            let _counted = counted;
            if let Err(e) = conn.await {
                tracing::debug!(%addr, error = %e, "HTTP/2 connection ended");
            }
        });
        self.h2.store(Some(Arc::new(sender.clone())));
        tracing::debug!(%addr, "HTTP/2 connection established");
        Ok(sender)
    }

    async fn send_h1(&self, mut req: Request<RequestBody>) -> Result<Response<hyper::body::Incoming>, MeshError> {
        if let Some(pool) = &self.limited_h1 {
            return pool.send(self, req).await;
        }
        let client = self.h1.get_or_init(|| {
            let mut connector = HttpConnector::new();
            connector.set_nodelay(true);
            connector.set_connect_timeout(Some(self.connect_timeout));
            let connector = Connector { http: connector, tls: self.tls.clone() };
            legacy::Client::builder(TokioExecutor::new()).timer(TokioTimer::new()).build(connector)
        });
        // Keep the logical authority in Host; address the connection by endpoint.
        if !req.headers().contains_key(http::header::HOST)
            && let Some(a) = req.uri().authority()
            && let Ok(v) = http::HeaderValue::from_str(a.as_str())
        {
            req.headers_mut().insert(http::header::HOST, v);
        }
        let pq = req.uri().path_and_query().map_or("/", |p| p.as_str());
        // The connector adds TLS itself; the pool key stays `http://addr`.
        *req.uri_mut() = http::Uri::builder()
            .scheme("http")
            .authority(self.addr.to_string())
            .path_and_query(pq)
            .build()
            .map_err(|e| MeshError::Upstream { addr: self.addr, source: e.into() })?;
        *req.version_mut() = http::Version::HTTP_11;
        client.request(req).await.map_err(|e| {
            if e.is_connect() {
                MeshError::Connect { addr: self.addr, source: e.into() }
            } else {
                self.classify(e.into())
            }
        })
    }

    fn classify(&self, err: BoxError) -> MeshError {
        let addr = self.addr;
        let mut refused = false;
        let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(err.as_ref());
        while let Some(e) = cur {
            if let Some(h) = e.downcast_ref::<hyper::Error>()
                && h.is_canceled()
            {
                // The request was never handed to the connection (it closed first).
                refused = true;
            }
            if let Some(h2e) = e.downcast_ref::<h2::Error>()
                && h2e.reason() == Some(h2::Reason::REFUSED_STREAM)
            {
                refused = true;
            }
            cur = e.source();
        }
        if refused { MeshError::RefusedStream { addr, source: err } } else { MeshError::Upstream { addr, source: err } }
    }
}
