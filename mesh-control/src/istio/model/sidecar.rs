//! `Sidecar`: which ports a workload accepts and which services it may reach. Validated
//! now, served later (it scopes what each client is sent).

use serde::{Deserialize, Serialize};

use super::{ConnectionPoolSettings, Destination, Port, ServerTlsSettings, WorkloadSelector};

/// Ingress and egress scope of a set of workloads.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Sidecar {
    /// Workloads it applies to; none means the whole namespace.
    pub workload_selector: Option<WorkloadSelector>,
    /// Inbound listeners.
    #[serde(default)]
    pub ingress: Vec<IstioIngressListener>,
    /// Outbound scope.
    #[serde(default)]
    pub egress: Vec<IstioEgressListener>,
    /// Inbound connection pool.
    pub inbound_connection_pool: Option<ConnectionPoolSettings>,
    /// What happens to traffic for unknown hosts.
    pub outbound_traffic_policy: Option<OutboundTrafficPolicy>,
}

/// An inbound listener.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct IstioIngressListener {
    /// The port.
    pub port: Port,
    /// Bind address.
    pub bind: Option<String>,
    /// Capture mode.
    pub capture_mode: Option<CaptureMode>,
    /// Where to forward (`127.0.0.1:8080`).
    pub default_endpoint: Option<String>,
    /// TLS termination.
    pub tls: Option<ServerTlsSettings>,
    /// Connection pool.
    pub connection_pool: Option<ConnectionPoolSettings>,
}

/// An outbound scope.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct IstioEgressListener {
    /// The port (none: all ports).
    pub port: Option<Port>,
    /// Bind address.
    pub bind: Option<String>,
    /// Capture mode.
    pub capture_mode: Option<CaptureMode>,
    /// Reachable hosts, `namespace/host` (`./*`, `istio-system/*`).
    #[serde(default)]
    pub hosts: Vec<String>,
}

/// Traffic capture mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CaptureMode {
    /// The environment's default.
    Default,
    /// iptables redirection.
    Iptables,
    /// No capture.
    None,
}

/// Outbound traffic policy.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct OutboundTrafficPolicy {
    /// `REGISTRY_ONLY` or `ALLOW_ANY`.
    pub mode: Option<OutboundMode>,
    /// Where unknown traffic goes.
    pub egress_proxy: Option<Destination>,
}

/// Outbound traffic modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OutboundMode {
    /// Only known services.
    RegistryOnly,
    /// Anything.
    AllowAny,
}
