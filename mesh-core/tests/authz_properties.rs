//! Property tests for `mesh_core::authz`: path normalization (idempotent, no dot
//! segments, no escaped slashes where they are refused, nothing left for an application
//! to resolve that could move a path in or out of a prefix policy) and RBAC evaluation
//! (boolean algebra of permissions, chain semantics).

mod common;

use std::net::IpAddr;

use common::config;
use mesh_core::authz::{
    AuthzChain, AuthzRequest, Cidr, Decision, EscapedSlashes, PathNormalization, Permission, Policy, Principal, Rbac,
    RbacAction, is_normalized, normalize_path,
};
use mesh_core::matcher::{HeaderMatch, HeaderMatcher, RequestAttributes, StringMatcher};
use proptest::prelude::*;

/// Pieces that exercise every rule of the normalizer.
const TOKENS: &[&str] = &[
    "/", "//", "\\", ".", "..", "%2e", "%2E", "%2f", "%2F", "%5c", "%5C", "admin", "a", "%61", "%41", ";", ";x=1", "%",
    "%2", "%25", "%3B", "%3f", "%20", " ", "é", "~", "%7e", "?", "#", "%00", "%zz", "%%32%46",
];

fn path_like() -> impl Strategy<Value = String> {
    (prop::collection::vec(prop::sample::select(TOKENS), 0..14), any::<bool>()).prop_map(|(tokens, lead)| {
        let body: String = tokens.concat();
        if lead { format!("/{body}") } else { body }
    })
}

fn settings() -> impl Strategy<Value = PathNormalization> {
    let escaped = prop::sample::select(vec![
        EscapedSlashes::Reject,
        EscapedSlashes::UnescapeAndForward,
        EscapedSlashes::KeepUnchanged,
    ]);
    (any::<bool>(), any::<bool>(), escaped).prop_map(|(normalize, merge_slashes, escaped_slashes)| PathNormalization {
        normalize,
        merge_slashes,
        escaped_slashes,
    })
}

fn has_escaped_slash(p: &str) -> bool {
    let u = p.to_ascii_uppercase();
    u.contains("%2F") || u.contains("%5C")
}

/// Full percent-decoding (invalid escapes kept), as an application framework would.
fn decode(p: &str) -> Vec<u8> {
    let b = p.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| char::from(c).to_digit(16);
        if b[i] == b'%'
            && let (Some(h), Some(l)) = (b.get(i + 1).and_then(|&c| hex(c)), b.get(i + 2).and_then(|&c| hex(c)))
        {
            out.push(u8::try_from(h * 16 + l).expect("two hex digits"));
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

/// What a strict RFC 3986 application does with a received path: decode, then remove
/// dot segments and empty segments.
fn app_view(p: &str) -> Vec<u8> {
    let decoded = decode(p);
    let mut segs: Vec<&[u8]> = Vec::new();
    for seg in decoded.split(|&c| c == b'/').skip(1) {
        match seg {
            b"" | b"." => {}
            b".." => {
                segs.pop();
            }
            s => segs.push(s),
        }
    }
    let mut out = Vec::new();
    for s in segs {
        out.push(b'/');
        out.extend_from_slice(s);
    }
    if out.is_empty() {
        out.push(b'/');
    }
    out
}

fn under(p: &[u8], prefix: &[u8]) -> bool {
    p == prefix || (p.starts_with(prefix) && p.get(prefix.len()) == Some(&b'/'))
}

proptest! {
    #![proptest_config(config(2000))]

    #[test]
    fn normalizing_is_idempotent(input in path_like(), cfg in settings()) {
        if let Ok(n) = normalize_path(&input, &cfg) {
            let again = normalize_path(&n.path_and_query(), &cfg);
            prop_assert_eq!(again.as_ref(), Ok(&n), "{:?} → {:?}", input, n);
            prop_assert!(n.path.starts_with('/'));
            prop_assert!(!n.path.contains('#') && !n.path.contains('?'));
            if cfg.merge_slashes {
                prop_assert!(!n.path.contains("//"), "{:?} → {:?}", input, n.path);
            }
            if cfg.normalize {
                prop_assert!(n.path.is_ascii());
                prop_assert!(n.path.split('/').all(|s| s != "." && s != ".."), "{:?} → {:?}", input, n.path);
                for (i, _) in n.path.match_indices('%') {
                    let hex = n.path.get(i + 1..i + 3).unwrap_or("");
                    prop_assert!(hex.len() == 2 && hex.bytes().all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b)),
                        "{:?} → {:?}", input, n.path);
                }
            }
            if cfg.escaped_slashes != EscapedSlashes::KeepUnchanged {
                prop_assert!(!has_escaped_slash(&n.path), "{:?} → {:?}", input, n.path);
            }
        }
    }

    /// With normalization on and escaped slashes refused or decoded, an application that
    /// decodes and resolves the forwarded path finds nothing to resolve, so a path it sees
    /// under `/admin` is under `/admin` for RBAC too.
    #[test]
    fn nothing_is_left_for_the_application_to_resolve(input in path_like(), merge in any::<bool>(), unescape in any::<bool>()) {
        let escaped_slashes = if unescape { EscapedSlashes::UnescapeAndForward } else { EscapedSlashes::Reject };
        let cfg = PathNormalization { normalize: true, merge_slashes: merge, escaped_slashes };
        if let Ok(n) = normalize_path(&input, &cfg) {
            let app = app_view(&n.path);
            if merge {
                prop_assert_eq!(&app, &{
                    let mut d = decode(&n.path);
                    if d.len() > 1 && d.ends_with(b"/") { d.pop(); }
                    d
                }, "{:?} → {:?}", input, n.path);
            }
            // Without merge_slashes, `//admin` stays `//admin` (as in Envoy, and why Istio
            // documents merging for path-based policies): an application that collapses
            // slashes itself would see `/admin`. The property holds only with merging.
            if merge && under(&app, b"/admin") {
                prop_assert!(StringMatcher::prefix("/admin").matches(&n.path), "{:?} → {:?}", input, n.path);
            }
        }
    }

    /// The server's fast path: a path `is_normalized` accepts is exactly what
    /// `normalize_path` returns for it, whatever the settings.
    #[test]
    fn already_normal_paths_are_left_as_they_are(
        input in prop_oneof![path_like(), "/[a-zA-Z0-9._~/-]{0,40}"],
        cfg in settings(),
    ) {
        if is_normalized(&input) {
            let n = normalize_path(&input, &cfg);
            prop_assert_eq!(n.as_ref().map(|n| n.path.as_str()), Ok(input.as_str()));
        }
    }

    #[test]
    fn never_panics(input in any::<String>(), cfg in settings()) {
        let _ = normalize_path(&input, &cfg);
    }
}

/// A request whose attributes come from a few bits.
#[derive(Debug, Clone)]
struct Bits {
    get: bool,
    admin_path: bool,
    port: u16,
    authenticated: bool,
    internal_ip: bool,
    header: bool,
}

impl RequestAttributes for Bits {
    fn authority(&self) -> &str {
        "svc"
    }
    fn path(&self) -> &str {
        "/"
    }
    fn query(&self) -> Option<&str> {
        None
    }
    fn method(&self) -> &str {
        "GET"
    }
    fn for_each_header_value(&self, name: &str, f: &mut dyn FnMut(&str)) {
        if self.header && name == "x-flag" {
            f("on");
        }
    }
}

fn with_request<T>(b: &Bits, f: impl FnOnce(&AuthzRequest<'_>) -> T) -> T {
    let ip: IpAddr = if b.internal_ip { [10, 1, 2, 3].into() } else { [8, 8, 8, 8].into() };
    let r = AuthzRequest {
        method: if b.get { "GET" } else { "POST" },
        path: if b.admin_path { "/admin/x" } else { "/public" },
        query: None,
        authority: "svc",
        headers: b,
        destination_port: b.port,
        direct_remote: Some(ip),
        remote: Some(ip),
        principal: b.authenticated.then_some("spiffe://td/ns/a/sa/b"),
        authenticated: b.authenticated,
        sni: None,
        request_principal: None,
    };
    f(&r)
}

fn bits() -> impl Strategy<Value = Bits> {
    (
        any::<bool>(),
        any::<bool>(),
        prop::sample::select(vec![80u16, 443, 8080]),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(get, admin_path, port, authenticated, internal_ip, header)| Bits {
            get,
            admin_path,
            port,
            authenticated,
            internal_ip,
            header,
        })
}

fn leaf_permission() -> impl Strategy<Value = Permission> {
    prop_oneof![
        Just(Permission::Any),
        Just(Permission::Header(
            HeaderMatcher::new(":method", HeaderMatch::Value(StringMatcher::exact("GET")), false).expect("valid")
        )),
        Just(Permission::Header(HeaderMatcher::new("x-flag", HeaderMatch::Present, false).expect("valid"))),
        Just(Permission::UrlPath(StringMatcher::prefix("/admin"))),
        Just(Permission::DestinationPort(8080)),
        Just(Permission::DestinationPortRange { start: 1, end: 443 }),
    ]
}

fn permission() -> impl Strategy<Value = Permission> {
    leaf_permission().prop_recursive(3, 16, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Permission::And),
            prop::collection::vec(inner.clone(), 0..3).prop_map(Permission::Or),
            inner.prop_map(|p| Permission::Not(Box::new(p))),
        ]
    })
}

fn principal() -> impl Strategy<Value = Principal> {
    let leaf = prop_oneof![
        Just(Principal::Any),
        Just(Principal::Authenticated(None)),
        Just(Principal::Authenticated(Some(StringMatcher::prefix("spiffe://td/ns/a/")))),
        Just(Principal::DirectRemoteIp(Cidr::parse("10.0.0.0/8").expect("valid"))),
    ];
    leaf.prop_recursive(2, 8, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Principal::Or),
            inner.prop_map(|p| Principal::Not(Box::new(p))),
        ]
    })
}

fn policy() -> impl Strategy<Value = Policy> {
    (prop::collection::vec(permission(), 0..3), prop::collection::vec(principal(), 0..3))
        .prop_map(|(permissions, principals)| Policy { permissions, principals })
}

proptest! {
    #![proptest_config(config(500))]

    #[test]
    fn permissions_follow_boolean_algebra(p in permission(), q in permission(), b in bits()) {
        with_request(&b, |r| {
            let not = |x: &Permission| Permission::Not(Box::new(x.clone()));
            prop_assert_eq!(not(&not(&p)).matches(r), p.matches(r));
            prop_assert_eq!(Permission::And(vec![p.clone(), q.clone()]).matches(r), p.matches(r) && q.matches(r));
            prop_assert_eq!(Permission::Or(vec![p.clone(), q.clone()]).matches(r), p.matches(r) || q.matches(r));
            prop_assert_eq!(
                not(&Permission::And(vec![p.clone(), q.clone()])).matches(r),
                Permission::Or(vec![not(&p), not(&q)]).matches(r)
            );
            Ok(())
        })?;
    }

    /// `[LOG, DENY, ALLOW]`: allowed iff no DENY policy matches and an ALLOW policy does;
    /// what LOG records never changes that.
    #[test]
    fn chain_semantics(log in policy(), deny in prop::collection::vec(policy(), 0..3), allow in prop::collection::vec(policy(), 0..3), b in bits()) {
        let named = |ps: &[Policy], prefix: &str| {
            ps.iter().enumerate().map(|(i, p)| (format!("{prefix}{i}"), p.clone())).collect::<Vec<_>>()
        };
        let filters = vec![
            Rbac::new(RbacAction::Log, [("log".to_string(), log.clone())]).expect("valid"),
            Rbac::new(RbacAction::Deny, named(&deny, "deny")).expect("valid"),
            Rbac::new(RbacAction::Allow, named(&allow, "allow")).expect("valid"),
        ];
        let chain = AuthzChain::new(filters);
        with_request(&b, |r| {
            let denied = deny.iter().position(|p| p.matches(r));
            let allowed = allow.iter().any(|p| p.matches(r));
            let logged = if log.matches(r) { vec!["log".to_string()] } else { vec![] };
            let want = match (denied, allowed) {
                (Some(i), _) => Decision::Deny { action: RbacAction::Deny, policy: Some(format!("deny{i}")), logged },
                (None, false) => Decision::Deny { action: RbacAction::Allow, policy: None, logged },
                (None, true) => Decision::Allow { logged },
            };
            prop_assert_eq!(chain.evaluate(r), want);
            Ok(())
        })?;
    }
}
