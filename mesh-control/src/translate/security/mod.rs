//! `security.istio.io` → what mesh servers enforce: for every workload address and serving
//! port, an inbound listener (LDS) whose filter chains carry the PeerAuthentication mode
//! (STRICT: mutual TLS; PERMISSIVE: TLS or plaintext; DISABLE: plaintext) and whose
//! HTTP filters carry the AuthorizationPolicies as Envoy RBAC — what istiod serves to
//! proxyless gRPC servers.
//!
//! ```text
//! WorkloadEntries, ServiceEntry endpoints, registrations
//!        │ servers.rs: (address, port) → workload (namespace, labels)
//!        ▼
//! peer_auth.rs  PeerAuthentications::mode(workload, port)      mesh ◄ namespace ◄ workload ◄ port
//! authz.rs      AuthorizationPolicies::http_filters(workload)  AUDIT, DENY, ALLOW RBAC filters
//!   rbac.rs       rule → RBAC Policy (principals × permissions)
//!        ▼
//! inbound.rs    xds.istio.io/grpc/lds/inbound/<ip>:<port>      Listener
//! ```
//!
//! # Why the listener and not a mesh-specific resource
//!
//! Proxyless gRPC servers (grpc-go, grpc-java, grpcio) already fetch exactly this
//! listener when started as xDS servers, and Envoy reads it too: one resource, every
//! server. Our own server stack reads the same listener, so a policy checked against a
//! grpc-go server behaves the same in a Rust one.
//!
//! # Why names that cannot collide
//!
//! Client listeners are named `host:port`; inbound ones
//! `xds.istio.io/grpc/lds/inbound/<ip>:<port>`, the name the standard bootstrap template
//! (`server_listener_resource_name_template`) makes. Both live in LDS side by side.

mod authz;
mod inbound;
mod peer_auth;
mod rbac;
mod servers;

use std::collections::BTreeMap;

use envoy_types::pb::envoy::config::listener::v3::Listener;

pub use authz::{AuthorizationPolicies, RBAC_FILTER, policy_name, rbac_filter, rbac_policies};
pub use inbound::{EscapedSlashes, INBOUND_LISTENER_PREFIX, inbound_listener, inbound_listener_name};
pub(crate) use peer_auth::Level;
pub use peer_auth::{MtlsMode, PeerAuthentications};

use super::TranslateOptions;
use super::services::Catalog;
use super::warnings::Warnings;
use crate::istio::ConfigSet;
use crate::registry::WorkloadInstance;

/// A workload as security policies select it: its namespace and labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkloadRef<'a> {
    /// Namespace.
    pub namespace: &'a str,
    /// Labels.
    pub labels: &'a BTreeMap<String, String>,
}

impl<'a> WorkloadRef<'a> {
    /// A workload of `namespace` with `labels`.
    pub fn new(namespace: &'a str, labels: &'a BTreeMap<String, String>) -> Self {
        Self { namespace, labels }
    }

    /// Whether a selector's `matchLabels` select the workload (every label carried; no
    /// label selects everything).
    pub fn selected_by(&self, match_labels: &BTreeMap<String, String>) -> bool {
        match_labels.iter().all(|(k, v)| self.labels.get(k) == Some(v))
    }
}

/// The inbound listeners of every server of `instances`, by name.
pub(crate) fn inbound_listeners(
    config: &ConfigSet,
    catalog: &Catalog,
    instances: &[WorkloadInstance],
    opts: &TranslateOptions,
    w: &mut Warnings,
) -> BTreeMap<String, Listener> {
    let peer = PeerAuthentications::new(config, &opts.root_namespace);
    let authz = AuthorizationPolicies::new(config, &opts.root_namespace);
    let mut out = BTreeMap::new();
    for (address, server) in servers::servers(config, catalog, instances, &opts.domain, w) {
        let workload = WorkloadRef::new(server.namespace, server.labels);
        for other in peer.competing(workload) {
            w.add(
                &super::warnings::who(other),
                format!(
                    "selects workload {address} ({}) like another PeerAuthentication read before it; \
                     only the first one applies",
                    server.service
                ),
            );
        }
        let listener = inbound_listener(
            address,
            peer.mode(workload, address.port()),
            authz.http_filters(workload),
            opts.escaped_slashes,
        );
        out.insert(listener.name.clone(), listener);
    }
    out
}
