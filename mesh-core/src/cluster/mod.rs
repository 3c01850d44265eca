//! Clusters: a named group of endpoints, its subsets and its policies.
//!
//! A subset (Istio's DestinationRule `subsets`) is a label selector over the cluster's
//! endpoints; selecting `reviews`/`v2` means "endpoints of `reviews` whose labels include
//! `version: v2`". Subsets are resolved to endpoint lists here, once per configuration
//! change, so the request path only looks them up.
//!
//! A cluster also carries the policies that protect it: [`CircuitBreakers`] (limits on
//! what a client asks of it at once, see [`limits`]) and [`OutlierDetection`] (ejection
//! of failing endpoints, see [`crate::outlier`]).

pub mod limits;
mod tls;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

pub use limits::CircuitBreakers;
pub use tls::{CertSource, SanMatch, UpstreamTls};

use crate::ConfigError;
use crate::endpoint::Endpoint;
use crate::lb::LbPolicy;
pub use crate::outlier::OutlierDetection;
use crate::retry::RetryBudgetPolicy;

/// Which HTTP version to speak to the cluster's endpoints.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// HTTP/2 for gRPC and HTTP/2 requests, HTTP/1.1 otherwise.
    #[default]
    Auto,
    /// Always HTTP/1.1.
    Http1,
    /// Always HTTP/2 (prior knowledge on plaintext).
    Http2,
}

/// A named label selector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subset {
    name: String,
    selector: BTreeMap<String, String>,
}

impl Subset {
    /// A subset; the name must be non-empty.
    pub fn new(name: impl Into<String>, selector: BTreeMap<String, String>) -> Result<Self, ConfigError> {
        let name = name.into();
        if name.is_empty() {
            return Err(ConfigError::new("name", "subset name must not be empty"));
        }
        Ok(Self { name, selector })
    }
    /// Name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// Label selector (all must match).
    pub fn selector(&self) -> &BTreeMap<String, String> {
        &self.selector
    }
    /// Whether an endpoint is in the subset.
    pub fn selects(&self, endpoint: &Endpoint) -> bool {
        self.selector.iter().all(|(k, v)| endpoint.labels().get(k) == Some(v))
    }
}

/// A cluster. Build it with [`Cluster::builder`].
#[derive(Debug, Clone)]
pub struct Cluster {
    name: String,
    lb: LbPolicy,
    protocol: Protocol,
    connect_timeout: Duration,
    retry_budget: Option<RetryBudgetPolicy>,
    circuit_breakers: CircuitBreakers,
    outlier_detection: Option<OutlierDetection>,
    tls: Option<UpstreamTls>,
    subsets: Vec<Subset>,
    endpoints: Vec<Endpoint>,
    /// Indices into `endpoints` per subset name.
    subset_members: HashMap<String, Vec<usize>>,
}

/// Collects a cluster's parts; [`ClusterBuilder::build`] validates them.
#[derive(Debug, Clone)]
pub struct ClusterBuilder {
    name: String,
    lb: LbPolicy,
    protocol: Protocol,
    connect_timeout: Duration,
    retry_budget: Option<RetryBudgetPolicy>,
    circuit_breakers: CircuitBreakers,
    outlier_detection: Option<OutlierDetection>,
    tls: Option<UpstreamTls>,
    subsets: Vec<Subset>,
    endpoints: Vec<Endpoint>,
}

impl ClusterBuilder {
    /// Load-balancing policy (default: P2C least request).
    #[must_use]
    pub fn lb(mut self, lb: LbPolicy) -> Self {
        self.lb = lb;
        self
    }
    /// Protocol to endpoints (default: auto).
    #[must_use]
    pub fn protocol(mut self, p: Protocol) -> Self {
        self.protocol = p;
        self
    }
    /// Connect timeout (default 10 s, as Istio).
    #[must_use]
    pub fn connect_timeout(mut self, t: Duration) -> Self {
        self.connect_timeout = t;
        self
    }
    /// Retry budget shared by all routes to this cluster.
    #[must_use]
    pub fn retry_budget(mut self, b: RetryBudgetPolicy) -> Self {
        self.retry_budget = Some(b);
        self
    }
    /// Circuit-breaking thresholds (default: unlimited).
    #[must_use]
    pub fn circuit_breakers(mut self, cb: CircuitBreakers) -> Self {
        self.circuit_breakers = cb;
        self
    }
    /// TLS to the endpoints (default: plaintext).
    #[must_use]
    pub fn tls(mut self, tls: UpstreamTls) -> Self {
        self.tls = Some(tls);
        self
    }
    /// Outlier detection (default: none); validated by [`build`](Self::build).
    #[must_use]
    pub fn outlier_detection(mut self, od: OutlierDetection) -> Self {
        self.outlier_detection = Some(od);
        self
    }
    /// Adds a subset.
    #[must_use]
    pub fn subset(mut self, s: Subset) -> Self {
        self.subsets.push(s);
        self
    }
    /// Adds an endpoint.
    #[must_use]
    pub fn endpoint(mut self, e: Endpoint) -> Self {
        self.endpoints.push(e);
        self
    }
    /// Replaces the endpoints.
    #[must_use]
    pub fn endpoints(mut self, e: Vec<Endpoint>) -> Self {
        self.endpoints = e;
        self
    }

    /// Validates and builds.
    pub fn build(self) -> Result<Cluster, ConfigError> {
        if self.name.is_empty() {
            return Err(ConfigError::new("name", "cluster name must not be empty"));
        }
        if self.connect_timeout.is_zero() {
            return Err(ConfigError::new("connect_timeout", "must be greater than 0"));
        }
        if let Some(tls) = &self.tls {
            tls.validate().map_err(|e| e.within("tls"))?;
        }
        if let Some(od) = &self.outlier_detection {
            od.validate().map_err(|e| e.within("outlier_detection"))?;
        }
        let mut names = HashSet::new();
        for (i, s) in self.subsets.iter().enumerate() {
            if !names.insert(s.name.as_str()) {
                return Err(ConfigError::new(format!("subsets[{i}].name"), format!("duplicate subset {:?}", s.name)));
            }
        }
        let mut addrs = HashSet::new();
        for (i, e) in self.endpoints.iter().enumerate() {
            if !addrs.insert(e.address()) {
                return Err(ConfigError::new(
                    format!("endpoints[{i}].address"),
                    format!("duplicate endpoint {}", e.address()),
                ));
            }
        }
        let subset_members = self
            .subsets
            .iter()
            .map(|s| {
                let members = (0..self.endpoints.len()).filter(|&i| s.selects(&self.endpoints[i])).collect();
                (s.name.clone(), members)
            })
            .collect();
        Ok(Cluster {
            name: self.name,
            lb: self.lb,
            protocol: self.protocol,
            connect_timeout: self.connect_timeout,
            retry_budget: self.retry_budget,
            circuit_breakers: self.circuit_breakers,
            outlier_detection: self.outlier_detection,
            tls: self.tls,
            subsets: self.subsets,
            endpoints: self.endpoints,
            subset_members,
        })
    }
}

impl Cluster {
    /// Starts a cluster named `name`.
    pub fn builder(name: impl Into<String>) -> ClusterBuilder {
        ClusterBuilder {
            name: name.into(),
            lb: LbPolicy::default(),
            protocol: Protocol::Auto,
            connect_timeout: Duration::from_secs(10),
            retry_budget: None,
            circuit_breakers: CircuitBreakers::UNLIMITED,
            outlier_detection: None,
            tls: None,
            subsets: Vec::new(),
            endpoints: Vec::new(),
        }
    }
    /// Name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// Load-balancing policy.
    pub fn lb(&self) -> &LbPolicy {
        &self.lb
    }
    /// Protocol.
    pub fn protocol(&self) -> Protocol {
        self.protocol
    }
    /// Connect timeout.
    pub fn connect_timeout(&self) -> Duration {
        self.connect_timeout
    }
    /// Retry budget, if any.
    pub fn retry_budget(&self) -> Option<RetryBudgetPolicy> {
        self.retry_budget
    }
    /// Circuit-breaking thresholds.
    pub fn circuit_breakers(&self) -> &CircuitBreakers {
        &self.circuit_breakers
    }
    /// TLS to the endpoints, if any.
    pub fn tls(&self) -> Option<&UpstreamTls> {
        self.tls.as_ref()
    }
    /// Outlier detection, if enabled.
    pub fn outlier_detection(&self) -> Option<&OutlierDetection> {
        self.outlier_detection.as_ref()
    }
    /// Subsets.
    pub fn subsets(&self) -> &[Subset] {
        &self.subsets
    }
    /// All endpoints.
    pub fn endpoints(&self) -> &[Endpoint] {
        &self.endpoints
    }
    /// Whether a subset of that name exists.
    pub fn has_subset(&self, name: &str) -> bool {
        self.subset_members.contains_key(name)
    }
    /// The endpoints of a subset (or of the whole cluster for `None`); `None` if the
    /// subset does not exist.
    pub fn subset_endpoints(&self, subset: Option<&str>) -> Option<Vec<&Endpoint>> {
        match subset {
            None => Some(self.endpoints.iter().collect()),
            Some(name) => self.subset_members.get(name).map(|m| m.iter().map(|&i| &self.endpoints[i]).collect()),
        }
    }
}
