//! How a cluster's connections are secured: Envoy's `UpstreamTlsContext` as Istio fills it
//! from a DestinationRule's `tls` (`ISTIO_MUTUAL`, `MUTUAL`, `SIMPLE`).

use crate::ConfigError;

/// Where a certificate (or the roots) comes from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CertSource {
    /// A certificate provider instance of the bootstrap (gRFC A29): the mesh identity
    /// (`default`/`default`) or its roots (`default`/`ROOTCA`).
    Provider {
        /// The instance name (`default`).
        instance: String,
        /// The certificate name within the instance (`default`, `ROOTCA`).
        certificate: String,
    },
    /// PEM files (DestinationRule `clientCertificate`+`privateKey`, or `caCertificates`).
    Files {
        /// The certificate chain (or roots) file.
        certificate: String,
        /// The private key file (empty for roots).
        key: Option<String>,
    },
}

/// A subject alternative name the server must present (exact match).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SanMatch {
    /// A URI SAN, e.g. a SPIFFE ID.
    Uri(String),
    /// A DNS SAN.
    Dns(String),
}

/// TLS to a cluster's endpoints.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UpstreamTls {
    /// The client certificate to present (`None`: server-authenticated TLS only).
    pub identity: Option<CertSource>,
    /// The roots that verify the server (`None`: no verification — `insecureSkipVerify`).
    pub roots: Option<CertSource>,
    /// Accepted server SANs; empty = any (chain verification only).
    pub sans: Vec<SanMatch>,
    /// SNI to send.
    pub sni: Option<String>,
}

impl UpstreamTls {
    /// Validates the combination.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if let Some(CertSource::Files { key: None, .. }) = &self.identity {
            return Err(ConfigError::new("identity", "a client certificate file needs its private key file"));
        }
        if let Some(CertSource::Files { key: Some(_), .. }) = &self.roots {
            return Err(ConfigError::new("roots", "roots take no private key"));
        }
        if self.roots.is_none() && !self.sans.is_empty() {
            return Err(ConfigError::new("sans", "SAN checks need roots to verify the chain against"));
        }
        Ok(())
    }

    /// Whether this is mesh mTLS: both the identity and the roots come from certificate
    /// providers (`ISTIO_MUTUAL`). Mesh connections are TLS 1.3 only.
    pub fn is_mesh(&self) -> bool {
        matches!(self.identity, Some(CertSource::Provider { .. }))
            && matches!(self.roots, Some(CertSource::Provider { .. }))
    }
}
