use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use tonic::codegen::{BoxFuture, Service, StdError, http};

use crate::backend::BackendState;

/// Request of `mesh.test.Echo/Echo`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct EchoRequest {
    /// Payload echoed back.
    #[prost(bytes = "bytes", tag = "1")]
    pub payload: Bytes,
}

/// Reply of `mesh.test.Echo/Echo`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct EchoReply {
    /// The payload of the request.
    #[prost(bytes = "bytes", tag = "1")]
    pub payload: Bytes,
    /// Which backend answered (its name, e.g. `v2`).
    #[prost(string, tag = "2")]
    pub server: String,
    /// The `grpc-timeout` header the backend saw, if any.
    #[prost(string, tag = "3")]
    pub grpc_timeout: String,
}

const PATH: &str = "/mesh.test.Echo/Echo";

/// A client for the Echo service over any tonic `GrpcService` (a `Channel`, a `MeshChannel`).
#[derive(Debug, Clone)]
pub struct EchoClient<T> {
    inner: tonic::client::Grpc<T>,
}

impl<T> EchoClient<T>
where
    T: tonic::client::GrpcService<tonic::body::Body>,
    T::Error: Into<StdError>,
    T::ResponseBody: http_body::Body<Data = Bytes> + Send + 'static,
    <T::ResponseBody as http_body::Body>::Error: Into<StdError> + Send,
{
    /// Wraps a transport. The authority of requests comes from the transport (for a
    /// `MeshChannel`, its target).
    pub fn new(inner: T) -> Self {
        Self { inner: tonic::client::Grpc::new(inner) }
    }

    /// Calls `Echo`.
    pub async fn echo(
        &mut self,
        request: impl tonic::IntoRequest<EchoRequest>,
    ) -> Result<tonic::Response<EchoReply>, tonic::Status> {
        self.inner.ready().await.map_err(|e| tonic::Status::unknown(format!("service was not ready: {}", e.into())))?;
        let codec = tonic_prost::ProstCodec::default();
        let path = http::uri::PathAndQuery::from_static(PATH);
        self.inner.unary(request.into_request(), path, codec).await
    }
}

/// The Echo service, answering from a [`BackendState`].
#[derive(Debug, Clone)]
pub struct EchoServer {
    state: Arc<BackendState>,
}

impl EchoServer {
    /// A server answering as `state` says.
    pub fn new(state: Arc<BackendState>) -> Self {
        Self { state }
    }
}

impl tonic::server::NamedService for EchoServer {
    const NAME: &'static str = "mesh.test.Echo";
}

struct EchoMethod(Arc<BackendState>);

impl tonic::server::UnaryService<EchoRequest> for EchoMethod {
    type Response = EchoReply;
    type Future = BoxFuture<tonic::Response<EchoReply>, tonic::Status>;

    fn call(&mut self, request: tonic::Request<EchoRequest>) -> Self::Future {
        let state = self.0.clone();
        Box::pin(async move {
            let grpc_timeout =
                request.metadata().get("grpc-timeout").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
            if let Some(code) = state.begin_grpc().await {
                return Err(tonic::Status::new(code, format!("scripted failure from {}", state.name())));
            }
            let payload = request.into_inner().payload;
            Ok(tonic::Response::new(EchoReply { payload, server: state.name().to_string(), grpc_timeout }))
        })
    }
}

impl<B> Service<http::Request<B>> for EchoServer
where
    B: http_body::Body + Send + 'static,
    B::Error: Into<StdError> + Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        let state = self.state.clone();
        if req.uri().path() != PATH {
            return Box::pin(async { Ok(tonic::Status::unimplemented("no such method").into_http()) });
        }
        Box::pin(async move {
            let codec = tonic_prost::ProstCodec::default();
            let mut grpc = tonic::server::Grpc::new(codec);
            Ok(grpc.unary(EchoMethod(state), req).await)
        })
    }
}
