//! Validation: what Istio's validating webhook (formerly Galley) rejects, so that a bad
//! rule is refused with a line number instead of being served.
//!
//! Two stages:
//! - per document, right after parsing (`parse_str`): the rules that need only the object
//!   itself — weights summing to 100, regexes that compile (RE2 syntax), durations,
//!   percentages in `[0, 100]`, HTTP statuses in `[200, 599]`, gRPC status names, retry
//!   conditions the mesh's retry layer implements, hosts, ports, duplicate subset names,
//!   mutually exclusive fields. serde already rejected unknown fields and enum values;
//! - across documents ([`validate`]): duplicate `Kind/namespace/name`, and every
//!   `destination.subset` defined by a DestinationRule for that host.
//!
//! Rules live next to the kind they check: `virtual_service.rs`, `http_route.rs`,
//! `destination_rule.rs`, `service_entry.rs`, `gateway.rs` (with Sidecar),
//! `peer_authentication.rs`, `authorization_policy.rs` (with `security_values.rs`: IP
//! blocks, ports and the `when` attributes), and `references.rs` for the cross-document
//! ones; `values.rs` holds the shared value checks.

mod authorization_policy;
mod destination_rule;
mod gateway;
mod http_route;
mod peer_authentication;
mod references;
pub(crate) mod security_values;
mod service_entry;
pub(crate) mod values;
mod virtual_service;

pub(crate) use authorization_policy::check_authorization_policy;
pub(crate) use destination_rule::check_destination_rule;
pub(crate) use gateway::{check_gateway, check_sidecar};
pub(crate) use peer_authentication::check_peer_authentication;
pub use references::validate;
pub(crate) use references::validate_with_texts;
pub(crate) use service_entry::{check_service_entry, check_workload_entry};
pub(crate) use virtual_service::check_virtual_service;

use super::path::FieldPath;

/// One rule broken by one field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Finding {
    /// The field.
    pub(crate) path: FieldPath,
    /// Why.
    pub(crate) reason: String,
}

/// The findings of one object.
#[derive(Debug, Default)]
pub(crate) struct Findings(pub(crate) Vec<Finding>);

impl Findings {
    /// Records a finding.
    pub(crate) fn push(&mut self, path: FieldPath, reason: impl Into<String>) {
        self.0.push(Finding { path, reason: reason.into() });
    }
}
