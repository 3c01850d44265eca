//! Which `apiVersion` / `kind` pairs are read, skipped or rejected.
//!
//! A directory of manifests usually mixes Istio objects with Kubernetes ones (Services,
//! Deployments): documents of other API groups are skipped. Within Istio's groups, an
//! unsupported version or kind is an issue rather than a skip: an `EnvoyFilter` the
//! control plane silently ignored would be configuration that silently does not apply.

/// An Istio kind the loader reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    VirtualService,
    DestinationRule,
    ServiceEntry,
    WorkloadEntry,
    Gateway,
    Sidecar,
    PeerAuthentication,
    AuthorizationPolicy,
    RequestAuthentication,
}

/// What to do with a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Classification {
    /// Not an Istio networking/security object: skip it.
    Skip,
    /// Read it as this kind.
    Read(Kind),
    /// An Istio object this control plane does not accept.
    Reject { field: &'static str, reason: String },
}

const NETWORKING: &str = "networking.istio.io";
const SECURITY: &str = "security.istio.io";
const NETWORKING_VERSIONS: &[&str] = &["v1", "v1beta1", "v1alpha3"];
/// As for networking: Istio serves v1 and v1beta1; v1alpha3 is accepted like the
/// networking kinds' so that one version list holds for every kind.
const SECURITY_VERSIONS: &[&str] = &["v1", "v1beta1", "v1alpha3"];
const NETWORKING_KINDS: &[(&str, Kind)] = &[
    ("VirtualService", Kind::VirtualService),
    ("DestinationRule", Kind::DestinationRule),
    ("ServiceEntry", Kind::ServiceEntry),
    ("WorkloadEntry", Kind::WorkloadEntry),
    ("Gateway", Kind::Gateway),
    ("Sidecar", Kind::Sidecar),
];
const SECURITY_KINDS: &[(&str, Kind)] = &[
    ("PeerAuthentication", Kind::PeerAuthentication),
    ("AuthorizationPolicy", Kind::AuthorizationPolicy),
    ("RequestAuthentication", Kind::RequestAuthentication),
];

/// Classifies a document by its `apiVersion` and `kind`.
pub(crate) fn classify(api_version: &str, kind: &str) -> Classification {
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    let (versions, kinds): (&[&str], Vec<(&str, Kind)>) = match group {
        NETWORKING => (NETWORKING_VERSIONS, NETWORKING_KINDS.to_vec()),
        SECURITY => (SECURITY_VERSIONS, SECURITY_KINDS.to_vec()),
        _ => return Classification::Skip,
    };
    if !versions.contains(&version) {
        return Classification::Reject {
            field: "apiVersion",
            reason: format!("version {version:?} of {group} is not supported (supported: {})", versions.join(", ")),
        };
    }
    match kinds.iter().find(|(k, _)| *k == kind) {
        Some((_, k)) => Classification::Read(*k),
        None => {
            let names: Vec<&str> = kinds.iter().map(|(k, _)| *k).collect();
            Classification::Reject {
                field: "kind",
                reason: format!("kind {kind:?} of {group} is not supported (supported: {})", names.join(", ")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies() {
        assert_eq!(classify("v1", "Service"), Classification::Skip);
        assert_eq!(classify("apps/v1", "Deployment"), Classification::Skip);
        assert_eq!(
            classify("networking.istio.io/v1alpha3", "VirtualService"),
            Classification::Read(Kind::VirtualService)
        );
        assert_eq!(
            classify("security.istio.io/v1beta1", "AuthorizationPolicy"),
            Classification::Read(Kind::AuthorizationPolicy)
        );
        assert_eq!(
            classify("security.istio.io/v1alpha3", "PeerAuthentication"),
            Classification::Read(Kind::PeerAuthentication)
        );
        assert!(matches!(
            classify("networking.istio.io/v2", "VirtualService"),
            Classification::Reject { field: "apiVersion", .. }
        ));
        assert!(matches!(
            classify("security.istio.io/v1alpha1", "PeerAuthentication"),
            Classification::Reject { field: "apiVersion", .. }
        ));
        assert!(matches!(classify("security.istio.io/v1", "Policy"), Classification::Reject { field: "kind", .. }));
        assert!(matches!(
            classify("networking.istio.io/v1", "EnvoyFilter"),
            Classification::Reject { field: "kind", .. }
        ));
    }
}
