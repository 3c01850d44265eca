//! AuthorizationPolicy rules, as Istio's `ValidateAuthorizationPolicy` has them, plus what
//! mesh-control does not serve: CUSTOM (an external authorizer) is refused rather than
//! silently not enforced.
//!
//! - at most one of `selector`, `targetRef`, `targetRefs`; selector labels without
//!   wildcards; `provider` only with CUSTOM;
//! - a DENY policy needs rules (without, it would never apply: Istio refuses it);
//! - `from: []` / `to: []` are errors, a `from` needs a non-empty `source`, a `to` a
//!   non-empty `operation`; `serviceAccounts` exclude `principals` and `namespaces`;
//! - values are never empty; IP blocks parse; ports are numbers; paths hold no templates;
//! - every `when` has a known `key` (see [`ConditionAttribute`]) and `values` or
//!   `notValues`, checked for that attribute; `destination.ip` is refused (mesh servers do
//!   not match it).

use super::Findings;
use crate::istio::model::{
    AuthorizationAction, AuthorizationPolicy, AuthorizationRule, ConditionAttribute, RuleOperation, RuleSource,
};
use crate::istio::path::FieldPath;

/// Checks one AuthorizationPolicy.
pub(crate) fn check_authorization_policy(ap: &AuthorizationPolicy) -> Findings {
    let mut f = Findings::default();
    let spec = FieldPath::spec();
    let scopes = [ap.selector.is_some(), ap.target_ref.is_some(), !ap.target_refs.is_empty()];
    if scopes.iter().filter(|s| **s).count() > 1 {
        f.push(spec.key("selector"), "only one of selector, targetRef and targetRefs may be set");
    }
    f.selector(spec.key("selector"), ap.selector.as_ref());
    match ap.action() {
        AuthorizationAction::Custom => f.push(
            spec.key("action"),
            "CUSTOM is not supported (mesh servers have no external authorizer; use ALLOW or DENY)",
        ),
        AuthorizationAction::Deny if ap.rules.is_empty() => f.push(
            spec.key("rules"),
            "a DENY policy without rules never applies; add an empty rule `{}` to deny every request",
        ),
        _ => {}
    }
    if ap.provider.is_some() && ap.action() != AuthorizationAction::Custom {
        f.push(spec.key("provider"), "provider is only allowed with the CUSTOM action");
    }
    for (i, rule) in ap.rules.iter().enumerate() {
        check_rule(&mut f, spec.key("rules").index(i), rule);
    }
    f
}

fn check_rule(f: &mut Findings, at: FieldPath, rule: &AuthorizationRule) {
    if let Some(from) = &rule.from {
        if from.is_empty() {
            f.push(at.key("from"), "`from` must not be empty (leave it out to match any source)");
        }
        for (j, item) in from.iter().enumerate() {
            let at = at.key("from").index(j).key("source");
            match &item.source {
                None => f.push(at, "`from` needs a source"),
                Some(source) => check_source(f, at, source),
            }
        }
    }
    if let Some(to) = &rule.to {
        if to.is_empty() {
            f.push(at.key("to"), "`to` must not be empty (leave it out to match any operation)");
        }
        for (j, item) in to.iter().enumerate() {
            let at = at.key("to").index(j).key("operation");
            match &item.operation {
                None => f.push(at, "`to` needs an operation"),
                Some(operation) => check_operation(f, at, operation),
            }
        }
    }
    for (j, condition) in rule.when.iter().flatten().enumerate() {
        let at = at.key("when").index(j);
        if condition.key.is_empty() {
            f.push(at.key("key"), "key is required");
            continue;
        }
        let attribute = match ConditionAttribute::parse(&condition.key) {
            Ok(a) => a,
            Err(reason) => {
                f.push(at.key("key"), reason);
                continue;
            }
        };
        if attribute == ConditionAttribute::DestinationIp {
            f.push(at.key("key"), "destination.ip is not supported by mesh servers (they match no local address)");
        }
        if condition.values.is_empty() && condition.not_values.is_empty() {
            f.push(at.clone(), format!("at least one of values and notValues is required for key {}", condition.key));
        }
        f.attribute_values(at.key("values"), &attribute, &condition.values);
        f.attribute_values(at.key("notValues"), &attribute, &condition.not_values);
    }
}

fn check_source(f: &mut Findings, at: FieldPath, s: &RuleSource) {
    let lists: [(&str, &Vec<String>); 12] = [
        ("principals", &s.principals),
        ("notPrincipals", &s.not_principals),
        ("requestPrincipals", &s.request_principals),
        ("notRequestPrincipals", &s.not_request_principals),
        ("namespaces", &s.namespaces),
        ("notNamespaces", &s.not_namespaces),
        ("serviceAccounts", &s.service_accounts),
        ("notServiceAccounts", &s.not_service_accounts),
        ("ipBlocks", &s.ip_blocks),
        ("notIpBlocks", &s.not_ip_blocks),
        ("remoteIpBlocks", &s.remote_ip_blocks),
        ("notRemoteIpBlocks", &s.not_remote_ip_blocks),
    ];
    if lists.iter().all(|(_, l)| l.is_empty()) {
        f.push(at.clone(), "the source must not be empty");
    }
    let identities = [&s.principals, &s.not_principals, &s.namespaces, &s.not_namespaces];
    if identities.iter().any(|l| !l.is_empty()) && !(s.service_accounts.is_empty() && s.not_service_accounts.is_empty())
    {
        f.push(at.key("serviceAccounts"), "serviceAccounts cannot be set with principals or namespaces");
    }
    for (name, list) in lists {
        let path = at.key(name);
        match name {
            "ipBlocks" | "notIpBlocks" | "remoteIpBlocks" | "notRemoteIpBlocks" => f.ip_blocks(path, list),
            "serviceAccounts" | "notServiceAccounts" => f.service_accounts(path, list),
            _ => f.values(path, list, |_| Ok(())),
        }
    }
}

fn check_operation(f: &mut Findings, at: FieldPath, o: &RuleOperation) {
    let lists = [&o.hosts, &o.not_hosts, &o.ports, &o.not_ports, &o.methods, &o.not_methods, &o.paths, &o.not_paths];
    if lists.iter().all(|l| l.is_empty()) {
        f.push(at.clone(), "the operation must not be empty");
    }
    f.values(at.key("hosts"), &o.hosts, |_| Ok(()));
    f.values(at.key("notHosts"), &o.not_hosts, |_| Ok(()));
    f.ports(at.key("ports"), &o.ports);
    f.ports(at.key("notPorts"), &o.not_ports);
    f.values(at.key("methods"), &o.methods, |_| Ok(()));
    f.values(at.key("notMethods"), &o.not_methods, |_| Ok(()));
    f.paths(at.key("paths"), &o.paths);
    f.paths(at.key("notPaths"), &o.not_paths);
}
