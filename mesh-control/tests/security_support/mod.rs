//! Shared by the `security_*` tests: Istio YAML builders, and a compact rendering of the
//! Envoy RBAC and listener protos so that assertions read like the policies they check.
// Test support: unwrap on fixtures is the assertion; not every test uses every helper.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::Path;

use envoy_types::pb::envoy::config::core::v3::CidrRange;
use envoy_types::pb::envoy::config::core::v3::transport_socket::ConfigType as SocketConfig;
use envoy_types::pb::envoy::config::listener::v3::Listener;
use envoy_types::pb::envoy::config::listener::v3::filter::ConfigType as FilterConfig;
use envoy_types::pb::envoy::config::rbac::v3::permission::Rule;
use envoy_types::pb::envoy::config::rbac::v3::principal::Identifier;
use envoy_types::pb::envoy::config::rbac::v3::{Permission, Principal};
use envoy_types::pb::envoy::config::route::v3::HeaderMatcher;
use envoy_types::pb::envoy::config::route::v3::header_matcher::HeaderMatchSpecifier;
use envoy_types::pb::envoy::extensions::filters::http::rbac::v3::Rbac as RbacFilter;
use envoy_types::pb::envoy::extensions::filters::network::http_connection_manager::v3::http_filter::ConfigType;
use envoy_types::pb::envoy::extensions::filters::network::http_connection_manager::v3::{
    HttpConnectionManager, HttpFilter,
};
use envoy_types::pb::envoy::extensions::transport_sockets::tls::v3::DownstreamTlsContext;
use envoy_types::pb::envoy::r#type::matcher::v3::metadata_matcher::path_segment::Segment;
use envoy_types::pb::envoy::r#type::matcher::v3::string_matcher::MatchPattern;
use envoy_types::pb::envoy::r#type::matcher::v3::{
    MetadataMatcher, StringMatcher, list_matcher, path_matcher, value_matcher,
};
use mesh_control::istio::{ConfigSet, parse_str, validate};
use prost::Message;

/// An AuthorizationPolicy `name` in `namespace`; `spec` is the YAML after `spec:`.
pub fn authz(namespace: &str, name: &str, spec: &str) -> String {
    format!(
        "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {{name: {name}, namespace: {namespace}}}\nspec:{spec}\n"
    )
}

/// A PeerAuthentication `name` in `namespace`; `spec` in flow style.
pub fn peer(namespace: &str, name: &str, spec: &str) -> String {
    format!(
        "apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: {{name: {name}, namespace: {namespace}}}\nspec: {spec}\n"
    )
}

/// Parses and validates documents into one set (panics on issues).
pub fn config(docs: &[String]) -> ConfigSet {
    let set = parse_str(&docs.join("---\n"), Path::new("security.yaml"), "default").unwrap_or_else(|e| {
        panic!("{:#?}", e.iter().map(ToString::to_string).collect::<Vec<_>>());
    });
    let issues = validate(&set);
    assert!(issues.is_empty(), "{issues:#?}");
    set
}

/// An RBAC filter: its action and its policies by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rbac {
    /// `ALLOW`, `DENY` or `LOG`.
    pub action: &'static str,
    /// Policy name → policy.
    pub policies: BTreeMap<String, RenderedPolicy>,
}

/// An RBAC policy, its permissions and principals rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedPolicy {
    pub permissions: Vec<String>,
    pub principals: Vec<String>,
}

/// Decodes and renders an `envoy.filters.http.rbac` filter.
pub fn render_filter(filter: &HttpFilter) -> Rbac {
    assert_eq!(filter.name, "envoy.filters.http.rbac");
    let Some(ConfigType::TypedConfig(any)) = &filter.config_type else { panic!("no typed config") };
    assert_eq!(any.type_url, "type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC");
    let rules = RbacFilter::decode(any.value.as_slice()).unwrap().rules.unwrap();
    let action = match rules.action {
        0 => "ALLOW",
        1 => "DENY",
        2 => "LOG",
        other => panic!("action {other}"),
    };
    let policies = rules
        .policies
        .into_iter()
        .map(|(name, p)| {
            let policy = RenderedPolicy {
                permissions: p.permissions.iter().map(permission).collect(),
                principals: p.principals.iter().map(principal).collect(),
            };
            (name, policy)
        })
        .collect();
    Rbac { action, policies }
}

fn list<T>(items: &[T], f: impl Fn(&T) -> String) -> String {
    items.iter().map(f).collect::<Vec<_>>().join(", ")
}

pub fn permission(p: &Permission) -> String {
    match p.rule.as_ref().unwrap() {
        Rule::AndRules(s) => format!("and({})", list(&s.rules, permission)),
        Rule::OrRules(s) => format!("or({})", list(&s.rules, permission)),
        Rule::NotRule(r) => format!("not({})", permission(r)),
        Rule::Any(true) => "any".into(),
        Rule::Header(h) => header(h),
        Rule::UrlPath(m) => match m.rule.as_ref().unwrap() {
            path_matcher::Rule::Path(s) => format!("path:{}", string(s)),
        },
        Rule::DestinationPort(p) => format!("port:{p}"),
        Rule::DestinationIp(c) => format!("dest_ip:{}", cidr(c)),
        Rule::RequestedServerName(s) => format!("sni:{}", string(s)),
        other => format!("{other:?}"),
    }
}

#[allow(deprecated)]
pub fn principal(p: &Principal) -> String {
    match p.identifier.as_ref().unwrap() {
        Identifier::AndIds(s) => format!("and({})", list(&s.ids, principal)),
        Identifier::OrIds(s) => format!("or({})", list(&s.ids, principal)),
        Identifier::NotId(i) => format!("not({})", principal(i)),
        Identifier::Any(true) => "any".into(),
        Identifier::Authenticated(a) => format!("principal:{}", string(a.principal_name.as_ref().unwrap())),
        Identifier::DirectRemoteIp(c) => format!("ip:{}", cidr(c)),
        Identifier::RemoteIp(c) => format!("remote_ip:{}", cidr(c)),
        Identifier::Header(h) => header(h),
        Identifier::Metadata(m) => metadata(m),
        other => format!("{other:?}"),
    }
}

fn cidr(c: &CidrRange) -> String {
    format!("{}/{}", c.address_prefix, c.prefix_len.unwrap().value)
}

pub fn string(s: &StringMatcher) -> String {
    let text = match s.match_pattern.as_ref().unwrap() {
        MatchPattern::Exact(v) => format!("exact={v}"),
        MatchPattern::Prefix(v) => format!("prefix={v}"),
        MatchPattern::Suffix(v) => format!("suffix={v}"),
        MatchPattern::SafeRegex(r) => format!("regex={}", r.regex),
        other => format!("{other:?}"),
    };
    if s.ignore_case { format!("{text}/i") } else { text }
}

fn header(h: &HeaderMatcher) -> String {
    let m = match h.header_match_specifier.as_ref().unwrap() {
        HeaderMatchSpecifier::PresentMatch(true) => "present".to_string(),
        HeaderMatchSpecifier::StringMatch(s) => string(s),
        other => format!("{other:?}"),
    };
    format!("header[{}]:{m}", h.name)
}

fn metadata(m: &MetadataMatcher) -> String {
    let path: Vec<String> = m
        .path
        .iter()
        .map(|s| match s.segment.as_ref().unwrap() {
            Segment::Key(k) => k.clone(),
        })
        .collect();
    let value = match m.value.as_ref().unwrap().match_pattern.as_ref().unwrap() {
        value_matcher::MatchPattern::StringMatch(s) => string(s),
        value_matcher::MatchPattern::ListMatch(l) => match l.match_pattern.as_ref().unwrap() {
            list_matcher::MatchPattern::OneOf(v) => match v.match_pattern.as_ref().unwrap() {
                value_matcher::MatchPattern::StringMatch(s) => format!("one_of({})", string(s)),
                other => format!("{other:?}"),
            },
        },
        other => format!("{other:?}"),
    };
    format!("metadata[{}:{}]:{value}", m.filter, path.join("/"))
}

/// A filter chain of an inbound listener: name, transport protocol matched, whether it
/// terminates mutual TLS with the mesh's certificates, and its HCM.
#[derive(Debug, Clone)]
pub struct Chain {
    pub name: String,
    pub transport_protocol: Option<String>,
    pub mtls: bool,
    pub hcm: HttpConnectionManager,
}

/// The filter chains of `listener`, checked for the shape every chain shares.
pub fn chains(listener: &Listener) -> Vec<Chain> {
    listener
        .filter_chains
        .iter()
        .map(|c| {
            assert_eq!(c.filters.len(), 1, "one network filter");
            assert_eq!(c.filters[0].name, "envoy.filters.network.http_connection_manager");
            let Some(FilterConfig::TypedConfig(any)) = &c.filters[0].config_type else { panic!("hcm config") };
            let hcm = HttpConnectionManager::decode(any.value.as_slice()).unwrap();
            let mtls = c.transport_socket.as_ref().map(|s| {
                assert_eq!(s.name, "envoy.transport_sockets.tls");
                let Some(SocketConfig::TypedConfig(any)) = &s.config_type else { panic!("tls config") };
                DownstreamTlsContext::decode(any.value.as_slice()).unwrap()
            });
            if let Some(tls) = &mtls {
                assert_eq!(tls.require_client_certificate.map(|b| b.value), Some(true));
                let common = tls.common_tls_context.as_ref().unwrap();
                let cert = common.tls_certificate_provider_instance.as_ref().unwrap();
                assert_eq!((cert.instance_name.as_str(), cert.certificate_name.as_str()), ("default", "default"));
                use envoy_types::pb::envoy::extensions::transport_sockets::tls::v3::common_tls_context::ValidationContextType;
                let Some(ValidationContextType::CombinedValidationContext(v)) = &common.validation_context_type else {
                    panic!("combined validation context")
                };
                let ca = v.default_validation_context.as_ref().unwrap().ca_certificate_provider_instance.as_ref().unwrap();
                assert_eq!((ca.instance_name.as_str(), ca.certificate_name.as_str()), ("default", "ROOTCA"));
            }
            Chain {
                name: c.name.clone(),
                transport_protocol: c.filter_chain_match.as_ref().map(|m| m.transport_protocol.clone()),
                mtls: mtls.is_some(),
                hcm,
            }
        })
        .collect()
}

/// The HTTP filters of an HCM: the RBAC ones rendered, then the names of the others.
pub fn http_filters(hcm: &HttpConnectionManager) -> (Vec<Rbac>, Vec<String>) {
    let rbac = hcm.http_filters.iter().filter(|f| f.name == "envoy.filters.http.rbac").map(render_filter).collect();
    let others = hcm.http_filters.iter().filter(|f| f.name != "envoy.filters.http.rbac").map(|f| f.name.clone());
    (rbac, others.collect())
}
