//! `TrafficPolicy` (DestinationRule): load balancing, connection pool, outlier
//! detection, TLS, per-port overrides.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::PortSelector;

/// Policies for traffic to a service, a subset, or one of their ports.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TrafficPolicy {
    /// Load balancing.
    pub load_balancer: Option<LoadBalancerSettings>,
    /// Connection pool limits.
    pub connection_pool: Option<ConnectionPoolSettings>,
    /// Ejection of failing endpoints.
    pub outlier_detection: Option<OutlierDetection>,
    /// TLS to the endpoints.
    pub tls: Option<ClientTlsSettings>,
    /// Overrides for single ports.
    #[serde(default)]
    pub port_level_settings: Vec<PortTrafficPolicy>,
    /// Tunneling TCP (not for HTTP routes).
    pub tunnel: Option<TunnelSettings>,
    /// Upstream PROXY protocol.
    pub proxy_protocol: Option<ProxyProtocol>,
}

/// Overrides for one port. A field set here replaces the service-level field entirely.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PortTrafficPolicy {
    /// The port.
    pub port: Option<PortSelector>,
    /// Load balancing.
    pub load_balancer: Option<LoadBalancerSettings>,
    /// Connection pool limits.
    pub connection_pool: Option<ConnectionPoolSettings>,
    /// Ejection of failing endpoints.
    pub outlier_detection: Option<OutlierDetection>,
    /// TLS to the endpoints.
    pub tls: Option<ClientTlsSettings>,
}

/// Load-balancing settings: `simple` or `consistentHash`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LoadBalancerSettings {
    /// A standard algorithm.
    pub simple: Option<SimpleLb>,
    /// Hash-based affinity.
    pub consistent_hash: Option<ConsistentHashLb>,
    /// Locality-aware load balancing.
    pub locality_lb_setting: Option<LocalityLbSetting>,
    /// Deprecated slow-start window.
    pub warmup_duration_secs: Option<String>,
    /// Slow start.
    pub warmup: Option<WarmupConfiguration>,
}

/// Standard load-balancing algorithms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SimpleLb {
    /// Istio's default (least request).
    Unspecified,
    /// Deprecated alias of `LEAST_REQUEST`.
    LeastConn,
    /// Random.
    Random,
    /// The caller's original destination (no balancing).
    Passthrough,
    /// Round robin.
    RoundRobin,
    /// Least outstanding requests (power of two choices).
    LeastRequest,
}

/// Consistent hashing: the key, and the algorithm.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ConsistentHashLb {
    /// Hash a request header.
    pub http_header_name: Option<String>,
    /// Hash a cookie.
    pub http_cookie: Option<HttpCookie>,
    /// Hash the source IP.
    pub use_source_ip: Option<bool>,
    /// Hash a query parameter.
    pub http_query_parameter_name: Option<String>,
    /// Ring hash (the default algorithm).
    pub ring_hash: Option<RingHash>,
    /// Maglev.
    pub maglev: Option<MagLev>,
    /// Deprecated ring size (use `ringHash.minimumRingSize`).
    pub minimum_ring_size: Option<u64>,
}

/// Ring hash settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RingHash {
    /// Minimum virtual nodes (default 1024).
    pub minimum_ring_size: Option<u64>,
}

/// Maglev settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct MagLev {
    /// Table size (a prime).
    pub table_size: Option<u64>,
}

/// The cookie hashed for affinity.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct HttpCookie {
    /// Cookie name.
    pub name: String,
    /// Cookie path.
    pub path: Option<String>,
    /// Lifetime of a generated cookie.
    pub ttl: Option<String>,
    /// Cookie attributes.
    #[serde(default)]
    pub attributes: Vec<CookieAttribute>,
}

/// A cookie attribute.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CookieAttribute {
    /// Name.
    pub name: String,
    /// Value.
    pub value: Option<String>,
}

/// Locality-aware load balancing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LocalityLbSetting {
    /// Explicit traffic distribution.
    #[serde(default)]
    pub distribute: Vec<LocalityDistribute>,
    /// Failover order.
    #[serde(default)]
    pub failover: Vec<LocalityFailover>,
    /// Labels ordering failover.
    #[serde(default)]
    pub failover_priority: Vec<String>,
    /// Enable or disable.
    pub enabled: Option<bool>,
}

/// Traffic from a locality, distributed over others.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LocalityDistribute {
    /// Origin locality.
    pub from: String,
    /// Target locality → weight.
    #[serde(default)]
    pub to: BTreeMap<String, u32>,
}

/// A failover region pair.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LocalityFailover {
    /// Origin region.
    pub from: String,
    /// Failover region.
    pub to: String,
}

/// Slow start.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct WarmupConfiguration {
    /// Window.
    pub duration: Option<String>,
    /// Initial share.
    pub minimum_percent: Option<f64>,
    /// Curve.
    pub aggression: Option<f64>,
}

/// Connection pool settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ConnectionPoolSettings {
    /// TCP-level settings.
    pub tcp: Option<TcpSettings>,
    /// HTTP-level settings.
    pub http: Option<HttpSettings>,
}

/// TCP-level connection pool settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TcpSettings {
    /// Connection limit.
    pub max_connections: Option<i32>,
    /// Connect timeout (Istio's default: 10s).
    pub connect_timeout: Option<String>,
    /// TCP keepalive.
    pub tcp_keepalive: Option<TcpKeepalive>,
    /// Connection lifetime.
    pub max_connection_duration: Option<String>,
    /// Idle timeout.
    pub idle_timeout: Option<String>,
}

/// TCP keepalive.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TcpKeepalive {
    /// Probes before the connection is dead.
    pub probes: Option<u32>,
    /// Idle time before probing.
    pub time: Option<String>,
    /// Interval between probes.
    pub interval: Option<String>,
}

/// HTTP-level connection pool settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct HttpSettings {
    /// Pending request limit.
    pub http1_max_pending_requests: Option<i32>,
    /// Active request limit.
    pub http2_max_requests: Option<i32>,
    /// Requests per connection.
    pub max_requests_per_connection: Option<i32>,
    /// Concurrent retries limit.
    pub max_retries: Option<i32>,
    /// Idle timeout.
    pub idle_timeout: Option<String>,
    /// `DEFAULT`, `DO_NOT_UPGRADE` or `UPGRADE`.
    pub h2_upgrade_policy: Option<H2UpgradePolicy>,
    /// Use the client's protocol upstream.
    pub use_client_protocol: Option<bool>,
    /// HTTP/2 concurrent streams.
    pub max_concurrent_streams: Option<i32>,
}

/// Whether HTTP/1.1 connections are upgraded to HTTP/2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum H2UpgradePolicy {
    /// Mesh default.
    Default,
    /// Never.
    DoNotUpgrade,
    /// Always.
    Upgrade,
}

/// Outlier detection.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct OutlierDetection {
    /// Separate local-origin errors.
    pub split_external_local_origin_errors: Option<bool>,
    /// Local-origin failures before ejection.
    pub consecutive_local_origin_failures: Option<u32>,
    /// Gateway errors before ejection.
    pub consecutive_gateway_errors: Option<u32>,
    /// 5xx errors before ejection.
    pub consecutive_5xx_errors: Option<u32>,
    /// Deprecated.
    pub consecutive_errors: Option<i32>,
    /// Sweep interval.
    pub interval: Option<String>,
    /// Minimum ejection time.
    pub base_ejection_time: Option<String>,
    /// Maximum share ejected.
    pub max_ejection_percent: Option<i32>,
    /// Healthy share below which ejection stops.
    pub min_health_percent: Option<i32>,
}

/// TLS to the endpoints.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ClientTlsSettings {
    /// The mode.
    pub mode: Option<ClientTlsMode>,
    /// Client certificate file (MUTUAL).
    pub client_certificate: Option<String>,
    /// Private key file (MUTUAL).
    pub private_key: Option<String>,
    /// CA bundle file.
    pub ca_certificates: Option<String>,
    /// Secret holding the credentials.
    pub credential_name: Option<String>,
    /// Accepted server identities.
    #[serde(default)]
    pub subject_alt_names: Vec<String>,
    /// SNI.
    pub sni: Option<String>,
    /// Skip server verification.
    pub insecure_skip_verify: Option<bool>,
    /// CRL file.
    pub ca_crl: Option<String>,
}

/// Client TLS modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ClientTlsMode {
    /// Plain text.
    Disable,
    /// TLS, server verified.
    Simple,
    /// mTLS with given certificates.
    Mutual,
    /// mTLS with the mesh's workload certificates.
    IstioMutual,
}

/// TCP tunneling.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TunnelSettings {
    /// `CONNECT` or `POST`.
    pub protocol: Option<String>,
    /// Tunnel host.
    pub target_host: String,
    /// Tunnel port.
    pub target_port: u32,
}

/// PROXY protocol.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ProxyProtocol {
    /// `V1` or `V2`.
    pub version: Option<String>,
}
