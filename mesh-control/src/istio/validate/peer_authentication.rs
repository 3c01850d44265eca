//! PeerAuthentication rules (Istio's `ValidatePeerAuthentication`): port-level settings
//! only with a selector, at least one of them when the map is written, ports in range,
//! selector labels without wildcards.

use super::Findings;
use crate::istio::model::PeerAuthentication;
use crate::istio::path::FieldPath;

/// Checks one PeerAuthentication.
pub(crate) fn check_peer_authentication(pa: &PeerAuthentication) -> Findings {
    let mut f = Findings::default();
    let spec = FieldPath::spec();
    f.selector(spec.key("selector"), pa.selector.as_ref());
    let Some(levels) = &pa.port_level_mtls else { return f };
    let at = spec.key("portLevelMtls");
    if !pa.has_selector() {
        f.push(
            at.clone(),
            "portLevelMtls needs a selector: a mesh-wide or namespace-wide PeerAuthentication cannot set ports",
        );
    }
    if levels.is_empty() {
        f.push(at.clone(), "portLevelMtls, when written, must hold at least one port");
    }
    for port in levels.keys() {
        match port.trim().parse::<u32>() {
            Ok(n) if (1..=65535).contains(&n) => {}
            _ => f.push(at.key(port), format!("port {port:?} is not a number in [1, 65535]")),
        }
    }
    f
}
