//! AuthorizationPolicy → Envoy RBAC filters, with istiod's semantics: the examples of
//! Istio's AuthorizationPolicy reference and "Authorization Policy" concept pages, the
//! scoping by namespace, root namespace and selector, and the filter order.
// Tests: unwrap on fixtures is the assertion.
#![allow(clippy::unwrap_used)]

mod security_support;

use std::collections::BTreeMap;

use mesh_control::translate::security::{AuthorizationPolicies, WorkloadRef};
use mesh_control::translate::{TranslateOptions, translate};
use security_support::*;

/// The RBAC filters for a workload of `namespace` with `labels`, rendered.
fn rbac(set: &mesh_control::istio::ConfigSet, namespace: &str, labels: &[(&str, &str)]) -> Vec<Rbac> {
    let labels: BTreeMap<String, String> = labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let filters = AuthorizationPolicies::new(set, "istio-system").http_filters(WorkloadRef::new(namespace, &labels));
    filters.iter().map(render_filter).collect()
}

fn policy(p: &[&str], i: &[&str]) -> RenderedPolicy {
    RenderedPolicy {
        permissions: p.iter().map(ToString::to_string).collect(),
        principals: i.iter().map(ToString::to_string).collect(),
    }
}

#[test]
fn allow_get_from_sleep_to_info() {
    // The AuthorizationPolicy reference's first example.
    let set = config(&[authz(
        "foo",
        "httpbin",
        r#"
  action: ALLOW
  rules:
  - from:
    - source:
        principals: ["cluster.local/ns/default/sa/sleep"]
    - source:
        namespaces: ["test"]
    to:
    - operation:
        methods: ["GET"]
        paths: ["/info*"]
    - operation:
        methods: ["POST"]
        paths: ["/data"]
    when:
    - key: request.auth.claims[iss]
      values: ["https://accounts.google.com"]
"#,
    )]);
    // JWT claims are not validated by mesh servers: the condition never matches.
    let claim = "not(any)";
    assert_eq!(
        rbac(&set, "foo", &[("app", "httpbin")]),
        [Rbac {
            action: "ALLOW",
            policies: [(
                "ns[foo]-policy[httpbin]-rule[0]".to_string(),
                policy(
                    &[
                        "and(or(header[:method]:exact=GET), or(path:prefix=/info))",
                        "and(or(header[:method]:exact=POST), or(path:exact=/data))",
                    ],
                    &[
                        &format!("and(or(principal:exact=spiffe://cluster.local/ns/default/sa/sleep), or({claim}))"),
                        &format!("and(or(principal:regex=.*/ns/test/.*), or({claim}))"),
                    ],
                ),
            )]
            .into(),
        }]
    );
    assert_eq!(rbac(&set, "bar", &[("app", "httpbin")]), [], "a policy applies in its namespace only");
    let r = translate(&set, &[], &TranslateOptions::default());
    assert!(
        r.warnings.iter().any(|w| w.starts_with("AuthorizationPolicy foo/httpbin: spec.rules[0]: request principals"))
    );
}

#[test]
fn deny_with_not_namespaces_and_a_selector() {
    // The concept page's "deny requests not from namespace foo" to httpbin v1.
    let set = config(&[authz(
        "foo",
        "httpbin-deny",
        r#"
  selector:
    matchLabels:
      app: httpbin
      version: v1
  action: DENY
  rules:
  - from:
    - source:
        notNamespaces: ["foo"]
"#,
    )]);
    assert_eq!(
        rbac(&set, "foo", &[("app", "httpbin"), ("version", "v1"), ("extra", "x")]),
        [Rbac {
            action: "DENY",
            policies: [(
                "ns[foo]-policy[httpbin-deny]-rule[0]".to_string(),
                policy(&["any"], &["and(not(or(principal:regex=.*/ns/foo/.*)))"]),
            )]
            .into(),
        }]
    );
    assert_eq!(rbac(&set, "foo", &[("app", "httpbin"), ("version", "v2")]), [], "not selected");
}

#[test]
fn allow_nothing_and_allow_all() {
    let nothing = config(&[authz("foo", "allow-nothing", " {}")]);
    assert_eq!(rbac(&nothing, "foo", &[]), [Rbac { action: "ALLOW", policies: BTreeMap::new() }], "deny all");
    let all = config(&[authz("foo", "allow-all", "\n  rules:\n  - {}\n")]);
    assert_eq!(
        rbac(&all, "foo", &[]),
        [Rbac {
            action: "ALLOW",
            policies: [("ns[foo]-policy[allow-all]-rule[0]".to_string(), policy(&["any"], &["any"]))].into(),
        }]
    );
    // Both: still one ALLOW filter; allow-all matches every request.
    let both = config(&[authz("foo", "allow-nothing", " {}"), authz("foo", "allow-all", "\n  rules:\n  - {}\n")]);
    assert_eq!(rbac(&both, "foo", &[]), rbac(&all, "foo", &[]));
}

#[test]
fn audit_deny_and_allow_filters_in_istiods_order() {
    let set = config(&[
        authz("ns1", "allow", "\n  rules:\n  - to:\n    - operation: {methods: [GET]}\n"),
        authz(
            "ns1",
            "anyname",
            r#"
  selector:
    matchLabels:
      app: myapi
  action: AUDIT
  rules:
  - to:
    - operation:
        methods: ["GET"]
        paths: ["/user/profile/*"]
"#,
        ),
        authz(
            "istio-system",
            "deny-post",
            "\n  action: DENY\n  rules:\n  - to:\n    - operation: {methods: [POST], ports: [\"8080\"]}\n",
        ),
    ]);
    let filters = rbac(&set, "ns1", &[("app", "myapi")]);
    let actions: Vec<&str> = filters.iter().map(|f| f.action).collect();
    assert_eq!(actions, ["LOG", "DENY", "ALLOW"]);
    assert_eq!(
        filters[0].policies["ns[ns1]-policy[anyname]-rule[0]"],
        policy(&["and(or(header[:method]:exact=GET), or(path:prefix=/user/profile/))"], &["any"])
    );
    assert_eq!(
        filters[1].policies["ns[istio-system]-policy[deny-post]-rule[0]"],
        policy(&["and(or(header[:method]:exact=POST), or(port:8080))"], &["any"]),
        "root-namespace policies apply to every namespace"
    );
    let other = rbac(&set, "ns2", &[("app", "myapi")]);
    assert_eq!(other.iter().map(|f| f.action).collect::<Vec<_>>(), ["DENY"]);
}

#[test]
fn every_source_operation_and_condition_field() {
    let set = config(&[authz(
        "foo",
        "fields",
        r#"
  rules:
  - from:
    - source:
        principals: ["*", "cluster.local/ns/a/*", "*/sa/b"]
        notPrincipals: ["cluster.local/ns/x/sa/y"]
        requestPrincipals: ["issuer/subject"]
        namespaces: ["prod-*"]
        ipBlocks: ["10.0.0.0/8", "203.0.113.4"]
        notRemoteIpBlocks: ["2001:db8::/32"]
    - source:
        serviceAccounts: ["sleep", "other/curl"]
    to:
    - operation:
        hosts: ["api.example.com", "*.example.org"]
        notPaths: ["/admin*"]
        notPorts: ["9090"]
    when:
    - key: request.headers[x-token]
      values: ["*"]
    - key: destination.port
      notValues: ["15000"]
    - key: connection.sni
      values: ["*.internal"]
    - key: source.ip
      values: ["127.0.0.1"]
"#,
    )]);
    let filters = rbac(&set, "foo", &[]);
    let p = &filters[0].policies["ns[foo]-policy[fields]-rule[0]"];
    assert_eq!(
        p.permissions,
        [concat!(
            "and(or(header[:authority]:exact=api.example.com/i, header[:authority]:prefix=api.example.com:/i, ",
            "header[:authority]:suffix=.example.org/i), not(or(path:prefix=/admin)), not(or(port:9090)), ",
            "not(or(port:15000)), or(sni:suffix=.internal))"
        )]
    );
    let when = "or(header[x-token]:present), or(ip:127.0.0.1/32)";
    assert_eq!(
        p.principals,
        [
            format!(
                "and(or(principal:regex=.+, principal:prefix=spiffe://cluster.local/ns/a/, principal:suffix=/sa/b), \
                 not(or(principal:exact=spiffe://cluster.local/ns/x/sa/y)), \
                 or(metadata[istio_authn:request.auth.principal]:exact=issuer/subject), \
                 or(principal:regex=.*/ns/prod\\-.*/.*), not(or(remote_ip:2001:db8::/32)), \
                 or(ip:10.0.0.0/8, ip:203.0.113.4/32), {when})"
            ),
            format!(
                "and(or(principal:regex=spiffe://.+/ns/foo/(.+/|)sa/sleep(/.+)?, \
                 principal:regex=spiffe://.+/ns/other/(.+/|)sa/curl(/.+)?), {when})"
            ),
        ]
    );
}

#[test]
fn dry_run_and_target_ref_policies_are_left_out_and_warned_about() {
    let dry = "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata:\n  name: dry\n  namespace: foo\n  annotations: {\"istio.io/dry-run\": \"true\"}\nspec:\n  action: DENY\n  rules: [{}]\n".to_string();
    let gateway = authz(
        "foo",
        "gw",
        "\n  targetRefs:\n  - {kind: Gateway, group: gateway.networking.k8s.io, name: waypoint}\n  action: DENY\n  rules: [{}]\n",
    );
    let set = config(&[dry, gateway]);
    assert_eq!(rbac(&set, "foo", &[]), []);
    let r = translate(&set, &[], &TranslateOptions::default());
    assert!(r.warnings.iter().any(|w| w.starts_with("AuthorizationPolicy foo/dry: istio.io/dry-run: ")));
    assert!(r.warnings.iter().any(|w| w.starts_with("AuthorizationPolicy foo/gw: spec.targetRef: ")));
}

#[test]
fn a_root_namespace_selector_selects_in_every_namespace() {
    let set = config(&[authz("istio-system", "v1-nothing", "\n  selector:\n    matchLabels:\n      version: v1\n")]);
    assert_eq!(rbac(&set, "bar", &[("version", "v1")]), [Rbac { action: "ALLOW", policies: BTreeMap::new() }]);
    assert_eq!(rbac(&set, "bar", &[("version", "v2")]), []);
}
