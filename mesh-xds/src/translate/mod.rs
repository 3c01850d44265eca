//! Envoy v3 resources → validated `mesh-core` types, at the edge, once.
//!
//! Every resource the ADS client receives goes through [`decode`]: the bytes are decoded
//! (checking the type URL), then validated into the types below. What the client stack
//! cannot honour and that would change behaviour is rejected (and so NACKed), never
//! silently ignored. This is the place to fuzz: `decode` must never panic, whatever the
//! bytes.
//!
//! CONTRACT (implemented in the submodules; the ADS client relies on exactly this API):
//! [`decode`], [`build_cluster`], [`apply_listener_defaults`], and `TryFrom<&proto>` for
//! [`ListenerConfig`], [`RouteConfig`], [`ClusterConfig`] and [`EndpointsConfig`].
//!
//! One file per resource or concern: `listener.rs` (LDS, HTTP filters), `route.rs`
//! (RDS structure), `matcher.rs`, `action.rs`, `rewrite.rs`, `mirror.rs`, `retry.rs`,
//! `fault.rs` (route policies), `cluster.rs`, `lb.rs`, `circuit_breakers.rs`, `outlier.rs` (CDS),
//! `endpoints.rs` (EDS), with `decoding.rs` on top and `field.rs` / `value.rs`
//! underneath. Each file's docs list what it rejects and what it deliberately ignores.
//!
//! Server side: `server_listener.rs` (the inbound `Listener` → [`ServerListener`]),
//! `server_tls.rs` (its `DownstreamTlsContext`) and `rbac.rs` (HTTP RBAC filters →
//! `mesh_core::authz::Rbac`).

mod action;
mod circuit_breakers;
mod cluster;
mod decoding;
mod defaults;
mod endpoints;
mod fault;
mod field;
mod lb;
mod listener;
mod matcher;
mod mirror;
mod outlier;
mod rbac;
mod retry;
mod rewrite;
mod route;
mod server_listener;
mod server_tls;
mod upstream_tls;
mod value;

#[cfg(test)]
mod cluster_tests;
#[cfg(test)]
mod decode_tests;
#[cfg(test)]
mod istio_tests;
#[cfg(test)]
mod rejection_tests;
#[cfg(test)]
mod rewrite_tests;
#[cfg(test)]
mod route_props;
#[cfg(test)]
mod test_protos;
#[cfg(test)]
mod upstream_tls_tests;

pub use cluster::build_cluster;
pub use decoding::decode;
pub use defaults::apply_listener_defaults;
pub use rbac::{ISTIO_AUTHN_FILTER, REQUEST_PRINCIPAL_KEY, rbac_filter, rbac_rules};
pub use server_listener::{ServerListener, decode_server_listener};

use std::collections::BTreeSet;
use std::fmt;
use std::time::Duration;

use mesh_core::cluster::Protocol;
use mesh_core::endpoint::Endpoint;
use mesh_core::fault::FaultPolicy;
use mesh_core::lb::LbPolicy;
use mesh_core::retry::RetryBudgetPolicy;
use mesh_core::route::RouteTable;

/// Why a resource was rejected: which resource, which field, why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceError {
    /// Resource name ("" when the name itself could not be decoded).
    pub resource: String,
    /// Dotted field path inside the resource (`virtual_hosts[0].routes[1].match.safe_regex`).
    pub field: String,
    /// Why.
    pub reason: String,
}

impl fmt::Display for ResourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.resource.is_empty(), self.field.is_empty()) {
            (true, true) => write!(f, "{}", self.reason),
            (true, false) => write!(f, "{}: {}", self.field, self.reason),
            (false, true) => write!(f, "resource {:?}: {}", self.resource, self.reason),
            (false, false) => write!(f, "resource {:?}: {}: {}", self.resource, self.field, self.reason),
        }
    }
}

impl std::error::Error for ResourceError {}

/// Where a listener's routes come from.
#[derive(Debug, Clone)]
pub enum RouteSource {
    /// Fetched over RDS under this name.
    Rds(String),
    /// Inline in the listener.
    Inline(RouteConfig),
}

/// A client-side (api_listener) listener.
#[derive(Debug, Clone)]
pub struct ListenerConfig {
    /// Listener name (`host:port` for proxyless clients).
    pub name: String,
    /// The routes.
    pub route: RouteSource,
    /// HCM `common_http_protocol_options.max_stream_duration`: the deadline of routes
    /// that set none themselves.
    pub max_stream_duration: Option<Duration>,
    /// Fault policy from the HCM's fault filter config, for routes with no override.
    pub default_fault: Option<FaultPolicy>,
}

/// A route configuration.
#[derive(Debug, Clone)]
pub struct RouteConfig {
    /// Name.
    pub name: String,
    /// The validated table.
    pub routes: RouteTable,
    /// Every cluster a route of the table may send to.
    pub cluster_names: BTreeSet<String>,
}

/// How a cluster finds its endpoints.
#[derive(Debug, Clone)]
pub enum ClusterDiscovery {
    /// From EDS under this service name.
    Eds {
        /// `eds_cluster_config.service_name`, or the cluster name.
        service_name: String,
    },
    /// From the cluster's own `load_assignment` (STATIC).
    Static(Vec<Endpoint>),
    /// From DNS (LOGICAL_DNS): one host name.
    LogicalDns {
        /// Host to resolve.
        host: String,
        /// Port.
        port: u16,
    },
}

/// A cluster, before its endpoints are known.
#[derive(Debug, Clone)]
pub struct ClusterConfig {
    /// Name.
    pub name: String,
    /// Endpoint discovery.
    pub discovery: ClusterDiscovery,
    /// LB policy.
    pub lb: LbPolicy,
    /// Retry budget from circuit breakers.
    pub retry_budget: Option<RetryBudgetPolicy>,
    /// Limits from the DEFAULT-priority circuit breakers (unset or 2³²−1: unlimited).
    pub circuit_breakers: mesh_core::cluster::CircuitBreakers,
    /// Outlier detection, when the cluster has it.
    pub outlier_detection: Option<mesh_core::outlier::OutlierDetection>,
    /// Connect timeout.
    pub connect_timeout: Duration,
    /// HTTP version to endpoints.
    pub protocol: Protocol,
    /// TLS to the endpoints (`transport_socket`), `None` for plaintext.
    pub tls: Option<mesh_core::cluster::UpstreamTls>,
}

/// A `ClusterLoadAssignment`.
#[derive(Debug, Clone)]
pub struct EndpointsConfig {
    /// `cluster_name`.
    pub name: String,
    /// Endpoints with weight (endpoint × locality), locality, priority, health.
    pub endpoints: Vec<Endpoint>,
}

/// A decoded, validated resource.
#[derive(Debug, Clone)]
// Resources live behind an `Arc` in the client's cache, one per name: their size does
// not matter, and boxing every variant would only add indirections to the code that reads
// them.
#[allow(clippy::large_enum_variant)]
pub enum Resource {
    /// LDS: a client listener (`api_listener`).
    Listener(ListenerConfig),
    /// LDS: a server's inbound listener.
    ServerListener(Box<ServerListener>),
    /// RDS.
    Route(RouteConfig),
    /// CDS.
    Cluster(ClusterConfig),
    /// EDS.
    Endpoints(EndpointsConfig),
}

/// The result of decoding one resource of a response.
#[derive(Debug)]
pub struct Decoded {
    /// The resource name, when the bytes decoded far enough to read it.
    pub name: Option<String>,
    /// The validated resource or why it was rejected.
    pub result: Result<Resource, ResourceError>,
}
