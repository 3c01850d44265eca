//! The client's view as JSON, shaped like Envoy's client status (CSDS `ClientConfig`
//! with `generic_xds_configs`), so tools that read Envoy dumps can read ours.

use std::time::UNIX_EPOCH;

use envoy_types::pb::envoy::config::core::v3::Node;
use serde_json::{Value, json};

use super::state::{Cache, TYPES};
use crate::translate::Resource;

fn summary(r: &Resource) -> Value {
    match r {
        Resource::Listener(l) => json!({
            "route": match &l.route {
                crate::translate::RouteSource::Rds(n) => json!({ "rds": n }),
                crate::translate::RouteSource::Inline(rc) => json!({ "inline": rc.name }),
            },
        }),
        Resource::ServerListener(s) => json!({
            "address": s.address.to_string(),
            "mtls": s.policy.mtls().map(|m| format!("{m:?}")),
            "tls_rbac_filters": s.policy.tls.as_ref().map(|c| c.authz.filters.len()),
            "plaintext_rbac_filters": s.policy.plaintext.as_ref().map(|c| c.authz.filters.len()),
        }),
        Resource::Route(rc) => json!({
            "virtual_hosts": rc.routes.virtual_hosts().iter().map(|vh| json!({
                "name": vh.name(),
                "routes": vh.routes().iter().map(|r| r.name()).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
            "clusters": rc.cluster_names,
        }),
        Resource::Cluster(c) => json!({
            "lb": format!("{:?}", c.lb),
            "discovery": format!("{:?}", c.discovery),
            "circuit_breakers": format!("{:?}", c.circuit_breakers),
            "outlier_detection": c.outlier_detection.as_ref().map(|o| format!("{o:?}")),
        }),
        Resource::Endpoints(e) => json!({
            "endpoints": e.endpoints.iter().map(|ep| json!({
                "address": ep.address().to_string(),
                "weight": ep.weight(),
                "priority": ep.priority(),
                "health": format!("{:?}", ep.health()),
            })).collect::<Vec<_>>(),
        }),
    }
}

/// Builds the dump.
pub(crate) fn client_status(node: &Node, cache: &Cache) -> Value {
    let mut configs = Vec::new();
    for t in TYPES {
        let st = cache.get(t);
        for (name, e) in &st.entries {
            let status = if e.error.is_some() {
                "NACKED"
            } else if e.value.is_some() {
                "ACKED"
            } else if e.does_not_exist {
                "DOES_NOT_EXIST"
            } else {
                "REQUESTED"
            };
            let mut c = json!({
                "type_url": t,
                "name": name,
                "version_info": e.version,
                "client_status": status,
            });
            if let Some(at) = e.last_updated.and_then(|t| t.duration_since(UNIX_EPOCH).ok()) {
                c["last_updated"] = json!(format!("{}.{:09}s", at.as_secs(), at.subsec_nanos()));
            }
            if let Some(err) = &e.error {
                c["error_state"] = json!({ "details": err.to_string(), "version_info": e.version });
            }
            if let Some(v) = &e.value {
                c["xds_config"] = summary(v);
            }
            configs.push(c);
        }
    }
    json!({
        "config": [{
            "@type": "type.googleapis.com/envoy.service.status.v3.ClientConfig",
            "node": { "id": node.id, "cluster": node.cluster },
            "generic_xds_configs": configs,
        }]
    })
}
