//! Istio's certificate signing protocol, `istio.v1.auth.IstioCertificateService` (the
//! `security/v1alpha1/ca.proto` of `istio/api`): one unary call, `CreateCertificate`,
//! which istio-agent, ztunnel and proxyless gRPC's agent use to get a workload
//! certificate from istiod's CA.
//!
//! The messages are written with `prost` derives and the client and server by hand, in
//! the shape tonic's code generator gives (no `protoc` at build time). Field numbers and
//! types match the `.proto`, so both ends interoperate with Istio's:
//!
//! ```text
//! message IstioCertificateRequest  { string csr = 1; int64 validity_duration = 3;
//!                                    google.protobuf.Struct metadata = 4; }
//! message IstioCertificateResponse { repeated string cert_chain = 1; }
//! service IstioCertificateService  { rpc CreateCertificate(IstioCertificateRequest)
//!                                        returns (IstioCertificateResponse); }
//! ```
//!
//! The caller authenticates with `authorization: Bearer <token>` metadata or a client
//! certificate; `cert_chain` is leaf first, root last.

mod client;
mod server;

pub use client::IstioCertificateServiceClient;
pub use envoy_types::pb::google::protobuf::Struct;
pub use server::{IstioCertificateService, IstioCertificateServiceServer};

/// The gRPC service name.
pub const SERVICE_NAME: &str = "istio.v1.auth.IstioCertificateService";

/// The HTTP/2 path of `CreateCertificate`.
pub const CREATE_CERTIFICATE_PATH: &str = "/istio.v1.auth.IstioCertificateService/CreateCertificate";

/// A certificate request. The CA may overwrite any field of the certificate; it must
/// check that the caller is entitled to every SAN asked for.
#[derive(Clone, PartialEq, prost::Message)]
pub struct IstioCertificateRequest {
    /// PEM-encoded PKCS#10 certificate request; its public key is certified.
    #[prost(string, tag = "1")]
    pub csr: String,
    /// Requested validity, in seconds; 0 (or negative) asks for the CA's default.
    #[prost(int64, tag = "3")]
    pub validity_duration: i64,
    /// Opaque metadata from the workload (Istio: `ClusterID`, `WorkloadName`, `WorkloadIP`).
    #[prost(message, optional, tag = "4")]
    pub metadata: Option<Struct>,
}

/// The issued certificate chain.
#[derive(Clone, PartialEq, prost::Message)]
pub struct IstioCertificateResponse {
    /// PEM certificates, one per element: the leaf first, then intermediates, then the root.
    #[prost(string, repeated, tag = "1")]
    pub cert_chain: Vec<String>,
}

#[cfg(test)]
mod tests {
    use prost::Message;

    use super::*;

    #[test]
    fn field_numbers_match_istio() {
        let request =
            IstioCertificateRequest { csr: "x".into(), validity_duration: 5, metadata: Some(Struct::default()) };
        // csr: field 1, wire type 2; validity_duration: field 3, varint; metadata: field 4, bytes.
        assert_eq!(request.encode_to_vec(), [0x0a, 1, b'x', 0x18, 5, 0x22, 0]);
        let response = IstioCertificateResponse { cert_chain: vec!["a".into(), "b".into()] };
        assert_eq!(response.encode_to_vec(), [0x0a, 1, b'a', 0x0a, 1, b'b']);
    }
}
