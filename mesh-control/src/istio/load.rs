//! Loads files and directories: every `*.yaml` / `*.yml`, recursively, in sorted order.
//!
//! Sorting makes the result independent of the file system's directory order, so the same
//! directory always yields the same [`ConfigSet`] and the same translated resources.
//! Entries whose name starts with `.` are skipped: a Kubernetes ConfigMap mounted as a
//! volume holds `..data` and `..2024_01_01…` directories next to symlinks to the same
//! files, which would otherwise be loaded twice. Symlinks are followed; a directory
//! reached twice (a link loop) is walked once.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::issue::ConfigIssue;
use super::parse::parse_str;
use super::set::ConfigSet;
use super::validate::validate_with_texts;

/// Loads every `*.yaml` / `*.yml` file under `paths` (files are read whatever their
/// extension; directories recursively, sorted), each multi-document file document by
/// document. Documents whose `apiVersion` group is not `networking.istio.io` or
/// `security.istio.io` (Kubernetes Services, Deployments, …) are skipped. Objects without
/// a namespace get `default_namespace`.
///
/// All or nothing: returns the set only if there is no issue at all, otherwise every
/// issue found (per document and across documents, see [`validate`](super::validate)),
/// sorted by file and line.
pub fn load_paths(paths: &[PathBuf], default_namespace: &str) -> Result<ConfigSet, Vec<ConfigIssue>> {
    let mut issues = Vec::new();
    let mut files = BTreeSet::new();
    let mut walked = BTreeSet::new();
    for path in paths {
        match std::fs::metadata(path) {
            Ok(m) if m.is_dir() => walk(path, &mut files, &mut walked, &mut issues),
            Ok(_) => {
                files.insert(path.clone());
            }
            Err(e) => issues.push(ConfigIssue::at(path, 0, format!("cannot read: {e}"))),
        }
    }
    let mut set = ConfigSet::default();
    let mut texts = BTreeMap::new();
    for file in files {
        let text = match std::fs::read_to_string(&file) {
            Ok(t) => t,
            Err(e) => {
                issues.push(ConfigIssue::at(&file, 0, format!("cannot read: {e}")));
                continue;
            }
        };
        match parse_str(&text, &file, default_namespace) {
            Ok(s) => set.extend(s),
            Err(mut found) => issues.append(&mut found),
        }
        texts.insert(file, text);
    }
    issues.extend(validate_with_texts(&set, &texts));
    if issues.is_empty() {
        tracing::debug!(objects = set.len(), "configuration loaded");
        return Ok(set);
    }
    issues.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
    Err(issues)
}

fn walk(dir: &Path, files: &mut BTreeSet<PathBuf>, walked: &mut BTreeSet<PathBuf>, issues: &mut Vec<ConfigIssue>) {
    if let Ok(real) = std::fs::canonicalize(dir)
        && !walked.insert(real)
    {
        return;
    }
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => return issues.push(ConfigIssue::at(dir, 0, format!("cannot read directory: {e}"))),
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
        .map(|e| e.path())
        .collect();
    paths.sort();
    for path in paths {
        match std::fs::metadata(&path) {
            Ok(m) if m.is_dir() => walk(&path, files, walked, issues),
            Ok(_) if is_yaml(&path) => {
                files.insert(path);
            }
            Ok(_) => {}
            // A dangling symlink: not a config file we could have read.
            Err(e) if is_yaml(&path) => issues.push(ConfigIssue::at(&path, 0, format!("cannot read: {e}"))),
            Err(_) => {}
        }
    }
}

fn is_yaml(path: &Path) -> bool {
    matches!(path.extension().and_then(|e| e.to_str()), Some("yaml" | "yml"))
}
