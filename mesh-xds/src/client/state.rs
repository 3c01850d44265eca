//! The client's resource cache and subscriptions: what is wanted, what arrived, what was
//! rejected, what does not exist. Pure bookkeeping (no I/O), so the protocol rules —
//! A46 partial acceptance, SotW full-state deletion, A57 does-not-exist — are testable
//! without a server.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::SystemTime;

use envoy_types::pb::google::protobuf::Any;

use crate::translate::{self, Resource, ResourceError};
use crate::type_url;

/// The four resource types, in dependency order.
pub(crate) const TYPES: [&str; 4] = [type_url::LISTENER, type_url::ROUTE, type_url::CLUSTER, type_url::ENDPOINT];

/// Whether a SotW response of this type carries the full state (absent = deleted).
pub(crate) fn is_full_state(type_url: &str) -> bool {
    type_url == type_url::LISTENER || type_url == type_url::CLUSTER
}

/// What the client knows of one resource.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    /// The last valid value, if any (kept when a later update is rejected: A46).
    pub(crate) value: Option<Arc<Resource>>,
    /// Bumped whenever the value changes; lets watchers skip unchanged inputs.
    pub(crate) generation: u64,
    /// Hash of the raw bytes of the last update (valid or not), to detect no-op pushes.
    raw_hash: u64,
    /// Version the server gave (Delta per-resource version, SotW type version).
    pub(crate) version: String,
    /// The error of the last update, if it was rejected.
    pub(crate) error: Option<ResourceError>,
    /// The server said it does not exist (A57 timer or deletion).
    pub(crate) does_not_exist: bool,
    pub(crate) last_updated: Option<SystemTime>,
}

impl Entry {
    /// No value to use: the server says it does not exist, or its only version was
    /// rejected.
    pub(crate) fn unusable(&self) -> bool {
        self.value.is_none() && (self.does_not_exist || self.error.is_some())
    }

    fn new() -> Self {
        Self {
            value: None,
            generation: 0,
            raw_hash: 0,
            version: String::new(),
            error: None,
            does_not_exist: false,
            last_updated: None,
        }
    }
}

/// Per type: the names wanted and what is known of them.
#[derive(Debug, Default)]
pub(crate) struct TypeState {
    pub(crate) entries: BTreeMap<String, Entry>,
    /// SotW: the last ACKed type version (sent back with NACKs and new subscriptions).
    pub(crate) acked_version: String,
    /// The nonce of the last response of this type.
    pub(crate) nonce: String,
    /// The last NACK, for the config dump.
    pub(crate) last_nack: Option<(String, String)>,
}

/// What a response did, for the ACK/NACK and for logs and events.
#[derive(Debug, Default)]
pub(crate) struct Applied {
    /// Rejected resources (A46: the valid siblings were applied).
    pub(crate) errors: Vec<ResourceError>,
    /// Resources whose value changed.
    pub(crate) changed: Vec<String>,
    /// Resources deleted by the server.
    pub(crate) deleted: Vec<String>,
    /// Resources the server says do not exist (never received).
    pub(crate) does_not_exist: Vec<String>,
}

/// One resource of a response: its name when the protocol carries it (Delta), the
/// bytes, and its version (Delta: per resource; SotW: the response's).
pub(crate) struct Incoming<'a> {
    pub(crate) name: Option<String>,
    pub(crate) any: &'a Any,
    pub(crate) version: &'a str,
}

/// The cache of all four types.
#[derive(Debug, Default)]
pub(crate) struct Cache {
    pub(crate) types: HashMap<&'static str, TypeState>,
    next_generation: u64,
}

fn hash_bytes(b: &[u8]) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    b.hash(&mut h);
    h.finish()
}

fn static_type(type_url: &str) -> Option<&'static str> {
    TYPES.into_iter().find(|t| *t == type_url)
}

impl Cache {
    pub(crate) fn new() -> Self {
        let mut c = Self::default();
        for t in TYPES {
            c.types.insert(t, TypeState::default());
        }
        c
    }

    pub(crate) fn get(&self, type_url: &str) -> &TypeState {
        // Every known type is inserted in `new`; an unknown one has no state.
        static EMPTY: std::sync::OnceLock<TypeState> = std::sync::OnceLock::new();
        self.types.get(type_url).unwrap_or_else(|| EMPTY.get_or_init(TypeState::default))
    }

    pub(crate) fn value(&self, type_url: &str, name: &str) -> Option<&Arc<Resource>> {
        self.get(type_url).entries.get(name).and_then(|e| e.value.as_ref())
    }

    /// The subscribed names of a type.
    pub(crate) fn names(&self, type_url: &str) -> BTreeSet<String> {
        self.get(type_url).entries.keys().cloned().collect()
    }

    /// Sets the wanted names of a type; returns whether the set changed. Entries no
    /// longer wanted are dropped (as gRPC does on unsubscribe).
    pub(crate) fn set_interest(&mut self, type_url: &str, wanted: &BTreeSet<String>) -> bool {
        let Some(st) = self.types.get_mut(type_url) else { return false };
        let before: BTreeSet<&String> = st.entries.keys().collect();
        if before.len() == wanted.len() && wanted.iter().all(|n| before.contains(n)) {
            return false;
        }
        st.entries.retain(|n, _| wanted.contains(n));
        for n in wanted {
            st.entries.entry(n.clone()).or_insert_with(Entry::new);
        }
        true
    }

    /// Names wanted but neither received nor known not to exist.
    pub(crate) fn pending(&self, type_url: &str) -> Vec<String> {
        self.get(type_url)
            .entries
            .iter()
            .filter(|(_, e)| e.value.is_none() && !e.does_not_exist && e.error.is_none())
            .map(|(n, _)| n.clone())
            .collect()
    }

    /// Whether any wanted resource has never been received (A71: only then fall back).
    pub(crate) fn has_uncached(&self) -> bool {
        TYPES.iter().any(|t| self.get(t).entries.values().any(|e| e.value.is_none() && !e.does_not_exist))
    }

    /// Marks a resource as not existing (A57 timer fired). Returns whether that is news.
    pub(crate) fn mark_does_not_exist(&mut self, type_url: &str, name: &str) -> bool {
        match self.types.get_mut(type_url).and_then(|t| t.entries.get_mut(name)) {
            Some(e) if e.value.is_none() && !e.does_not_exist => {
                e.does_not_exist = true;
                true
            }
            _ => false,
        }
    }

    /// Applies the resources of one response. `full_state`: names absent from the
    /// response are deleted (SotW LDS/CDS) unless `ignore_deletion`.
    pub(crate) fn apply(
        &mut self,
        type_url: &str,
        resources: Vec<Incoming<'_>>,
        removed: &[String],
        full_state: bool,
        ignore_deletion: bool,
    ) -> Applied {
        let mut applied = Applied::default();
        let Some(type_key) = static_type(type_url) else {
            applied.errors.push(ResourceError {
                resource: String::new(),
                field: "type_url".into(),
                reason: format!("unsupported resource type {type_url:?}"),
            });
            return applied;
        };
        let mut seen = BTreeSet::new();
        for Incoming { name: given_name, any, version } in resources {
            let decoded = translate::decode(type_key, any);
            let name = given_name.or(decoded.name);
            let Some(name) = name else {
                if let Err(e) = decoded.result {
                    applied.errors.push(e);
                }
                continue;
            };
            seen.insert(name.clone());
            let raw_hash = hash_bytes(&any.value);
            let generation = self.next_generation + 1;
            let Some(st) = self.types.get_mut(type_key) else { continue };
            let Some(entry) = st.entries.get_mut(&name) else {
                // Not subscribed (e.g. a wildcard-style push): ignore, as gRPC does.
                continue;
            };
            entry.version = version.to_string();
            entry.does_not_exist = false;
            entry.last_updated = Some(SystemTime::now());
            match decoded.result {
                Ok(resource) => {
                    entry.error = None;
                    if entry.value.is_none() || entry.raw_hash != raw_hash {
                        entry.value = Some(Arc::new(resource));
                        entry.raw_hash = raw_hash;
                        entry.generation = generation;
                        self.next_generation = generation;
                        applied.changed.push(name);
                    }
                }
                Err(mut e) => {
                    if e.resource.is_empty() {
                        e.resource = name.clone();
                    }
                    entry.error = Some(e.clone());
                    applied.errors.push(e);
                }
            }
        }
        let mut to_delete: Vec<String> = removed.to_vec();
        if full_state {
            to_delete.extend(
                self.get(type_key)
                    .entries
                    .iter()
                    .filter(|(n, e)| e.value.is_some() && !seen.contains(*n))
                    .map(|(n, _)| n.clone()),
            );
        }
        if let Some(st) = self.types.get_mut(type_key) {
            for name in to_delete {
                let Some(e) = st.entries.get_mut(&name) else { continue };
                if e.value.is_none() {
                    // Never received: the server says it does not exist (Delta).
                    if !e.does_not_exist {
                        e.does_not_exist = true;
                        e.error = None;
                        applied.does_not_exist.push(name);
                    }
                    continue;
                }
                if ignore_deletion && e.value.is_some() {
                    tracing::warn!(type_url = type_key, %name, "server deleted resource; kept (ignore_resource_deletion)");
                    continue;
                }
                self.next_generation += 1;
                e.value = None;
                e.error = None;
                e.does_not_exist = true;
                e.generation = self.next_generation;
                applied.deleted.push(name);
            }
        }
        applied
    }
}
