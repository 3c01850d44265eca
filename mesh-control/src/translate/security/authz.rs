//! Which AuthorizationPolicies apply to a workload, and the RBAC HTTP filters they make.
//!
//! # Scope (as istiod)
//!
//! A policy applies to the workloads of its namespace that its `selector` selects (all of
//! them without a selector); a policy of the root namespace (default `istio-system`) to
//! the workloads of every namespace. Policies with a `targetRef(s)` are attached to
//! Gateway API resources (gateways, waypoints), never to mesh servers; dry-run policies
//! (`istio.io/dry-run: "true"`) are never enforced. Both are left out, with a warning
//! (see `unsupported/security.rs`).
//!
//! # Filters (as istiod's builder)
//!
//! In order: the AUDIT policies' filter (RBAC action `LOG`), the DENY policies' filter,
//! the ALLOW policies' filter — each only when a policy of that action applies. Without an
//! ALLOW filter every request not denied is allowed; with one, only those some ALLOW
//! policy matches. Each rule of a policy is an RBAC policy named
//! `ns[<namespace>]-policy[<name>]-rule[<index>]`; a policy without rules contributes
//! none, so an ALLOW policy without rules (`spec: {}`) makes an ALLOW filter that matches
//! nothing: deny all.
//!
//! # Why a hand-made message for the RBAC config
//!
//! Envoy's `RBAC.policies` is a protobuf map, which prost represents as a `HashMap` and
//! encodes in hash order: the same policies would give different bytes on each
//! translation, and the xDS server would push unchanged listeners. [`SortedRbacFilter`]
//! has the same wire format with a `BTreeMap`: policies are encoded sorted by name.

use std::collections::BTreeMap;

use envoy_types::pb::envoy::config::rbac::v3::Policy;
use envoy_types::pb::envoy::config::rbac::v3::rbac::Action as RbacAction;
use envoy_types::pb::envoy::extensions::filters::http::rbac::v3::Rbac as RbacFilter;
use envoy_types::pb::envoy::extensions::filters::network::http_connection_manager::v3::HttpFilter;
use envoy_types::pb::envoy::extensions::filters::network::http_connection_manager::v3::http_filter::ConfigType;
use envoy_types::pb::google::protobuf::Any;
use prost::{Message, Name};

use super::WorkloadRef;
use super::rbac::rule_policy;
use crate::istio::{AuthorizationAction, AuthorizationPolicy, ConfigSet, Named};

/// The name of Envoy's RBAC HTTP filter.
pub const RBAC_FILTER: &str = "envoy.filters.http.rbac";

/// The AuthorizationPolicies of a configuration, ready to be matched against workloads.
#[derive(Debug, Clone)]
pub struct AuthorizationPolicies<'a> {
    root_namespace: String,
    policies: &'a [Named<AuthorizationPolicy>],
}

impl<'a> AuthorizationPolicies<'a> {
    /// The policies of `config`; `root_namespace` holds the mesh-wide ones.
    pub fn new(config: &'a ConfigSet, root_namespace: &str) -> Self {
        Self { root_namespace: root_namespace.to_string(), policies: &config.authorization_policies }
    }

    /// The policies enforced on `workload`, in the order they were read (files sorted,
    /// documents in order): those of its namespace and of the root namespace whose
    /// selector selects it, without the dry-run and `targetRef` ones.
    pub fn applicable(&self, workload: WorkloadRef<'_>) -> Vec<&'a Named<AuthorizationPolicy>> {
        self.policies
            .iter()
            .filter(|p| !p.spec.dry_run && !p.spec.has_target_ref())
            .filter(|p| p.namespace == workload.namespace || p.namespace == self.root_namespace)
            .filter(|p| p.spec.selector.as_ref().is_none_or(|s| workload.selected_by(&s.match_labels)))
            .collect()
    }

    /// The RBAC HTTP filters for `workload`, in evaluation order (AUDIT, DENY, ALLOW; see
    /// the module docs). Empty when no policy applies: every request is allowed.
    pub fn http_filters(&self, workload: WorkloadRef<'_>) -> Vec<HttpFilter> {
        let applicable = self.applicable(workload);
        let mut filters = Vec::new();
        for (action, rbac_action) in [
            (AuthorizationAction::Audit, RbacAction::Log),
            (AuthorizationAction::Deny, RbacAction::Deny),
            (AuthorizationAction::Allow, RbacAction::Allow),
        ] {
            let of_action: Vec<_> = applicable.iter().filter(|p| p.spec.action() == action).collect();
            if of_action.is_empty() {
                continue;
            }
            let policies = of_action.iter().flat_map(|p| rbac_policies(p)).collect();
            filters.push(rbac_filter(rbac_action, policies));
        }
        filters
    }
}

/// The RBAC policies of one AuthorizationPolicy, by istiod's names
/// (`ns[<namespace>]-policy[<name>]-rule[<index>]`), one per rule.
pub fn rbac_policies(policy: &Named<AuthorizationPolicy>) -> BTreeMap<String, Policy> {
    policy
        .spec
        .rules
        .iter()
        .enumerate()
        .map(|(i, rule)| (policy_name(&policy.namespace, &policy.name, i), rule_policy(rule, &policy.namespace)))
        .collect()
}

/// `ns[<namespace>]-policy[<name>]-rule[<index>]`.
pub fn policy_name(namespace: &str, name: &str, index: usize) -> String {
    format!("ns[{namespace}]-policy[{name}]-rule[{index}]")
}

/// The `envoy.filters.http.rbac` filter enforcing `policies` with `action`, its config
/// encoded with the policies sorted by name (see the module docs).
pub fn rbac_filter(action: RbacAction, policies: BTreeMap<String, Policy>) -> HttpFilter {
    let config = SortedRbacFilter { rules: Some(SortedRbac { action: action as i32, policies }) };
    let any = Any { type_url: RbacFilter::type_url(), value: config.encode_to_vec() };
    HttpFilter { name: RBAC_FILTER.to_string(), config_type: Some(ConfigType::TypedConfig(any)), ..Default::default() }
}

/// `envoy.extensions.filters.http.rbac.v3.RBAC` with only `rules` (field 1).
#[derive(Clone, PartialEq, Message)]
struct SortedRbacFilter {
    #[prost(message, optional, tag = "1")]
    rules: Option<SortedRbac>,
}

/// `envoy.config.rbac.v3.RBAC` with `action` (1) and `policies` (2) kept sorted.
#[derive(Clone, PartialEq, Message)]
struct SortedRbac {
    #[prost(int32, tag = "1")]
    action: i32,
    #[prost(btree_map = "string, message", tag = "2")]
    policies: BTreeMap<String, Policy>,
}

#[cfg(test)]
mod tests {
    use envoy_types::pb::envoy::config::rbac::v3::Permission;
    use envoy_types::pb::envoy::config::rbac::v3::permission::Rule;

    use super::*;

    fn any_policy(port: u32) -> Policy {
        Policy { permissions: vec![Permission { rule: Some(Rule::DestinationPort(port)) }], ..Default::default() }
    }

    #[test]
    fn sorted_encoding_decodes_as_envoys_message_and_is_stable() {
        let policies: BTreeMap<String, Policy> = (0..20).map(|i| (format!("p{i:02}"), any_policy(i))).collect();
        let a = rbac_filter(RbacAction::Deny, policies.clone());
        let b = rbac_filter(RbacAction::Deny, policies.clone());
        assert_eq!(a, b);
        let Some(ConfigType::TypedConfig(any)) = a.config_type else { panic!("typed config") };
        assert_eq!(any.type_url, "type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC");
        let decoded = RbacFilter::decode(any.value.as_slice()).unwrap();
        let rules = decoded.rules.unwrap();
        assert_eq!(rules.action, RbacAction::Deny as i32);
        assert_eq!(rules.policies.len(), 20);
        assert_eq!(rules.policies["p07"], any_policy(7));
    }
}
