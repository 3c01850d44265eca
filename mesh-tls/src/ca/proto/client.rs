//! [`IstioCertificateServiceClient`]: the client of `CreateCertificate`, over any tonic
//! transport (a `Channel`, e.g. from [`connect`](crate::ca::client::connect)).

use tonic::codegen::{Body, Bytes, StdError, http};

use super::{CREATE_CERTIFICATE_PATH, IstioCertificateRequest, IstioCertificateResponse};

/// A client of `istio.v1.auth.IstioCertificateService`.
#[derive(Debug, Clone)]
pub struct IstioCertificateServiceClient<T> {
    inner: tonic::client::Grpc<T>,
}

impl<T> IstioCertificateServiceClient<T>
where
    T: tonic::client::GrpcService<tonic::body::Body>,
    T::Error: Into<StdError>,
    T::ResponseBody: Body<Data = Bytes> + Send + 'static,
    <T::ResponseBody as Body>::Error: Into<StdError> + Send,
{
    /// Wraps a transport.
    pub fn new(inner: T) -> Self {
        Self { inner: tonic::client::Grpc::new(inner) }
    }

    /// Calls `CreateCertificate`. Authenticate with `authorization: Bearer <token>` in the
    /// request's metadata, or with the transport's client certificate.
    pub async fn create_certificate(
        &mut self,
        request: impl tonic::IntoRequest<IstioCertificateRequest>,
    ) -> Result<tonic::Response<IstioCertificateResponse>, tonic::Status> {
        self.inner.ready().await.map_err(|e| tonic::Status::unknown(format!("service was not ready: {}", e.into())))?;
        let codec = tonic_prost::ProstCodec::default();
        let path = http::uri::PathAndQuery::from_static(CREATE_CERTIFICATE_PATH);
        let mut request = request.into_request();
        request.extensions_mut().insert(tonic::GrpcMethod::new(super::SERVICE_NAME, "CreateCertificate"));
        self.inner.unary(request, path, codec).await
    }
}
