//! Circuit breakers at run time: each cluster's counts of requests, pending requests,
//! connections and retries, checked against its [`CircuitBreakers`].
//!
//! The counts belong to the cluster, not to a configuration: a request holds a
//! [`ResourceGuard`] until it ends, possibly after a new configuration was installed,
//! so one [`ClusterResources`] per cluster name lives across configurations (like
//! connections and retry budgets) and only its limits are updated. Counting always
//! happens, limited or not, so that a limit set later starts from the true count.
//! Check-then-increment is one atomic step, so a limit is never exceeded (Envoy's may
//! overshoot by a request per racing worker).

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use mesh_core::cluster::CircuitBreakers;
use tokio::sync::Notify;
use tower::retry::budget::{Budget, TpsBudget};

/// A counted resource of a cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Resource {
    /// Requests in flight (`max_requests`).
    Requests,
    /// Requests waiting for a connection (`max_pending_requests`).
    Pending,
    /// Open or opening connections (`max_connections`).
    Connections,
    /// Retries in progress (`max_retries`).
    Retries,
}

const UNLIMITED: u64 = u64::MAX;

/// The counts and limits of one cluster.
#[derive(Debug)]
pub(crate) struct ClusterResources {
    cluster: String,
    limits: [AtomicU64; 4],
    counts: [AtomicU64; 4],
    /// Woken when a connection closes or returns idle (pending requests recheck).
    freed: Notify,
}

impl ClusterResources {
    fn new(cluster: &str) -> Self {
        Self {
            cluster: cluster.to_string(),
            limits: std::array::from_fn(|_| AtomicU64::new(UNLIMITED)),
            counts: std::array::from_fn(|_| AtomicU64::new(0)),
            freed: Notify::new(),
        }
    }

    /// Applies the limits of a (new) configuration.
    fn configure(&self, cb: &CircuitBreakers) {
        let set = |r: Resource, v: Option<u32>| {
            self.limits[r as usize].store(v.map_or(UNLIMITED, u64::from), Ordering::Relaxed)
        };
        set(Resource::Requests, cb.max_requests);
        set(Resource::Pending, cb.max_pending_requests);
        set(Resource::Connections, cb.max_connections);
        set(Resource::Retries, cb.max_retries);
    }

    /// The cluster name.
    pub(crate) fn cluster(&self) -> &str {
        &self.cluster
    }

    /// Counts one more `r`, unless that would exceed the limit.
    pub(crate) fn try_acquire(self: &Arc<Self>, r: Resource) -> Option<ResourceGuard> {
        let limit = self.limits[r as usize].load(Ordering::Relaxed);
        let count = &self.counts[r as usize];
        if limit == UNLIMITED {
            count.fetch_add(1, Ordering::AcqRel);
        } else {
            count.fetch_update(Ordering::AcqRel, Ordering::Acquire, |c| (c < limit).then_some(c + 1)).ok()?;
        }
        Some(ResourceGuard { resources: self.clone(), resource: r })
    }

    /// Counts one more `r` whatever the limit (an endpoint's first connection).
    pub(crate) fn acquire_anyway(self: &Arc<Self>, r: Resource) -> ResourceGuard {
        self.counts[r as usize].fetch_add(1, Ordering::AcqRel);
        ResourceGuard { resources: self.clone(), resource: r }
    }

    /// The current count of `r`.
    #[cfg(test)]
    pub(crate) fn count(&self, r: Resource) -> u64 {
        self.counts[r as usize].load(Ordering::Acquire)
    }

    /// Notified when a connection closes or becomes idle.
    pub(crate) fn freed(&self) -> &Notify {
        &self.freed
    }
}

/// One counted unit of a resource, released on drop.
#[derive(Debug)]
pub(crate) struct ResourceGuard {
    resources: Arc<ClusterResources>,
    resource: Resource,
}

impl Drop for ResourceGuard {
    fn drop(&mut self) {
        self.resources.counts[self.resource as usize].fetch_sub(1, Ordering::AcqRel);
        if self.resource == Resource::Connections {
            self.resources.freed.notify_waiters();
        }
    }
}

/// The resources of every cluster, by name, across configurations.
#[derive(Debug, Default)]
pub(crate) struct ResourceRegistry {
    clusters: Mutex<HashMap<String, Arc<ClusterResources>>>,
}

impl ResourceRegistry {
    /// The resources of `cluster`, with these limits from now on.
    pub(crate) fn get(&self, cluster: &str, cb: &CircuitBreakers) -> Arc<ClusterResources> {
        let mut clusters = self.clusters.lock().unwrap_or_else(PoisonError::into_inner);
        let r = clusters.entry(cluster.to_string()).or_insert_with(|| Arc::new(ClusterResources::new(cluster)));
        r.configure(cb);
        r.clone()
    }

    /// Forgets clusters no longer configured (requests still holding guards keep theirs).
    pub(crate) fn retain(&self, clusters: &HashSet<&str>) {
        self.clusters.lock().unwrap_or_else(PoisonError::into_inner).retain(|name, _| clusters.contains(name.as_str()));
    }
}

/// Circuit-breaker counts and outlier detectors of every cluster, by name, across
/// configurations.
#[derive(Debug, Default)]
pub(crate) struct ClusterProtection {
    pub(crate) resources: ResourceRegistry,
    pub(crate) outliers: crate::client::balance::OutlierRegistry,
}

/// What limits a cluster's retries: its retry budget, or — when it has no budget and a
/// `max_retries` circuit breaker — the number of retries in progress (Envoy uses the
/// budget if set, else `max_retries`). With neither, the mesh's default budget.
#[derive(Debug, Clone)]
pub(crate) enum RetryLimit {
    /// A share of the request rate.
    Budget(Arc<TpsBudget>),
    /// At most `max_retries` retries in progress.
    Concurrent(Arc<ClusterResources>),
}

/// Permission for one retry; holds a `max_retries` slot until dropped.
#[derive(Debug, Default)]
pub(crate) struct RetryPermit(#[allow(dead_code)] Option<ResourceGuard>);

impl RetryLimit {
    /// Counts a request (budgets grow with traffic).
    pub(crate) fn deposit(&self) {
        if let Self::Budget(b) = self {
            b.deposit();
        }
    }

    /// Asks for one retry; `None` when the limit says no.
    pub(crate) fn withdraw(&self) -> Option<RetryPermit> {
        match self {
            Self::Budget(b) => b.withdraw().then_some(RetryPermit(None)),
            Self::Concurrent(r) => r.try_acquire(Resource::Retries).map(|g| RetryPermit(Some(g))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_hold_and_guards_release() {
        let reg = ResourceRegistry::default();
        let r = reg.get("c", &CircuitBreakers { max_requests: Some(2), ..Default::default() });
        let a = r.try_acquire(Resource::Requests).expect("first");
        let _b = r.try_acquire(Resource::Requests).expect("second");
        assert!(r.try_acquire(Resource::Requests).is_none(), "over max_requests");
        drop(a);
        assert!(r.try_acquire(Resource::Requests).is_some(), "a slot was released");
        let _forced = r.acquire_anyway(Resource::Connections);
        assert_eq!(r.count(Resource::Connections), 1);
    }

    #[test]
    fn counts_survive_a_new_configuration() {
        let reg = ResourceRegistry::default();
        let r = reg.get("c", &CircuitBreakers::default());
        let _held = r.try_acquire(Resource::Requests).expect("unlimited");
        let again = reg.get("c", &CircuitBreakers { max_requests: Some(1), ..Default::default() });
        assert!(Arc::ptr_eq(&r, &again));
        assert!(again.try_acquire(Resource::Requests).is_none(), "the request in flight counts");
        reg.retain(&HashSet::new());
        assert!(!Arc::ptr_eq(&reg.get("c", &CircuitBreakers::default()), &r), "forgotten once unconfigured");
    }

    #[test]
    fn concurrent_retry_limit() {
        let reg = ResourceRegistry::default();
        let limit =
            RetryLimit::Concurrent(reg.get("c", &CircuitBreakers { max_retries: Some(1), ..Default::default() }));
        let permit = limit.withdraw().expect("one retry");
        assert!(limit.withdraw().is_none(), "max_retries 1");
        drop(permit);
        assert!(limit.withdraw().is_some());
    }
}
