//! HTTP/1.1 to one endpoint under its cluster's connection limits: a small pool of
//! `hyper` HTTP/1.1 connections whose count is checked against `max_connections`, with
//! requests that find no idle connection *pending* (at most `max_pending_requests`).
//!
//! Clusters without those limits use `hyper-util`'s pool, which cannot be capped; a
//! cluster with them gets connections of its own (see `EndpointPool::get`), so these
//! are counted for it alone. The rules are Envoy's:
//! - an idle connection is reused (most recently used first);
//! - otherwise the request becomes pending (over `max_pending_requests`: an overflow
//!   error, never sent) and a connection is opened if the cluster is below
//!   `max_connections` — or if this endpoint has none at all, so that connections held
//!   by other endpoints never strand it;
//! - otherwise it waits until a connection of the cluster closes or turns idle.
//!
//! A connection returns to the idle list once its response body has been read to the
//! end; one whose body was dropped early is closed. Idle connections older than
//! [`IDLE_TIMEOUT`] are closed when next looked at.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use http::{Request, Response};
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::time::Instant;

use super::EndpointConn;
use super::tls::ClientIo;
use crate::client::RequestBody;
use crate::client::cluster::{ClusterResources, Resource, ResourceGuard};
use crate::{BoxError, Limit, MeshError};

/// Idle connections older than this are closed instead of reused (hyper-util's default).
pub(crate) const IDLE_TIMEOUT: Duration = Duration::from_secs(90);

/// The overflow error of a full pending queue.
pub(crate) fn overflow(limits: &ClusterResources) -> MeshError {
    tracing::debug!(cluster = %limits.cluster(), "max_pending_requests reached: request not sent");
    MeshError::Overflow { cluster: limits.cluster().to_string(), limit: Limit::MaxPendingRequests }
}

#[derive(Debug)]
struct Idle {
    sender: http1::SendRequest<RequestBody>,
    since: Instant,
}

/// The limited HTTP/1.1 pool of one endpoint.
#[derive(Debug)]
pub(crate) struct LimitedH1 {
    limits: Arc<ClusterResources>,
    idle: Mutex<Vec<Idle>>,
    /// This endpoint's connections, open or opening.
    open: Arc<AtomicUsize>,
}

/// Counts a connection of the endpoint until dropped (when the connection ends).
struct Open(Arc<AtomicUsize>);

impl Drop for Open {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl LimitedH1 {
    pub(crate) fn new(limits: Arc<ClusterResources>) -> Self {
        Self { limits, idle: Mutex::new(Vec::new()), open: Arc::new(AtomicUsize::new(0)) }
    }

    pub(crate) async fn send(
        self: &Arc<Self>,
        conn: &EndpointConn,
        mut req: Request<RequestBody>,
    ) -> Result<Response<hyper::body::Incoming>, MeshError> {
        // Keep the logical authority in Host; send the path in origin form.
        if !req.headers().contains_key(http::header::HOST)
            && let Some(a) = req.uri().authority()
            && let Ok(v) = http::HeaderValue::from_str(a.as_str())
        {
            req.headers_mut().insert(http::header::HOST, v);
        }
        let mut parts = http::uri::Parts::default();
        parts.path_and_query =
            Some(req.uri().path_and_query().cloned().unwrap_or_else(|| http::uri::PathAndQuery::from_static("/")));
        *req.uri_mut() =
            http::Uri::from_parts(parts).map_err(|e| MeshError::Upstream { addr: conn.addr, source: e.into() })?;
        *req.version_mut() = http::Version::HTTP_11;

        let mut sender = self.checkout(conn).await?;
        let res = sender.send_request(req).await.map_err(|e| conn.classify(e.into()))?;
        let pool = self.clone();
        tokio::spawn(async move {
            // Ready again once the response body has been read; an error means closed.
            if sender.ready().await.is_ok() {
                pool.checkin(sender);
            }
        });
        Ok(res)
    }

    /// An idle connection, or a new one, or — waiting — whichever comes first.
    async fn checkout(&self, conn: &EndpointConn) -> Result<http1::SendRequest<RequestBody>, MeshError> {
        let mut pending: Option<ResourceGuard> = None;
        loop {
            let freed = self.limits.freed().notified();
            tokio::pin!(freed);
            freed.as_mut().enable();
            if let Some(s) = self.take_idle() {
                return Ok(s);
            }
            if pending.is_none() {
                pending = Some(self.limits.try_acquire(Resource::Pending).ok_or_else(|| overflow(&self.limits))?);
            }
            if let Some(slot) = self.open_slot() {
                // Still pending while connecting.
                return self.connect(conn, slot).await;
            }
            freed.await;
        }
    }

    /// Room for one more connection: the endpoint's first, or one within the limit.
    fn open_slot(&self) -> Option<(ResourceGuard, Open)> {
        if self.open.compare_exchange(0, 1, Ordering::AcqRel, Ordering::Acquire).is_ok() {
            return Some((self.limits.acquire_anyway(Resource::Connections), Open(self.open.clone())));
        }
        let slot = self.limits.try_acquire(Resource::Connections)?;
        self.open.fetch_add(1, Ordering::AcqRel);
        Some((slot, Open(self.open.clone())))
    }

    fn take_idle(&self) -> Option<http1::SendRequest<RequestBody>> {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        while let Some(i) = idle.pop() {
            // Dropping a stale sender closes its connection (and frees its slot).
            if i.sender.is_ready() && i.since.elapsed() < IDLE_TIMEOUT {
                return Some(i.sender);
            }
        }
        None
    }

    fn checkin(&self, sender: http1::SendRequest<RequestBody>) {
        self.idle.lock().unwrap_or_else(PoisonError::into_inner).push(Idle { sender, since: Instant::now() });
        self.limits.freed().notify_waiters();
    }

    async fn connect(
        &self,
        conn: &EndpointConn,
        (slot, open): (ResourceGuard, Open),
    ) -> Result<http1::SendRequest<RequestBody>, MeshError> {
        let addr = conn.addr;
        let connect_err = |source: BoxError| MeshError::Connect { addr, source };
        let tcp = tokio::time::timeout(conn.connect_timeout, TcpStream::connect(addr))
            .await
            .map_err(|_| connect_err(format!("timed out after {:?}", conn.connect_timeout).into()))?
            .map_err(|e| connect_err(e.into()))?;
        let _ = tcp.set_nodelay(true);
        let io = match &conn.tls {
            Some(tls) => tokio::time::timeout(conn.connect_timeout, tls.connect(tcp))
                .await
                .map_err(|_| connect_err(format!("TLS handshake timed out after {:?}", conn.connect_timeout).into()))?
                .map_err(connect_err)?,
            None => ClientIo::Plain(tcp),
        };
        let (sender, connection) =
            http1::Builder::new().handshake(TokioIo::new(io)).await.map_err(|e| connect_err(e.into()))?;
        tokio::spawn(async move {
            // The slots are released (and pending requests woken) when it ends.
            let _counted = (slot, open);
            if let Err(e) = connection.await {
                tracing::debug!(%addr, error = %e, "HTTP/1.1 connection ended");
            }
        });
        tracing::debug!(%addr, "HTTP/1.1 connection established (limited pool)");
        Ok(sender)
    }
}
