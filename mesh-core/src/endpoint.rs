//! Endpoints: where a cluster's traffic can go.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use crate::ConfigError;

/// Where an endpoint runs (Envoy's `Locality`, Istio's `region/zone/subzone`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Locality {
    /// Region.
    pub region: String,
    /// Zone.
    pub zone: String,
    /// Sub-zone.
    pub sub_zone: String,
}

/// Health as reported by the control plane (Envoy's `HealthStatus`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum HealthStatus {
    /// Not known: treated as healthy, as Envoy does.
    #[default]
    Unknown,
    /// Healthy.
    Healthy,
    /// Unhealthy: never picked.
    Unhealthy,
    /// Draining: no new requests.
    Draining,
    /// Degraded: used only when no healthy endpoint remains.
    Degraded,
}

impl HealthStatus {
    /// Whether the endpoint may receive new requests in normal operation.
    pub fn is_serving(self) -> bool {
        matches!(self, Self::Unknown | Self::Healthy)
    }
}

/// One endpoint of a cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    address: SocketAddr,
    labels: BTreeMap<String, String>,
    weight: u32,
    locality: Locality,
    health: HealthStatus,
    priority: u32,
}

impl Endpoint {
    /// An endpoint with weight 1, no labels, unknown health.
    pub fn new(address: SocketAddr) -> Self {
        Self {
            address,
            labels: BTreeMap::new(),
            weight: 1,
            locality: Locality::default(),
            health: HealthStatus::Unknown,
            priority: 0,
        }
    }
    /// Sets labels (used by subset selectors).
    #[must_use]
    pub fn with_labels(mut self, labels: BTreeMap<String, String>) -> Self {
        self.labels = labels;
        self
    }
    /// Sets the load-balancing weight: 1..=2³¹ (Envoy's `load_balancing_weight`).
    pub fn with_weight(mut self, weight: u32) -> Result<Self, ConfigError> {
        if weight == 0 || weight > i32::MAX as u32 {
            return Err(ConfigError::new("weight", format!("{weight} is not within [1, {}]", i32::MAX)));
        }
        self.weight = weight;
        Ok(self)
    }
    /// Sets the locality.
    #[must_use]
    pub fn with_locality(mut self, locality: Locality) -> Self {
        self.locality = locality;
        self
    }
    /// Sets the health status.
    #[must_use]
    pub fn with_health(mut self, health: HealthStatus) -> Self {
        self.health = health;
        self
    }
    /// Sets the priority (0 is highest; Envoy's `LocalityLbEndpoints.priority`).
    /// Traffic goes to the highest priority that has serving endpoints.
    #[must_use]
    pub fn with_priority(mut self, priority: u32) -> Self {
        self.priority = priority;
        self
    }
    /// Priority (0 is highest).
    pub fn priority(&self) -> u32 {
        self.priority
    }
    /// Socket address.
    pub fn address(&self) -> SocketAddr {
        self.address
    }
    /// Labels.
    pub fn labels(&self) -> &BTreeMap<String, String> {
        &self.labels
    }
    /// Weight (≥ 1).
    pub fn weight(&self) -> u32 {
        self.weight
    }
    /// Locality.
    pub fn locality(&self) -> &Locality {
        &self.locality
    }
    /// Health status.
    pub fn health(&self) -> HealthStatus {
        self.health
    }
}
