//! `security.istio.io` configuration that is valid but not (fully) enforced by mesh
//! servers: JWT (RequestAuthentication and the attributes it provides), dry-run and
//! `targetRef` AuthorizationPolicies, PeerAuthentications that istiod ignores or that lose
//! to another one at the same level.

use std::collections::BTreeMap;

use super::super::security::{Level, PeerAuthentications};
use super::super::warnings::{Warnings, who};
use crate::istio::{AuthorizationPolicy, AuthorizationRule, ConditionAttribute, ConfigSet, Named};

/// Adds the warnings about the security kinds of `config`.
pub(crate) fn security(config: &ConfigSet, root_namespace: &str, w: &mut Warnings) {
    for ra in &config.request_authentications {
        w.add(
            &who(ra),
            "accepted; JWT is not validated by mesh servers (not enforced): AuthorizationPolicy request \
             principals and request.auth.* conditions never match",
        );
    }
    for ap in &config.authorization_policies {
        authorization_policy(ap, w);
    }
    let peer = PeerAuthentications::new(config, root_namespace);
    let mut first: BTreeMap<(&str, bool), &Named<_>> = BTreeMap::new();
    for pa in peer.iter() {
        let mesh = match peer.level(pa) {
            Level::Mesh => true,
            Level::Namespace => false,
            Level::Workload => continue,
            Level::Ignored => {
                w.add(
                    &who(pa),
                    format!(
                        "spec.selector: a PeerAuthentication with a selector in the root namespace ({root_namespace}) \
                         is ignored, as istiod ignores it"
                    ),
                );
                continue;
            }
        };
        match first.get(&(pa.namespace.as_str(), mesh)) {
            None => {
                first.insert((pa.namespace.as_str(), mesh), pa);
            }
            Some(kept) => {
                let scope = if mesh { "mesh-wide" } else { "namespace-wide" };
                w.add(&who(pa), format!("{} is the {scope} policy (read first); this one is ignored", who(kept)));
            }
        }
    }
}

fn authorization_policy(ap: &Named<AuthorizationPolicy>, w: &mut Warnings) {
    let me = who(ap);
    if ap.spec.dry_run {
        w.add(&me, "istio.io/dry-run: dry-run policies are not enforced (mesh servers have no shadow rules); left out");
    }
    if ap.spec.has_target_ref() {
        w.add(
            &me,
            "spec.targetRef: the policy is attached to Gateway API resources, not to workloads: \
             not applied to mesh servers",
        );
    }
    for (i, rule) in ap.spec.rules.iter().enumerate() {
        if uses_jwt(rule) {
            w.add(
                &me,
                format!(
                    "spec.rules[{i}]: request principals and request.auth.* come from a validated JWT, which mesh \
                     servers do not have (RequestAuthentication is not enforced): they never match"
                ),
            );
        }
    }
}

fn uses_jwt(rule: &AuthorizationRule) -> bool {
    let in_from = rule
        .from
        .iter()
        .flatten()
        .filter_map(|f| f.source.as_ref())
        .any(|s| !s.request_principals.is_empty() || !s.not_request_principals.is_empty());
    let in_when = rule.when.iter().flatten().any(|c| ConditionAttribute::parse(&c.key).is_ok_and(|a| a.is_jwt()));
    in_from || in_when
}
