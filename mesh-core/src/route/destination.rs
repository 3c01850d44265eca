use crate::ConfigError;

use super::HeaderMutation;

/// Where traffic goes: a cluster and, optionally, one of its subsets.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Destination {
    /// Cluster name.
    pub cluster: String,
    /// Subset name within the cluster, if any.
    pub subset: Option<String>,
}

impl Destination {
    /// A destination on `cluster`, optionally restricted to `subset`.
    pub fn new(cluster: impl Into<String>, subset: Option<String>) -> Self {
        Self { cluster: cluster.into(), subset }
    }
}

/// Header changes for the requests sent to one destination and for its responses
/// (Istio's `route[].headers`, Envoy's weighted-cluster `request_headers_to_add` & co).
///
/// They apply once the destination is picked, before the route's own changes (Envoy
/// evaluates the weighted-cluster level first, then the route), so a route-level `set`
/// of the same header has the last word.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DestinationHeaders {
    /// Changes to the request.
    pub request: HeaderMutation,
    /// Changes to the response.
    pub response: HeaderMutation,
}

impl DestinationHeaders {
    /// Whether there is nothing to change.
    pub fn is_empty(&self) -> bool {
        self.request.is_empty() && self.response.is_empty()
    }
}

/// A weighted choice among destinations.
///
/// Envoy-style weights may have any positive total; Istio requires them to sum to 100
/// ([`WeightedDestinations::istio`] enforces that). Picking is a binary search over the
/// cumulative weights, so it costs `O(log n)` and allocates nothing.
#[derive(Debug, Clone)]
pub struct WeightedDestinations {
    entries: Vec<(Destination, u32)>,
    cumulative: Vec<u64>,
    /// Per-entry header changes; empty when no entry has any.
    headers: Vec<DestinationHeaders>,
}

impl WeightedDestinations {
    /// A single destination that receives everything.
    pub fn single(dest: Destination) -> Self {
        Self { entries: vec![(dest, 1)], cumulative: vec![1], headers: Vec::new() }
    }

    /// No destinations (redirect routes only; never picked from).
    pub(crate) fn none() -> Self {
        Self { entries: Vec::new(), cumulative: Vec::new(), headers: Vec::new() }
    }

    /// Envoy-style weights: any total; entries of weight 0 receive nothing.
    pub fn new(entries: Vec<(Destination, u32)>) -> Result<Self, ConfigError> {
        if entries.is_empty() {
            return Err(ConfigError::new("", "at least one destination is required"));
        }
        for (i, (d, _)) in entries.iter().enumerate() {
            if d.cluster.is_empty() {
                return Err(ConfigError::new(format!("[{i}].cluster"), "must not be empty"));
            }
        }
        let mut cumulative = Vec::with_capacity(entries.len());
        let mut total = 0u64;
        for (_, w) in &entries {
            total += u64::from(*w);
            cumulative.push(total);
        }
        if total == 0 {
            return Err(ConfigError::new("", "destination weights must not all be 0"));
        }
        Ok(Self { entries, cumulative, headers: Vec::new() })
    }

    /// Istio semantics: a lone destination may omit its weight (0 means 100); otherwise
    /// the weights must sum to 100.
    pub fn istio(entries: Vec<(Destination, u32)>) -> Result<Self, ConfigError> {
        if entries.len() == 1 && entries[0].1 == 0 {
            let mut entries = entries;
            entries[0].1 = 100;
            return Self::new(entries);
        }
        let total: u64 = entries.iter().map(|(_, w)| u64::from(*w)).sum();
        if total != 100 {
            return Err(ConfigError::new("", format!("destination weights sum to {total}, must sum to 100")));
        }
        Self::new(entries)
    }

    /// The destinations with their weights.
    pub fn entries(&self) -> &[(Destination, u32)] {
        &self.entries
    }

    /// Sets the header changes of the entry at `index`.
    pub fn with_headers(mut self, index: usize, headers: DestinationHeaders) -> Result<Self, ConfigError> {
        if index >= self.entries.len() {
            return Err(ConfigError::new(
                format!("[{index}]"),
                format!("no such destination (there are {})", self.entries.len()),
            ));
        }
        if headers.is_empty() && self.headers.is_empty() {
            return Ok(self);
        }
        self.headers.resize_with(self.entries.len(), DestinationHeaders::default);
        self.headers[index] = headers;
        Ok(self)
    }

    /// The header changes of the entry at `index`, if it has any.
    pub fn headers(&self, index: usize) -> Option<&DestinationHeaders> {
        self.headers.get(index).filter(|h| !h.is_empty())
    }

    /// Sum of all weights.
    pub fn total(&self) -> u64 {
        self.cumulative.last().copied().unwrap_or(0)
    }

    /// Picks a destination; `random` is any uniformly distributed `u64`.
    pub fn pick(&self, random: u64) -> &Destination {
        &self.entries[self.pick_index(random)].0
    }

    /// Like [`pick`](Self::pick), as an index into [`entries`](Self::entries).
    pub fn pick_index(&self, random: u64) -> usize {
        if self.entries.len() == 1 {
            return 0;
        }
        let point = random % self.total();
        self.cumulative.partition_point(|&c| c <= point).min(self.entries.len() - 1)
    }
}
