//! [`MemoryRegistry`]: registrations kept in the process (one control-plane replica).

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::{Mutex, MutexGuard, PoisonError};

use tokio::sync::watch;

use super::{Registered, Registry, RegistryError, RegistryFuture, WorkloadInstance, validate};

/// A [`Registry`] in memory: lost on restart, not shared between replicas.
#[derive(Debug)]
pub struct MemoryRegistry {
    instances: Mutex<BTreeMap<(String, IpAddr), WorkloadInstance>>,
    generation: watch::Sender<u64>,
}

impl MemoryRegistry {
    /// An empty registry (generation 0).
    pub fn new() -> Self {
        Self { instances: Mutex::new(BTreeMap::new()), generation: watch::Sender::new(0) }
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<(String, IpAddr), WorkloadInstance>> {
        self.instances.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn bump(&self) {
        self.generation.send_modify(|generation| *generation += 1);
    }

    fn insert(&self, instance: WorkloadInstance) -> Result<Registered, RegistryError> {
        validate(&instance)?;
        let key = (instance.service.clone(), instance.address);
        let outcome = match self.lock().insert(key, instance.clone()) {
            None => Registered::Created,
            Some(old) if old == instance => Registered::Unchanged,
            Some(_) => Registered::Replaced,
        };
        if outcome != Registered::Unchanged {
            tracing::info!(service = instance.service, address = %instance.address, ?outcome, "workload registered");
            self.bump();
        }
        Ok(outcome)
    }

    fn remove(&self, service: &str, address: IpAddr) -> bool {
        let removed = self.lock().remove(&(service.to_owned(), address)).is_some();
        if removed {
            tracing::info!(service, %address, "workload deregistered");
            self.bump();
        }
        removed
    }
}

impl Default for MemoryRegistry {
    fn default() -> Self {
        Self::new()
    }
}

impl Registry for MemoryRegistry {
    fn register(&self, instance: WorkloadInstance) -> RegistryFuture<'_, Result<Registered, RegistryError>> {
        let result = self.insert(instance);
        Box::pin(async move { result })
    }

    fn deregister<'a>(&'a self, service: &'a str, address: IpAddr) -> RegistryFuture<'a, Result<bool, RegistryError>> {
        let removed = self.remove(service, address);
        Box::pin(async move { Ok(removed) })
    }

    fn list(&self) -> Vec<WorkloadInstance> {
        self.lock().values().cloned().collect()
    }

    fn subscribe(&self) -> watch::Receiver<u64> {
        self.generation.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn instance(address: [u8; 4]) -> WorkloadInstance {
        WorkloadInstance {
            service: "reviews.default.svc.cluster.local".into(),
            namespace: "default".into(),
            address: address.into(),
            ports: BTreeMap::from([("http".into(), 9080)]),
            labels: BTreeMap::new(),
            weight: 1,
            locality: String::new(),
            service_account: String::new(),
        }
    }

    #[tokio::test]
    async fn register_replace_deregister_notify_only_on_change() {
        let registry = MemoryRegistry::new();
        let mut rx = registry.subscribe();
        assert_eq!(registry.register(instance([10, 0, 0, 1])).await, Ok(Registered::Created));
        assert!(rx.has_changed().unwrap());
        rx.borrow_and_update();
        assert_eq!(registry.register(instance([10, 0, 0, 1])).await, Ok(Registered::Unchanged));
        assert!(!rx.has_changed().unwrap());
        let mut heavier = instance([10, 0, 0, 1]);
        heavier.weight = 5;
        assert_eq!(registry.register(heavier.clone()).await, Ok(Registered::Replaced));
        assert_eq!(registry.register(instance([10, 0, 0, 2])).await, Ok(Registered::Created));
        assert_eq!(registry.list(), vec![heavier, instance([10, 0, 0, 2])]);
        rx.borrow_and_update();

        let service = "reviews.default.svc.cluster.local";
        assert_eq!(registry.deregister(service, [10, 0, 0, 1].into()).await, Ok(true));
        assert_eq!(*rx.borrow_and_update(), 4);
        assert_eq!(registry.deregister(service, [10, 0, 0, 1].into()).await, Ok(false));
        assert!(!rx.has_changed().unwrap());
        assert_eq!(registry.list(), vec![instance([10, 0, 0, 2])]);
    }

    #[tokio::test]
    async fn invalid_instances_are_not_stored() {
        let registry = MemoryRegistry::new();
        let mut bad = instance([10, 0, 0, 1]);
        bad.weight = 0;
        assert!(matches!(registry.register(bad).await, Err(RegistryError::Invalid { field, .. }) if field == "weight"));
        assert!(registry.list().is_empty());
        assert_eq!(*registry.subscribe().borrow(), 0);
    }
}
