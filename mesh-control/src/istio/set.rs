//! The loaded configuration: every object by kind, each with its name, namespace and the
//! place it was read from.

use std::path::PathBuf;

use super::model::{
    AuthorizationPolicy, DestinationRule, Gateway, PeerAuthentication, RequestAuthentication, ServiceEntry, Sidecar,
    VirtualService, WorkloadEntry,
};

/// A validated set of Istio objects, as read from files. Objects keep the order they were
/// read in (files sorted by path, documents in file order).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct ConfigSet {
    /// `networking.istio.io` VirtualServices.
    pub virtual_services: Vec<Named<VirtualService>>,
    /// `networking.istio.io` DestinationRules.
    pub destination_rules: Vec<Named<DestinationRule>>,
    /// `networking.istio.io` ServiceEntries.
    pub service_entries: Vec<Named<ServiceEntry>>,
    /// `networking.istio.io` WorkloadEntries.
    pub workload_entries: Vec<Named<WorkloadEntry>>,
    /// `networking.istio.io` Gateways (validated; not served to proxyless clients yet).
    pub gateways: Vec<Named<Gateway>>,
    /// `networking.istio.io` Sidecars (validated; not served yet).
    pub sidecars: Vec<Named<Sidecar>>,
    /// `security.istio.io` PeerAuthentications (served as the inbound listeners' TLS).
    pub peer_authentications: Vec<Named<PeerAuthentication>>,
    /// `security.istio.io` AuthorizationPolicies (served as the inbound listeners' RBAC).
    pub authorization_policies: Vec<Named<AuthorizationPolicy>>,
    /// `security.istio.io` RequestAuthentications: accepted and kept as written (their
    /// `spec` as JSON); JWT is not validated by mesh servers.
    pub request_authentications: Vec<Named<RequestAuthentication>>,
}

impl ConfigSet {
    /// Whether the set holds no object at all.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The number of objects, all kinds together.
    pub fn len(&self) -> usize {
        self.virtual_services.len()
            + self.destination_rules.len()
            + self.service_entries.len()
            + self.workload_entries.len()
            + self.gateways.len()
            + self.sidecars.len()
            + self.peer_authentications.len()
            + self.authorization_policies.len()
            + self.request_authentications.len()
    }

    /// Appends every object of `other` (used to combine files).
    pub fn extend(&mut self, other: ConfigSet) {
        self.virtual_services.extend(other.virtual_services);
        self.destination_rules.extend(other.destination_rules);
        self.service_entries.extend(other.service_entries);
        self.workload_entries.extend(other.workload_entries);
        self.gateways.extend(other.gateways);
        self.sidecars.extend(other.sidecars);
        self.peer_authentications.extend(other.peer_authentications);
        self.authorization_policies.extend(other.authorization_policies);
        self.request_authentications.extend(other.request_authentications);
    }
}

/// One object: its identity, where it came from, and its `spec`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Named<T> {
    /// Kind (`VirtualService`).
    pub kind: String,
    /// Full `apiVersion` as written (`networking.istio.io/v1alpha3`).
    pub api_version: String,
    /// `metadata.name`.
    pub name: String,
    /// `metadata.namespace`, or the loader's default namespace.
    pub namespace: String,
    /// Where the object was read.
    pub source: Source,
    /// The `spec`.
    pub spec: T,
}

impl<T> Named<T> {
    /// `Kind/namespace/name`, as issues and warnings name an object.
    pub fn id(&self) -> String {
        format!("{}/{}/{}", self.kind, self.namespace, self.name)
    }
}

/// A place in a file.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct Source {
    /// The file (as given to the loader, joined with the directory walked).
    pub file: PathBuf,
    /// 1-based line of the document's first line (its first line that is not blank or a
    /// comment), or of the field when known.
    pub line: usize,
}
