use std::collections::BTreeMap;

use serde::Deserialize;

/// The root of a static configuration file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaticConfig {
    /// Version label reported in logs and dumps.
    #[serde(default)]
    pub version: Option<String>,
    /// Virtual hosts.
    #[serde(default)]
    pub virtual_hosts: Vec<VirtualHostFile>,
    /// Clusters.
    #[serde(default)]
    pub clusters: Vec<ClusterFile>,
}

/// `virtual_hosts[]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VirtualHostFile {
    /// Name.
    pub name: String,
    /// Domains (`exact`, `*.suffix`, `prefix.*`, `*`).
    pub domains: Vec<String>,
    /// Routes in order.
    #[serde(default)]
    pub routes: Vec<RouteFile>,
}

/// `routes[]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteFile {
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// Conditions (default: everything).
    #[serde(default, rename = "match")]
    pub matcher: Option<MatchFile>,
    /// Action.
    pub route: ActionFile,
}

/// `match`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MatchFile {
    /// Path prefix.
    pub prefix: Option<String>,
    /// Exact path.
    pub path: Option<String>,
    /// Path regex.
    pub regex: Option<String>,
    /// Case-insensitive prefix/path.
    #[serde(default)]
    pub ignore_case: bool,
    /// Header conditions.
    #[serde(default)]
    pub headers: Vec<HeaderFile>,
    /// Query parameter conditions.
    #[serde(default)]
    pub query_params: Vec<QueryFile>,
    /// Methods.
    #[serde(default)]
    pub methods: Vec<String>,
}

/// A string condition: exactly one of the fields.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StringFile {
    /// Exact.
    pub exact: Option<String>,
    /// Prefix.
    pub prefix: Option<String>,
    /// Suffix.
    pub suffix: Option<String>,
    /// Contains.
    pub contains: Option<String>,
    /// Regex (whole value).
    pub regex: Option<String>,
}

/// `headers[]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeaderFile {
    /// Header name.
    pub name: String,
    /// Value condition.
    #[serde(flatten)]
    pub value: StringFile,
    /// `true`: must be present; `false`: must be absent.
    pub present: Option<bool>,
    /// Must be absent.
    #[serde(default)]
    pub absent: bool,
    /// Invert the result.
    #[serde(default)]
    pub invert: bool,
}

/// `query_params[]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueryFile {
    /// Parameter name.
    pub name: String,
    /// Value condition (none: presence).
    #[serde(flatten)]
    pub value: StringFile,
}

/// `route` (the action).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionFile {
    /// Destinations (none with `redirect`).
    #[serde(default)]
    pub destinations: Vec<DestinationFile>,
    /// `istio` (weights sum to 100, the default) or `envoy` (any total).
    #[serde(default)]
    pub weights: Option<String>,
    /// Overall timeout (`2s`).
    pub timeout: Option<String>,
    /// Retries.
    pub retries: Option<RetriesFile>,
    /// Faults.
    pub fault: Option<FaultFile>,
    /// Ring-hash inputs.
    #[serde(default)]
    pub hash_policy: Vec<HashPolicyFile>,
    /// Request header changes.
    pub request_headers: Option<HeadersFile>,
    /// Response header changes.
    pub response_headers: Option<HeadersFile>,
    /// Path prefix and authority rewrite.
    pub rewrite: Option<RewriteFile>,
    /// Answer with a redirect instead of forwarding.
    pub redirect: Option<RedirectFile>,
    /// Copies of a share of the requests, sent fire and forget.
    #[serde(default)]
    pub mirrors: Vec<MirrorFile>,
}

/// `mirrors[]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MirrorFile {
    /// Cluster.
    pub cluster: String,
    /// Subset.
    pub subset: Option<String>,
    /// Share of requests, 0..=100 (default 100).
    pub percentage: Option<f64>,
    /// Append `-shadow` to the copies' host (default true).
    pub shadow_host_suffix: Option<bool>,
    /// The copies' authority instead (no suffix then).
    pub authority: Option<String>,
}

/// `request_headers` / `response_headers`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeadersFile {
    /// Replace (or add when absent).
    #[serde(default)]
    pub set: BTreeMap<String, String>,
    /// Append.
    #[serde(default)]
    pub add: BTreeMap<String, String>,
    /// Remove.
    #[serde(default)]
    pub remove: Vec<String>,
}

/// `rewrite`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RewriteFile {
    /// Replaces the matched prefix (prefix matches only).
    pub prefix: Option<String>,
    /// Replaces the authority.
    pub authority: Option<String>,
    /// Rewrites the path by regex (excludes `prefix`).
    pub regex: Option<RegexRewriteFile>,
}

/// `rewrite.regex`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegexRewriteFile {
    /// RE2 pattern, matched anywhere in the path.
    pub pattern: String,
    /// Replacement; `\1`…`\9` refer to groups.
    pub substitution: String,
}

/// `redirect`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedirectFile {
    /// `http` or `https`.
    pub scheme: Option<String>,
    /// Host.
    pub host: Option<String>,
    /// Port.
    pub port: Option<u16>,
    /// Whole path.
    pub path: Option<String>,
    /// Replaces the matched prefix.
    pub prefix: Option<String>,
    /// 301 (default), 302, 303, 307, 308.
    pub code: Option<u16>,
}

/// `destinations[]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DestinationFile {
    /// Cluster.
    pub cluster: String,
    /// Subset.
    pub subset: Option<String>,
    /// Weight.
    #[serde(default)]
    pub weight: u32,
    /// Request header changes for this destination only.
    pub request_headers: Option<HeadersFile>,
    /// Response header changes for this destination only.
    pub response_headers: Option<HeadersFile>,
}

/// `retries`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetriesFile {
    /// Number of retries.
    pub attempts: u32,
    /// Conditions (`5xx,connect-failure,unavailable`).
    pub retry_on: Option<String>,
    /// Status codes for `retriable-status-codes`.
    #[serde(default)]
    pub retriable_status_codes: Vec<u16>,
    /// Per-try timeout.
    pub per_try_timeout: Option<String>,
    /// Backoff base interval.
    pub base_interval: Option<String>,
    /// Backoff maximum interval.
    pub max_interval: Option<String>,
}

/// `fault`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultFile {
    /// Delay.
    pub delay: Option<DelayFile>,
    /// Abort.
    pub abort: Option<AbortFile>,
}

/// `fault.delay`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DelayFile {
    /// How long.
    pub fixed_delay: String,
    /// Share of requests, 0..=100.
    pub percentage: f64,
}

/// `fault.abort`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AbortFile {
    /// HTTP status.
    pub http_status: Option<u16>,
    /// gRPC status code.
    pub grpc_status: Option<u8>,
    /// Share of requests, 0..=100.
    pub percentage: f64,
}

/// `hash_policy[]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HashPolicyFile {
    /// Header whose value is hashed.
    pub header: String,
}

/// `clusters[]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterFile {
    /// Name.
    pub name: String,
    /// `least_request` (default), `round_robin`, `random`, `ring_hash`.
    pub lb: Option<String>,
    /// Candidates for least request (default 2).
    pub choice_count: Option<u32>,
    /// `auto` (default), `http1`, `http2`.
    pub protocol: Option<String>,
    /// Connect timeout.
    pub connect_timeout: Option<String>,
    /// Retry budget.
    pub retry_budget: Option<BudgetFile>,
    /// Circuit-breaking limits (unset: unlimited).
    pub circuit_breakers: Option<CircuitBreakersFile>,
    /// Outlier detection (unset: off).
    pub outlier_detection: Option<OutlierDetectionFile>,
    /// TLS to the endpoints (unset: plaintext).
    pub tls: Option<super::cluster_tls::TlsFile>,
    /// Subsets.
    #[serde(default)]
    pub subsets: Vec<SubsetFile>,
    /// Endpoints.
    #[serde(default)]
    pub endpoints: Vec<EndpointFile>,
}

/// `retry_budget`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BudgetFile {
    /// Extra load allowed, percent of requests.
    pub budget_percent: f32,
    /// Retries per second always allowed.
    pub min_retries_per_sec: u32,
    /// Counting window (default 10s).
    pub ttl: Option<String>,
}

/// `circuit_breakers` (each limit unset: unlimited).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CircuitBreakersFile {
    /// Connections to the cluster's endpoints.
    pub max_connections: Option<u32>,
    /// Requests waiting for a connection.
    pub max_pending_requests: Option<u32>,
    /// Requests in flight.
    pub max_requests: Option<u32>,
    /// Retries in progress (when there is no retry budget).
    pub max_retries: Option<u32>,
}

/// `outlier_detection`: Envoy's field names and defaults.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutlierDetectionFile {
    /// 5xx in a row that eject (default 5).
    pub consecutive_5xx: Option<u32>,
    /// Percent enforced (default 100).
    pub enforcing_consecutive_5xx: Option<u32>,
    /// 502/503/504 in a row that eject (default 5).
    pub consecutive_gateway_failure: Option<u32>,
    /// Percent enforced (default 0).
    pub enforcing_consecutive_gateway_failure: Option<u32>,
    /// Count connection failures and timeouts apart.
    pub split_external_local_origin_errors: Option<bool>,
    /// Local-origin failures in a row that eject (default 5).
    pub consecutive_local_origin_failure: Option<u32>,
    /// Percent enforced (default 100).
    pub enforcing_consecutive_local_origin_failure: Option<u32>,
    /// Review interval (default 10s).
    pub interval: Option<String>,
    /// First ejection time (default 30s).
    pub base_ejection_time: Option<String>,
    /// Longest ejection (default 300s or base_ejection_time).
    pub max_ejection_time: Option<String>,
    /// Random extra ejection time (default 0s).
    pub max_ejection_time_jitter: Option<String>,
    /// Share of endpoints ejected at most (default 10).
    pub max_ejection_percent: Option<u32>,
    /// Eject one endpoint even when the percentage allows none.
    pub always_eject_one_host: Option<bool>,
    /// Success-rate ejection.
    pub success_rate: Option<SuccessRateFile>,
    /// Failure-percentage ejection.
    pub failure_percentage: Option<FailurePercentageFile>,
}

/// `outlier_detection.success_rate`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SuccessRateFile {
    /// Endpoints needed (default 5).
    pub minimum_hosts: Option<u32>,
    /// Requests per interval needed (default 100).
    pub request_volume: Option<u32>,
    /// Standard deviations × 1000 (default 1900).
    pub stdev_factor: Option<u32>,
    /// Percent enforced (default 100; 0 is off).
    pub enforcing: Option<u32>,
    /// Percent enforced for local-origin rates (default 100).
    pub enforcing_local_origin: Option<u32>,
}

/// `outlier_detection.failure_percentage`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FailurePercentageFile {
    /// Failure percentage that ejects (default 85).
    pub threshold: Option<u32>,
    /// Endpoints needed (default 5).
    pub minimum_hosts: Option<u32>,
    /// Requests per interval needed (default 50).
    pub request_volume: Option<u32>,
    /// Percent enforced (default 0: off).
    pub enforcing: Option<u32>,
    /// Percent enforced for local-origin failures (default 0).
    pub enforcing_local_origin: Option<u32>,
}

/// `subsets[]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubsetFile {
    /// Name.
    pub name: String,
    /// Label selector.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

/// `endpoints[]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndpointFile {
    /// `ip:port`.
    pub address: String,
    /// Labels.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Weight (default 1).
    pub weight: Option<u32>,
    /// `region/zone/sub_zone`.
    pub locality: Option<String>,
    /// `healthy`, `unhealthy`, `draining`, `degraded`, `unknown` (default).
    pub health: Option<String>,
    /// Priority, 0 (default) is highest; lower priorities serve only when no endpoint
    /// of a higher one is serving.
    #[serde(default)]
    pub priority: u32,
}
