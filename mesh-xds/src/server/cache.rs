//! [`SnapshotCache`]: the versioned resources an ADS server serves from.
//!
//! # Versions
//!
//! Two kinds, because the protocol has two uses for them:
//!
//! - **Type version** (SotW `version_info`, Delta `system_version_info`): a counter per type
//!   URL, bumped once per write that really changes that type ([`SnapshotCache::set_all`] and
//!   [`SnapshotCache::apply`] bump each affected type once, however many resources they
//!   touch). Writing identical bytes is a no-op: no bump, no push.
//! - **Resource version** (Delta `Resource.version`, compared with `initial_resource_versions`):
//!   a 64-bit FNV-1a hash of the encoded resource, in hex. A hash rather than a counter so that
//!   a client reconnecting to a restarted control plane, or to another replica serving the same
//!   config, is not resent what it already has — and is never wrongly *not* resent something
//!   that merely reuses a counter value.
//!
//! # Why a change log
//!
//! Every connected stream wakes on every write (one `tokio::sync::watch`), so the per-stream
//! work must be proportional to what changed, not to what the stream is subscribed to: a
//! Delta client holding 10,000 clusters must not diff 10,000 entries because one endpoint
//! moved. Each type keeps the names touched by its last [`LOG_ENTRIES`] versions; a stream
//! that fell further behind (or a write touching very many names) falls back to a full diff,
//! which is always correct, just slower.
//!
//! Resources are stored encoded (`Any`) behind an `Arc`, so a write encodes and hashes once
//! and every stream shares it; the only per-stream copy is the one the generated
//! `DiscoveryResponse` (which owns its `Any` bytes) forces when a response is built.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::fmt;
use std::sync::{Arc, PoisonError, RwLock};

use envoy_types::pb::google::protobuf::Any;
use tokio::sync::watch;

/// How many versions of each type the change log remembers.
const LOG_ENTRIES: usize = 64;
/// A write touching more names of one type than this is logged as "everything changed".
const LOG_NAMES_PER_ENTRY: usize = 1024;

/// One write to a [`SnapshotCache`], for [`SnapshotCache::apply`].
#[derive(Clone, Debug, PartialEq)]
pub enum Change {
    /// Inserts or replaces one resource.
    Set {
        /// The resource type, e.g. [`crate::type_url::CLUSTER`].
        type_url: String,
        /// The resource name (what clients subscribe to).
        name: String,
        /// The encoded resource; its `type_url` should equal `type_url`.
        resource: Any,
    },
    /// Removes one resource (a no-op if absent).
    Remove {
        /// The resource type.
        type_url: String,
        /// The resource name.
        name: String,
    },
    /// Replaces every resource of one type: absent names are removed.
    SetAll {
        /// The resource type.
        type_url: String,
        /// The complete new set, by name.
        resources: BTreeMap<String, Any>,
    },
}

impl Change {
    /// A [`Change::Set`].
    pub fn set(type_url: impl Into<String>, name: impl Into<String>, resource: Any) -> Self {
        Self::Set { type_url: type_url.into(), name: name.into(), resource }
    }

    /// A [`Change::Remove`].
    pub fn remove(type_url: impl Into<String>, name: impl Into<String>) -> Self {
        Self::Remove { type_url: type_url.into(), name: name.into() }
    }
}

/// Versioned resources by type URL: the source of truth an [`AdsServer`](super::AdsServer)
/// serves from.
///
/// Writes are synchronous and cheap for readers: encoding is already done (resources are
/// `Any`), hashing happens before the write lock is taken, and connected streams are woken
/// through one `watch` channel and diff only what changed. Share it as `Arc<SnapshotCache>`.
pub struct SnapshotCache {
    types: RwLock<HashMap<String, TypeState>>,
    /// Bumped after every effective write; streams wait on it.
    revision: watch::Sender<u64>,
}

/// One stored resource, shared by every stream that sends it.
#[derive(Debug)]
pub(crate) struct Entry {
    /// The resource name.
    pub(crate) name: Arc<str>,
    /// The content hash, in hex (Delta `Resource.version`).
    pub(crate) version: Arc<str>,
    /// The encoded resource.
    pub(crate) resource: Any,
}

impl Entry {
    fn new(name: &str, resource: Any) -> Self {
        Self { name: name.into(), version: content_version(&resource).into(), resource }
    }
}

/// What changed in a type since a given version (see [`TypeView::changed_since`]).
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Changed {
    /// Nothing: the version is current.
    Nothing,
    /// Exactly these names were set or removed.
    Names(BTreeSet<Arc<str>>),
    /// Unknown (the log does not reach back that far): diff everything.
    Unknown,
}

#[derive(Default)]
struct TypeState {
    version: u64,
    resources: BTreeMap<Arc<str>, Arc<Entry>>,
    /// Consecutive versions, oldest first; `None` names = too many to list.
    log: VecDeque<(u64, Option<Vec<Arc<str>>>)>,
}

/// A read-only view of one type, valid while the cache's read lock is held.
pub(crate) struct TypeView<'a>(Option<&'a TypeState>);

impl TypeView<'_> {
    /// The type version (0 if the type was never written).
    pub(crate) fn version(&self) -> u64 {
        self.0.map_or(0, |t| t.version)
    }

    /// One resource.
    pub(crate) fn get(&self, name: &str) -> Option<&Arc<Entry>> {
        self.0.and_then(|t| t.resources.get(name))
    }

    /// Every resource, by name.
    pub(crate) fn entries(&self) -> impl Iterator<Item = &Arc<Entry>> {
        self.0.into_iter().flat_map(|t| t.resources.values())
    }

    /// The names set or removed after version `since`, up to the current version.
    pub(crate) fn changed_since(&self, since: u64) -> Changed {
        let Some(state) = self.0 else { return Changed::Nothing };
        if since >= state.version {
            return Changed::Nothing;
        }
        match state.log.front() {
            Some(&(oldest, _)) if oldest <= since + 1 => {}
            _ => return Changed::Unknown,
        }
        let mut names = BTreeSet::new();
        for (_, touched) in state.log.iter().filter(|(version, _)| *version > since) {
            match touched {
                Some(touched) => names.extend(touched.iter().cloned()),
                None => return Changed::Unknown,
            }
        }
        Changed::Names(names)
    }
}

impl SnapshotCache {
    /// An empty cache (every type at version 0).
    pub fn new() -> Self {
        Self { types: RwLock::new(HashMap::new()), revision: watch::Sender::new(0) }
    }

    /// Inserts or replaces one resource (an `Any` whose `type_url` is the resource type; the
    /// name is given separately). Identical bytes are a no-op.
    pub fn set(&self, type_url: &str, name: &str, resource: Any) {
        self.apply(vec![Change::set(type_url, name, resource)]);
    }

    /// Removes one resource (a no-op if absent).
    pub fn remove(&self, type_url: &str, name: &str) {
        self.apply(vec![Change::remove(type_url, name)]);
    }

    /// Replaces every resource of a type at once: one version bump, one push per stream.
    pub fn set_all(&self, type_url: &str, resources: BTreeMap<String, Any>) {
        self.apply(vec![Change::SetAll { type_url: type_url.to_owned(), resources }]);
    }

    /// Applies several changes, possibly to several types, atomically: streams never see a
    /// partial result, each affected type's version is bumped once, and each affected stream
    /// gets one response per affected type. Changes apply in order (a later one wins).
    pub fn apply(&self, changes: Vec<Change>) {
        // Hash and wrap outside the lock: readers only wait for the map updates.
        let prepared: Vec<Prepared> = changes.into_iter().map(Prepared::from).collect();
        let mut touched: HashMap<&str, BTreeSet<Arc<str>>> = HashMap::new();
        {
            let mut types = self.types.write().unwrap_or_else(PoisonError::into_inner);
            for change in &prepared {
                change.apply(&mut types, &mut touched);
            }
            for (type_url, names) in &touched {
                if names.is_empty() {
                    continue;
                }
                let state = types.entry((*type_url).to_owned()).or_default();
                state.version += 1;
                let logged = (names.len() <= LOG_NAMES_PER_ENTRY).then(|| names.iter().cloned().collect());
                state.log.push_back((state.version, logged));
                if state.log.len() > LOG_ENTRIES {
                    state.log.pop_front();
                }
                tracing::debug!(type_url, version = state.version, changed = names.len(), "xDS cache updated");
            }
        }
        if touched.values().any(|names| !names.is_empty()) {
            self.revision.send_modify(|revision| *revision += 1);
        }
    }

    /// The current version of a type, as sent in `version_info` (`"0"` if never written).
    pub fn version(&self, type_url: &str) -> String {
        self.read(type_url, |view| view.version()).to_string()
    }

    /// One resource, if present.
    pub fn get(&self, type_url: &str, name: &str) -> Option<Any> {
        self.read(type_url, |view| view.get(name).map(|entry| entry.resource.clone()))
    }

    /// The names of every resource of a type, sorted.
    pub fn names(&self, type_url: &str) -> Vec<String> {
        self.read(type_url, |view| view.entries().map(|entry| entry.name.to_string()).collect())
    }

    /// Runs `f` on one type under the read lock (keep `f` short and synchronous).
    pub(crate) fn read<R>(&self, type_url: &str, f: impl FnOnce(TypeView<'_>) -> R) -> R {
        let types = self.types.read().unwrap_or_else(PoisonError::into_inner);
        f(TypeView(types.get(type_url)))
    }

    /// A receiver that changes after every effective write.
    pub(crate) fn subscribe(&self) -> watch::Receiver<u64> {
        self.revision.subscribe()
    }
}

impl Default for SnapshotCache {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for SnapshotCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let types = self.types.read().unwrap_or_else(PoisonError::into_inner);
        let mut map = f.debug_map();
        for (type_url, state) in types.iter() {
            map.entry(type_url, &format_args!("v{} ({} resources)", state.version, state.resources.len()));
        }
        map.finish()
    }
}

/// A [`Change`] with its entries built (hashed) ahead of the write lock.
enum Prepared {
    Set(String, Arc<Entry>),
    Remove(String, String),
    SetAll(String, BTreeMap<String, Arc<Entry>>),
}

impl From<Change> for Prepared {
    fn from(change: Change) -> Self {
        match change {
            Change::Set { type_url, name, resource } => {
                warn_type_mismatch(&type_url, &name, &resource);
                let entry = Arc::new(Entry::new(&name, resource));
                Self::Set(type_url, entry)
            }
            Change::Remove { type_url, name } => Self::Remove(type_url, name),
            Change::SetAll { type_url, resources } => {
                let entries = resources
                    .into_iter()
                    .map(|(name, resource)| {
                        warn_type_mismatch(&type_url, &name, &resource);
                        let entry = Arc::new(Entry::new(&name, resource));
                        (name, entry)
                    })
                    .collect();
                Self::SetAll(type_url, entries)
            }
        }
    }
}

impl Prepared {
    /// Applies this change, recording the names it really changed per type.
    fn apply<'a>(&'a self, types: &mut HashMap<String, TypeState>, touched: &mut HashMap<&'a str, BTreeSet<Arc<str>>>) {
        match self {
            Self::Set(type_url, entry) => {
                let state = types.entry(type_url.clone()).or_default();
                if insert(state, entry) {
                    touched.entry(type_url).or_default().insert(entry.name.clone());
                }
            }
            Self::Remove(type_url, name) => {
                if let Some((name, _)) = types.get_mut(type_url).and_then(|s| s.resources.remove_entry(name.as_str())) {
                    touched.entry(type_url).or_default().insert(name);
                }
            }
            Self::SetAll(type_url, entries) => {
                let state = types.entry(type_url.clone()).or_default();
                let changed = touched.entry(type_url).or_default();
                let gone: Vec<Arc<str>> =
                    state.resources.keys().filter(|name| !entries.contains_key(&***name)).cloned().collect();
                for name in gone {
                    state.resources.remove(&name);
                    changed.insert(name);
                }
                for entry in entries.values() {
                    if insert(state, entry) {
                        changed.insert(entry.name.clone());
                    }
                }
            }
        }
    }
}

/// Stores `entry` unless the same bytes are already there; true if something changed.
fn insert(state: &mut TypeState, entry: &Arc<Entry>) -> bool {
    if let Some(old) = state.resources.get(&entry.name)
        && old.version == entry.version
        && old.resource == entry.resource
    {
        return false;
    }
    state.resources.insert(entry.name.clone(), entry.clone());
    true
}

fn warn_type_mismatch(type_url: &str, name: &str, resource: &Any) {
    if resource.type_url != type_url {
        tracing::warn!(type_url, name, any_type_url = %resource.type_url, "xDS resource stored under another type URL");
    }
}

/// The resource version: FNV-1a (64-bit) over the type URL and the encoded bytes, in hex.
/// Stable across processes and releases (unlike `std`'s hasher), which reconnecting Delta
/// clients rely on.
pub(crate) fn content_version(resource: &Any) -> String {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let bytes = resource.type_url.as_bytes().iter().chain(&[0xff]).chain(&resource.value);
    let hash = bytes.fold(OFFSET, |hash, byte| (hash ^ u64::from(*byte)).wrapping_mul(PRIME));
    format!("{hash:016x}")
}
