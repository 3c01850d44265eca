//! `envoy.extensions.filters.http.rbac.v3.RBAC` (and the `config.rbac.v3.RBAC` rules in it)
//! → [`mesh_core::authz::Rbac`]: the filters istiod compiles `AuthorizationPolicy` into.
//!
//! Everything that can change a decision and that the mesh does not evaluate is
//! rejected, with the policy and field named — a dropped DENY condition would let
//! requests through. Rejected: the matcher API (`matcher`), CEL conditions, metadata
//! matchers other than Istio's request principal (`istio_authn` /
//! `request.auth.principal`), filter state, custom and `sourced_metadata` principals,
//! `destination_ip`, URI templates, header range matches and
//! `treat_missing_header_as_empty`. Empty `and`/`or` sets, empty permission or principal
//! lists and `any: false` are invalid in Envoy too. Ignored, as they never change a
//! decision: `shadow_rules` / `shadow_matcher` (Envoy only records their result),
//! audit logger options, stat prefixes and per-rule stats.
//!
//! Absent `rules` (and no `matcher`) enforce nothing, as in Envoy: the filter becomes a
//! `LOG` filter with no policies, which never denies.

use envoy_types::pb::envoy::config::core::v3::CidrRange;
use envoy_types::pb::envoy::config::rbac::v3 as pb;
use envoy_types::pb::envoy::config::rbac::v3::permission::Rule;
use envoy_types::pb::envoy::config::rbac::v3::principal::Identifier;
use envoy_types::pb::envoy::config::route::v3::HeaderMatcher as PbHeaderMatcher;
use envoy_types::pb::envoy::config::route::v3::header_matcher::HeaderMatchSpecifier;
use envoy_types::pb::envoy::extensions::filters::http::rbac::v3::Rbac as HttpRbac;
use envoy_types::pb::envoy::r#type::matcher::v3::metadata_matcher::path_segment::Segment;
use envoy_types::pb::envoy::r#type::matcher::v3::value_matcher::MatchPattern;
use envoy_types::pb::envoy::r#type::matcher::v3::{MetadataMatcher, PathMatcher, path_matcher};
use mesh_core::ConfigError;
use mesh_core::authz::{Cidr, Permission, Policy, Principal, Rbac, RbacAction};
use mesh_core::matcher::{HeaderMatch, HeaderMatcher, StringMatcher};

use super::field::{At, FieldResult, reject, unsupported};
use super::matcher::{regex, string_matcher};

/// The metadata filter and key under which Istio's authn filter publishes a request's
/// principal, the only metadata an RBAC principal may match.
pub const ISTIO_AUTHN_FILTER: &str = "istio_authn";
/// See [`ISTIO_AUTHN_FILTER`].
pub const REQUEST_PRINCIPAL_KEY: &str = "request.auth.principal";

/// Translates the HTTP RBAC filter's config.
pub fn rbac_filter(config: &HttpRbac) -> Result<Rbac, ConfigError> {
    if config.matcher.is_some() {
        return reject("matcher", "the matcher API is not supported (use rules)");
    }
    match &config.rules {
        Some(rules) => rbac_rules(rules).at("rules"),
        None => Ok(Rbac { action: RbacAction::Log, policies: Vec::new() }),
    }
}

/// Translates RBAC rules (an action and named policies).
pub fn rbac_rules(rules: &pb::Rbac) -> Result<Rbac, ConfigError> {
    let action = match pb::rbac::Action::try_from(rules.action) {
        Ok(pb::rbac::Action::Allow) => RbacAction::Allow,
        Ok(pb::rbac::Action::Deny) => RbacAction::Deny,
        Ok(pb::rbac::Action::Log) => RbacAction::Log,
        Err(_) => return reject("action", format!("unknown action {}", rules.action)),
    };
    let mut named: Vec<(&String, &pb::Policy)> = rules.policies.iter().collect();
    named.sort_by(|a, b| a.0.cmp(b.0));
    let policies = named
        .into_iter()
        .map(|(name, p)| policy(p).at(format!("policies[{name:?}]")).map(|p| (name.clone(), p)))
        .collect::<FieldResult<Vec<_>>>()?;
    Rbac::new(action, policies)
}

fn policy(p: &pb::Policy) -> FieldResult<Policy> {
    unsupported(p.condition.is_some(), "condition", "a CEL condition")?;
    unsupported(p.checked_condition.is_some(), "checked_condition", "a CEL condition")?;
    unsupported(p.cel_config.is_some(), "cel_config", "CEL")?;
    if p.permissions.is_empty() {
        return reject("permissions", "at least one permission is required");
    }
    if p.principals.is_empty() {
        return reject("principals", "at least one principal is required");
    }
    let permissions = list(&p.permissions, "permissions", permission)?;
    let principals = list(&p.principals, "principals", principal)?;
    Ok(Policy { permissions, principals })
}

fn list<P, T>(items: &[P], field: &str, each: impl Fn(&P) -> FieldResult<T>) -> FieldResult<Vec<T>> {
    items.iter().enumerate().map(|(i, item)| each(item).at(format!("{field}[{i}]"))).collect()
}

/// The items of an `and_*` / `or_*` set, which Envoy requires to be non-empty.
fn set<P, T>(items: &[P], field: &str, each: impl Fn(&P) -> FieldResult<T>) -> FieldResult<Vec<T>> {
    if items.is_empty() {
        return reject(field, "must not be empty");
    }
    list(items, field, each)
}

// `metadata` is deprecated in favour of `sourced_metadata`; still matched to reject it.
#[allow(deprecated)]
fn permission(p: &pb::Permission) -> FieldResult<Permission> {
    let rule = match &p.rule {
        Some(Rule::AndRules(s)) => Permission::And(set(&s.rules, "rules", permission).at("and_rules")?),
        Some(Rule::OrRules(s)) => Permission::Or(set(&s.rules, "rules", permission).at("or_rules")?),
        Some(Rule::Any(true)) => Permission::Any,
        Some(Rule::Any(false)) => return reject("any", "must be true"),
        Some(Rule::Header(h)) => Permission::Header(header(h).at("header")?),
        Some(Rule::UrlPath(m)) => Permission::UrlPath(url_path(m).at("url_path")?),
        Some(Rule::DestinationPort(port)) => match u16::try_from(*port) {
            Ok(port) => Permission::DestinationPort(port),
            Err(_) => return reject("destination_port", format!("{port} is not a port")),
        },
        Some(Rule::DestinationPortRange(r)) => Permission::port_range(r.start, r.end),
        Some(Rule::RequestedServerName(m)) => {
            Permission::RequestedServerName(string_matcher(m).at("requested_server_name")?)
        }
        Some(Rule::NotRule(inner)) => Permission::Not(Box::new(permission(inner).at("not_rule")?)),
        Some(Rule::DestinationIp(_)) => {
            return reject("destination_ip", "matching the destination address is not supported");
        }
        Some(Rule::Metadata(_)) => return reject("metadata", "metadata permissions are not supported"),
        Some(Rule::SourcedMetadata(_)) => {
            return reject("sourced_metadata", "metadata permissions are not supported");
        }
        Some(Rule::Matcher(m)) => {
            return reject("matcher", format!("permission extension {:?} is not supported", m.name));
        }
        Some(Rule::UriTemplate(_)) => return reject("uri_template", "URI template permissions are not supported"),
        None => return reject("", "a permission rule is required"),
    };
    Ok(rule)
}

// `source_ip` and `metadata` are deprecated, and still what Istio sends (`metadata`).
#[allow(deprecated)]
fn principal(p: &pb::Principal) -> FieldResult<Principal> {
    let id = match &p.identifier {
        Some(Identifier::AndIds(s)) => Principal::And(set(&s.ids, "ids", principal).at("and_ids")?),
        Some(Identifier::OrIds(s)) => Principal::Or(set(&s.ids, "ids", principal).at("or_ids")?),
        Some(Identifier::Any(true)) => Principal::Any,
        Some(Identifier::Any(false)) => return reject("any", "must be true"),
        Some(Identifier::Authenticated(a)) => Principal::Authenticated(
            a.principal_name.as_ref().map(string_matcher).transpose().at("authenticated.principal_name")?,
        ),
        // `source_ip` is the deprecated name of `direct_remote_ip`.
        Some(Identifier::SourceIp(c)) => Principal::DirectRemoteIp(cidr(c).at("source_ip")?),
        Some(Identifier::DirectRemoteIp(c)) => Principal::DirectRemoteIp(cidr(c).at("direct_remote_ip")?),
        Some(Identifier::RemoteIp(c)) => Principal::RemoteIp(cidr(c).at("remote_ip")?),
        Some(Identifier::Header(h)) => Principal::Header(header(h).at("header")?),
        Some(Identifier::UrlPath(m)) => Principal::UrlPath(url_path(m).at("url_path")?),
        Some(Identifier::Metadata(m)) => request_principal(m).at("metadata")?,
        Some(Identifier::NotId(inner)) => Principal::Not(Box::new(principal(inner).at("not_id")?)),
        Some(Identifier::FilterState(_)) => {
            return reject("filter_state", "filter state principals are not supported");
        }
        Some(Identifier::SourcedMetadata(_)) => {
            return reject("sourced_metadata", "sourced metadata principals are not supported");
        }
        Some(Identifier::Custom(c)) => {
            return reject("custom", format!("principal extension {:?} is not supported", c.name));
        }
        None => return reject("", "a principal identifier is required"),
    };
    Ok(id)
}

/// Istio's `requestPrincipals`: metadata `istio_authn` / `request.auth.principal`.
fn request_principal(m: &MetadataMatcher) -> FieldResult<Principal> {
    let path: Vec<&str> =
        m.path.iter().map(|seg| seg.segment.as_ref().map_or("", |Segment::Key(k)| k.as_str())).collect();
    if m.filter != ISTIO_AUTHN_FILTER || path != [REQUEST_PRINCIPAL_KEY] {
        return reject(
            "",
            format!(
                "only the request principal (filter {ISTIO_AUTHN_FILTER:?}, path [{REQUEST_PRINCIPAL_KEY:?}]) \
                 can be matched, not filter {:?} path {path:?}",
                m.filter
            ),
        );
    }
    let matcher = match m.value.as_ref().and_then(|v| v.match_pattern.as_ref()) {
        Some(MatchPattern::StringMatch(s)) => string_matcher(s).at("value.string_match")?,
        Some(MatchPattern::PresentMatch(true)) => StringMatcher::prefix(""),
        _ => return reject("value", "only string_match or present_match: true is supported"),
    };
    let p = Principal::RequestPrincipal(matcher);
    Ok(if m.invert { Principal::Not(Box::new(p)) } else { p })
}

fn url_path(m: &PathMatcher) -> FieldResult<StringMatcher> {
    match &m.rule {
        Some(path_matcher::Rule::Path(s)) => string_matcher(s).at("path"),
        None => reject("path", "is required"),
    }
}

fn cidr(c: &CidrRange) -> FieldResult<Cidr> {
    let ip = c
        .address_prefix
        .parse()
        .or_else(|_| reject("address_prefix", format!("{:?} is not an IP address", c.address_prefix)))?;
    // Envoy: an unset prefix length is 0.
    Cidr::new(ip, c.prefix_len.as_ref().map_or(0, |l| l.value))
}

/// A header matcher as RBAC uses it: any header, pseudo-headers included.
// The legacy `*_match` fields are deprecated but still sent by control planes.
#[allow(deprecated)]
fn header(h: &PbHeaderMatcher) -> FieldResult<HeaderMatcher> {
    unsupported(h.treat_missing_header_as_empty, "treat_missing_header_as_empty", "treat_missing_header_as_empty")?;
    let kind = match &h.header_match_specifier {
        // Envoy: no specifier means "present".
        None | Some(HeaderMatchSpecifier::PresentMatch(true)) => HeaderMatch::Present,
        Some(HeaderMatchSpecifier::PresentMatch(false)) => HeaderMatch::Absent,
        Some(HeaderMatchSpecifier::ExactMatch(v)) => HeaderMatch::Value(StringMatcher::exact(v)),
        Some(HeaderMatchSpecifier::PrefixMatch(v)) => HeaderMatch::Value(StringMatcher::prefix(v)),
        Some(HeaderMatchSpecifier::SuffixMatch(v)) => HeaderMatch::Value(StringMatcher::suffix(v)),
        Some(HeaderMatchSpecifier::ContainsMatch(v)) => HeaderMatch::Value(StringMatcher::contains(v)),
        Some(HeaderMatchSpecifier::SafeRegexMatch(re)) => HeaderMatch::Value(regex(re).at("safe_regex_match")?),
        Some(HeaderMatchSpecifier::StringMatch(m)) => HeaderMatch::Value(string_matcher(m).at("string_match")?),
        Some(HeaderMatchSpecifier::RangeMatch(_)) => return reject("range_match", "range matching is not supported"),
    };
    HeaderMatcher::new(&h.name, kind, h.invert_match)
}

#[cfg(test)]
#[path = "rbac_tests.rs"]
pub(crate) mod tests;
