//! The bearer tokens file: which token proves which workload identity.
//!
//! Istio checks a Kubernetes service-account JWT with the API server; without Kubernetes,
//! the operator hands each workload a random token and lists it here (the way the
//! Kubernetes API server's static token file works):
//!
//! ```yaml
//! - token: 6f1c0d4e9b7a4c2f8e3d5a1b
//!   namespace: default
//!   serviceAccount: sleep
//! - token: 0b9e8d7c6a5f4e3d2c1b0a99
//!   namespace: shop
//!   serviceAccount: cart
//! ```
//!
//! The file is validated whole when loaded (every problem names the file, the entry and
//! the field); an invalid file is refused. While serving, the file is checked for changes
//! (modification time, size) at each request that carries a token and re-read when it
//! changed; an invalid new version is logged and the previous tokens stay in force.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use arc_swap::ArcSwap;
use mesh_tls::SpiffeId;
use serde::Deserialize;

/// Why a tokens file was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {reason}", .path.display())]
pub struct TokenFileError {
    /// The file.
    pub path: PathBuf,
    /// What is wrong, with the entry and field when it is about one.
    pub reason: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Entry {
    token: String,
    namespace: String,
    service_account: String,
}

/// Token → identity.
pub(crate) type TokenTable = HashMap<String, SpiffeId>;

/// Parses and validates the text of a tokens file; `path` is for messages.
pub(crate) fn parse(path: &Path, text: &str, trust_domain: &str) -> Result<TokenTable, TokenFileError> {
    let err = |reason: String| TokenFileError { path: path.to_path_buf(), reason };
    let entries: Vec<Entry> = if text.trim().is_empty() || text.trim() == "[]" {
        Vec::new()
    } else {
        serde_yaml_ng::from_str(text)
            .map_err(|e| err(format!("{e} (expected a list of {{token, namespace, serviceAccount}})")))?
    };
    let mut table = TokenTable::with_capacity(entries.len());
    let mut first_entry: HashMap<&str, usize> = HashMap::new();
    for (i, entry) in entries.iter().enumerate() {
        let n = i + 1;
        let token = entry.token.trim();
        if token.is_empty() {
            return Err(err(format!("entry {n}: token: empty")));
        }
        if token.len() < 16 {
            return Err(err(format!("entry {n}: token: shorter than 16 characters (too easy to guess)")));
        }
        if !token.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(err(format!("entry {n}: token: only printable ASCII without spaces is allowed")));
        }
        for (field, value) in [("namespace", &entry.namespace), ("serviceAccount", &entry.service_account)] {
            if value.is_empty() {
                return Err(err(format!("entry {n}: {field}: empty")));
            }
            if value.contains('/') {
                return Err(err(format!("entry {n}: {field}: {value:?} may not contain '/'")));
            }
        }
        let identity = SpiffeId::workload(trust_domain, &entry.namespace, &entry.service_account)
            .map_err(|e| err(format!("entry {n}: namespace/serviceAccount: {}", e.reason)))?;
        if let Some(first) = first_entry.insert(token, n) {
            return Err(err(format!("entry {n}: token: the same token as entry {first}")));
        }
        table.insert(token.to_owned(), identity);
    }
    Ok(table)
}

/// What identifies a version of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Stamp {
    modified: Option<SystemTime>,
    len: u64,
}

fn stamp(path: &Path) -> Option<Stamp> {
    let meta = std::fs::metadata(path).ok()?;
    Some(Stamp { modified: meta.modified().ok(), len: meta.len() })
}

/// Tokens read from a file and re-read when it changes.
#[derive(Debug)]
pub(crate) struct TokenFile {
    path: PathBuf,
    trust_domain: String,
    table: ArcSwap<TokenTable>,
    /// The version loaded (or last refused, so that a bad file is reported once).
    seen: Mutex<Option<Stamp>>,
}

impl TokenFile {
    /// Reads and validates `path` now.
    pub(crate) fn load(path: &Path, trust_domain: &str) -> Result<Self, TokenFileError> {
        let seen = stamp(path);
        let text = std::fs::read_to_string(path)
            .map_err(|e| TokenFileError { path: path.to_path_buf(), reason: e.to_string() })?;
        let table = parse(path, &text, trust_domain)?;
        tracing::info!(path = %path.display(), tokens = table.len(), "bearer tokens loaded");
        Ok(Self {
            path: path.to_path_buf(),
            trust_domain: trust_domain.to_owned(),
            table: ArcSwap::from_pointee(table),
            seen: Mutex::new(seen),
        })
    }

    /// The current table, re-reading the file first if it changed.
    pub(crate) fn current(&self) -> Arc<TokenTable> {
        let now = stamp(&self.path);
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        if now.is_some() && *seen != now {
            *seen = now;
            match std::fs::read_to_string(&self.path)
                .map_err(|e| TokenFileError { path: self.path.clone(), reason: e.to_string() })
                .and_then(|text| parse(&self.path, &text, &self.trust_domain))
            {
                Ok(table) => {
                    tracing::info!(path = %self.path.display(), tokens = table.len(), "bearer tokens reloaded");
                    self.table.store(Arc::new(table));
                }
                Err(error) => tracing::error!(%error, "tokens file refused; the previous tokens stay in force"),
            }
        }
        self.table.load_full()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str) -> Result<TokenTable, String> {
        parse(Path::new("tokens.yaml"), text, "cluster.local").map_err(|e| e.to_string())
    }

    #[test]
    fn valid_file_maps_tokens_to_identities() {
        let table = check(
            "- token: aaaaaaaaaaaaaaaaaaaa\n  namespace: default\n  serviceAccount: sleep\n\
             - token: bbbbbbbbbbbbbbbbbbbb\n  namespace: shop\n  serviceAccount: cart\n",
        )
        .unwrap();
        assert_eq!(table["aaaaaaaaaaaaaaaaaaaa"].as_str(), "spiffe://cluster.local/ns/default/sa/sleep");
        assert_eq!(table["bbbbbbbbbbbbbbbbbbbb"].as_str(), "spiffe://cluster.local/ns/shop/sa/cart");
        assert!(check("").unwrap().is_empty());
        assert!(check("[]").unwrap().is_empty());
    }

    #[test]
    fn problems_name_the_file_entry_and_field() {
        let t = "aaaaaaaaaaaaaaaaaaaa";
        for (text, expected) in [
            (format!("- token: {t}\n  namespace: default\n"), "missing field `serviceAccount`"),
            (format!("- token: {t}\n  namespace: a\n  serviceAccount: b\n  role: admin\n"), "unknown field `role`"),
            ("- token: short\n  namespace: a\n  serviceAccount: b\n".to_owned(), "entry 1: token: shorter than 16"),
            ("- token: ''\n  namespace: a\n  serviceAccount: b\n".to_owned(), "entry 1: token: empty"),
            (format!("- token: {t}\n  namespace: a/b\n  serviceAccount: b\n"), "entry 1: namespace:"),
            (format!("- token: {t}\n  namespace: a\n  serviceAccount: b c\n"), "entry 1: namespace/serviceAccount:"),
            (
                format!(
                    "- token: {t}\n  namespace: a\n  serviceAccount: b\n- token: {t}\n  namespace: c\n  serviceAccount: d\n"
                ),
                "entry 2: token: the same token as entry 1",
            ),
            ("token: x\n".to_owned(), "expected a list"),
        ] {
            let message = check(&text).unwrap_err();
            assert!(message.starts_with("tokens.yaml: "), "{message}");
            assert!(message.contains(expected), "{message:?} does not say {expected:?}");
        }
    }
}
