//! Certificate provider instances by name (gRFC A29): what a control plane refers to
//! when it says "certificates from instance `default`".

use std::collections::HashMap;
use std::sync::Arc;

use super::IdentityStore;

/// The identity stores of a process by certificate provider instance name (the keys of
/// the bootstrap's `certificate_providers`). Istio names the mesh identity `default`.
#[derive(Debug, Clone, Default)]
pub struct CertificateProviders {
    stores: HashMap<String, Arc<IdentityStore>>,
}

impl CertificateProviders {
    /// No providers.
    pub fn new() -> Self {
        Self::default()
    }

    /// Providers with one instance, `default`.
    pub fn single(store: Arc<IdentityStore>) -> Self {
        let mut p = Self::new();
        p.insert("default", store);
        p
    }

    /// Adds (or replaces) instance `name`.
    pub fn insert(&mut self, name: impl Into<String>, store: Arc<IdentityStore>) {
        self.stores.insert(name.into(), store);
    }

    /// Instance `name`.
    pub fn get(&self, name: &str) -> Option<&Arc<IdentityStore>> {
        self.stores.get(name)
    }

    /// Instance names.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.stores.keys().map(String::as_str)
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.stores.is_empty()
    }
}
