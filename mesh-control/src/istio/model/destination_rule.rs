//! `DestinationRule`: policies for traffic to a host after routing, and its subsets.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{MatchLabelsSelector, TrafficPolicy};

/// Policies for a service, and its named subsets.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DestinationRule {
    /// The service host (short names resolve in the rule's namespace; wildcard prefixes
    /// allowed).
    #[serde(default)]
    pub host: String,
    /// Policies for the whole service.
    pub traffic_policy: Option<TrafficPolicy>,
    /// Named subsets (versions) of the service.
    #[serde(default)]
    pub subsets: Vec<Subset>,
    /// Namespaces the rule is visible to.
    #[serde(default)]
    pub export_to: Vec<String>,
    /// Workloads (clients) the rule applies to; none means all.
    pub workload_selector: Option<MatchLabelsSelector>,
}

/// A subset: the endpoints carrying some labels, with its own policies.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Subset {
    /// Name, referenced by `destination.subset`.
    #[serde(default)]
    pub name: String,
    /// Labels an endpoint must all carry to belong to the subset.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Overrides of the rule's policies.
    pub traffic_policy: Option<TrafficPolicy>,
}
