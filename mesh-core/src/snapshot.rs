use std::collections::HashMap;
use std::sync::Arc;

use crate::ConfigError;
use crate::cluster::Cluster;
use crate::route::{Destination, RouteAction, RouteTable};

/// One complete, consistent configuration: routes and the clusters they reference.
///
/// The client stack holds the current snapshot behind an atomic pointer; a request
/// takes the snapshot once when it starts and uses it until it ends, so a config swap
/// never mixes two configurations within one request.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    version: String,
    routes: RouteTable,
    clusters: HashMap<String, Arc<Cluster>>,
}

impl Snapshot {
    /// Validates that every route destination names an existing cluster and subset.
    pub fn new(version: impl Into<String>, routes: RouteTable, clusters: Vec<Cluster>) -> Result<Self, ConfigError> {
        Self::build(version.into(), routes, clusters, true)
    }

    fn build(version: String, routes: RouteTable, clusters: Vec<Cluster>, strict: bool) -> Result<Self, ConfigError> {
        let mut map = HashMap::with_capacity(clusters.len());
        for (i, c) in clusters.into_iter().enumerate() {
            let name = c.name().to_string();
            if map.insert(name.clone(), Arc::new(c)).is_some() {
                return Err(ConfigError::new(format!("clusters[{i}].name"), format!("duplicate cluster {name:?}")));
            }
        }
        for (i, vh) in routes.virtual_hosts().iter().enumerate() {
            for (j, r) in vh.routes().iter().enumerate() {
                for (at, d) in referenced(r.action()) {
                    let at = || format!("virtual_hosts[{i}].routes[{j}].route.{at}");
                    let Some(c) = map.get(&d.cluster) else {
                        if !strict {
                            continue;
                        }
                        return Err(ConfigError::new(
                            format!("{}.cluster", at()),
                            format!("cluster {:?} is not defined", d.cluster),
                        ));
                    };
                    if let Some(s) = &d.subset
                        && !c.has_subset(s)
                    {
                        return Err(ConfigError::new(
                            format!("{}.subset", at()),
                            format!("subset {s:?} is not defined in cluster {:?}", d.cluster),
                        ));
                    }
                }
            }
        }
        Ok(Self { version, routes, clusters: map })
    }

    /// Like [`new`](Self::new) but tolerates route destinations whose cluster is not
    /// (yet) known, as an xDS client must: CDS may arrive after RDS, and a request to a
    /// missing cluster fails with "unavailable" rather than the whole update failing.
    /// Returns the names of the missing clusters. Subsets named on destinations of
    /// present clusters must still exist.
    pub fn with_missing_clusters(
        version: impl Into<String>,
        routes: RouteTable,
        clusters: Vec<Cluster>,
    ) -> Result<(Self, Vec<String>), ConfigError> {
        let mut missing = Vec::new();
        let present: std::collections::HashSet<String> = clusters.iter().map(|c| c.name().to_string()).collect();
        for vh in routes.virtual_hosts() {
            for r in vh.routes() {
                for (_, d) in referenced(r.action()) {
                    if !present.contains(&d.cluster) && !missing.contains(&d.cluster) {
                        missing.push(d.cluster.clone());
                    }
                }
            }
        }
        let snapshot = Self::build(version.into(), routes, clusters, false)?;
        Ok((snapshot, missing))
    }

    /// The configuration version (from the file, code or control plane).
    pub fn version(&self) -> &str {
        &self.version
    }
    /// The route table.
    pub fn routes(&self) -> &RouteTable {
        &self.routes
    }
    /// A cluster by name.
    pub fn cluster(&self, name: &str) -> Option<&Arc<Cluster>> {
        self.clusters.get(name)
    }
    /// All clusters.
    pub fn clusters(&self) -> impl Iterator<Item = &Arc<Cluster>> {
        self.clusters.values()
    }
}

/// Every destination an action sends to — its weighted destinations and its mirrors —
/// with its field path below the action.
fn referenced(a: &RouteAction) -> impl Iterator<Item = (String, &Destination)> {
    let weighted = a.destinations.entries().iter().enumerate().map(|(k, (d, _))| (format!("destinations[{k}]"), d));
    let mirrors = a.mirrors.iter().enumerate().map(|(k, m)| (format!("mirrors[{k}]"), &m.destination));
    weighted.chain(mirrors)
}
