use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::echo::EchoServer;

/// How a scripted failure answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// gRPC status (trailers-only response) / HTTP 503 for the HTTP backend.
    Unavailable,
    /// gRPC `INTERNAL` / HTTP 500.
    Internal,
}

/// What a backend does and has seen; shared between the test and the server.
#[derive(Debug)]
pub struct BackendState {
    name: String,
    hits: tokio::sync::watch::Sender<u64>,
    in_flight: AtomicU64,
    fail_next: AtomicU32,
    failure: Mutex<Option<Failure>>,
    fail_all: Mutex<Option<Failure>>,
    hold: Mutex<Duration>,
    /// Requests numbered above this wait for [`BackendState::release`].
    gate: tokio::sync::watch::Sender<u64>,
}

impl BackendState {
    /// A fresh state for a backend named `name` (for servers built outside this crate).
    pub fn named(name: &str) -> Self {
        Self::new(name)
    }

    pub(crate) fn new(name: &str) -> Self {
        Self {
            name: name.to_string(),
            hits: tokio::sync::watch::channel(0).0,
            in_flight: AtomicU64::new(0),
            fail_next: AtomicU32::new(0),
            failure: Mutex::new(None),
            fail_all: Mutex::new(None),
            hold: Mutex::new(Duration::ZERO),
            gate: tokio::sync::watch::channel(u64::MAX).0,
        }
    }
    /// The backend's name (returned in every reply).
    pub fn name(&self) -> &str {
        &self.name
    }
    /// Requests received so far.
    pub fn hits(&self) -> u64 {
        *self.hits.borrow()
    }
    /// Waits until at least `n` requests have arrived (a signal, not a sleep).
    pub async fn wait_hits(&self, n: u64) {
        let mut rx = self.hits.subscribe();
        let _ = rx.wait_for(|h| *h >= n).await;
    }
    /// Requests being held right now.
    pub fn in_flight(&self) -> u64 {
        self.in_flight.load(Ordering::SeqCst)
    }
    /// Fail the next `n` requests with `failure`.
    pub fn fail_next(&self, n: u32, failure: Failure) {
        *self.failure.lock().expect("lock") = Some(failure);
        self.fail_next.store(n, Ordering::SeqCst);
    }
    /// Fail every request with `failure` (or stop failing with `None`).
    pub fn fail_all(&self, failure: Option<Failure>) {
        *self.fail_all.lock().expect("lock") = failure;
    }
    /// Hold each request this long before answering.
    pub fn set_hold(&self, d: Duration) {
        *self.hold.lock().expect("lock") = d;
    }

    /// Holds every request after the `n`-th (counting from the start) until
    /// [`release`](Self::release): they are counted as hits, then wait. Scripted
    /// failures are decided after the wait.
    pub fn hold_after(&self, n: u64) {
        self.gate.send_replace(n);
    }
    /// Lets held requests (and all later ones) through.
    pub fn release(&self) {
        self.gate.send_replace(u64::MAX);
    }

    /// Counts the request, waits the hold time and says whether to fail it.
    pub(crate) async fn begin(&self) -> Option<Failure> {
        let mut hit = 0;
        self.hits.send_modify(|h| {
            *h += 1;
            hit = *h;
        });
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        let mut gate = self.gate.subscribe();
        let _ = gate.wait_for(|after| hit <= *after).await;
        let hold = *self.hold.lock().expect("lock");
        if !hold.is_zero() {
            tokio::time::sleep(hold).await;
        }
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        if let Some(f) = *self.fail_all.lock().expect("lock") {
            return Some(f);
        }
        let took = self.fail_next.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok();
        if took { *self.failure.lock().expect("lock") } else { None }
    }

    pub(crate) async fn begin_grpc(&self) -> Option<tonic::Code> {
        self.begin().await.map(|f| match f {
            Failure::Unavailable => tonic::Code::Unavailable,
            Failure::Internal => tonic::Code::Internal,
        })
    }
}

/// A running backend on 127.0.0.1; stops when dropped.
#[derive(Debug)]
pub struct Backend {
    addr: SocketAddr,
    state: Arc<BackendState>,
    _stop: oneshot::Sender<()>,
}

impl Backend {
    /// Its address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
    /// Its state.
    pub fn state(&self) -> &Arc<BackendState> {
        &self.state
    }

    /// Starts a tonic server (HTTP/2) with the Echo service, named `name`.
    pub async fn grpc(name: &str) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(BackendState::new(name));
        let (tx, rx) = oneshot::channel::<()>();
        let svc = EchoServer::new(state.clone());
        // TCP_NODELAY: without it, Nagle + delayed ACK hold small responses for ~40 ms.
        let incoming = tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
        tokio::spawn(async move {
            let _ = tonic::transport::Server::builder()
                .add_service(svc)
                .serve_with_incoming_shutdown(incoming, async {
                    let _ = rx.await;
                })
                .await;
        });
        Ok(Self { addr, state, _stop: tx })
    }

    /// Starts an axum server (HTTP/1.1 and HTTP/2) named `name`: every path answers
    /// 200 with the name as body and in `x-served-by`, or fails as scripted.
    pub async fn http(name: &str) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(BackendState::new(name));
        let (tx, rx) = oneshot::channel::<()>();
        let app = axum::Router::new().fallback(http_handler).with_state(state.clone());
        tokio::spawn(async move {
            let listener = axum::serve::ListenerExt::tap_io(listener, |s| {
                let _ = s.set_nodelay(true);
            });
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
        });
        Ok(Self { addr, state, _stop: tx })
    }
}

async fn http_handler(
    State(state): State<Arc<BackendState>>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> (StatusCode, [(&'static str, String); 3], HeaderMap, String) {
    let status = match state.begin().await {
        None => StatusCode::OK,
        Some(Failure::Unavailable) => StatusCode::SERVICE_UNAVAILABLE,
        Some(Failure::Internal) => StatusCode::INTERNAL_SERVER_ERROR,
    };
    let host = headers.get("host").and_then(|h| h.to_str().ok()).unwrap_or_default().to_string();
    (
        status,
        [("x-served-by", state.name().to_string()), ("x-seen-host", host), ("x-body-len", body.len().to_string())],
        seen(&uri, &headers),
        state.name().to_string(),
    )
}

/// Echoes the path and query as `x-seen-path`, and every `x-test-*` request header as
/// `x-seen-x-test-*` (several values joined with `,`).
fn seen(uri: &axum::http::Uri, headers: &HeaderMap) -> HeaderMap {
    use axum::http::{HeaderName, HeaderValue};
    let mut out = HeaderMap::new();
    if let Some(Ok(v)) = uri.path_and_query().map(|pq| HeaderValue::from_str(pq.as_str())) {
        out.insert("x-seen-path", v);
    }
    for name in headers.keys().filter(|n| n.as_str().starts_with("x-test-")) {
        let joined: Vec<&str> = headers.get_all(name).iter().filter_map(|v| v.to_str().ok()).collect();
        if let (Ok(n), Ok(v)) =
            (HeaderName::from_bytes(format!("x-seen-{name}").as_bytes()), HeaderValue::from_str(&joined.join(",")))
        {
            out.insert(n, v);
        }
    }
    out
}
