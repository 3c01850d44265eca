//! Configuration errors are reported as `file:line: Kind/namespace/name: field: reason`,
//! at the line of the offending field, all of them at once.

use std::path::{Path, PathBuf};

use mesh_control::istio::{ConfigIssue, load_paths, parse_str, validate};

fn issues(text: &str) -> Vec<String> {
    match parse_str(text, Path::new("vs.yaml"), "default") {
        Ok(set) => validate(&set).iter().map(ToString::to_string).collect(),
        Err(issues) => issues.iter().map(ToString::to_string).collect(),
    }
}

fn one_issue(text: &str) -> String {
    let all = issues(text);
    assert_eq!(all.len(), 1, "{all:#?}");
    all.into_iter().next().unwrap_or_default()
}

/// A directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("mesh-control-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        Self(dir)
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, text).expect("write");
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

const HEAD: &str = "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata:\n  name: reviews\nspec:\n  hosts:\n  - reviews\n";

#[test]
fn weights_that_do_not_sum_to_100() {
    let text = format!(
        "{HEAD}  http:
  - route:
    - destination:
        host: reviews
        subset: v1
      weight: 60
    - destination:
        host: reviews
        subset: v3
      weight: 30
"
    );
    assert_eq!(
        one_issue(&text),
        "vs.yaml:17: VirtualService/default/reviews: spec.http[0].route[1].weight: \
         the weights of the 2 destinations sum to 90 (60 + 30); they must sum to 100"
    );
}

#[test]
fn a_lone_destination_may_omit_its_weight_but_two_may_not() {
    let lone = format!("{HEAD}  http:\n  - route:\n    - destination:\n        host: reviews\n");
    assert!(issues(&lone).is_empty());
    let two = format!("{lone}    - destination:\n        host: ratings\n");
    assert_eq!(
        one_issue(&two),
        "vs.yaml:12: VirtualService/default/reviews: spec.http[0].route[1]: \
         the weights of the 2 destinations sum to 0 (unset + unset); they must sum to 100"
    );
}

#[test]
fn undefined_subset_at_the_line_of_the_subset() {
    let dir = TempDir::new("subset");
    dir.write(
        "dr.yaml",
        "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata:\n  name: reviews\nspec:\n  host: reviews\n  subsets:\n  - name: v1\n    labels:\n      version: v1\n",
    );
    let vs = dir.write(
        "vs.yaml",
        &format!("{HEAD}  http:\n  - route:\n    - destination:\n        host: reviews\n        subset: v2\n"),
    );
    let found = load_paths(std::slice::from_ref(&dir.0), "default").expect_err("undefined subset");
    let rendered: Vec<String> = found.iter().map(ToString::to_string).collect();
    assert_eq!(
        rendered,
        [format!(
            "{}:12: VirtualService/default/reviews: spec.http[0].route[0].destination.subset: \
             subset \"v2\" is not defined by the DestinationRules for host reviews.default.svc.cluster.local \
             (default/reviews defines [v1])",
            vs.display()
        )]
    );

    // Without any DestinationRule for the host; and in another namespace the short name
    // is another host.
    let text = format!("{HEAD}  http:\n  - route:\n    - destination:\n        host: reviews\n        subset: v2\n");
    assert_eq!(
        one_issue(&text),
        "vs.yaml:1: VirtualService/default/reviews: spec.http[0].route[0].destination.subset: \
         subset \"v2\" is not defined: no DestinationRule for host reviews.default.svc.cluster.local"
    );
    let other_ns = format!(
        "{text}---\napiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata:\n  name: reviews\n  namespace: prod\nspec:\n  host: reviews\n  subsets:\n  - name: v2\n    labels: {{version: v2}}\n"
    );
    assert_eq!(issues(&other_ns).len(), 1);
    let fqdn =
        other_ns.replace("host: reviews\n        subset", "host: reviews.prod.svc.cluster.local\n        subset");
    assert!(issues(&fqdn).is_empty(), "{:?}", issues(&fqdn));
}

#[test]
fn regex_that_does_not_compile() {
    let text = format!(
        "{HEAD}  http:\n  - match:\n    - uri:\n        regex: \"/api/(v1\"\n    route:\n    - destination:\n        host: reviews\n"
    );
    assert_eq!(
        one_issue(&text),
        "vs.yaml:11: VirtualService/default/reviews: spec.http[0].match[0].uri.regex: \
         invalid regular expression \"/api/(v1\": unclosed group"
    );
}

#[test]
fn regex_rewrites_that_clients_cannot_apply() {
    let rule = |rewrite: &str| {
        format!("{HEAD}  http:\n  - rewrite:\n{rewrite}    route:\n    - destination:\n        host: reviews\n")
    };
    let bad_group = rule("      uriRegexRewrite:\n        match: ^/v1/(.*)$\n        rewrite: /v2/\\2\n");
    assert_eq!(
        one_issue(&bad_group),
        "vs.yaml:12: VirtualService/default/reviews: spec.http[0].rewrite.uriRegexRewrite.rewrite: \
         \"/v2/\\\\2\" refers to group \\2 but the pattern has 1 group(s)"
    );
    let both = rule("      uri: /v2/\n      uriRegexRewrite:\n        match: ^/v1/(.*)$\n        rewrite: /v2/\\1\n");
    assert!(
        one_issue(&both).contains("spec.http[0].rewrite.uriRegexRewrite: uri and uriRegexRewrite exclude each other")
    );
    let fine = rule("      uriRegexRewrite:\n        match: ^/v1/(.*)$\n        rewrite: /v2/\\1\n");
    assert!(issues(&fine).is_empty(), "{:?}", issues(&fine));
}

#[test]
fn unknown_field_at_its_own_line() {
    let text = format!("{HEAD}  http:\n  - route:\n    - destination:\n        host: reviews\n        subsett: v1\n");
    assert_eq!(
        one_issue(&text),
        "vs.yaml:12: VirtualService/default/reviews: spec.http[0].route[0].destination.subsett: \
         unknown field `subsett`, expected one of `host`, `subset`, `port`"
    );
    let meta =
        HEAD.replace("  name: reviews\n", "  name: reviews\n  labels: {app: reviews}\n  uid: 42\n  colour: blue\n");
    let text = format!("{meta}  http:\n  - route:\n    - destination:\n        host: reviews\n");
    assert!(
        one_issue(&text)
            .starts_with("vs.yaml:7: VirtualService/default/reviews: metadata.colour: unknown field `colour`")
    );
}

#[test]
fn duplicate_names() {
    let doc = format!("{HEAD}  http:\n  - route:\n    - destination:\n        host: reviews\n");
    let text = format!("{doc}---\n{doc}");
    assert_eq!(
        one_issue(&text),
        "vs.yaml:13: VirtualService/default/reviews: metadata.name: \
         duplicate VirtualService default/reviews (first defined at vs.yaml:1)"
    );
    // Across files, at the line of the name; another namespace is another object.
    let dir = TempDir::new("duplicates");
    let a = dir.write("a.yaml", &doc);
    let b = dir.write("b.yaml", &format!("# again\n{doc}"));
    dir.write("c.yaml", &doc.replace("  name: reviews\n", "  name: reviews\n  namespace: prod\n"));
    let issues = load_paths(std::slice::from_ref(&dir.0), "default").expect_err("duplicate");
    let rendered: Vec<String> = issues.iter().map(ToString::to_string).collect();
    assert_eq!(
        rendered,
        [format!(
            "{}:5: VirtualService/default/reviews: metadata.name: duplicate VirtualService default/reviews (first defined at {}:1)",
            b.display(),
            a.display()
        )]
    );
}

#[test]
fn bad_duration() {
    let text =
        format!("{HEAD}  http:\n  - timeout: 5 parsecs\n    route:\n    - destination:\n        host: reviews\n");
    assert_eq!(
        one_issue(&text),
        "vs.yaml:9: VirtualService/default/reviews: spec.http[0].timeout: \
         invalid duration \"5 parsecs\": expected e.g. \"1.5s\", \"250ms\", \"2m\""
    );
}

#[test]
fn error_in_the_third_document_of_a_file() {
    let dr = "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata:\n  name: ratings\nspec:\n  host: ratings\n";
    let text = format!(
        "# bookinfo overrides\n{dr}---\n{HEAD}  http:\n  - route:\n    - destination:\n        host: reviews\n---\n\
         apiVersion: networking.istio.io/v1alpha3\nkind: VirtualService\nmetadata:\n  name: ratings\n  namespace: test\nspec:\n  hosts:\n  - ratings\n  http:\n  - fault:\n      abort:\n        httpStatus: 700\n        percentage:\n          value: 100\n    route:\n    - destination:\n        host: ratings\n"
    );
    assert_eq!(
        one_issue(&text),
        "vs.yaml:32: VirtualService/test/ratings: spec.http[0].fault.abort.httpStatus: HTTP status 700 is not within [200, 599]"
    );
}

#[test]
fn every_issue_is_reported_not_just_the_first() {
    let text = format!(
        "{HEAD}  http:
  - match:
    - headers:
        End-User:
          regex: \"[\"
    route:
    - destination:
        host: reviews
    retries:
      attempts: 3
      retryOn: 5xx,sometimes
      perTryTimeout: 0s
    fault:
      delay:
        fixedDelay: 1s
        percentage:
          value: 150
      abort:
        grpcStatus: UNAVAILABLE_ISH
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: reviews
spec:
  host: \"\"
  trafficPolicy:
    loadBalancer:
      simple: FASTEST
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: ratings
spec:
  host: ratings
  trafficPolicy:
    tls:
      mode: SOMETIMES
  subsets:
  - name: v1
  - name: v1
"
    );
    let all = issues(&text);
    let fields: Vec<&str> = all.iter().map(|i| i.split(": ").nth(2).unwrap_or_default()).collect();
    assert_eq!(
        fields,
        [
            "spec.http[0].match[0].headers.End-User",
            "spec.http[0].match[0].headers.End-User.regex",
            "spec.http[0].retries.perTryTimeout",
            "spec.http[0].retries.retryOn",
            "spec.http[0].fault.delay.percentage.value",
            "spec.http[0].fault.abort.grpcStatus",
            "spec.trafficPolicy.loadBalancer.simple",
            "spec.trafficPolicy.tls.mode",
        ],
        "{all:#?}"
    );
    assert!(all[6].starts_with("vs.yaml:36: DestinationRule/default/reviews: spec.trafficPolicy.loadBalancer.simple: unknown variant `FASTEST`"), "{}", all[6]);
    assert!(all[3].contains("unknown retry condition \"sometimes\""), "{}", all[3]);
}

#[test]
fn documents_that_are_not_istio_objects() {
    let service = "apiVersion: v1\nkind: Service\nmetadata:\n  name: reviews\nspec:\n  ports:\n  - port: 9080\n";
    let set = parse_str(&format!("{service}---\n# empty\n---\n"), Path::new("k8s.yaml"), "default").expect("skipped");
    assert!(set.is_empty());
    let rendered = |text: &str| issues(text);
    assert_eq!(rendered("apiVersion: networking.istio.io/v1\nkind: EnvoyFilter\nmetadata:\n  name: x\n").len(), 1);
    assert_eq!(
        rendered("a: [1\n"),
        ["vs.yaml:2: did not find expected ',' or ']' at line 2 column 1, while parsing a flow sequence"]
    );
    assert_eq!(
        rendered("- just\n- a list\n"),
        ["vs.yaml:1: not a Kubernetes object: expected a mapping with apiVersion and kind"]
    );
    assert_eq!(
        rendered("apiVersion: networking.istio.io/v1beta2\nkind: VirtualService\nmetadata:\n  name: x\n"),
        [
            "vs.yaml:1: VirtualService/default/x: apiVersion: version \"v1beta2\" of networking.istio.io is not supported (supported: v1, v1beta1, v1alpha3)"
        ]
    );
    assert_eq!(
        rendered("apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata:\n  namespace: x\n"),
        ["vs.yaml:3: VirtualService/x/: metadata.name: is required"]
    );
}

#[test]
fn issues_are_values() {
    let issue: ConfigIssue = parse_str("a: [", Path::new("x.yaml"), "default").expect_err("bad")[0].clone();
    assert_eq!((issue.file.as_path(), issue.kind.as_str()), (Path::new("x.yaml"), ""));
    let e: Box<dyn std::error::Error> = Box::new(issue);
    assert!(e.to_string().starts_with("x.yaml:"));
}
