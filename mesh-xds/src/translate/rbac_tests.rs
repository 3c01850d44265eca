//! RBAC translation: Istio-shaped policies translated and evaluated, and every
//! rejection naming the policy and the field.
// Istio sends the deprecated `metadata` principal; `source_ip` is checked too.
#![allow(deprecated)]

use std::collections::HashMap;
use std::net::IpAddr;

use envoy_types::pb::envoy::config::core::v3::{CidrRange, TypedExtensionConfig};
use envoy_types::pb::envoy::config::rbac::v3 as pb;
use envoy_types::pb::envoy::config::rbac::v3::permission::{Rule, Set as Rules};
use envoy_types::pb::envoy::config::rbac::v3::principal::{Authenticated, Identifier, Set as Ids};
use envoy_types::pb::envoy::config::route::v3::HeaderMatcher as PbHeaderMatcher;
use envoy_types::pb::envoy::config::route::v3::header_matcher::HeaderMatchSpecifier;
use envoy_types::pb::envoy::extensions::filters::http::rbac::v3::Rbac as HttpRbac;
use envoy_types::pb::envoy::r#type::matcher::v3::metadata_matcher::PathSegment;
use envoy_types::pb::envoy::r#type::matcher::v3::metadata_matcher::path_segment::Segment;
use envoy_types::pb::envoy::r#type::matcher::v3::string_matcher::MatchPattern;
use envoy_types::pb::envoy::r#type::matcher::v3::value_matcher::MatchPattern as ValuePattern;
use envoy_types::pb::envoy::r#type::matcher::v3::{
    MetadataMatcher, PathMatcher, RegexMatcher, StringMatcher as PbString, ValueMatcher, path_matcher,
};
use envoy_types::pb::envoy::r#type::v3::{Int32Range, Int64Range};
use envoy_types::pb::google::api::expr::v1alpha1::Expr;
use envoy_types::pb::google::protobuf::UInt32Value;
use mesh_core::authz::{AuthzChain, AuthzRequest, Decision, RbacAction};
use mesh_core::matcher::RequestAttributes;

use super::*;

pub(crate) fn exact(v: &str) -> PbString {
    PbString { match_pattern: Some(MatchPattern::Exact(v.into())), ignore_case: false }
}

pub(crate) fn prefix(v: &str) -> PbString {
    PbString { match_pattern: Some(MatchPattern::Prefix(v.into())), ignore_case: false }
}

pub(crate) fn safe_regex(re: &str) -> PbString {
    let re = RegexMatcher { regex: re.into(), ..Default::default() };
    PbString { match_pattern: Some(MatchPattern::SafeRegex(re)), ignore_case: false }
}

pub(crate) fn perm(rule: Rule) -> pb::Permission {
    pb::Permission { rule: Some(rule) }
}

pub(crate) fn id(identifier: Identifier) -> pb::Principal {
    pb::Principal { identifier: Some(identifier) }
}

pub(crate) fn and_rules(rules: Vec<pb::Permission>) -> pb::Permission {
    perm(Rule::AndRules(Rules { rules }))
}

pub(crate) fn or_rules(rules: Vec<pb::Permission>) -> pb::Permission {
    perm(Rule::OrRules(Rules { rules }))
}

pub(crate) fn header_rule(name: &str, m: PbString) -> PbHeaderMatcher {
    PbHeaderMatcher {
        name: name.into(),
        header_match_specifier: Some(HeaderMatchSpecifier::StringMatch(m)),
        ..Default::default()
    }
}

pub(crate) fn path_rule(m: PbString) -> pb::Permission {
    perm(Rule::UrlPath(PathMatcher { rule: Some(path_matcher::Rule::Path(m)) }))
}

pub(crate) fn principal_name(m: PbString) -> pb::Principal {
    id(Identifier::Authenticated(Authenticated { principal_name: Some(m) }))
}

pub(crate) fn cidr_range(prefix: &str, len: u32) -> CidrRange {
    CidrRange { address_prefix: prefix.into(), prefix_len: Some(UInt32Value { value: len }) }
}

pub(crate) fn jwt_principal(m: PbString) -> pb::Principal {
    id(Identifier::Metadata(MetadataMatcher {
        filter: ISTIO_AUTHN_FILTER.into(),
        path: vec![PathSegment { segment: Some(Segment::Key(REQUEST_PRINCIPAL_KEY.into())) }],
        value: Some(ValueMatcher { match_pattern: Some(ValuePattern::StringMatch(m)) }),
        invert: false,
    }))
}

pub(crate) fn any_id() -> pb::Principal {
    id(Identifier::Any(true))
}

pub(crate) fn any_perm() -> pb::Permission {
    perm(Rule::Any(true))
}

pub(crate) fn rules(action: pb::rbac::Action, policies: Vec<(&str, pb::Policy)>) -> pb::Rbac {
    pb::Rbac {
        action: action as i32,
        policies: policies.into_iter().map(|(n, p)| (n.to_string(), p)).collect::<HashMap<_, _>>(),
        ..Default::default()
    }
}

pub(crate) fn policy(permissions: Vec<pb::Permission>, principals: Vec<pb::Principal>) -> pb::Policy {
    pb::Policy { permissions, principals, ..Default::default() }
}

pub(crate) fn http_rbac(rules: pb::Rbac) -> HttpRbac {
    HttpRbac { rules: Some(rules), ..Default::default() }
}

/// What istiod builds for: ALLOW from namespace `a` or principal `cluster.local/ns/b/sa/x`,
/// to GET/HEAD on paths `/api/*` of host `svc.ns` (any port), port 8080.
fn istio_allow() -> pb::Rbac {
    let hosts = or_rules(vec![
        perm(Rule::Header(header_rule(":authority", PbString { ignore_case: true, ..exact("svc.ns") }))),
        perm(Rule::Header(header_rule(":authority", PbString { ignore_case: true, ..prefix("svc.ns:") }))),
    ]);
    let methods = or_rules(vec![
        perm(Rule::Header(header_rule(":method", exact("GET")))),
        perm(Rule::Header(header_rule(":method", exact("HEAD")))),
    ]);
    let paths = or_rules(vec![path_rule(prefix("/api/"))]);
    let ports = or_rules(vec![perm(Rule::DestinationPort(8080))]);
    let who = id(Identifier::AndIds(Ids {
        ids: vec![id(Identifier::OrIds(Ids {
            ids: vec![
                principal_name(safe_regex(".*/ns/a/.*")),
                principal_name(exact("spiffe://cluster.local/ns/b/sa/x")),
            ],
        }))],
    }));
    let p = policy(vec![and_rules(vec![hosts, methods, paths, ports])], vec![who]);
    rules(pb::rbac::Action::Allow, vec![("ns[ns]-policy[allow]-rule[0]", p)])
}

/// DENY requests without a JWT (`notRequestPrincipals: ["*"]`) to `/admin*`, and any
/// request from outside 10.0.0.0/8 (`notIpBlocks`) or with remote IP 1.2.3.4.
fn istio_deny() -> pb::Rbac {
    let no_jwt = id(Identifier::NotId(Box::new(jwt_principal(safe_regex(".+")))));
    let p0 = policy(vec![and_rules(vec![or_rules(vec![path_rule(prefix("/admin"))])])], vec![no_jwt]);
    let outside = id(Identifier::NotId(Box::new(id(Identifier::OrIds(Ids {
        ids: vec![id(Identifier::DirectRemoteIp(cidr_range("10.0.0.0", 8)))],
    })))));
    let p1 = policy(vec![any_perm()], vec![outside]);
    let p2 = policy(vec![any_perm()], vec![id(Identifier::RemoteIp(cidr_range("1.2.3.4", 32)))]);
    rules(
        pb::rbac::Action::Deny,
        vec![
            ("ns[ns]-policy[deny]-rule[0]", p0),
            ("ns[ns]-policy[deny]-rule[1]", p1),
            ("ns[ns]-policy[deny]-rule[2]", p2),
        ],
    )
}

struct NoHeaders;

impl RequestAttributes for NoHeaders {
    fn authority(&self) -> &str {
        ""
    }
    fn path(&self) -> &str {
        ""
    }
    fn query(&self) -> Option<&str> {
        None
    }
    fn method(&self) -> &str {
        ""
    }
    fn for_each_header_value(&self, _: &str, _: &mut dyn FnMut(&str)) {}
}

fn ip(s: &str) -> Option<IpAddr> {
    Some(s.parse().expect("ip"))
}

fn request(principal: &'static str) -> AuthzRequest<'static> {
    AuthzRequest {
        method: "GET",
        path: "/api/v1",
        query: None,
        authority: "SVC.ns:8080",
        headers: &NoHeaders,
        destination_port: 8080,
        direct_remote: ip("10.1.1.1"),
        remote: ip("10.1.1.1"),
        principal: Some(principal),
        authenticated: true,
        sni: None,
        request_principal: None,
    }
}

fn chain() -> AuthzChain {
    let deny = rbac_filter(&http_rbac(istio_deny())).expect("valid deny");
    let allow = rbac_filter(&http_rbac(istio_allow())).expect("valid allow");
    assert_eq!((deny.action, allow.action), (RbacAction::Deny, RbacAction::Allow));
    AuthzChain::new(vec![deny, allow])
}

#[test]
fn istio_policies_translate_and_decide() {
    let chain = chain();
    let from_a = request("spiffe://cluster.local/ns/a/sa/any");
    assert!(chain.evaluate(&from_a).is_allowed(), "namespace a, GET /api/, host svc.ns:8080 (any case)");
    assert!(chain.evaluate(&request("spiffe://cluster.local/ns/b/sa/x")).is_allowed());
    let denied_by_allow = |r: &AuthzRequest<'_>| {
        chain.evaluate(r) == Decision::Deny { action: RbacAction::Allow, policy: None, logged: vec![] }
    };
    assert!(denied_by_allow(&request("spiffe://cluster.local/ns/b/sa/y")));
    assert!(denied_by_allow(&AuthzRequest { method: "POST", ..from_a }));
    assert!(denied_by_allow(&AuthzRequest { path: "/other", ..from_a }));
    assert!(denied_by_allow(&AuthzRequest { authority: "svc.nsx", ..from_a }));
    assert!(denied_by_allow(&AuthzRequest { destination_port: 9090, ..from_a }));
    assert!(denied_by_allow(&AuthzRequest { authenticated: false, principal: None, ..from_a }));

    let deny = |r: &AuthzRequest<'_>, rule: usize| {
        chain.evaluate(r)
            == Decision::Deny {
                action: RbacAction::Deny,
                policy: Some(format!("ns[ns]-policy[deny]-rule[{rule}]")),
                logged: vec![],
            }
    };
    let admin = AuthzRequest { path: "/admin/x", ..from_a };
    assert!(deny(&admin, 0), "no JWT on /admin");
    let with_jwt = AuthzRequest { request_principal: Some("issuer/sub"), ..admin };
    assert!(denied_by_allow(&with_jwt), "the DENY rule passes; /admin is not allowed either");
    assert!(deny(&AuthzRequest { direct_remote: ip("192.168.0.1"), ..from_a }, 1));
    assert!(deny(&AuthzRequest { remote: ip("1.2.3.4"), ..from_a }, 2));
    assert!(chain.evaluate(&AuthzRequest { remote: ip("1.2.3.5"), ..from_a }).is_allowed());
}

#[test]
fn other_kinds_translate() {
    let p = policy(
        vec![
            perm(Rule::NotRule(Box::new(perm(Rule::DestinationPortRange(Int32Range { start: 1000, end: 65_536 }))))),
            perm(Rule::RequestedServerName(exact("svc.example"))),
        ],
        vec![
            id(Identifier::SourceIp(cidr_range("2001:db8::", 32))),
            id(Identifier::Authenticated(Authenticated { principal_name: None })),
            id(Identifier::Header(header_rule("x-user", exact("bob")))),
            id(Identifier::UrlPath(PathMatcher { rule: Some(path_matcher::Rule::Path(prefix("/p"))) })),
        ],
    );
    let r = rbac_rules(&rules(pb::rbac::Action::Log, vec![("log", p)])).expect("valid");
    let Some((name, p)) = r.policies.first() else { panic!("one policy") };
    assert_eq!((r.action, name.as_str()), (RbacAction::Log, "log"));
    let base = AuthzRequest { authenticated: false, principal: None, ..request("") };
    let port = |destination_port| AuthzRequest { destination_port, sni: Some("svc.example"), ..base };
    assert!(!p.matches(&port(8080)), "no principal matches a plaintext request from 10.1.1.1");
    let authenticated = |destination_port| AuthzRequest { authenticated: true, ..port(destination_port) };
    assert!(p.matches(&authenticated(80)), "port outside [1000, 65536), SNI matches");
    assert!(!p.matches(&AuthzRequest { sni: None, ..authenticated(65_535) }), "65535 is in the range");
    let v6 = AuthzRequest { direct_remote: ip("2001:db8::7"), ..port(65_535) };
    assert!(p.matches(&AuthzRequest { sni: Some("svc.example"), ..v6 }), "source_ip is the direct remote");

    let no_rules = rbac_filter(&HttpRbac::default()).expect("valid");
    assert_eq!((no_rules.action, no_rules.policies.len()), (RbacAction::Log, 0), "no rules: enforces nothing");
    let shadow = HttpRbac { shadow_rules: Some(istio_deny()), ..http_rbac(istio_allow()) };
    assert_eq!(rbac_filter(&shadow).expect("shadow rules are ignored").action, RbacAction::Allow);
    let allow_nothing = rbac_filter(&http_rbac(rules(pb::rbac::Action::Allow, vec![]))).expect("valid");
    assert!(!AuthzChain::new(vec![allow_nothing]).evaluate(&request("x")).is_allowed());
}

fn rejected(p: pb::Policy) -> (String, String) {
    let e = rbac_filter(&http_rbac(rules(pb::rbac::Action::Deny, vec![("ns[a]-policy[p]-rule[0]", p)])))
        .expect_err("must be rejected");
    (e.field, e.reason)
}

#[test]
fn rejections_name_the_policy_and_the_field() {
    let at = |f: &str| format!("rules.policies[\"ns[a]-policy[p]-rule[0]\"].{f}");
    let ext = TypedExtensionConfig { name: "ext".into(), typed_config: None };
    let cases: Vec<(pb::Policy, String)> = vec![
        (
            policy(
                vec![and_rules(vec![any_perm(), perm(Rule::DestinationIp(cidr_range("10.0.0.1", 32)))])],
                vec![any_id()],
            ),
            at("permissions[0].and_rules.rules[1].destination_ip"),
        ),
        (policy(vec![perm(Rule::Matcher(ext.clone()))], vec![any_id()]), at("permissions[0].matcher")),
        (policy(vec![perm(Rule::UriTemplate(ext.clone()))], vec![any_id()]), at("permissions[0].uri_template")),
        (policy(vec![perm(Rule::Any(false))], vec![any_id()]), at("permissions[0].any")),
        (policy(vec![perm(Rule::DestinationPort(70_000))], vec![any_id()]), at("permissions[0].destination_port")),
        (policy(vec![or_rules(vec![])], vec![any_id()]), at("permissions[0].or_rules.rules")),
        (policy(vec![pb::Permission { rule: None }], vec![any_id()]), at("permissions[0]")),
        (policy(vec![], vec![any_id()]), at("permissions")),
        (policy(vec![any_perm()], vec![]), at("principals")),
        (policy(vec![any_perm()], vec![id(Identifier::Custom(ext))]), at("principals[0].custom")),
        (
            policy(
                vec![any_perm()],
                vec![id(Identifier::NotId(Box::new(id(Identifier::AndIds(Ids { ids: vec![] })))))],
            ),
            at("principals[0].not_id.and_ids.ids"),
        ),
        (
            policy(vec![any_perm()], vec![id(Identifier::RemoteIp(cidr_range("10.0.0.0", 33)))]),
            at("principals[0].remote_ip.prefix_len"),
        ),
        (
            policy(vec![any_perm()], vec![id(Identifier::DirectRemoteIp(cidr_range("ten", 8)))]),
            at("principals[0].direct_remote_ip.address_prefix"),
        ),
        (
            policy(vec![any_perm()], vec![principal_name(PbString { match_pattern: None, ignore_case: false })]),
            at("principals[0].authenticated.principal_name"),
        ),
        (policy(vec![path_rule(safe_regex("("))], vec![any_id()]), at("permissions[0].url_path.path.safe_regex.regex")),
        (pb::Policy { condition: Some(Expr::default()), ..policy(vec![any_perm()], vec![any_id()]) }, at("condition")),
    ];
    for (p, field) in cases {
        assert_eq!(rejected(p).0, field);
    }

    let mut claims = jwt_principal(exact("x"));
    if let Some(Identifier::Metadata(m)) = &mut claims.identifier {
        m.path = vec![
            PathSegment { segment: Some(Segment::Key("request.auth.claims".into())) },
            PathSegment { segment: Some(Segment::Key("groups".into())) },
        ];
    }
    let (field, reason) = rejected(policy(vec![any_perm()], vec![claims]));
    assert_eq!(field, at("principals[0].metadata"));
    assert!(reason.contains(r#"path ["request.auth.claims", "groups"]"#), "{reason}");

    let mut range = PbHeaderMatcher { name: "x-n".into(), ..Default::default() };
    range.header_match_specifier = Some(HeaderMatchSpecifier::RangeMatch(Int64Range { start: 1, end: 2 }));
    assert_eq!(
        rejected(policy(vec![perm(Rule::Header(range))], vec![any_id()])).0,
        at("permissions[0].header.range_match")
    );
    let missing_empty = PbHeaderMatcher { treat_missing_header_as_empty: true, ..header_rule("x", exact("")) };
    let (field, _) = rejected(policy(vec![any_perm()], vec![id(Identifier::Header(missing_empty))]));
    assert_eq!(field, at("principals[0].header.treat_missing_header_as_empty"));

    let bad_action = pb::Rbac { action: 7, ..Default::default() };
    assert_eq!(rbac_filter(&http_rbac(bad_action)).expect_err("unknown action").field, "rules.action");
    let matcher = HttpRbac { matcher: Some(Default::default()), ..Default::default() };
    assert_eq!(rbac_filter(&matcher).expect_err("matcher API").field, "matcher");
}

#[test]
fn request_principal_forms() {
    let present = id(Identifier::Metadata(MetadataMatcher {
        filter: ISTIO_AUTHN_FILTER.into(),
        path: vec![PathSegment { segment: Some(Segment::Key(REQUEST_PRINCIPAL_KEY.into())) }],
        value: Some(ValueMatcher { match_pattern: Some(ValuePattern::PresentMatch(true)) }),
        invert: true,
    }));
    let r = rbac_rules(&rules(pb::rbac::Action::Deny, vec![("p", policy(vec![any_perm()], vec![present]))]))
        .expect("valid");
    let chain = AuthzChain::new(vec![r]);
    assert!(!chain.evaluate(&request("x")).is_allowed(), "inverted presence: no JWT is denied");
    assert!(chain.evaluate(&AuthzRequest { request_principal: Some("iss/sub"), ..request("x") }).is_allowed());
}
