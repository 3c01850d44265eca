//! RBAC evaluation: every permission and principal kind, nesting, and chains of
//! ALLOW / DENY / LOG filters.

use std::net::IpAddr;

use super::*;
use crate::matcher::{HeaderMatch, HeaderMatcher, RequestAttributes, StringMatcher};

/// Real headers of a test request.
#[derive(Default)]
struct Headers(Vec<(&'static str, &'static str)>);

impl RequestAttributes for Headers {
    fn authority(&self) -> &str {
        unreachable!("RBAC reads the authority from AuthzRequest")
    }
    fn path(&self) -> &str {
        unreachable!("RBAC reads the path from AuthzRequest")
    }
    fn query(&self) -> Option<&str> {
        unreachable!("RBAC reads the query from AuthzRequest")
    }
    fn method(&self) -> &str {
        unreachable!("RBAC reads the method from AuthzRequest")
    }
    fn for_each_header_value(&self, name: &str, f: &mut dyn FnMut(&str)) {
        self.0.iter().filter(|(n, _)| *n == name).for_each(|(_, v)| f(v));
    }
}

static NO_HEADERS: Headers = Headers(Vec::new());
const ALICE: &str = "spiffe://cluster.local/ns/a/sa/alice";

fn ip(s: &str) -> Option<IpAddr> {
    Some(s.parse().expect("ip"))
}

/// An mTLS GET from alice at 10.0.0.1 (XFF says 192.168.0.9) to port 8080.
fn req(headers: &Headers) -> AuthzRequest<'_> {
    AuthzRequest {
        method: "GET",
        path: "/api/v1",
        query: Some("x=1"),
        authority: "svc.ns:8080",
        headers,
        destination_port: 8080,
        direct_remote: ip("10.0.0.1"),
        remote: ip("192.168.0.9"),
        principal: Some(ALICE),
        authenticated: true,
        sni: None,
        request_principal: None,
    }
}

fn plaintext(headers: &Headers) -> AuthzRequest<'_> {
    AuthzRequest { principal: None, authenticated: false, ..req(headers) }
}

fn header(name: &str, m: StringMatcher) -> HeaderMatcher {
    HeaderMatcher::new(name, HeaderMatch::Value(m), false).expect("valid header matcher")
}

fn cidr(s: &str) -> Cidr {
    Cidr::parse(s).expect("cidr")
}

#[test]
fn permissions() {
    let h = Headers(vec![("x-user", "bob"), ("x-user", "eve")]);
    let r = req(&h);
    let yes = |p: Permission| assert!(p.matches(&r), "{p:?} should match");
    let no = |p: Permission| assert!(!p.matches(&r), "{p:?} should not match");
    yes(Permission::Any);
    yes(Permission::Header(header("x-user", StringMatcher::exact("bob,eve"))));
    no(Permission::Header(header("x-user", StringMatcher::exact("bob"))));
    yes(Permission::Header(header(":method", StringMatcher::exact("GET"))));
    yes(Permission::Header(header(":path", StringMatcher::exact("/api/v1?x=1"))));
    yes(Permission::Header(header(":authority", StringMatcher::prefix("svc.ns"))));
    no(Permission::Header(header(":scheme", StringMatcher::prefix(""))));
    yes(Permission::UrlPath(StringMatcher::exact("/api/v1")));
    no(Permission::UrlPath(StringMatcher::suffix("x=1")));
    yes(Permission::DestinationPort(8080));
    no(Permission::DestinationPort(80));
    yes(Permission::DestinationPortRange { start: 8080, end: 8081 });
    no(Permission::DestinationPortRange { start: 8000, end: 8080 });
    no(Permission::DestinationPortRange { start: 9000, end: 8000 });
    yes(Permission::RequestedServerName(StringMatcher::exact("")));
    let with_sni = AuthzRequest { sni: Some("svc.example"), ..r };
    assert!(Permission::RequestedServerName(StringMatcher::exact("svc.example")).matches(&with_sni));
    let absent = HeaderMatcher::new("x-none", HeaderMatch::Absent, false).expect("valid");
    yes(Permission::Header(absent));
    let inverted = HeaderMatcher::new("x-user", HeaderMatch::Value(StringMatcher::exact("x")), true).expect("valid");
    yes(Permission::Header(inverted));
}

#[test]
fn principals() {
    let h = Headers(vec![("x-role", "admin")]);
    let (mtls, plain) = (req(&h), plaintext(&h));
    let alice = || StringMatcher::exact(ALICE);
    let any_authenticated = Principal::Authenticated(None);
    assert!(any_authenticated.matches(&mtls) && !any_authenticated.matches(&plain));
    assert!(Principal::Authenticated(Some(alice())).matches(&mtls));
    assert!(!Principal::Authenticated(Some(StringMatcher::prefix("spiffe://other/"))).matches(&mtls));
    let claimed = AuthzRequest { principal: Some(ALICE), ..plain };
    assert!(!Principal::Authenticated(Some(alice())).matches(&claimed), "needs a verified certificate");
    let no_san = AuthzRequest { principal: None, ..mtls };
    assert!(!Principal::Authenticated(Some(StringMatcher::regex(".+").expect("re"))).matches(&no_san));
    assert!(Principal::Authenticated(None).matches(&no_san));

    assert!(Principal::DirectRemoteIp(cidr("10.0.0.0/8")).matches(&mtls));
    assert!(!Principal::DirectRemoteIp(cidr("192.168.0.0/16")).matches(&mtls), "not the XFF address");
    assert!(Principal::RemoteIp(cidr("192.168.0.0/16")).matches(&mtls));
    assert!(!Principal::RemoteIp(cidr("10.0.0.0/8")).matches(&mtls));
    let unknown = AuthzRequest { direct_remote: None, remote: None, ..mtls };
    assert!(!Principal::DirectRemoteIp(cidr("0.0.0.0/0")).matches(&unknown));
    assert!(!Principal::RemoteIp(cidr("0.0.0.0/0")).matches(&unknown));

    assert!(Principal::Header(header("x-role", StringMatcher::exact("admin"))).matches(&mtls));
    assert!(Principal::UrlPath(StringMatcher::prefix("/api/")).matches(&mtls));
    let jwt = || Principal::RequestPrincipal(StringMatcher::exact("issuer/sub"));
    assert!(!jwt().matches(&mtls), "no credential");
    assert!(Principal::Not(Box::new(jwt())).matches(&mtls));
    assert!(jwt().matches(&AuthzRequest { request_principal: Some("issuer/sub"), ..mtls }));
    assert!(Principal::Any.matches(&plain));
}

#[test]
fn and_or_not_nesting() {
    let r = req(&NO_HEADERS);
    let get = || Permission::Header(header(":method", StringMatcher::exact("GET")));
    let post = || Permission::Header(header(":method", StringMatcher::exact("POST")));
    let api = || Permission::UrlPath(StringMatcher::prefix("/api"));
    assert!(Permission::And(vec![get(), api()]).matches(&r));
    assert!(!Permission::And(vec![post(), api()]).matches(&r));
    assert!(Permission::Or(vec![post(), api()]).matches(&r));
    assert!(!Permission::Or(vec![post()]).matches(&r));
    assert!(Permission::Not(Box::new(post())).matches(&r));
    assert!(Permission::And(vec![]).matches(&r), "empty AND is true");
    assert!(!Permission::Or(vec![]).matches(&r), "empty OR is false");
    let nested = Permission::And(vec![
        Permission::Or(vec![post(), Permission::Not(Box::new(Permission::DestinationPort(9)))]),
        Permission::Not(Box::new(Permission::And(vec![get(), Permission::UrlPath(StringMatcher::exact("/admin"))]))),
    ]);
    assert!(nested.matches(&r));
    let ids = Principal::And(vec![
        Principal::Authenticated(None),
        Principal::Not(Box::new(Principal::Or(vec![Principal::DirectRemoteIp(cidr("10.9.0.0/16"))]))),
    ]);
    assert!(ids.matches(&r) && !ids.matches(&plaintext(&NO_HEADERS)));
}

fn policy(permissions: Vec<Permission>, principals: Vec<Principal>) -> Policy {
    Policy { permissions, principals }
}

fn filter(action: RbacAction, policies: Vec<(&str, Policy)>) -> Rbac {
    Rbac::new(action, policies.into_iter().map(|(n, p)| (n.to_string(), p))).expect("valid filter")
}

fn path_is(path: &str) -> Permission {
    Permission::UrlPath(StringMatcher::exact(path))
}

#[test]
fn a_policy_needs_a_permission_and_a_principal() {
    let r = req(&NO_HEADERS);
    assert!(policy(vec![path_is("/x"), Permission::Any], vec![Principal::Any]).matches(&r));
    assert!(!policy(vec![Permission::Any], vec![Principal::Authenticated(None)]).matches(&plaintext(&NO_HEADERS)));
    assert!(!policy(vec![], vec![Principal::Any]).matches(&r));
    assert!(!policy(vec![Permission::Any], vec![]).matches(&r));
}

#[test]
fn chains() {
    let r = req(&NO_HEADERS);
    let allow = |d: &Decision| d.is_allowed();
    assert_eq!(AuthzChain::default().evaluate(&r), Decision::Allow { logged: vec![] }, "empty chain allows");

    let allow_api = filter(RbacAction::Allow, vec![("api", policy(vec![path_is("/api/v1")], vec![Principal::Any]))]);
    let allow_other = filter(RbacAction::Allow, vec![("other", policy(vec![path_is("/other")], vec![Principal::Any]))]);
    assert!(allow(&AuthzChain::new(vec![allow_api.clone()]).evaluate(&r)));
    assert_eq!(
        AuthzChain::new(vec![allow_other]).evaluate(&r),
        Decision::Deny { action: RbacAction::Allow, policy: None, logged: vec![] },
        "an ALLOW filter is default-deny"
    );
    let allow_nothing = filter(RbacAction::Allow, vec![]);
    assert!(!allow(&AuthzChain::new(vec![allow_nothing]).evaluate(&r)), "ALLOW with no policy denies all");
    let deny_nothing = filter(RbacAction::Deny, vec![]);
    assert!(allow(&AuthzChain::new(vec![deny_nothing]).evaluate(&r)), "DENY with no policy allows all");

    let deny = filter(
        RbacAction::Deny,
        vec![
            ("z-plain", policy(vec![Permission::Any], vec![Principal::Not(Box::new(Principal::Authenticated(None)))])),
            ("b-v1", policy(vec![path_is("/api/v1")], vec![Principal::Any])),
            (
                "a-get",
                policy(vec![Permission::Header(header(":method", StringMatcher::exact("GET")))], vec![Principal::Any]),
            ),
        ],
    );
    let chain = AuthzChain::new(vec![deny.clone(), allow_api.clone()]);
    assert_eq!(
        chain.evaluate(&r),
        Decision::Deny { action: RbacAction::Deny, policy: Some("a-get".into()), logged: vec![] },
        "DENY wins over ALLOW; the first matching policy by name is reported"
    );
    let post = AuthzRequest { method: "POST", path: "/other", ..r };
    assert_eq!(chain.evaluate(&post), Decision::Deny { action: RbacAction::Allow, policy: None, logged: vec![] });
    let post_v1 = AuthzRequest { method: "POST", ..r };
    assert!(!allow(&chain.evaluate(&post_v1)), "b-v1 denies");
    let put_v2 = AuthzRequest { method: "PUT", path: "/api/v2", ..r };
    assert_eq!(AuthzChain::new(vec![deny]).evaluate(&put_v2), Decision::Allow { logged: vec![] });

    let audit = filter(
        RbacAction::Log,
        vec![
            ("audit-b", policy(vec![Permission::Any], vec![Principal::Any])),
            ("audit-a", policy(vec![path_is("/api/v1")], vec![Principal::Any])),
        ],
    );
    let audit_only_other =
        filter(RbacAction::Log, vec![("other", policy(vec![path_is("/nope")], vec![Principal::Any]))]);
    let chain = AuthzChain::new(vec![audit.clone(), audit_only_other, allow_api]);
    assert_eq!(chain.evaluate(&r), Decision::Allow { logged: vec!["audit-a".into()] }, "LOG records, never denies");
    let chain = AuthzChain::new(vec![audit, filter(RbacAction::Allow, vec![])]);
    assert_eq!(
        chain.evaluate(&r),
        Decision::Deny { action: RbacAction::Allow, policy: None, logged: vec!["audit-a".into()] },
        "a later denial keeps what was logged"
    );
}
