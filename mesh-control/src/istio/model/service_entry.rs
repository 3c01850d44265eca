//! `ServiceEntry` (a service: hosts, ports, how endpoints are found) and `WorkloadEntry`
//! (one workload; also the type of a ServiceEntry's inline endpoints).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::WorkloadSelector;

/// A service added to the registry: the way services exist without Kubernetes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ServiceEntry {
    /// Host names of the service.
    #[serde(default)]
    pub hosts: Vec<String>,
    /// Virtual IPs (not used by proxyless clients, which address by name).
    #[serde(default)]
    pub addresses: Vec<String>,
    /// Ports.
    #[serde(default)]
    pub ports: Vec<ServicePort>,
    /// Inside or outside the mesh.
    pub location: Option<Location>,
    /// How endpoints are found.
    pub resolution: Option<Resolution>,
    /// Inline endpoints.
    #[serde(default)]
    pub endpoints: Vec<WorkloadEntry>,
    /// Selects WorkloadEntries (of the same namespace) as endpoints.
    pub workload_selector: Option<WorkloadSelector>,
    /// Namespaces the service is visible to.
    #[serde(default)]
    pub export_to: Vec<String>,
    /// Accepted identities of the endpoints.
    #[serde(default)]
    pub subject_alt_names: Vec<String>,
}

/// A service port.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ServicePort {
    /// Port number.
    pub number: u32,
    /// Protocol (`HTTP`, `HTTP2`, `GRPC`, `TCP`, …).
    pub protocol: Option<String>,
    /// Name (endpoints map it to their own port).
    pub name: Option<String>,
    /// Port on the endpoints, when they do not map the name.
    pub target_port: Option<u32>,
}

/// Whether a service is part of the mesh.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Location {
    /// Outside the mesh.
    MeshExternal,
    /// Inside the mesh.
    MeshInternal,
}

/// How a ServiceEntry's endpoints are found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Resolution {
    /// Connect to the address the caller used (passthrough).
    None,
    /// The given endpoints (IP addresses).
    Static,
    /// Resolve host names with DNS.
    Dns,
    /// Resolve with DNS, use the first address.
    DnsRoundRobin,
}

/// One workload (a VM, a process): where it listens and what it is.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct WorkloadEntry {
    /// IP address (or a host name, with DNS resolution).
    pub address: Option<String>,
    /// Service port name (or number as a string) → port on this workload.
    #[serde(default)]
    pub ports: BTreeMap<String, u32>,
    /// Labels (subset selection).
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Network.
    pub network: Option<String>,
    /// `region/zone/subzone`.
    pub locality: Option<String>,
    /// Load-balancing weight.
    pub weight: Option<u32>,
    /// Service account (identity).
    pub service_account: Option<String>,
}
