//! Cross-document rules: no two objects share `Kind/namespace/name`, and every subset a
//! VirtualService routes to is defined by a DestinationRule for that host.
//!
//! Hosts are compared the way Istio resolves them: each short name in the namespace of
//! the rule that wrote it (`reviews` in a VirtualService of `default` and `reviews` in a
//! DestinationRule of `default` are the same host; in two different namespaces they are
//! not), wildcard DestinationRule hosts matching too.
//!
//! Issues point at the offending field. The objects only remember the line of their
//! document, so the field's line is found again in the document text: the texts the
//! loader already has, or the file read from disk; if neither is available (a set built
//! from text that is not a file), the document's line is used.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use crate::istio::document;
use crate::istio::host::{host_matches, resolve_host};
use crate::istio::issue::ConfigIssue;
use crate::istio::locate::line_of;
use crate::istio::model::{Destination, DestinationRule, VirtualService};
use crate::istio::path::FieldPath;
use crate::istio::set::{ConfigSet, Named, Source};

/// Only for comparing hosts: both sides resolve with the same domain, so the choice
/// does not change the outcome.
const DOMAIN: &str = "cluster.local";

/// Cross-document validation of a whole set (duplicate objects, subset references).
/// [`load_paths`](crate::istio::load_paths) calls it; call it after combining sets
/// parsed separately with [`parse_str`](crate::istio::parse_str).
pub fn validate(set: &ConfigSet) -> Vec<ConfigIssue> {
    validate_with_texts(set, &BTreeMap::new())
}

/// [`validate`], finding field lines in `texts` (file → text) before reading files.
pub(crate) fn validate_with_texts(set: &ConfigSet, texts: &BTreeMap<PathBuf, String>) -> Vec<ConfigIssue> {
    let mut lines = FieldLines { texts, read: BTreeMap::new() };
    let mut issues = Vec::new();
    duplicates(set, &mut lines, &mut issues);
    subsets(set, &mut lines, &mut issues);
    issues
}

/// Finds the line of a field of an object, from the texts given or read from disk.
struct FieldLines<'a> {
    texts: &'a BTreeMap<PathBuf, String>,
    read: BTreeMap<PathBuf, Option<String>>,
}

impl FieldLines<'_> {
    fn line(&mut self, source: &Source, path: &FieldPath) -> usize {
        let text = match self.texts.get(&source.file) {
            Some(t) => Some(t.as_str()),
            None => self
                .read
                .entry(source.file.clone())
                .or_insert_with(|| std::fs::read_to_string(&source.file).ok())
                .as_deref(),
        };
        let Some(text) = text else { return source.line };
        let docs = document::split(text);
        let Some(doc) = docs.iter().rev().find(|d| d.first_line <= source.line) else { return source.line };
        line_of(doc.text, path).map_or(source.line, |offset| doc.line(offset))
    }

    fn issue<T>(&mut self, object: &Named<T>, path: FieldPath, reason: String) -> ConfigIssue {
        ConfigIssue {
            file: object.source.file.clone(),
            line: self.line(&object.source, &path),
            kind: object.kind.clone(),
            namespace: object.namespace.clone(),
            name: object.name.clone(),
            field: path.to_string(),
            reason,
        }
    }
}

fn duplicates(set: &ConfigSet, lines: &mut FieldLines<'_>, issues: &mut Vec<ConfigIssue>) {
    let mut all: Vec<Identity<'_>> = identities(&set.virtual_services)
        .chain(identities(&set.destination_rules))
        .chain(identities(&set.service_entries))
        .chain(identities(&set.workload_entries))
        .chain(identities(&set.gateways))
        .chain(identities(&set.sidecars))
        .chain(identities(&set.peer_authentications))
        .chain(identities(&set.authorization_policies))
        .chain(identities(&set.request_authentications))
        .collect();
    // The first definition (by file, then line) is kept; the later ones are reported.
    all.sort_by(|a, b| (a.source.file.as_path(), a.source.line).cmp(&(b.source.file.as_path(), b.source.line)));
    let mut first: BTreeMap<(&str, &str, &str), &Source> = BTreeMap::new();
    for o in all {
        let Some(earlier) = first.get(&(o.kind, o.namespace, o.name)) else {
            first.insert((o.kind, o.namespace, o.name), o.source);
            continue;
        };
        let path = FieldPath::metadata_name();
        issues.push(ConfigIssue {
            file: o.source.file.clone(),
            line: lines.line(o.source, &path),
            kind: o.kind.to_string(),
            namespace: o.namespace.to_string(),
            name: o.name.to_string(),
            field: path.to_string(),
            reason: format!(
                "duplicate {} {}/{} (first defined at {}:{})",
                o.kind,
                o.namespace,
                o.name,
                earlier.file.display(),
                earlier.line
            ),
        });
    }
}

struct Identity<'a> {
    kind: &'a str,
    namespace: &'a str,
    name: &'a str,
    source: &'a Source,
}

fn identities<T>(objects: &[Named<T>]) -> impl Iterator<Item = Identity<'_>> {
    objects.iter().map(|o| Identity { kind: &o.kind, namespace: &o.namespace, name: &o.name, source: &o.source })
}

/// The subsets each DestinationRule defines.
struct DefinedSubsets<'a> {
    rules: Vec<(&'a Named<DestinationRule>, BTreeSet<&'a str>)>,
}

impl<'a> DefinedSubsets<'a> {
    fn new(set: &'a ConfigSet) -> Self {
        let rules = set
            .destination_rules
            .iter()
            .map(|dr| (dr, dr.spec.subsets.iter().map(|s| s.name.as_str()).collect()))
            .collect();
        Self { rules }
    }

    /// `None` if some rule for the host defines `subset`; otherwise why not.
    fn missing(&self, host: &str, namespace: &str, subset: &str) -> Option<String> {
        let resolved = resolve_host(host, namespace, DOMAIN);
        let mut candidates = vec![resolved.as_str()];
        if host.contains('.') {
            candidates.push(host);
        }
        let rules: Vec<_> = self
            .rules
            .iter()
            .filter(|(dr, _)| candidates.iter().any(|c| host_matches(&dr.spec.host, &dr.namespace, DOMAIN, c)))
            .collect();
        if rules.iter().any(|(_, names)| names.contains(subset)) {
            return None;
        }
        if rules.is_empty() {
            return Some(format!("subset {subset:?} is not defined: no DestinationRule for host {resolved}"));
        }
        let defined: Vec<String> = rules
            .iter()
            .map(|(dr, names)| {
                let names: Vec<&str> = names.iter().copied().collect();
                format!("{}/{} defines [{}]", dr.namespace, dr.name, names.join(", "))
            })
            .collect();
        Some(format!(
            "subset {subset:?} is not defined by the DestinationRules for host {resolved} ({})",
            defined.join("; ")
        ))
    }
}

fn subsets(set: &ConfigSet, lines: &mut FieldLines<'_>, issues: &mut Vec<ConfigIssue>) {
    let defined = DefinedSubsets::new(set);
    for vs in &set.virtual_services {
        for (path, dest) in destinations(&vs.spec) {
            let Some(subset) = &dest.subset else { continue };
            if let Some(reason) = defined.missing(&dest.host, &vs.namespace, subset) {
                issues.push(lines.issue(vs, path.key("subset"), reason));
            }
        }
    }
}

/// Every destination of a VirtualService with its path.
fn destinations(vs: &VirtualService) -> Vec<(FieldPath, &Destination)> {
    let spec = FieldPath::spec();
    let mut out = Vec::new();
    for (i, r) in vs.http.iter().enumerate() {
        let at = spec.key("http").index(i);
        for (k, d) in r.route.iter().enumerate() {
            out.push((at.key("route").index(k).key("destination"), &d.destination));
        }
        if let Some(m) = &r.mirror {
            out.push((at.key("mirror"), m));
        }
        for (k, m) in r.mirrors.iter().enumerate() {
            out.push((at.key("mirrors").index(k).key("destination"), &m.destination));
        }
    }
    for (field, routes) in [
        ("tcp", vs.tcp.iter().map(|r| &r.route).collect::<Vec<_>>()),
        ("tls", vs.tls.iter().map(|r| &r.route).collect()),
    ] {
        for (i, route) in routes.into_iter().enumerate() {
            for (k, d) in route.iter().enumerate() {
                out.push((spec.key(field).index(i).key("route").index(k).key("destination"), &d.destination));
            }
        }
    }
    out
}
