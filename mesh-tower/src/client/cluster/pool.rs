use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use mesh_core::retry::RetryBudgetPolicy;
use tower::retry::budget::TpsBudget;

use super::ClusterResources;
use crate::client::endpoint::{EndpointConn, TlsConnect};

/// What makes two connections to one address differ: connect timeout, TLS settings
/// (key; 0 = plaintext), and the cluster whose connection limits count them (its
/// resources' address; 0 = shared).
type ConnKey = (SocketAddr, Duration, u64, usize);

/// Connections by endpoint, shared across configuration generations.
///
/// Holds weak references: a connection lives as long as some configuration (current or
/// still used by an in-flight request) includes its endpoint.
#[derive(Debug, Default)]
pub(crate) struct EndpointPool {
    conns: Mutex<HashMap<ConnKey, Weak<EndpointConn>>>,
}

impl EndpointPool {
    /// The connection to `addr` with these settings (TLS settings by key; 0 = plaintext).
    /// A cluster with connection limits (`limits`) has connections of its own, counted
    /// against them.
    pub(crate) fn get(
        &self,
        addr: SocketAddr,
        connect_timeout: Duration,
        tls: Option<&TlsConnect>,
        limits: Option<&Arc<ClusterResources>>,
    ) -> Arc<EndpointConn> {
        let mut conns = self.conns.lock().unwrap_or_else(PoisonError::into_inner);
        let key = (addr, connect_timeout, tls.map_or(0, |t| t.key), limits.map_or(0, |l| Arc::as_ptr(l) as usize));
        if let Some(c) = conns.get(&key).and_then(Weak::upgrade) {
            return c;
        }
        let c = Arc::new(EndpointConn::new(addr, connect_timeout, tls.cloned()).with_limits(limits.cloned()));
        conns.insert(key, Arc::downgrade(&c));
        c
    }

    /// Forgets endpoints no configuration uses any more.
    pub(crate) fn prune(&self) {
        self.conns.lock().unwrap_or_else(PoisonError::into_inner).retain(|_, w| w.strong_count() > 0);
    }
}

/// Retry budgets by cluster, kept across configuration changes while the policy is
/// unchanged (so a config push does not reset a budget an outage has drained).
#[derive(Debug, Default)]
pub(crate) struct BudgetRegistry {
    budgets: Mutex<HashMap<String, (RetryBudgetPolicy, Arc<TpsBudget>)>>,
}

impl BudgetRegistry {
    pub(crate) fn get(&self, cluster: &str, policy: RetryBudgetPolicy) -> Arc<TpsBudget> {
        let mut budgets = self.budgets.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((p, b)) = budgets.get(cluster)
            && *p == policy
        {
            return b.clone();
        }
        // TpsBudget panics outside these bounds; RetryBudgetPolicy::new validates them,
        // but its fields are public, so clamp rather than trust.
        let ttl = policy.ttl.clamp(Duration::from_secs(1), Duration::from_secs(60));
        let ratio = if policy.retry_ratio.is_finite() { policy.retry_ratio.clamp(0.0, 1000.0) } else { 0.0 };
        let b = Arc::new(TpsBudget::new(ttl, policy.min_retries_per_sec, ratio));
        budgets.insert(cluster.to_string(), (policy, b.clone()));
        b
    }
}
