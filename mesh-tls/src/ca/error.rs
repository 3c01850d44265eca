//! [`CaError`]: why the certificate authority refused a request or could not start.

use std::path::PathBuf;
use std::time::Duration;

/// Why a CA operation failed. Each message names what was being read or asked for and why,
/// on one line.
#[derive(Debug, thiserror::Error)]
pub enum CaError {
    /// The CSR could not be used: not PEM, not DER, a bad signature, an unsupported key.
    #[error("invalid CSR: {reason}")]
    InvalidCsr {
        /// Why.
        reason: String,
    },
    /// The CSR asks for an identity other than the one the caller proved.
    #[error("the CSR asks for {requested} but the caller is {authenticated}")]
    IdentityMismatch {
        /// The URI SAN in the CSR.
        requested: String,
        /// The identity of the caller's credential.
        authenticated: String,
    },
    /// The requested lifetime is longer than the CA allows.
    #[error("requested TTL {}s is greater than the max allowed TTL {}s", .requested.as_secs(), .max.as_secs())]
    TtlTooLong {
        /// What was asked for.
        requested: Duration,
        /// The CA's maximum.
        max: Duration,
    },
    /// The default or maximum TTL given to the CA is unusable.
    #[error("invalid CA policy: {0}")]
    Policy(String),
    /// A certificate, key or bundle given to the CA (from a file or PEM text) is unusable.
    #[error("{what}: {reason}")]
    Load {
        /// What was being loaded (a file path, or `certificate chain`, `private key`, `trust bundle`).
        what: String,
        /// Why it is unusable.
        reason: String,
    },
    /// A file of the CA directory could not be read or written.
    #[error("{}: {source}", .path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A certificate presented to the CA (a client certificate) does not chain to its trust
    /// bundle or carries no usable identity.
    #[error("certificate rejected: {0}")]
    Untrusted(String),
    /// A CA address could not be used.
    #[error("invalid CA address {0}")]
    Address(String),
    /// Signing failed inside the crypto library (should not happen with valid inputs).
    #[error("cannot sign: {0}")]
    Signing(String),
}

impl CaError {
    pub(crate) fn csr(reason: impl Into<String>) -> Self {
        Self::InvalidCsr { reason: reason.into() }
    }

    pub(crate) fn load(what: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Load { what: what.into(), reason: reason.into() }
    }

    pub(crate) fn signing(e: impl std::fmt::Display) -> Self {
        Self::Signing(e.to_string())
    }
}
