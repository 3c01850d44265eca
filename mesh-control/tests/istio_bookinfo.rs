//! Conformance: Istio's bookinfo networking samples, as Istio users apply them, load and
//! validate with zero issues.

use std::path::{Path, PathBuf};

use mesh_control::istio::{ConfigSet, load_paths, parse_str, validate};

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/conformance/istio-bookinfo");

/// The bookinfo manifests, or `None` (after printing why) when the data is absent.
fn manifests() -> Option<Vec<PathBuf>> {
    let dir = Path::new(DIR);
    if !dir.is_dir() {
        assert!(
            std::env::var("MESH_REQUIRE_PEERS").as_deref() != Ok("1"),
            "istio-bookinfo conformance data not found at {DIR} (MESH_REQUIRE_PEERS=1)"
        );
        eprintln!("SKIPPED: istio-bookinfo conformance data not found");
        return None;
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("readable conformance dir")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert!(files.len() >= 12, "expected the bookinfo manifests, found {files:?}");
    Some(files)
}

fn parse(path: &Path) -> ConfigSet {
    let text = std::fs::read_to_string(path).expect("readable manifest");
    match parse_str(&text, path, "default") {
        Ok(set) => set,
        Err(issues) => panic!("{}:\n{}", path.display(), render(&issues)),
    }
}

fn render(issues: &[mesh_control::istio::ConfigIssue]) -> String {
    issues.iter().map(|i| format!("  {i}\n")).collect()
}

#[test]
fn every_manifest_parses_with_zero_issues() {
    let Some(files) = manifests() else { return };
    for file in &files {
        let set = parse(file);
        assert!(!set.is_empty(), "{} holds Istio objects", file.display());
        for vs in &set.virtual_services {
            assert_eq!(vs.namespace, "default", "no namespace in the manifests: the loader's default");
            assert!(vs.api_version.starts_with("networking.istio.io/"));
        }
    }
}

/// Each VirtualService manifest validates together with the DestinationRules Istio's
/// docs apply first (`destination-rule-all.yaml`, or its mTLS variant), unless the
/// manifest brings its own.
#[test]
fn every_manifest_validates_with_its_destination_rules() {
    let Some(files) = manifests() else { return };
    let dir = Path::new(DIR);
    for rules in ["destination-rule-all.yaml", "destination-rule-all-mtls.yaml"] {
        let rules_set = parse(&dir.join(rules));
        for file in &files {
            let mut set = parse(file);
            if set.destination_rules.is_empty() {
                set.extend(rules_set.clone());
            }
            let issues = validate(&set);
            assert!(issues.is_empty(), "{} with {rules}:\n{}", file.display(), render(&issues));
        }
    }
}

#[test]
fn load_paths_reads_a_manifest_and_its_rules() {
    let Some(_) = manifests() else { return };
    let dir = Path::new(DIR);
    let set = load_paths(
        &[dir.join("destination-rule-all.yaml"), dir.join("virtual-service-reviews-test-v2.yaml")],
        "bookinfo",
    )
    .unwrap_or_else(|issues| panic!("{}", render(&issues)));
    assert_eq!((set.destination_rules.len(), set.virtual_services.len(), set.len()), (4, 1, 5));
    let vs = &set.virtual_services[0];
    assert_eq!((vs.name.as_str(), vs.namespace.as_str(), vs.source.line), ("reviews", "bookinfo", 1));
    assert_eq!(vs.spec.http[0].matches[0].headers["end-user"].exact.as_deref(), Some("jason"));
    let reviews = &set.destination_rules[1];
    assert_eq!((reviews.name.as_str(), reviews.source.line), ("reviews", 12));
    assert_eq!(reviews.spec.subsets.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(), ["v1", "v2", "v3"]);
}

#[test]
fn the_whole_folder_at_once_reports_the_conflicting_duplicates() {
    let Some(_) = manifests() else { return };
    // The samples are alternatives (several `reviews` VirtualServices): applied together
    // they conflict, and the loader says so for each duplicate instead of picking one.
    let issues = load_paths(&[PathBuf::from(DIR)], "default").expect_err("duplicates");
    assert!(issues.iter().all(|i| i.reason.starts_with("duplicate ")), "{}", render(&issues));
    assert!(issues.iter().any(|i| i.kind == "VirtualService" && i.name == "reviews"));
    assert!(issues.iter().all(|i| i.field == "metadata.name" && i.line > 0));
}
