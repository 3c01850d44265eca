//! Which mTLS mode applies to a workload's port, from the PeerAuthentications (istiod's
//! `ComposePeerAuthentication`).
//!
//! Three levels, the narrowest that sets a mode winning:
//! - mesh: a policy of the root namespace (default `istio-system`) without selector;
//! - namespace: a policy of the workload's namespace without selector;
//! - workload: a policy of the workload's namespace whose selector selects it — and, with
//!   it, its `portLevelMtls` for the workload port.
//!
//! `UNSET` (or no `mtls`) inherits from the level above; above the mesh level the mode is
//! PERMISSIVE. A policy of the root namespace *with* a selector is ignored, as istiod
//! ignores it. When several policies compete at one level, Istio keeps the oldest; files
//! carry no creation time, so the first one read (files sorted, documents in order) wins,
//! and the others are warned about (`unsupported/security.rs`).

use std::fmt;

use super::WorkloadRef;
use crate::istio::{ConfigSet, MtlsModeSetting, Named, PeerAuthentication};

/// The effective mTLS mode of a workload port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MtlsMode {
    /// Plaintext only.
    Disable,
    /// Plaintext or mutual TLS (the server tells them apart by the first bytes).
    Permissive,
    /// Mutual TLS only, with a client certificate.
    Strict,
}

impl MtlsMode {
    /// The mode a setting sets; `None` for `UNSET` (inherit).
    pub fn of(setting: MtlsModeSetting) -> Option<Self> {
        match setting {
            MtlsModeSetting::Unset => None,
            MtlsModeSetting::Disable => Some(Self::Disable),
            MtlsModeSetting::Permissive => Some(Self::Permissive),
            MtlsModeSetting::Strict => Some(Self::Strict),
        }
    }
}

impl fmt::Display for MtlsMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Disable => "DISABLE",
            Self::Permissive => "PERMISSIVE",
            Self::Strict => "STRICT",
        })
    }
}

/// The level of a PeerAuthentication.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Level {
    /// Root namespace, no selector.
    Mesh,
    /// Another namespace, no selector.
    Namespace,
    /// A selector, not in the root namespace.
    Workload,
    /// A selector in the root namespace: ignored.
    Ignored,
}

/// The PeerAuthentications of a configuration, ready to be resolved per workload port.
#[derive(Debug, Clone)]
pub struct PeerAuthentications<'a> {
    root_namespace: String,
    policies: &'a [Named<PeerAuthentication>],
}

impl<'a> PeerAuthentications<'a> {
    /// The policies of `config`; `root_namespace` holds the mesh-wide ones.
    pub fn new(config: &'a ConfigSet, root_namespace: &str) -> Self {
        Self { root_namespace: root_namespace.to_string(), policies: &config.peer_authentications }
    }

    /// The level of `policy`.
    pub(crate) fn level(&self, policy: &Named<PeerAuthentication>) -> Level {
        match (policy.namespace == self.root_namespace, policy.spec.has_selector()) {
            (true, false) => Level::Mesh,
            (false, false) => Level::Namespace,
            (false, true) => Level::Workload,
            (true, true) => Level::Ignored,
        }
    }

    /// The policy deciding each level for `workload` (the first read of each).
    fn deciding(&self, workload: WorkloadRef<'_>) -> [Option<&'a Named<PeerAuthentication>>; 3] {
        let first = |level: Level| {
            self.policies.iter().find(|p| {
                self.level(p) == level
                    && match level {
                        Level::Mesh => true,
                        Level::Namespace => p.namespace == workload.namespace,
                        Level::Workload => {
                            p.namespace == workload.namespace
                                && p.spec.selector.as_ref().is_some_and(|s| workload.selected_by(&s.match_labels))
                        }
                        Level::Ignored => false,
                    }
            })
        };
        [first(Level::Mesh), first(Level::Namespace), first(Level::Workload)]
    }

    /// The policies competing with the one that decides `workload`'s workload level
    /// (another workload-level policy that also selects it).
    pub(crate) fn competing(&self, workload: WorkloadRef<'_>) -> Vec<&'a Named<PeerAuthentication>> {
        let [_, _, decided] = self.deciding(workload);
        let Some(decided) = decided else { return Vec::new() };
        self.policies
            .iter()
            .filter(|p| !std::ptr::eq(*p, decided) && self.level(p) == Level::Workload)
            .filter(|p| p.namespace == workload.namespace)
            .filter(|p| p.spec.selector.as_ref().is_some_and(|s| workload.selected_by(&s.match_labels)))
            .collect()
    }

    /// The mTLS mode of `workload`'s port `port` (a port of the workload, not of a
    /// service).
    pub fn mode(&self, workload: WorkloadRef<'_>, port: u16) -> MtlsMode {
        let [mesh, namespace, selected] = self.deciding(workload);
        let mut mode = MtlsMode::Permissive;
        for policy in [mesh, namespace, selected].into_iter().flatten() {
            if let Some(m) = MtlsMode::of(policy.spec.mode()) {
                mode = m;
            }
        }
        if let Some(m) = selected.and_then(|p| p.spec.port_mode(port)).and_then(MtlsMode::of) {
            mode = m;
        }
        mode
    }

    /// Every policy, in the order read.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &'a Named<PeerAuthentication>> {
        self.policies.iter()
    }
}
