//! Istio's configuration kinds as serde types, field for field as Istio's API reference
//! names them (camelCase in YAML).
//!
//! Every struct denies unknown fields: Istio's validation rejects them, and a misspelt
//! field silently ignored is a rule that silently does not apply. Enumerations are Rust
//! enums where Istio's are closed sets (an unknown `simple:` is a schema error with a
//! line); durations stay strings (`"0.5s"`, `"2m"`) and are checked by the validation,
//! which names the field. Fields Istio marks deprecated but still accepts (`percent`,
//! `mirrorPercent`, `minimumRingSize`, …) are accepted too.
//!
//! Files: `virtual_service.rs` (hosts, TCP/TLS routes), `http_route.rs` (HTTP routes and
//! what they contain), `destination_rule.rs`, `traffic_policy.rs`, `service_entry.rs`
//! (with WorkloadEntry, which is also a ServiceEntry's endpoint), `gateway.rs`,
//! `sidecar.rs`; `security.istio.io`: `peer_authentication.rs`, `authorization_policy.rs`
//! (RequestAuthentication is kept as written). This file holds the Kubernetes envelope and
//! shared types.

mod authorization_policy;
mod destination_rule;
mod gateway;
mod http_route;
mod peer_authentication;
mod service_entry;
mod sidecar;
mod traffic_policy;
mod virtual_service;

use std::collections::BTreeMap;

use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};

pub use authorization_policy::*;
pub use destination_rule::*;
pub use gateway::*;
pub use http_route::*;
pub use peer_authentication::*;
pub use service_entry::*;
pub use sidecar::*;
pub use traffic_policy::*;
pub use virtual_service::*;

/// A Kubernetes object: `apiVersion`, `kind`, `metadata`, `spec` (`status` is ignored).
/// The identity fields are read beforehand from the untyped document; they are declared
/// here so that their schema (and unknown fields) are checked.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[allow(dead_code)]
pub(crate) struct Envelope<T> {
    pub(crate) api_version: String,
    pub(crate) kind: String,
    pub(crate) metadata: Metadata,
    #[serde(default = "Option::default")]
    pub(crate) spec: Option<T>,
    #[serde(default)]
    pub(crate) status: Option<IgnoredAny>,
}

/// Kubernetes `ObjectMeta`. Only `name` and `namespace` are used; the other standard
/// fields (as `kubectl get -o yaml` prints them) are accepted and ignored.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[allow(dead_code)]
pub(crate) struct Metadata {
    pub(crate) name: Option<String>,
    pub(crate) namespace: Option<String>,
    #[serde(default)]
    pub(crate) labels: BTreeMap<String, String>,
    #[serde(default)]
    pub(crate) annotations: BTreeMap<String, String>,
    pub(crate) generate_name: Option<IgnoredAny>,
    pub(crate) uid: Option<IgnoredAny>,
    pub(crate) resource_version: Option<IgnoredAny>,
    pub(crate) generation: Option<IgnoredAny>,
    pub(crate) creation_timestamp: Option<IgnoredAny>,
    pub(crate) deletion_timestamp: Option<IgnoredAny>,
    pub(crate) deletion_grace_period_seconds: Option<IgnoredAny>,
    pub(crate) owner_references: Option<IgnoredAny>,
    pub(crate) finalizers: Option<IgnoredAny>,
    pub(crate) managed_fields: Option<IgnoredAny>,
    pub(crate) self_link: Option<IgnoredAny>,
    pub(crate) cluster_name: Option<IgnoredAny>,
}

/// How to match a string: exactly one of `exact`, `prefix`, `regex` (RE2 syntax, whole
/// string). All empty means "present" where Istio allows it (headers).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct StringMatch {
    /// Exact match.
    pub exact: Option<String>,
    /// Prefix match.
    pub prefix: Option<String>,
    /// Regular expression (RE2), matching the whole value.
    pub regex: Option<String>,
}

/// A percentage in `[0, 100]`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Percent {
    /// The percentage.
    #[serde(default)]
    pub value: f64,
}

/// A port of a destination.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PortSelector {
    /// Port number.
    pub number: Option<u32>,
}

/// Where traffic goes: a service host, optionally a subset and a port.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Destination {
    /// Service host (short names resolve in the rule's namespace).
    pub host: String,
    /// Subset defined by a DestinationRule for the host.
    pub subset: Option<String>,
    /// Port; optional when the service has one port.
    pub port: Option<PortSelector>,
}

/// Selects workloads by labels (ServiceEntry, Sidecar: `labels`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct WorkloadSelector {
    /// Labels a workload must all carry.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

/// Selects workloads by labels (DestinationRule, PeerAuthentication, AuthorizationPolicy:
/// `matchLabels`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct MatchLabelsSelector {
    /// Labels a workload must all carry.
    #[serde(default)]
    pub match_labels: BTreeMap<String, String>,
}

/// A port a Gateway server or a Sidecar listener binds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Port {
    /// Port number.
    pub number: u32,
    /// Protocol: `HTTP`, `HTTPS`, `GRPC`, `HTTP2`, `MONGO`, `TCP`, `TLS`, ….
    pub protocol: Option<String>,
    /// Port name.
    pub name: Option<String>,
    /// Port on the workload, if different.
    pub target_port: Option<u32>,
}
