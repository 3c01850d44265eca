//! One YAML text → named Istio objects, with every issue located at `file:line`.
//!
//! Each document is read twice: first as a generic YAML value, to learn its
//! `apiVersion`, `kind`, name and namespace (so that even a schema error names the
//! object), then as the typed kind, whose serde errors carry the line and the path of the
//! offending field. Documents that parse are then checked by the per-document rules.

use std::path::Path;

use serde::de::DeserializeOwned;
use serde_yaml_ng::Value;

use super::document::{self, Document};
use super::issue::ConfigIssue;
use super::kinds::{Classification, Kind, classify};
use super::locate::line_of;
use super::model::Envelope;
use super::path::FieldPath;
use super::set::{ConfigSet, Named, Source};
use super::validate::{
    Findings, check_authorization_policy, check_destination_rule, check_gateway, check_peer_authentication,
    check_service_entry, check_sidecar, check_virtual_service, check_workload_entry,
};

/// Parses every document of `text` (read from `file`; objects without a namespace get
/// `default_namespace`) and checks each one on its own. Cross-document rules (duplicates,
/// subset references) are [`validate`](super::validate)'s: a VirtualService may name a
/// subset whose DestinationRule is in another file. Returns every issue found.
pub fn parse_str(text: &str, file: &Path, default_namespace: &str) -> Result<ConfigSet, Vec<ConfigIssue>> {
    let mut set = ConfigSet::default();
    let mut issues = Vec::new();
    for doc in document::split(text) {
        if !doc.is_blank() {
            Reader { doc: &doc, file, set: &mut set, issues: &mut issues }.read(default_namespace);
        }
    }
    if issues.is_empty() { Ok(set) } else { Err(issues) }
}

/// The identity of a document, as far as it is known.
#[derive(Clone)]
struct Identity {
    api_version: String,
    kind: String,
    name: String,
    namespace: String,
}

struct Reader<'a, 'd> {
    doc: &'a Document<'d>,
    file: &'a Path,
    set: &'a mut ConfigSet,
    issues: &'a mut Vec<ConfigIssue>,
}

impl Reader<'_, '_> {
    fn read(mut self, default_namespace: &str) {
        let value: Value = match serde_yaml_ng::from_str(self.doc.text) {
            Ok(v) => v,
            Err(e) => return self.yaml_error(None, &e),
        };
        let Value::Mapping(map) = &value else {
            if !value.is_null() {
                self.document_issue("not a Kubernetes object: expected a mapping with apiVersion and kind");
            }
            return;
        };
        let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_string);
        let (Some(api_version), Some(kind)) = (text(map.get("apiVersion")), text(map.get("kind"))) else {
            return self.document_issue("not a Kubernetes object: apiVersion and kind are required");
        };
        let metadata = map.get("metadata");
        let name = text(metadata.and_then(|m| m.get("name"))).unwrap_or_default();
        let namespace = text(metadata.and_then(|m| m.get("namespace")))
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| default_namespace.to_string());
        let id = Identity { api_version, kind, name, namespace };
        let kind = match classify(&id.api_version, &id.kind) {
            Classification::Skip => {
                tracing::debug!(file = %self.file.display(), line = self.doc.content_line(), api_version = %id.api_version, kind = %id.kind, "skipping a document that is not an Istio networking/security object");
                return;
            }
            Classification::Reject { field, reason } => return self.field_issue(&id, field, None, reason),
            Classification::Read(kind) => kind,
        };
        if id.name.is_empty() {
            let line = line_of(self.doc.text, &FieldPath::default().key("metadata")).map(|l| self.doc.line(l));
            return self.field_issue(&id, "metadata.name", line, "is required".into());
        }
        match kind {
            Kind::VirtualService => {
                if let Some(o) = self.typed(&id, check_virtual_service) {
                    self.set.virtual_services.push(o);
                }
            }
            Kind::DestinationRule => {
                if let Some(o) = self.typed(&id, check_destination_rule) {
                    self.set.destination_rules.push(o);
                }
            }
            Kind::ServiceEntry => {
                if let Some(o) = self.typed(&id, check_service_entry) {
                    self.set.service_entries.push(o);
                }
            }
            Kind::WorkloadEntry => {
                if let Some(o) = self.typed(&id, check_workload_entry) {
                    self.set.workload_entries.push(o);
                }
            }
            Kind::Gateway => {
                if let Some(o) = self.typed(&id, check_gateway) {
                    self.set.gateways.push(o);
                }
            }
            Kind::Sidecar => {
                if let Some(o) = self.typed(&id, check_sidecar) {
                    self.set.sidecars.push(o);
                }
            }
            Kind::PeerAuthentication => {
                if let Some(o) = self.typed_or_empty(&id, check_peer_authentication) {
                    self.set.peer_authentications.push(o);
                }
            }
            Kind::AuthorizationPolicy => {
                let dry_run = match dry_run(metadata) {
                    Ok(d) => d,
                    Err(reason) => {
                        let path = FieldPath::default().key("metadata").key("annotations").key(DRY_RUN);
                        let line = line_of(self.doc.text, &path).map(|l| self.doc.line(l));
                        return self.field_issue(&id, &path.to_string(), line, reason);
                    }
                };
                if let Some(mut o) = self.typed_or_empty(&id, check_authorization_policy) {
                    o.spec.dry_run = dry_run;
                    self.set.authorization_policies.push(o);
                }
            }
            Kind::RequestAuthentication => {
                let envelope = match serde_yaml_ng::from_str::<Envelope<serde_json::Value>>(self.doc.text) {
                    Ok(e) => e,
                    Err(e) => return self.yaml_error(Some(&id), &e),
                };
                let spec = envelope.spec.unwrap_or(serde_json::Value::Null);
                self.set.request_authentications.push(self.named(id, spec));
            }
        }
    }

    /// [`Self::typed`] for kinds whose `spec` may be absent or empty (`spec: {}` is an
    /// AuthorizationPolicy that allows nothing): a missing spec reads as the default.
    fn typed_or_empty<T: DeserializeOwned + Default>(
        &mut self,
        id: &Identity,
        check: fn(&T) -> Findings,
    ) -> Option<Named<T>> {
        let envelope = match serde_yaml_ng::from_str::<Envelope<T>>(self.doc.text) {
            Ok(e) => e,
            Err(e) => {
                self.yaml_error(Some(id), &e);
                return None;
            }
        };
        self.checked(id, envelope.spec.unwrap_or_default(), check)
    }

    /// Reads the document as `T`, then checks it.
    fn typed<T: DeserializeOwned>(&mut self, id: &Identity, check: fn(&T) -> Findings) -> Option<Named<T>> {
        let envelope = match serde_yaml_ng::from_str::<Envelope<T>>(self.doc.text) {
            Ok(e) => e,
            Err(e) => {
                self.yaml_error(Some(id), &e);
                return None;
            }
        };
        let Some(spec) = envelope.spec else {
            self.field_issue(id, "spec", None, "is required".into());
            return None;
        };
        self.checked(id, spec, check)
    }

    /// Checks `spec`: the object, or `None` after recording every finding.
    fn checked<T>(&mut self, id: &Identity, spec: T, check: fn(&T) -> Findings) -> Option<Named<T>> {
        let findings = check(&spec);
        if !findings.0.is_empty() {
            for f in findings.0 {
                let line = line_of(self.doc.text, &f.path).map(|l| self.doc.line(l));
                self.field_issue(id, &f.path.to_string(), line, f.reason);
            }
            return None;
        }
        Some(self.named(id.clone(), spec))
    }

    fn named<T>(&self, id: Identity, spec: T) -> Named<T> {
        Named {
            kind: id.kind,
            api_version: id.api_version,
            name: id.name,
            namespace: id.namespace,
            source: Source { file: self.file.to_path_buf(), line: self.doc.content_line() },
            spec,
        }
    }

    fn document_issue(&mut self, reason: &str) {
        self.issues.push(ConfigIssue::at(self.file, self.doc.content_line(), reason));
    }

    fn field_issue(&mut self, id: &Identity, field: &str, line: Option<usize>, reason: String) {
        self.issues.push(ConfigIssue {
            file: self.file.to_path_buf(),
            line: line.unwrap_or_else(|| self.doc.content_line()),
            kind: id.kind.clone(),
            namespace: id.namespace.clone(),
            name: id.name.clone(),
            field: field.to_string(),
            reason,
        });
    }

    /// A serde_yaml_ng error: its line (made relative to the file), its path, its message.
    fn yaml_error(&mut self, id: Option<&Identity>, e: &serde_yaml_ng::Error) {
        let line = e.location().map_or_else(|| self.doc.content_line(), |l| self.doc.line(l.line().saturating_sub(1)));
        let (field, reason) = split_message(&rebase_lines(&e.to_string(), self.doc.first_line));
        match id {
            Some(id) => self.field_issue(id, &field, Some(line), reason),
            None => self.issues.push(ConfigIssue::at(self.file, line, reason)),
        }
    }
}

/// The annotation that makes an AuthorizationPolicy dry-run (evaluated, not enforced).
const DRY_RUN: &str = "istio.io/dry-run";

/// The `istio.io/dry-run` annotation of an object's metadata, read as Go's `ParseBool`
/// (as istiod reads it); absent is `false`.
fn dry_run(metadata: Option<&Value>) -> Result<bool, String> {
    let Some(value) = metadata.and_then(|m| m.get("annotations")).and_then(|a| a.get(DRY_RUN)) else {
        return Ok(false);
    };
    match value {
        Value::Bool(b) => Ok(*b),
        Value::String(s) => match s.as_str() {
            "1" | "t" | "T" | "true" | "TRUE" | "True" => Ok(true),
            "0" | "f" | "F" | "false" | "FALSE" | "False" => Ok(false),
            other => Err(format!("{other:?} is not a boolean (\"true\" or \"false\")")),
        },
        other => Err(format!("{other:?} is not a boolean (\"true\" or \"false\")")),
    }
}

/// Rewrites the `line N` positions of a serde_yaml_ng message (relative to the document)
/// into file lines, and drops the final `at line N column M` (the issue carries the line).
fn rebase_lines(message: &str, first_line: usize) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(i) = rest.find("line ") {
        out.push_str(&rest[..i + 5]);
        rest = &rest[i + 5..];
        let digits = rest.chars().take_while(char::is_ascii_digit).count();
        match rest[..digits].parse::<usize>() {
            Ok(n) if digits > 0 => out.push_str(&(n + first_line - 1).to_string()),
            _ => out.push_str(&rest[..digits]),
        }
        rest = &rest[digits..];
    }
    out.push_str(rest);
    match out.rfind(" at line ") {
        Some(i) if out[i..].split_whitespace().count() == 5 && out[i..].contains(" column ") => out.truncate(i),
        _ => {}
    }
    out
}

/// Splits `spec.http[0]: unknown field `foo`, expected …` into the field path
/// (`spec.http[0].foo`) and the reason.
fn split_message(message: &str) -> (String, String) {
    let (path, reason) = match message.split_once(": ") {
        Some((p, r)) if !p.is_empty() && !p.contains(char::is_whitespace) => (p.to_string(), r.to_string()),
        _ => (String::new(), message.to_string()),
    };
    let named = ["unknown field `", "missing field `"]
        .iter()
        .find_map(|prefix| reason.strip_prefix(prefix).and_then(|r| r.split('`').next()));
    let field = match named {
        Some(name) if path.is_empty() => name.to_string(),
        Some(name) => format!("{path}.{name}"),
        None => path,
    };
    (field, reason)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages() {
        assert_eq!(
            split_message("spec.http[0]: unknown field `foo`, expected one of `a`, `b`"),
            ("spec.http[0].foo".into(), "unknown field `foo`, expected one of `a`, `b`".into())
        );
        assert_eq!(split_message("missing field `spec`"), ("spec".into(), "missing field `spec`".into()));
        assert_eq!(
            split_message("invalid type: string, expected i32"),
            (String::new(), "invalid type: string, expected i32".into())
        );
        assert_eq!(rebase_lines("spec: x at line 3 column 4", 10), "spec: x");
        assert_eq!(
            rebase_lines(
                "did not find expected ',' at line 5 column 1, while parsing a flow sequence at line 4 column 10",
                10
            ),
            "did not find expected ',' at line 14 column 1, while parsing a flow sequence"
        );
    }
}
