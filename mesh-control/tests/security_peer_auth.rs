//! Which mTLS mode applies to a workload port: mesh-wide (root namespace, no selector) ◄
//! namespace-wide ◄ workload selector ◄ port level, the narrowest that sets a mode
//! winning, UNSET inheriting, PERMISSIVE by default — as istiod composes them.
// Tests: unwrap on fixtures is the assertion.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::Path;

use MtlsMode::{Disable, Permissive, Strict};
use mesh_control::istio::{ConfigSet, parse_str, validate};
use mesh_control::translate::security::{MtlsMode, PeerAuthentications, WorkloadRef};
use mesh_control::translate::{TranslateOptions, translate};

/// A PeerAuthentication `name` in `namespace` with a `spec` written in flow style.
fn pa(namespace: &str, name: &str, spec: &str) -> String {
    format!(
        "apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: {{name: {name}, namespace: {namespace}}}\nspec: {spec}\n"
    )
}

fn config(docs: &[String]) -> ConfigSet {
    let set = parse_str(&docs.join("---\n"), Path::new("pa.yaml"), "default").unwrap_or_else(|e| panic!("{e:#?}"));
    assert!(validate(&set).is_empty());
    set
}

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

/// The mode of port `port` of a workload of `namespace` with `pairs` as labels.
fn mode(set: &ConfigSet, namespace: &str, pairs: &[(&str, &str)], port: u16) -> MtlsMode {
    let labels = labels(pairs);
    PeerAuthentications::new(set, "istio-system").mode(WorkloadRef::new(namespace, &labels), port)
}

const FINANCE: &[(&str, &str)] = &[("app", "finance"), ("version", "v1")];

#[test]
fn permissive_without_any_policy() {
    let set = config(&[]);
    assert_eq!(mode(&set, "foo", FINANCE, 8080), Permissive);
}

#[test]
fn mesh_then_namespace_then_workload_then_port() {
    let mesh = pa("istio-system", "default", "{mtls: {mode: STRICT}}");
    let namespace = pa("foo", "default", "{mtls: {mode: PERMISSIVE}}");
    let workload = pa(
        "foo",
        "finance",
        "{selector: {matchLabels: {app: finance}}, mtls: {mode: DISABLE}, portLevelMtls: {8080: {mode: STRICT}, 9000: {mode: UNSET}}}",
    );

    let set = config(std::slice::from_ref(&mesh));
    assert_eq!(mode(&set, "foo", FINANCE, 80), Strict, "mesh-wide applies to every namespace");
    assert_eq!(mode(&set, "istio-system", &[], 80), Strict, "and to the root namespace's workloads");

    let set = config(&[mesh.clone(), namespace.clone()]);
    assert_eq!(mode(&set, "foo", FINANCE, 80), Permissive, "namespace-wide beats mesh-wide");
    assert_eq!(mode(&set, "bar", FINANCE, 80), Strict, "only in its namespace");

    let set = config(&[mesh, namespace, workload]);
    assert_eq!(mode(&set, "foo", FINANCE, 80), Disable, "the selector beats namespace-wide");
    assert_eq!(mode(&set, "foo", FINANCE, 8080), Strict, "the port level beats the workload level");
    assert_eq!(mode(&set, "foo", FINANCE, 9000), Disable, "UNSET at the port inherits the workload level");
    assert_eq!(mode(&set, "foo", &[("app", "ledger")], 8080), Permissive, "not selected: namespace-wide");
    assert_eq!(mode(&set, "bar", FINANCE, 8080), Strict, "a selector only selects in its namespace");
}

#[test]
fn unset_inherits_from_the_level_above() {
    let set = config(&[
        pa("istio-system", "default", "{mtls: {mode: STRICT}}"),
        pa("foo", "default", "{mtls: {mode: UNSET}}"),
        pa("foo", "finance", "{selector: {matchLabels: {app: finance}}, portLevelMtls: {8080: {mode: DISABLE}}}"),
        pa("bar", "default", "{}"),
    ]);
    assert_eq!(mode(&set, "foo", FINANCE, 80), Strict, "UNSET namespace and workload levels: mesh-wide");
    assert_eq!(mode(&set, "foo", FINANCE, 8080), Disable);
    assert_eq!(mode(&set, "bar", &[], 80), Strict, "no mtls at all is UNSET");

    let set =
        config(&[pa("foo", "default", "{mtls: {}}"), pa("foo", "w", "{selector: {matchLabels: {app: finance}}}")]);
    assert_eq!(mode(&set, "foo", FINANCE, 80), Permissive, "UNSET everywhere: PERMISSIVE");
}

#[test]
fn an_empty_selector_is_namespace_wide_and_a_root_namespace_selector_is_ignored() {
    let set = config(&[
        pa("foo", "all", "{selector: {matchLabels: {}}, mtls: {mode: STRICT}}"),
        pa("istio-system", "finance", "{selector: {matchLabels: {app: finance}}, mtls: {mode: DISABLE}}"),
    ]);
    assert_eq!(mode(&set, "foo", &[("app", "other")], 80), Strict);
    assert_eq!(mode(&set, "foo", FINANCE, 80), Strict, "istiod ignores selectors in the root namespace");
    assert_eq!(mode(&set, "bar", FINANCE, 80), Permissive);
    let r = translate(&set, &[], &TranslateOptions::default());
    assert!(
        r.warnings.iter().any(|w| w.starts_with("PeerAuthentication istio-system/finance: spec.selector: ")
            && w.contains("is ignored, as istiod ignores it")),
        "{:#?}",
        r.warnings
    );
}

#[test]
fn the_first_policy_read_wins_at_one_level_and_the_others_are_warned_about() {
    let set = config(&[
        pa("foo", "a", "{mtls: {mode: STRICT}}"),
        pa("foo", "b", "{mtls: {mode: DISABLE}}"),
        pa("foo", "w1", "{selector: {matchLabels: {app: finance}}, mtls: {mode: DISABLE}}"),
        pa("foo", "w2", "{selector: {matchLabels: {version: v1}}, mtls: {mode: PERMISSIVE}}"),
    ]);
    assert_eq!(mode(&set, "foo", &[("app", "x")], 80), Strict);
    assert_eq!(mode(&set, "foo", FINANCE, 80), Disable, "w1, read before w2");
    assert_eq!(mode(&set, "foo", &[("version", "v1")], 80), Permissive, "only w2 selects it");
    let r = translate(&set, &[], &TranslateOptions::default());
    assert!(r.warnings.contains(
        &"PeerAuthentication foo/b: PeerAuthentication foo/a is the namespace-wide policy (read first); this one is ignored"
            .to_string()
    ));
}

#[test]
fn the_root_namespace_is_an_option() {
    let set = config(&[pa("mesh-root", "default", "{mtls: {mode: STRICT}}")]);
    let none = BTreeMap::new();
    let workload = WorkloadRef::new("foo", &none);
    assert_eq!(PeerAuthentications::new(&set, "mesh-root").mode(workload, 80), Strict);
    assert_eq!(PeerAuthentications::new(&set, "istio-system").mode(workload, 80), Permissive, "a namespace policy");
    assert_eq!(TranslateOptions::default().root_namespace, "istio-system");
}
