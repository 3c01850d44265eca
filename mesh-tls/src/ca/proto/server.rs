//! [`IstioCertificateServiceServer`]: serves an [`IstioCertificateService`] implementation
//! as a tonic service (add it to a `tonic::transport::Server`).

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::task::{Context, Poll};

use tonic::codegen::{Body, BoxFuture, Service, StdError, http};

use super::{CREATE_CERTIFICATE_PATH, IstioCertificateRequest, IstioCertificateResponse, SERVICE_NAME};

/// The server side of `istio.v1.auth.IstioCertificateService`.
pub trait IstioCertificateService: Send + Sync + 'static {
    /// Signs the request's CSR for the caller, whose credential is in the request's
    /// metadata (`authorization`) or extensions (the transport's connection info).
    fn create_certificate(
        &self,
        request: tonic::Request<IstioCertificateRequest>,
    ) -> impl Future<Output = Result<tonic::Response<IstioCertificateResponse>, tonic::Status>> + Send;
}

/// A tonic service answering `CreateCertificate` with `T`; other paths get UNIMPLEMENTED.
#[derive(Debug)]
pub struct IstioCertificateServiceServer<T> {
    inner: Arc<T>,
}

impl<T> IstioCertificateServiceServer<T> {
    /// Serves `inner`.
    pub fn new(inner: T) -> Self {
        Self { inner: Arc::new(inner) }
    }

    /// Serves an already shared `inner`.
    pub fn from_arc(inner: Arc<T>) -> Self {
        Self { inner }
    }
}

impl<T> Clone for IstioCertificateServiceServer<T> {
    fn clone(&self) -> Self {
        Self { inner: self.inner.clone() }
    }
}

impl<T> tonic::server::NamedService for IstioCertificateServiceServer<T> {
    const NAME: &'static str = SERVICE_NAME;
}

struct CreateCertificate<T>(Arc<T>);

impl<T: IstioCertificateService> tonic::server::UnaryService<IstioCertificateRequest> for CreateCertificate<T> {
    type Response = IstioCertificateResponse;
    type Future = BoxFuture<tonic::Response<IstioCertificateResponse>, tonic::Status>;

    fn call(&mut self, request: tonic::Request<IstioCertificateRequest>) -> Self::Future {
        let inner = self.0.clone();
        Box::pin(async move { inner.create_certificate(request).await })
    }
}

impl<T, B> Service<http::Request<B>> for IstioCertificateServiceServer<T>
where
    T: IstioCertificateService,
    B: Body + Send + 'static,
    B::Error: Into<StdError> + Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        if request.uri().path() != CREATE_CERTIFICATE_PATH {
            let path = request.uri().path().to_owned();
            return Box::pin(async move { Ok(tonic::Status::unimplemented(format!("no method {path}")).into_http()) });
        }
        let inner = self.inner.clone();
        Box::pin(async move {
            let mut grpc = tonic::server::Grpc::new(tonic_prost::ProstCodec::default());
            Ok(grpc.unary(CreateCertificate(inner), request).await)
        })
    }
}
