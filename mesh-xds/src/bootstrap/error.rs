//! [`BootstrapError`]: what went wrong, and where.

/// Why a bootstrap could not be loaded, or a name could not be derived from it.
///
/// Every message starts with where the bootstrap came from (the *origin*: `GRPC_XDS_BOOTSTRAP=<path>`,
/// `GRPC_XDS_BOOTSTRAP_CONFIG`, a file path, `bootstrap JSON` or `Bootstrap::builder`) and, for an
/// invalid value, the JSON path of the field, for example
/// `GRPC_XDS_BOOTSTRAP=/etc/x.json: xds_servers[0].server_uri: missing`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BootstrapError {
    /// Neither `GRPC_XDS_BOOTSTRAP` nor `GRPC_XDS_BOOTSTRAP_CONFIG` is set (or both are empty).
    #[error(
        "no xDS bootstrap: set GRPC_XDS_BOOTSTRAP (path to a JSON file) or GRPC_XDS_BOOTSTRAP_CONFIG (the JSON itself)"
    )]
    NotConfigured,
    /// The bootstrap file could not be read.
    #[error("{origin}: cannot read the file: {error}")]
    Read {
        /// Where the bootstrap came from.
        origin: String,
        /// The I/O error.
        #[source]
        error: std::io::Error,
    },
    /// The text is not JSON.
    #[error("{origin}: not valid JSON: {error}")]
    Json {
        /// Where the bootstrap came from.
        origin: String,
        /// The parser's error (it carries the line and column).
        #[source]
        error: serde_json::Error,
    },
    /// A field is missing or holds a value that is not allowed.
    #[error("{origin}: {field}: {reason}")]
    Invalid {
        /// Where the bootstrap came from.
        origin: String,
        /// The JSON path of the field, e.g. `xds_servers[0].channel_creds` or
        /// `authorities["xds.example.com"].client_listener_resource_name_template`.
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// An `xds:` target (or an `xdstp:` resource name) cannot be used with this bootstrap.
    #[error("{target:?}: {reason}")]
    Target {
        /// The target or resource name as given.
        target: String,
        /// What is wrong with it.
        reason: String,
    },
}

impl BootstrapError {
    /// The JSON path of the offending field, for [`BootstrapError::Invalid`].
    pub fn field(&self) -> Option<&str> {
        match self {
            Self::Invalid { field, .. } => Some(field),
            _ => None,
        }
    }

    pub(super) fn target(target: &str, reason: impl Into<String>) -> Self {
        Self::Target { target: target.to_owned(), reason: reason.into() }
    }
}

/// A problem at a JSON path, before the origin is known (see [`FieldError::at_origin`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct FieldError {
    pub(super) field: String,
    pub(super) reason: String,
}

impl FieldError {
    pub(super) fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self { field: field.into(), reason: reason.into() }
    }

    pub(super) fn at_origin(self, origin: &str) -> BootstrapError {
        BootstrapError::Invalid { origin: origin.to_owned(), field: self.field, reason: self.reason }
    }
}
