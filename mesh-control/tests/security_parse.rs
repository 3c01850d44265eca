//! `security.istio.io` kinds are read, typed and validated like the networking ones: every
//! problem is reported as `file:line: Kind/namespace/name: field: reason` at the line of
//! the offending field, by the library and by `mesh-control validate`.
// Tests: unwrap on fixtures is the assertion.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::process::Command;

use mesh_control::istio::{AuthorizationAction, ConfigSet, MtlsModeSetting, parse_str, validate};

fn issues(text: &str) -> Vec<String> {
    match parse_str(text, Path::new("sec.yaml"), "default") {
        Ok(set) => validate(&set).iter().map(ToString::to_string).collect(),
        Err(issues) => issues.iter().map(ToString::to_string).collect(),
    }
}

fn one_issue(text: &str) -> String {
    let all = issues(text);
    assert_eq!(all.len(), 1, "{all:#?}");
    all.into_iter().next().unwrap()
}

fn parsed(text: &str) -> ConfigSet {
    parse_str(text, Path::new("sec.yaml"), "default").unwrap_or_else(|e| panic!("{e:#?}"))
}

const AP: &str =
    "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata:\n  name: httpbin\n  namespace: foo\n";
const PA: &str =
    "apiVersion: security.istio.io/v1beta1\nkind: PeerAuthentication\nmetadata:\n  name: default\n  namespace: foo\n";

#[test]
fn unknown_when_key_names_the_key() {
    let text = format!(
        "{AP}spec:
  rules:
  - to:
    - operation:
        paths: [/info*]
    when:
    - key: request.auth.claims[iss]
      values: [https://accounts.google.com]
    - key: source.labels[app]
      values: [sleep]
"
    );
    let issue = one_issue(&text);
    assert!(
        issue.starts_with(
            "sec.yaml:14: AuthorizationPolicy/foo/httpbin: spec.rules[0].when[1].key: unknown attribute \"source.labels[app]\""
        ),
        "{issue}"
    );
}

#[test]
fn a_bad_cidr_names_the_block() {
    let text = format!(
        "{AP}spec:
  action: DENY
  rules:
  - from:
    - source:
        ipBlocks:
        - 10.0.0.0/8
        - 10.1.0.0/40
"
    );
    assert_eq!(
        one_issue(&text),
        "sec.yaml:13: AuthorizationPolicy/foo/httpbin: spec.rules[0].from[0].source.ipBlocks[1]: \
         \"10.1.0.0/40\": the prefix length must be a number in [0, 32]"
    );
    let when = format!("{AP}spec:\n  rules:\n  - when:\n    - key: source.ip\n      notValues: [not-an-ip]\n");
    let issue = one_issue(&when);
    assert!(
        issue.starts_with("sec.yaml:10: AuthorizationPolicy/foo/httpbin: spec.rules[0].when[0].notValues[0]: "),
        "{issue}"
    );
}

#[test]
fn custom_action_is_refused() {
    let text = format!("{AP}spec:\n  action: CUSTOM\n  provider:\n    name: my-ext-authz\n  rules:\n  - {{}}\n");
    let issue = one_issue(&text);
    assert!(
        issue.starts_with("sec.yaml:7: AuthorizationPolicy/foo/httpbin: spec.action: CUSTOM is not supported"),
        "{issue}"
    );
}

#[test]
fn port_level_mtls_needs_a_selector() {
    let text = format!("{PA}spec:\n  mtls:\n    mode: STRICT\n  portLevelMtls:\n    8080:\n      mode: DISABLE\n");
    let issue = one_issue(&text);
    assert!(
        issue.starts_with(
            "sec.yaml:9: PeerAuthentication/foo/default: spec.portLevelMtls: portLevelMtls needs a selector"
        ),
        "{issue}"
    );
    // With a selector it is fine, whether the port is written as a number or a string.
    let ok = format!(
        "{PA}spec:\n  selector:\n    matchLabels: {{app: finance}}\n  portLevelMtls:\n    8080: {{mode: DISABLE}}\n    \"9090\": {{mode: STRICT}}\n"
    );
    let set = parsed(&ok);
    let pa = &set.peer_authentications[0].spec;
    assert_eq!(
        (pa.port_mode(8080), pa.port_mode(9090), pa.port_mode(1)),
        (Some(MtlsModeSetting::Disable), Some(MtlsModeSetting::Strict), None)
    );
    let bad_port = ok.replace("8080:", "80800:");
    assert!(one_issue(&bad_port).contains("spec.portLevelMtls.80800: port \"80800\" is not a number in [1, 65535]"));
}

#[test]
fn istio_refusals_deny_without_rules_empty_from_empty_source() {
    let deny = format!("{AP}spec:\n  action: DENY\n");
    assert!(one_issue(&deny).contains("spec.rules: a DENY policy without rules never applies"), "{deny}");
    let empty_from = format!("{AP}spec:\n  rules:\n  - from: []\n");
    assert!(one_issue(&empty_from).starts_with("sec.yaml:8: AuthorizationPolicy/foo/httpbin: spec.rules[0].from: "));
    let empty_source = format!("{AP}spec:\n  rules:\n  - from:\n    - source: {{}}\n");
    assert!(one_issue(&empty_source).contains("spec.rules[0].from[0].source: the source must not be empty"));
    let no_values = format!("{AP}spec:\n  rules:\n  - when:\n    - key: request.headers[x-token]\n");
    assert!(one_issue(&no_values).contains("spec.rules[0].when[0]: at least one of values and notValues"));
    let destination_ip =
        format!("{AP}spec:\n  rules:\n  - when:\n    - key: destination.ip\n      values: [10.0.0.1]\n");
    assert!(one_issue(&destination_ip).contains("spec.rules[0].when[0].key: destination.ip is not supported"));
    let bad_port = format!("{AP}spec:\n  rules:\n  - to:\n    - operation:\n        ports: [http]\n");
    assert!(one_issue(&bad_port).contains("spec.rules[0].to[0].operation.ports[0]: \"http\" is not a port number"));
    let template = format!("{AP}spec:\n  rules:\n  - to:\n    - operation:\n        paths: [\"/a/{{*}}/b\"]\n");
    assert!(one_issue(&template).contains("path templates"));
    let both = format!(
        "{AP}spec:\n  selector:\n    matchLabels: {{app: a}}\n  targetRef:\n    kind: Gateway\n    group: gateway.networking.k8s.io\n    name: gw\n"
    );
    assert!(one_issue(&both).contains("spec.selector: only one of selector, targetRef and targetRefs"));
    let wildcard = format!("{AP}spec:\n  selector:\n    matchLabels:\n      app: \"web*\"\n");
    assert!(one_issue(&wildcard).contains("spec.selector.matchLabels.app: wildcards are not supported"));
}

#[test]
fn schema_errors_carry_the_line_and_the_field() {
    // A typo in a field name (Istio's own schema refuses it too).
    let typo = format!("{AP}spec:\n  rules:\n  - to:\n    - operation:\n        path: [/x]\n");
    let issue = one_issue(&typo);
    assert!(
        issue.starts_with(
            "sec.yaml:10: AuthorizationPolicy/foo/httpbin: spec.rules[0].to[0].operation.path: unknown field `path`"
        ),
        "{issue}"
    );
    let mode = format!("{PA}spec:\n  mtls:\n    mode: STRICTER\n");
    let issue = one_issue(&mode);
    assert!(
        issue.starts_with("sec.yaml:8: PeerAuthentication/foo/default: spec.mtls.mode: unknown variant `STRICTER`"),
        "{issue}"
    );
    let dry_run = "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata:\n  name: x\n  annotations:\n    \"istio.io/dry-run\": \"maybe\"\nspec: {}\n";
    let issue = one_issue(dry_run);
    assert!(
        issue.starts_with("sec.yaml:6: AuthorizationPolicy/default/x: metadata.annotations.istio.io/dry-run: "),
        "{issue}"
    );
}

#[test]
fn the_kinds_are_typed_in_every_version() {
    let mut texts = Vec::new();
    for version in ["v1", "v1beta1", "v1alpha3"] {
        texts.push(format!(
            "apiVersion: security.istio.io/{version}\nkind: AuthorizationPolicy\nmetadata: {{name: ap-{version}}}\nspec:\n  action: AUDIT\n  rules: [{{}}]\n"
        ));
        texts.push(format!("apiVersion: security.istio.io/{version}\nkind: PeerAuthentication\nmetadata: {{name: pa-{version}}}\nspec: {{mtls: {{mode: STRICT}}}}\n"));
        texts.push(format!(
            "apiVersion: security.istio.io/{version}\nkind: RequestAuthentication\nmetadata: {{name: ra-{version}}}\nspec:\n  jwtRules:\n  - issuer: https://accounts.google.com\n"
        ));
    }
    texts.push(
        "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: nothing}\nspec: {}\n".into(),
    );
    texts.push("apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: none}\n".into());
    let set = parsed(&texts.join("---\n"));
    assert!(validate(&set).is_empty());
    assert_eq!(
        (set.authorization_policies.len(), set.peer_authentications.len(), set.request_authentications.len()),
        (5, 3, 3)
    );
    assert_eq!(set.authorization_policies[0].spec.action(), AuthorizationAction::Audit);
    assert_eq!(set.authorization_policies[0].spec.rules.len(), 1);
    // `spec: {}` and no spec at all: ALLOW without rules (allow nothing).
    for ap in &set.authorization_policies[3..] {
        assert_eq!((ap.spec.action(), ap.spec.rules.len()), (AuthorizationAction::Allow, 0), "{}", ap.name);
    }
    assert_eq!(set.peer_authentications[1].api_version, "security.istio.io/v1beta1");
    assert_eq!(set.request_authentications[0].spec["jwtRules"][0]["issuer"], "https://accounts.google.com");
    let unsupported =
        "apiVersion: security.istio.io/v1alpha1\nkind: PeerAuthentication\nmetadata: {name: x}\nspec: {}\n";
    assert!(one_issue(unsupported).contains("apiVersion: version \"v1alpha1\" of security.istio.io is not supported"));
}

#[test]
fn duplicates_are_found_across_security_kinds_too() {
    let text = format!("{PA}spec: {{}}\n---\n{PA}spec:\n  mtls: {{mode: DISABLE}}\n");
    let issue = one_issue(&text);
    // Not read from a file: the duplicate is located at its document's first line.
    assert!(issue.starts_with("sec.yaml:8: PeerAuthentication/foo/default: metadata.name: duplicate"), "{issue}");
}

#[test]
fn the_validate_command_reports_security_errors_like_networking_ones() {
    let dir = common::TempDir::new();
    dir.write("good.yaml", &format!("{PA}spec: {{mtls: {{mode: STRICT}}}}\n"));
    dir.write(
        "authz.yaml",
        &format!("{AP}spec:\n  action: CUSTOM\n  rules:\n  - when:\n    - key: source.nope\n      values: [x]\n"),
    );
    let output = Command::new(env!("CARGO_BIN_EXE_mesh-control")).arg("validate").arg(dir.path()).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stdout = String::from_utf8(output.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    let file = dir.path().join("authz.yaml");
    let at = |line: usize| format!("{}:{line}: AuthorizationPolicy/foo/httpbin: ", file.display());
    assert_eq!(lines.len(), 2, "{stdout}");
    assert!(lines[0].starts_with(&format!("{}spec.action: CUSTOM is not supported", at(7))), "{stdout}");
    assert!(lines[1].starts_with(&format!("{}spec.rules[0].when[0].key: unknown attribute", at(10))), "{stdout}");

    // Valid: the count includes security objects; warnings go to stderr.
    dir.remove("authz.yaml");
    dir.write(
        "ra.yaml",
        "apiVersion: security.istio.io/v1\nkind: RequestAuthentication\nmetadata: {name: jwt}\nspec: {}\n",
    );
    let output = Command::new(env!("CARGO_BIN_EXE_mesh-control")).arg("validate").arg(dir.path()).output().unwrap();
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(String::from_utf8(output.stdout).unwrap(), "2 objects valid\n");
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("warning: RequestAuthentication default/jwt: accepted; JWT is not validated"), "{stderr}");
}
