//! Which VirtualService routes a service's requests.
//!
//! Proxyless clients are part of the mesh (Istio's `mesh` gateway): a VirtualService
//! applies to them when its `gateways` is empty or names `mesh`; one bound only to
//! ingress gateways (bookinfo's `bookinfo` on `bookinfo-gateway`, hosts `*`) does not.
//!
//! Among the VirtualServices whose hosts name the service, the most specific host wins
//! (exact name, then the longest wildcard). For sidecars Istio does not merge several
//! VirtualServices of the same host — it merges them only on gateways — and uses one of
//! them; here the first by namespace and name, with a warning naming the ones ignored.

use super::policy::specificity;
use super::warnings::{Warnings, who};
use crate::istio::{ConfigSet, Named, VirtualService, host_matches};

/// The VirtualService for `host` (fully qualified), if any.
pub(crate) fn for_host<'a>(
    config: &'a ConfigSet,
    host: &str,
    domain: &str,
    w: &mut Warnings,
) -> Option<&'a Named<VirtualService>> {
    let mut candidates: Vec<(&Named<VirtualService>, (bool, usize))> = config
        .virtual_services
        .iter()
        .filter(|vs| applies_to_mesh(&vs.spec.gateways))
        .filter_map(|vs| {
            let best = vs
                .spec
                .hosts
                .iter()
                .filter(|h| host_matches(h, &vs.namespace, domain, host))
                .map(|h| specificity(h))
                .max()?;
            Some((vs, best))
        })
        .collect();
    let best = candidates.iter().map(|(_, s)| *s).max()?;
    candidates.retain(|(_, s)| *s == best);
    candidates.sort_by(|(a, _), (b, _)| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
    let chosen = candidates.first()?.0;
    for (other, _) in candidates.iter().skip(1) {
        w.add(
            &who(other),
            format!(
                "also routes {host}; Istio does not merge VirtualServices for sidecars/proxyless clients: only {} is used",
                who(chosen)
            ),
        );
    }
    Some(chosen)
}

/// Whether rules with these `gateways` apply to mesh clients.
pub(crate) fn applies_to_mesh(gateways: &[String]) -> bool {
    gateways.is_empty() || gateways.iter().any(|g| g == "mesh")
}
