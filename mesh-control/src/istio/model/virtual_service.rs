//! `VirtualService`: which hosts it applies to, and its HTTP, TLS and TCP routes.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Destination, HttpRoute};

/// Routing rules for requests to a set of hosts.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct VirtualService {
    /// Hosts the rules apply to (short names resolve in the VirtualService's namespace;
    /// wildcard prefixes allowed).
    #[serde(default)]
    pub hosts: Vec<String>,
    /// Gateways the rules apply to; empty means the mesh (`mesh`), which is what
    /// proxyless clients are.
    #[serde(default)]
    pub gateways: Vec<String>,
    /// HTTP routes, in order: the first that matches wins.
    #[serde(default)]
    pub http: Vec<HttpRoute>,
    /// Routes for unterminated TLS.
    #[serde(default)]
    pub tls: Vec<TlsRoute>,
    /// Routes for opaque TCP.
    #[serde(default)]
    pub tcp: Vec<TcpRoute>,
    /// Namespaces the VirtualService is visible to (`*`, `.`, names).
    #[serde(default)]
    pub export_to: Vec<String>,
}

/// A TLS route: SNI matches and destinations.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TlsRoute {
    /// Match conditions (OR).
    #[serde(rename = "match", default)]
    pub matches: Vec<TlsMatchAttributes>,
    /// Weighted destinations.
    #[serde(default)]
    pub route: Vec<RouteDestination>,
}

/// A TCP route: L4 matches and destinations.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TcpRoute {
    /// Match conditions (OR).
    #[serde(rename = "match", default)]
    pub matches: Vec<L4MatchAttributes>,
    /// Weighted destinations.
    #[serde(default)]
    pub route: Vec<RouteDestination>,
}

/// An L4 destination with a weight.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RouteDestination {
    /// Where.
    pub destination: Destination,
    /// Share of the traffic (0–100).
    pub weight: Option<i32>,
}

/// L4 match conditions.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct L4MatchAttributes {
    /// Destination IPs or CIDRs.
    #[serde(default)]
    pub destination_subnets: Vec<String>,
    /// Destination port.
    pub port: Option<u32>,
    /// Source workload labels.
    #[serde(default)]
    pub source_labels: BTreeMap<String, String>,
    /// Gateways the match applies to.
    #[serde(default)]
    pub gateways: Vec<String>,
    /// Source namespace.
    pub source_namespace: Option<String>,
    /// Source subnet (hidden in Istio's docs).
    pub source_subnet: Option<String>,
}

/// TLS match conditions.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TlsMatchAttributes {
    /// SNI host names (wildcard prefixes allowed).
    #[serde(default)]
    pub sni_hosts: Vec<String>,
    /// Destination IPs or CIDRs.
    #[serde(default)]
    pub destination_subnets: Vec<String>,
    /// Destination port.
    pub port: Option<u32>,
    /// Source workload labels.
    #[serde(default)]
    pub source_labels: BTreeMap<String, String>,
    /// Gateways the match applies to.
    #[serde(default)]
    pub gateways: Vec<String>,
    /// Source namespace.
    pub source_namespace: Option<String>,
}
