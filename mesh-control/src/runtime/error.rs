//! [`StartError`]: why the control plane did not start.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

use crate::istio::ConfigIssue;

/// Why [`ControlPlaneBuilder::start`](super::ControlPlaneBuilder::start) failed. Its `Display`
/// is one line (what the binary prints before exiting 1).
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The configuration is invalid: every problem found (each `Display`s as
    /// `file:line: Kind/namespace/name: field: reason`).
    #[error("invalid configuration: {}", Summary(.0))]
    Config(Vec<ConfigIssue>),
    /// The xDS (gRPC) address could not be bound.
    #[error("cannot listen for xDS on {addr}: {source}")]
    BindXds {
        /// The address.
        addr: SocketAddr,
        /// The error.
        source: std::io::Error,
    },
    /// The admin (HTTP) address could not be bound.
    #[error("cannot listen for the admin server on {addr}: {source}")]
    BindAdmin {
        /// The address.
        addr: SocketAddr,
        /// The error.
        source: std::io::Error,
    },
    /// The certificate authority did not start.
    #[error("{0}")]
    Ca(#[from] crate::ca::CaStartError),
    /// A configuration path could not be watched for changes.
    #[error("cannot watch {}: {source}", .path.display())]
    Watch {
        /// The path.
        path: PathBuf,
        /// The error.
        source: notify::Error,
    },
}

/// "2 problems; first: a.yaml:3: …" on one line.
struct Summary<'a>(&'a [ConfigIssue]);

impl fmt::Display for Summary<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            [] => f.write_str("no details"),
            [only] => write!(f, "{}", one_line(only)),
            [first, rest @ ..] => write!(f, "{} problems; first: {}", rest.len() + 1, one_line(first)),
        }
    }
}

fn one_line(issue: &ConfigIssue) -> String {
    issue.to_string().replace(['\n', '\r'], " ")
}
