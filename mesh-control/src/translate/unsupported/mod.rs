//! Warnings about configuration that is valid Istio but not (fully) served to mesh
//! clients, found by walking the configuration once, independently of which services
//! exist, so that every such field is reported with its path even before its service
//! has endpoints.
//!
//! Three cases, worded consistently (see [`super::warnings`]):
//! - *not supported by mesh clients yet*: the standard Envoy field is emitted (Envoy and
//!   other xDS clients may honour it) but our clients reject the resource that holds it;
//! - *accepted; not enforced*: not emitted (our clients would reject it, and nothing is
//!   lost for correctness: slow start, locality settings, …);
//! - *emitted; not enforced*: the Envoy field is emitted, our clients accept the resource
//!   but do not act on the field (connection keepalive, idle timeouts, …);
//! - not applicable: configuration for gateways, TCP or per-client scoping.
//!
//! `security.rs` has the `security.istio.io` ones (JWT, dry-run, `targetRef`, competing
//! PeerAuthentications).

mod policies;
mod resilience;
mod routes;
mod security;

use super::warnings::{Warnings, who};
use crate::istio::{ConfigSet, Named};

/// Adds the warnings about `config`; `root_namespace` holds the mesh-wide security policies.
pub(crate) fn config_warnings(config: &ConfigSet, root_namespace: &str, w: &mut Warnings) {
    for vs in &config.virtual_services {
        export_to(vs, &vs.spec.export_to, w);
        routes::virtual_service(vs, w);
    }
    for dr in &config.destination_rules {
        export_to(dr, &dr.spec.export_to, w);
        policies::destination_rule(dr, w);
    }
    for se in &config.service_entries {
        export_to(se, &se.spec.export_to, w);
    }
    for gw in &config.gateways {
        w.add(
            &who(gw),
            "accepted and validated; not served yet (gateways are mesh-proxy's, which does not read them yet)",
        );
    }
    for sc in &config.sidecars {
        w.add(&who(sc), "accepted and validated; not enforced yet (every client is sent every service)");
    }
    security::security(config, root_namespace, w);
}

fn export_to<T>(object: &Named<T>, export_to: &[String], w: &mut Warnings) {
    if !export_to.is_empty() && !export_to.iter().any(|e| e == "*") {
        w.add(&who(object), format!("spec.exportTo {export_to:?}: not enforced (every client is sent every resource)"));
    }
}
