//! The errors the mesh returns, typed so that callers can tell them apart without
//! parsing strings, and each able to say where it came from and whether it may be retried
//! (pingora's approach).

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use mesh_core::route::NoRoute;

/// A boxed error, as used at tower service boundaries.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Where an error originated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// The caller's request or the caller side (e.g. its body failed).
    Downstream,
    /// This process: configuration, routing, policies.
    Internal,
    /// The destination endpoint or the network to it.
    Upstream,
}

/// Which deadline expired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeoutScope {
    /// The overall request deadline (route `timeout` or the caller's `grpc-timeout`).
    Overall,
    /// One attempt's `per_try_timeout`, with no retry left.
    PerTry,
}

/// Which circuit breaker of a cluster stopped a request (see
/// `mesh_core::cluster::limits`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// `max_requests`: too many requests in flight to the cluster.
    MaxRequests,
    /// `max_pending_requests`: too many requests waiting for a connection.
    MaxPendingRequests,
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::MaxRequests => "max_requests",
            Self::MaxPendingRequests => "max_pending_requests",
        })
    }
}

/// Everything the client stack can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MeshError {
    /// No virtual host or route matched (HTTP 404, gRPC `UNIMPLEMENTED`).
    #[error("{0}")]
    NoRoute(NoRoute),
    /// The route names a cluster the current configuration does not have.
    #[error("cluster {cluster:?} is not in the current configuration")]
    ClusterNotFound {
        /// Cluster name.
        cluster: String,
    },
    /// No endpoint can take the request (HTTP 503, gRPC `UNAVAILABLE`).
    #[error("no healthy endpoint in cluster {cluster:?}{}", subset.as_deref().map(|s| format!(" subset {s:?}")).unwrap_or_default())]
    NoHealthyEndpoint {
        /// Cluster name.
        cluster: String,
        /// Subset, if any.
        subset: Option<String>,
    },
    /// A deadline expired (HTTP 504, gRPC `DEADLINE_EXCEEDED`).
    #[error("{} timeout after {after:?}", match scope { TimeoutScope::Overall => "request", TimeoutScope::PerTry => "per-try" })]
    Timeout {
        /// The configured duration.
        after: Duration,
        /// Which deadline.
        scope: TimeoutScope,
    },
    /// The last attempt failed and the cluster's retry limit — its retry budget, or its
    /// `max_retries` circuit breaker — allowed no further retry.
    #[error("retry budget of cluster {cluster:?} exhausted; last attempt: {last}")]
    BudgetExhausted {
        /// Cluster name.
        cluster: String,
        /// The last attempt's error.
        last: Box<MeshError>,
    },
    /// A circuit breaker of the cluster is open (HTTP 503 with `x-envoy-overloaded:
    /// true`, gRPC `UNAVAILABLE`). The request was not sent, and it is not retried: a
    /// retry would meet the same limit (Envoy never retries an overflow either).
    #[error("cluster {cluster:?} is overloaded: {limit} reached")]
    Overflow {
        /// Cluster name.
        cluster: String,
        /// The limit.
        limit: Limit,
    },
    /// The connection to the endpoint could not be established (the request never left).
    #[error("connect to {addr} failed: {source}")]
    Connect {
        /// Endpoint address.
        addr: SocketAddr,
        /// Cause.
        source: BoxError,
    },
    /// The stream was refused by the endpoint before processing (HTTP/2 `REFUSED_STREAM`).
    #[error("{addr} refused the stream: {source}")]
    RefusedStream {
        /// Endpoint address.
        addr: SocketAddr,
        /// Cause.
        source: BoxError,
    },
    /// The connection or stream broke after the request may have reached the endpoint.
    #[error("request to {addr} failed: {source}")]
    Upstream {
        /// Endpoint address.
        addr: SocketAddr,
        /// Cause.
        source: BoxError,
    },
    /// Reading the caller's request body failed.
    #[error("request body failed: {0}")]
    RequestBody(BoxError),
    /// The request has no authority and the channel has no default target.
    #[error("request is missing an authority and the channel has no default")]
    MissingAuthority,
}

/// The broad class of a [`MeshError`], for matching without the details.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// See [`MeshError::NoRoute`].
    NoRoute,
    /// See [`MeshError::NoHealthyEndpoint`] and [`MeshError::ClusterNotFound`].
    Unavailable,
    /// See [`MeshError::Timeout`].
    Timeout,
    /// See [`MeshError::BudgetExhausted`].
    BudgetExhausted,
    /// See [`MeshError::Overflow`].
    Overloaded,
    /// Connection or stream failures.
    Upstream,
    /// The caller's side.
    Downstream,
}

impl MeshError {
    /// The broad class.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::NoRoute(_) | Self::MissingAuthority => ErrorKind::NoRoute,
            Self::ClusterNotFound { .. } | Self::NoHealthyEndpoint { .. } => ErrorKind::Unavailable,
            Self::Timeout { .. } => ErrorKind::Timeout,
            Self::BudgetExhausted { .. } => ErrorKind::BudgetExhausted,
            Self::Overflow { .. } => ErrorKind::Overloaded,
            Self::Connect { .. } | Self::RefusedStream { .. } | Self::Upstream { .. } => ErrorKind::Upstream,
            Self::RequestBody(_) => ErrorKind::Downstream,
        }
    }

    /// Where it came from.
    pub fn origin(&self) -> Origin {
        match self {
            Self::Connect { .. } | Self::RefusedStream { .. } | Self::Upstream { .. } => Origin::Upstream,
            Self::BudgetExhausted { last, .. } => last.origin(),
            Self::RequestBody(_) | Self::MissingAuthority => Origin::Downstream,
            _ => Origin::Internal,
        }
    }

    /// Whether the failed attempt certainly did not reach the destination application,
    /// so that retrying it cannot duplicate work.
    pub fn never_reached_app(&self) -> bool {
        matches!(self, Self::Connect { .. } | Self::RefusedStream { .. } | Self::Overflow { .. })
    }

    /// The HTTP status an HTTP proxy would answer with.
    pub fn http_status(&self) -> http::StatusCode {
        match self.kind() {
            ErrorKind::NoRoute => http::StatusCode::NOT_FOUND,
            ErrorKind::Timeout => http::StatusCode::GATEWAY_TIMEOUT,
            ErrorKind::Downstream => http::StatusCode::BAD_REQUEST,
            ErrorKind::Unavailable | ErrorKind::BudgetExhausted | ErrorKind::Upstream | ErrorKind::Overloaded => {
                http::StatusCode::SERVICE_UNAVAILABLE
            }
        }
    }

    /// The gRPC status code for the error.
    pub fn grpc_code(&self) -> tonic::Code {
        match self.kind() {
            ErrorKind::NoRoute => tonic::Code::Unimplemented,
            ErrorKind::Timeout => tonic::Code::DeadlineExceeded,
            ErrorKind::Downstream => tonic::Code::Internal,
            ErrorKind::Unavailable | ErrorKind::BudgetExhausted | ErrorKind::Upstream | ErrorKind::Overloaded => {
                tonic::Code::Unavailable
            }
        }
    }

    /// The HTTP response an HTTP proxy answers with, as Envoy does: [`http_status`]
    /// (Self::http_status), `x-envoy-overloaded: true` for an [`Overflow`](Self::Overflow),
    /// and the error as a plain-text body.
    pub fn to_http_response(&self) -> http::Response<crate::client::ResponseBody> {
        let mut res = http::Response::new(crate::client::ResponseBody::full(format!("{self}\n")));
        *res.status_mut() = self.http_status();
        let headers = res.headers_mut();
        headers.insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("text/plain"));
        if matches!(self, Self::Overflow { .. }) {
            headers.insert("x-envoy-overloaded", http::HeaderValue::from_static("true"));
        }
        res
    }

    /// A `tonic::Status` with the matching code, whose `source()` is this error.
    pub fn into_status(self) -> tonic::Status {
        let mut status = tonic::Status::new(self.grpc_code(), self.to_string());
        status.set_source(std::sync::Arc::new(self));
        status
    }

    /// Finds a `MeshError` in a boxed error (directly or as a `tonic::Status` source).
    pub fn find<'a>(err: &'a (dyn std::error::Error + 'static)) -> Option<&'a MeshError> {
        let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(err);
        while let Some(e) = cur {
            if let Some(m) = e.downcast_ref::<MeshError>() {
                return Some(m);
            }
            cur = e.source();
        }
        None
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}
