//! Errors of certificate handling outside the CA.

/// Why a certificate, key or trust bundle could not be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// PEM input held nothing usable.
    #[error("{what}: {reason}")]
    Pem {
        /// What was being read (`certificate chain`, `private key`, `trust bundle`, or a file path).
        what: String,
        /// Why it failed.
        reason: String,
    },
    /// A certificate could not be parsed or has the wrong shape.
    #[error("{what}: {reason}")]
    Certificate {
        /// Which certificate.
        what: String,
        /// Why it is unusable.
        reason: String,
    },
    /// The private key does not match or cannot be loaded.
    #[error("private key: {0}")]
    Key(String),
    /// A file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The certificate authority refused or could not be reached.
    #[error("certificate authority: {0}")]
    Ca(String),
}
