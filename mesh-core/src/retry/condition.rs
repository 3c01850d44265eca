use std::fmt;

use crate::ConfigError;

/// A set of retry conditions, named as Envoy's `x-envoy-retry-on` and
/// `x-envoy-retry-grpc-on` (and Istio's `retryOn`).
#[derive(Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct RetryOn(u32);

const NAMES: &[(&str, u32)] = &[
    ("5xx", RetryOn::FIVE_XX.0),
    ("gateway-error", RetryOn::GATEWAY_ERROR.0),
    ("reset", RetryOn::RESET.0),
    ("connect-failure", RetryOn::CONNECT_FAILURE.0),
    ("refused-stream", RetryOn::REFUSED_STREAM.0),
    ("retriable-4xx", RetryOn::RETRIABLE_4XX.0),
    ("retriable-status-codes", RetryOn::RETRIABLE_STATUS_CODES.0),
    ("cancelled", RetryOn::GRPC_CANCELLED.0),
    ("deadline-exceeded", RetryOn::GRPC_DEADLINE_EXCEEDED.0),
    ("internal", RetryOn::GRPC_INTERNAL.0),
    ("resource-exhausted", RetryOn::GRPC_RESOURCE_EXHAUSTED.0),
    ("unavailable", RetryOn::GRPC_UNAVAILABLE.0),
];

impl RetryOn {
    /// Any 5xx response, and every failure to get a response (reset, connect failure,
    /// refused stream, per-try timeout).
    pub const FIVE_XX: Self = Self(1);
    /// 502, 503, 504 responses and per-try timeouts.
    pub const GATEWAY_ERROR: Self = Self(1 << 1);
    /// No response: disconnect, reset, per-try timeout (includes connect failures).
    pub const RESET: Self = Self(1 << 2);
    /// The connection could not be established (the request never left).
    pub const CONNECT_FAILURE: Self = Self(1 << 3);
    /// HTTP/2 `REFUSED_STREAM` (the server did not process the request).
    pub const REFUSED_STREAM: Self = Self(1 << 4);
    /// 409 Conflict.
    pub const RETRIABLE_4XX: Self = Self(1 << 5);
    /// Any status in the policy's `retriable_status_codes`.
    pub const RETRIABLE_STATUS_CODES: Self = Self(1 << 6);
    /// gRPC `CANCELLED` (1).
    pub const GRPC_CANCELLED: Self = Self(1 << 7);
    /// gRPC `DEADLINE_EXCEEDED` (4).
    pub const GRPC_DEADLINE_EXCEEDED: Self = Self(1 << 8);
    /// gRPC `INTERNAL` (13).
    pub const GRPC_INTERNAL: Self = Self(1 << 9);
    /// gRPC `RESOURCE_EXHAUSTED` (8).
    pub const GRPC_RESOURCE_EXHAUSTED: Self = Self(1 << 10);
    /// gRPC `UNAVAILABLE` (14).
    pub const GRPC_UNAVAILABLE: Self = Self(1 << 11);

    /// No condition.
    pub const fn empty() -> Self {
        Self(0)
    }
    /// Union.
    #[must_use]
    pub const fn with(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }
    /// Whether every condition of `other` is in `self`.
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0 && other.0 != 0
    }
    /// Whether no condition is set.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Parses a comma-separated list such as `"5xx,connect-failure,unavailable"`.
    pub fn parse(list: &str) -> Result<Self, ConfigError> {
        let mut set = Self::empty();
        for raw in list.split(',') {
            let name = raw.trim();
            if name.is_empty() {
                continue;
            }
            let bit = NAMES.iter().find(|(n, _)| *n == name).map(|(_, b)| *b).ok_or_else(|| {
                let known: Vec<&str> = NAMES.iter().map(|(n, _)| *n).collect();
                ConfigError::new("", format!("unknown retry condition {name:?} (known: {})", known.join(", ")))
            })?;
            set = set.with(Self(bit));
        }
        Ok(set)
    }
}

impl fmt::Debug for RetryOn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = NAMES.iter().filter(|(_, b)| self.0 & b != 0).map(|(n, _)| *n).collect();
        write!(f, "RetryOn({})", names.join(","))
    }
}

/// What happened to one attempt, as far as retrying is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// A response arrived (headers). `grpc_status` is set when the response carried
    /// `grpc-status` in its headers (a trailers-only gRPC response).
    Response {
        /// HTTP status code.
        status: u16,
        /// `grpc-status` from the headers, if present.
        grpc_status: Option<u32>,
    },
    /// The connection could not be established: the request never left this process.
    ConnectFailure,
    /// HTTP/2 `REFUSED_STREAM`: the server guarantees it did not process the request.
    RefusedStream,
    /// The stream or connection broke after the request may have reached the server.
    Reset,
    /// The per-try timeout fired.
    PerTryTimeout,
}

impl AttemptOutcome {
    /// Whether the attempt failed before its bytes could reach the application
    /// (safe to retry whatever the method).
    pub fn never_reached_app(self) -> bool {
        matches!(self, Self::ConnectFailure | Self::RefusedStream)
    }

    /// Whether this outcome is a success that must be handed back as is.
    pub fn is_success(self) -> bool {
        match self {
            Self::Response { status, grpc_status } => status < 500 && grpc_status.is_none_or(|g| g == 0),
            _ => false,
        }
    }
}
