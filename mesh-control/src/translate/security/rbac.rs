//! One AuthorizationPolicy rule → one Envoy RBAC `Policy`, as istiod's authz model builds
//! it (`pilot/pkg/security/authz/model`).
//!
//! A rule becomes a policy whose `permissions` hold one entry per `to` (its operation's
//! fields, then the `when` conditions on the destination) and whose `principals` hold one
//! entry per `from` (its source's fields, then the `when` conditions on the source and the
//! request); without `to` (or `from`) the conditions alone make the single entry. An entry
//! is the AND of its fields, each field the OR of its values plus, for its `not*` values,
//! a NOT of their OR. An entry with no field at all is `any`.
//!
//! Istio's string forms map to Envoy string matchers: `abc` exact, `abc*` prefix, `*abc`
//! suffix, `*` present (the regex `.+`). Peer principals are SPIFFE URIs
//! (`spiffe://` + the written `<trust domain>/ns/<ns>/sa/<sa>`); namespaces and service
//! accounts match them by regex. Request principals are metadata matchers on the
//! `istio_authn` filter's dynamic metadata, as istiod writes them; the other JWT attributes
//! (audiences, presenter, claims) are written as never matching (`not_id: any`): mesh
//! servers validate no JWT and match no other metadata, so that is what they evaluate to
//! — warned about, since a DENY rule on a claim then never applies.

use envoy_types::pb::envoy::config::core::v3::CidrRange;
use envoy_types::pb::envoy::config::rbac::v3::permission::{Rule as PermissionRule, Set as PermissionSet};
use envoy_types::pb::envoy::config::rbac::v3::principal::{Authenticated, Identifier, Set as PrincipalSet};
use envoy_types::pb::envoy::config::rbac::v3::{Permission, Policy, Principal};
use envoy_types::pb::envoy::config::route::v3::HeaderMatcher;
use envoy_types::pb::envoy::config::route::v3::header_matcher::HeaderMatchSpecifier;
use envoy_types::pb::envoy::r#type::matcher::v3::metadata_matcher::PathSegment;
use envoy_types::pb::envoy::r#type::matcher::v3::metadata_matcher::path_segment::Segment;
use envoy_types::pb::envoy::r#type::matcher::v3::string_matcher::MatchPattern;
use envoy_types::pb::envoy::r#type::matcher::v3::{
    MetadataMatcher, PathMatcher, RegexMatcher, StringMatcher, ValueMatcher, path_matcher, value_matcher,
};
use envoy_types::pb::google::protobuf::UInt32Value;

use crate::istio::{AuthorizationRule, ConditionAttribute, RuleOperation, RuleSource, parse_cidr, parse_port};

/// The dynamic-metadata namespace of Istio's authentication filter (JWT results).
const AUTHN_FILTER: &str = "istio_authn";
/// The prefix of peer principals.
const SPIFFE: &str = "spiffe://";

/// What one field of a rule matches on.
#[derive(Debug, Clone)]
enum On {
    /// `principals`, `source.principal`.
    Principal,
    /// `requestPrincipals`, `request.auth.principal`.
    RequestPrincipal,
    /// `namespaces`, `source.namespace`.
    Namespace,
    /// `serviceAccounts`, `source.serviceAccount` (default namespace: the policy's).
    ServiceAccount(String),
    /// `ipBlocks`, `source.ip`.
    SourceIp,
    /// `remoteIpBlocks`, `remote.ip`.
    RemoteIp,
    /// `request.headers[name]`.
    Header(String),
    /// `request.auth.audiences`, `request.auth.presenter`, `request.auth.claims[…]`: never
    /// matched (see [`principal_values`]).
    Jwt,
    /// `hosts`.
    Host,
    /// `methods`.
    Method,
    /// `paths`.
    Path,
    /// `ports`, `destination.port`.
    Port,
    /// `destination.ip`.
    DestinationIp,
    /// `connection.sni`.
    Sni,
}

/// One field: its matcher kind, values and not-values.
struct Field<'a> {
    on: On,
    values: &'a [String],
    not_values: &'a [String],
}

impl<'a> Field<'a> {
    fn new(on: On, values: &'a [String], not_values: &'a [String]) -> Option<Self> {
        (!values.is_empty() || !not_values.is_empty()).then_some(Self { on, values, not_values })
    }
}

/// The RBAC policy of `rule`, a rule of a policy in `namespace`.
pub(crate) fn rule_policy(rule: &AuthorizationRule, namespace: &str) -> Policy {
    let mut on_source = Vec::new();
    let mut on_destination = Vec::new();
    for c in rule.when.iter().flatten() {
        // Validation refused unknown keys; an unparsable one here would be a bug.
        let Ok(attribute) = ConditionAttribute::parse(&c.key) else { continue };
        let (on, destination) = match attribute {
            ConditionAttribute::DestinationIp => (On::DestinationIp, true),
            ConditionAttribute::DestinationPort => (On::Port, true),
            ConditionAttribute::ConnectionSni => (On::Sni, true),
            ConditionAttribute::SourceIp => (On::SourceIp, false),
            ConditionAttribute::RemoteIp => (On::RemoteIp, false),
            ConditionAttribute::SourceNamespace => (On::Namespace, false),
            ConditionAttribute::SourcePrincipal => (On::Principal, false),
            ConditionAttribute::SourceServiceAccount => (On::ServiceAccount(namespace.to_string()), false),
            ConditionAttribute::RequestPrincipal => (On::RequestPrincipal, false),
            ConditionAttribute::RequestAudiences
            | ConditionAttribute::RequestPresenter
            | ConditionAttribute::RequestClaim(_) => (On::Jwt, false),
            ConditionAttribute::RequestHeader(name) => (On::Header(name), false),
        };
        let field = Field::new(on, &c.values, &c.not_values);
        if destination { on_destination.extend(field) } else { on_source.extend(field) }
    }
    let principals = match &rule.from {
        None => vec![principal_entry(&on_source)],
        Some(from) => from
            .iter()
            .map(|f| {
                let mut fields = f.source.as_ref().map(|s| source_fields(s, namespace)).unwrap_or_default();
                fields.extend(on_source.iter().map(|f| Field { on: f.on.clone(), ..*f }));
                principal_entry(&fields)
            })
            .collect(),
    };
    let permissions = match &rule.to {
        None => vec![permission_entry(&on_destination)],
        Some(to) => to
            .iter()
            .map(|t| {
                let mut fields = t.operation.as_ref().map(operation_fields).unwrap_or_default();
                fields.extend(on_destination.iter().map(|f| Field { on: f.on.clone(), ..*f }));
                permission_entry(&fields)
            })
            .collect(),
    };
    Policy { permissions, principals, ..Default::default() }
}

fn source_fields<'a>(s: &'a RuleSource, namespace: &str) -> Vec<Field<'a>> {
    [
        Field::new(On::Principal, &s.principals, &s.not_principals),
        Field::new(On::RequestPrincipal, &s.request_principals, &s.not_request_principals),
        Field::new(On::Namespace, &s.namespaces, &s.not_namespaces),
        Field::new(On::ServiceAccount(namespace.to_string()), &s.service_accounts, &s.not_service_accounts),
        Field::new(On::RemoteIp, &s.remote_ip_blocks, &s.not_remote_ip_blocks),
        Field::new(On::SourceIp, &s.ip_blocks, &s.not_ip_blocks),
    ]
    .into_iter()
    .flatten()
    .collect()
}

fn operation_fields(o: &RuleOperation) -> Vec<Field<'_>> {
    [
        Field::new(On::Host, &o.hosts, &o.not_hosts),
        Field::new(On::Method, &o.methods, &o.not_methods),
        Field::new(On::Path, &o.paths, &o.not_paths),
        Field::new(On::Port, &o.ports, &o.not_ports),
    ]
    .into_iter()
    .flatten()
    .collect()
}

fn principal_entry(fields: &[Field<'_>]) -> Principal {
    if fields.is_empty() {
        return principal(Identifier::Any(true));
    }
    let mut ids = Vec::new();
    for f in fields {
        if !f.values.is_empty() {
            ids.push(principal_or(f.values.iter().flat_map(|v| principal_values(&f.on, v)).collect()));
        }
        if !f.not_values.is_empty() {
            let or = principal_or(f.not_values.iter().flat_map(|v| principal_values(&f.on, v)).collect());
            ids.push(principal(Identifier::NotId(Box::new(or))));
        }
    }
    principal(Identifier::AndIds(PrincipalSet { ids }))
}

fn permission_entry(fields: &[Field<'_>]) -> Permission {
    if fields.is_empty() {
        return permission(PermissionRule::Any(true));
    }
    let mut rules = Vec::new();
    for f in fields {
        if !f.values.is_empty() {
            rules.push(permission_or(f.values.iter().flat_map(|v| permission_values(&f.on, v)).collect()));
        }
        if !f.not_values.is_empty() {
            let or = permission_or(f.not_values.iter().flat_map(|v| permission_values(&f.on, v)).collect());
            rules.push(permission(PermissionRule::NotRule(Box::new(or))));
        }
    }
    permission(PermissionRule::AndRules(PermissionSet { rules }))
}

fn principal(identifier: Identifier) -> Principal {
    Principal { identifier: Some(identifier) }
}

fn permission(rule: PermissionRule) -> Permission {
    Permission { rule: Some(rule) }
}

fn principal_or(ids: Vec<Principal>) -> Principal {
    principal(Identifier::OrIds(PrincipalSet { ids }))
}

fn permission_or(rules: Vec<Permission>) -> Permission {
    permission(PermissionRule::OrRules(PermissionSet { rules }))
}

/// The principal matchers of one value (one, except for nothing).
// `Principal.metadata` is deprecated in favour of `sourced_metadata`, but it is what istiod
// writes and what proxyless servers read (the contract of the inbound listener).
#[allow(deprecated)]
fn principal_values(on: &On, v: &str) -> Vec<Principal> {
    let authenticated = |m| Identifier::Authenticated(Authenticated { principal_name: Some(m) });
    let id = match on {
        On::Principal => authenticated(string_matcher(v, SPIFFE)),
        On::Namespace => authenticated(regex(&format!(".*/ns/{}/.*", wildcard_regex(v)))),
        On::ServiceAccount(default_namespace) => {
            let (ns, sa) = v.split_once('/').unwrap_or((default_namespace, v));
            let (ns, sa) = (regex::escape(ns), regex::escape(sa));
            authenticated(regex(&format!("spiffe://.+/ns/{ns}/(.+/|)sa/{sa}(/.+)?")))
        }
        On::SourceIp => match cidr(v) {
            Some(c) => Identifier::DirectRemoteIp(c),
            None => return Vec::new(),
        },
        On::RemoteIp => match cidr(v) {
            Some(c) => Identifier::RemoteIp(c),
            None => return Vec::new(),
        },
        On::RequestPrincipal => Identifier::Metadata(jwt(&["request.auth.principal".into()], v)),
        // Mesh servers match only the request principal in `istio_authn`'s metadata, and
        // validate no JWT: a claim never matches, which is written as such.
        On::Jwt => Identifier::NotId(Box::new(principal(Identifier::Any(true)))),
        On::Header(name) => Identifier::Header(header(name, v, false)),
        _ => return Vec::new(),
    };
    vec![principal(id)]
}

/// The permission matchers of one value (two for an exact host: with and without a port).
fn permission_values(on: &On, v: &str) -> Vec<Permission> {
    let rules = match on {
        On::Host if v != "*" && !v.starts_with('*') && !v.ends_with('*') => {
            vec![PermissionRule::Header(header(":authority", v, true)), {
                PermissionRule::Header(header(":authority", &format!("{v}:*"), true))
            }]
        }
        On::Host => vec![PermissionRule::Header(header(":authority", v, true))],
        On::Method => vec![PermissionRule::Header(header(":method", v, false))],
        On::Path => {
            vec![PermissionRule::UrlPath(PathMatcher { rule: Some(path_matcher::Rule::Path(string_matcher(v, ""))) })]
        }
        On::Port => match parse_port(v) {
            Ok(p) => vec![PermissionRule::DestinationPort(u32::from(p))],
            Err(_) => Vec::new(),
        },
        On::DestinationIp => cidr(v).map(PermissionRule::DestinationIp).into_iter().collect(),
        On::Sni => vec![PermissionRule::RequestedServerName(string_matcher(v, ""))],
        _ => Vec::new(),
    };
    rules.into_iter().map(permission).collect()
}

/// Istio's string forms; `prefix` is prepended to exact and prefix matches (the SPIFFE
/// scheme of principals), not to suffixes nor to presence.
fn string_matcher(v: &str, prefix: &str) -> StringMatcher {
    let pattern = if v == "*" {
        return regex(".+");
    } else if let Some(suffix) = v.strip_prefix('*') {
        MatchPattern::Suffix(suffix.to_string())
    } else if let Some(start) = v.strip_suffix('*') {
        MatchPattern::Prefix(format!("{prefix}{start}"))
    } else {
        MatchPattern::Exact(format!("{prefix}{v}"))
    };
    StringMatcher { match_pattern: Some(pattern), ignore_case: false }
}

fn regex(pattern: &str) -> StringMatcher {
    StringMatcher {
        match_pattern: Some(MatchPattern::SafeRegex(RegexMatcher { regex: pattern.to_string(), ..Default::default() })),
        ignore_case: false,
    }
}

/// A value with `*` wildcards as a regex (the rest escaped).
fn wildcard_regex(v: &str) -> String {
    v.split('*').map(regex::escape).collect::<Vec<_>>().join(".*")
}

/// A header matcher in Istio's forms (`*` is presence).
fn header(name: &str, v: &str, ignore_case: bool) -> HeaderMatcher {
    let specifier = if v == "*" {
        HeaderMatchSpecifier::PresentMatch(true)
    } else {
        let mut m = string_matcher(v, "");
        m.ignore_case = ignore_case;
        HeaderMatchSpecifier::StringMatch(m)
    };
    HeaderMatcher { name: name.to_string(), header_match_specifier: Some(specifier), ..Default::default() }
}

/// A matcher on the request principal `istio_authn` leaves in the dynamic metadata (a
/// validated JWT's `<iss>/<sub>`).
fn jwt(path: &[String], v: &str) -> MetadataMatcher {
    let value = ValueMatcher { match_pattern: Some(value_matcher::MatchPattern::StringMatch(string_matcher(v, ""))) };
    MetadataMatcher {
        filter: AUTHN_FILTER.to_string(),
        path: path.iter().map(|k| PathSegment { segment: Some(Segment::Key(k.clone())) }).collect(),
        value: Some(value),
        invert: false,
    }
}

fn cidr(v: &str) -> Option<CidrRange> {
    let (address, length) = parse_cidr(v).ok()?;
    Some(CidrRange { address_prefix: address.to_string(), prefix_len: Some(UInt32Value { value: length }) })
}
