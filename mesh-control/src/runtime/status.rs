//! [`ConfigStatus`]: what the control plane is serving and how its last reload went.

use std::sync::Arc;

use serde::Serialize;

use crate::istio::{ConfigSet, Named};

/// The state of the configuration, published through
/// [`RunningControlPlane::subscribe`](super::RunningControlPlane::subscribe) after every load
/// attempt and every registry-driven translation (tests wait on it; the admin page shows it).
#[derive(Clone, Debug, Default)]
pub struct ConfigStatus {
    /// The generation being served: 1 after start, bumped by every accepted configuration —
    /// a valid reload of the files, or a registry change re-translated.
    pub generation: u64,
    /// The problems of the latest load of the files, one rendered line each
    /// (`file:line: Kind/namespace/name: field: reason`), if it was rejected; empty once a
    /// load succeeds. A rejected load never replaces the configuration being served.
    pub errors: Vec<String>,
    /// Loads of the files accepted (the one at start included).
    pub reloads_ok: u64,
    /// Loads of the files rejected.
    pub reloads_error: u64,
    /// The Istio objects of the configuration being served.
    pub objects: Arc<Vec<LoadedObject>>,
    /// The warnings of the latest translation.
    pub warnings: Arc<Vec<String>>,
}

impl ConfigStatus {
    /// Whether the latest load of the files was rejected (the previous configuration is
    /// still served).
    pub fn has_errors(&self) -> bool {
        !self.errors.is_empty()
    }
}

/// One Istio object of the configuration being served, and where it was read.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct LoadedObject {
    /// `VirtualService`, `ServiceEntry`, …
    pub kind: String,
    /// `networking.istio.io/v1`, …
    pub api_version: String,
    /// `metadata.namespace` (or the default namespace).
    pub namespace: String,
    /// `metadata.name`.
    pub name: String,
    /// `file:line` of the object's document.
    pub source: String,
}

impl LoadedObject {
    fn of<T>(object: &Named<T>) -> Self {
        Self {
            kind: object.kind.clone(),
            api_version: object.api_version.clone(),
            namespace: object.namespace.clone(),
            name: object.name.clone(),
            source: format!("{}:{}", object.source.file.display(), object.source.line),
        }
    }

    /// Every object of `config`, sorted by kind, namespace and name.
    pub(crate) fn list(config: &ConfigSet) -> Vec<Self> {
        let mut objects: Vec<Self> = Vec::with_capacity(config.len());
        objects.extend(config.virtual_services.iter().map(Self::of));
        objects.extend(config.destination_rules.iter().map(Self::of));
        objects.extend(config.service_entries.iter().map(Self::of));
        objects.extend(config.workload_entries.iter().map(Self::of));
        objects.extend(config.gateways.iter().map(Self::of));
        objects.extend(config.sidecars.iter().map(Self::of));
        objects.extend(config.peer_authentications.iter().map(Self::of));
        objects.extend(config.authorization_policies.iter().map(Self::of));
        objects.extend(config.request_authentications.iter().map(Self::of));
        objects.sort_by(|a, b| (&a.kind, &a.namespace, &a.name).cmp(&(&b.kind, &b.namespace, &b.name)));
        objects
    }
}
