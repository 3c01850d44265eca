//! `Gateway`: ports and hosts an ingress/egress gateway exposes. Validated now, served
//! when the gateway binary (`mesh-proxy`) reads it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Port;

/// A gateway's servers and the workloads that run it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Gateway {
    /// Servers (ports with hosts).
    #[serde(default)]
    pub servers: Vec<Server>,
    /// Labels of the gateway workloads.
    #[serde(default)]
    pub selector: BTreeMap<String, String>,
}

/// One listening port of a gateway and the hosts it serves.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Server {
    /// The port.
    pub port: Port,
    /// Bind address.
    pub bind: Option<String>,
    /// Hosts exposed (`namespace/host` allowed).
    #[serde(default)]
    pub hosts: Vec<String>,
    /// TLS termination.
    pub tls: Option<ServerTlsSettings>,
    /// Default endpoint.
    pub default_endpoint: Option<String>,
    /// Name.
    pub name: Option<String>,
}

/// Server-side TLS (Gateway servers, Sidecar ingress).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ServerTlsSettings {
    /// Redirect HTTP to HTTPS.
    pub https_redirect: Option<bool>,
    /// The mode.
    pub mode: Option<ServerTlsMode>,
    /// Certificate file.
    pub server_certificate: Option<String>,
    /// Key file.
    pub private_key: Option<String>,
    /// CA file.
    pub ca_certificates: Option<String>,
    /// CRL file.
    pub ca_crl: Option<String>,
    /// Secret name.
    pub credential_name: Option<String>,
    /// Secret names.
    #[serde(default)]
    pub credential_names: Vec<String>,
    /// Certificates.
    #[serde(default)]
    pub tls_certificates: Vec<TlsCertificate>,
    /// Accepted client identities.
    #[serde(default)]
    pub subject_alt_names: Vec<String>,
    /// Accepted client key hashes.
    #[serde(default)]
    pub verify_certificate_spki: Vec<String>,
    /// Accepted client certificate hashes.
    #[serde(default)]
    pub verify_certificate_hash: Vec<String>,
    /// Minimum TLS version.
    pub min_protocol_version: Option<TlsProtocol>,
    /// Maximum TLS version.
    pub max_protocol_version: Option<TlsProtocol>,
    /// Cipher suites.
    #[serde(default)]
    pub cipher_suites: Vec<String>,
}

/// A certificate and its key.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TlsCertificate {
    /// Certificate file.
    pub server_certificate: Option<String>,
    /// Key file.
    pub private_key: Option<String>,
    /// CA file.
    pub ca_certificates: Option<String>,
}

/// Server TLS modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ServerTlsMode {
    /// Forward TLS as is (SNI routing).
    Passthrough,
    /// Terminate TLS.
    Simple,
    /// Terminate mTLS.
    Mutual,
    /// SNI routing to mesh-internal services without a VirtualService.
    AutoPassthrough,
    /// Terminate mTLS with the mesh's certificates.
    IstioMutual,
    /// Client certificate optional.
    OptionalMutual,
}

/// TLS protocol versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
pub enum TlsProtocol {
    /// Automatic.
    #[serde(rename = "TLS_AUTO")]
    Auto,
    /// TLS 1.0.
    #[serde(rename = "TLSV1_0")]
    V1_0,
    /// TLS 1.1.
    #[serde(rename = "TLSV1_1")]
    V1_1,
    /// TLS 1.2.
    #[serde(rename = "TLSV1_2")]
    V1_2,
    /// TLS 1.3.
    #[serde(rename = "TLSV1_3")]
    V1_3,
}
