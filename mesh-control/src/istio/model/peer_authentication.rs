//! `PeerAuthentication` (`security.istio.io`): whether a workload's servers accept plaintext,
//! mutual TLS, or both — mesh-wide (root namespace, no selector), namespace-wide (no
//! selector) or for the workloads a selector picks, optionally per workload port.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::MatchLabelsSelector;

/// The mTLS settings of a set of workloads.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PeerAuthentication {
    /// Workloads (of the policy's namespace) it applies to; none (or no labels) means the
    /// whole namespace — or the whole mesh in the root namespace.
    pub selector: Option<MatchLabelsSelector>,
    /// The mode for every port of the selected workloads; none inherits.
    pub mtls: Option<MutualTls>,
    /// Workload port (as written: `8080` or `"8080"`) → mode. Only with a selector.
    pub port_level_mtls: Option<BTreeMap<String, MutualTls>>,
}

impl PeerAuthentication {
    /// Whether the selector names labels (an empty `selector: {}` selects the namespace).
    pub fn has_selector(&self) -> bool {
        self.selector.as_ref().is_some_and(|s| !s.match_labels.is_empty())
    }

    /// The mode of the policy as a whole (`UNSET` when not written).
    pub fn mode(&self) -> MtlsModeSetting {
        self.mtls.as_ref().and_then(|m| m.mode).unwrap_or(MtlsModeSetting::Unset)
    }

    /// The port-level setting for workload port `port`, if one is written.
    pub fn port_mode(&self, port: u16) -> Option<MtlsModeSetting> {
        let levels = self.port_level_mtls.as_ref()?;
        levels
            .iter()
            .find(|(key, _)| key.trim().parse::<u16>().ok() == Some(port))
            .map(|(_, m)| m.mode.unwrap_or(MtlsModeSetting::Unset))
    }
}

/// Mutual TLS settings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct MutualTls {
    /// The mode; none is `UNSET`.
    pub mode: Option<MtlsModeSetting>,
}

/// The mTLS mode as written in a PeerAuthentication.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MtlsModeSetting {
    /// Inherit from the parent level (workload ← namespace ← mesh); PERMISSIVE at the top.
    Unset,
    /// Plaintext only.
    Disable,
    /// Plaintext or mutual TLS.
    Permissive,
    /// Mutual TLS only (a client certificate is required).
    Strict,
}
