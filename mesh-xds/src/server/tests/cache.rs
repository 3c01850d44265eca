//! The cache alone: versions, no-op writes, atomic batches, the change log.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use envoy_types::pb::google::protobuf::Any;

use crate::server::cache::{Changed, content_version};
use crate::server::{Change, SnapshotCache};
use crate::type_url::{CLUSTER, ENDPOINT, LISTENER};

use super::harness::resource;

fn changed(cache: &SnapshotCache, type_url: &str, since: u64) -> Changed {
    cache.read(type_url, |view| view.changed_since(since))
}

fn names(list: &[&str]) -> Changed {
    Changed::Names(list.iter().map(|name| Arc::from(*name)).collect::<BTreeSet<Arc<str>>>())
}

#[test]
fn identical_bytes_do_not_bump_the_version() {
    let cache = SnapshotCache::new();
    assert_eq!(cache.version(CLUSTER), "0");
    cache.set(CLUSTER, "c", resource(CLUSTER, "c", 1));
    assert_eq!(cache.version(CLUSTER), "1");
    let mut revision = cache.subscribe();
    revision.borrow_and_update();
    cache.set(CLUSTER, "c", resource(CLUSTER, "c", 1));
    cache.remove(CLUSTER, "absent");
    assert_eq!(cache.version(CLUSTER), "1");
    assert!(!revision.has_changed().expect("cache alive"), "no-op writes wake nobody");
    cache.set(CLUSTER, "c", resource(CLUSTER, "c", 2));
    assert_eq!(cache.version(CLUSTER), "2");
    assert!(revision.has_changed().expect("cache alive"));
    assert_eq!(cache.get(CLUSTER, "c"), Some(resource(CLUSTER, "c", 2)));
}

#[test]
fn set_all_bumps_once_and_removes_what_is_absent() {
    let cache = SnapshotCache::new();
    cache.set(ENDPOINT, "a", resource(ENDPOINT, "a", 1));
    cache.set(ENDPOINT, "b", resource(ENDPOINT, "b", 1));
    let all: BTreeMap<String, Any> =
        [("b", 1), ("c", 1)].into_iter().map(|(name, rev)| (name.to_owned(), resource(ENDPOINT, name, rev))).collect();
    cache.set_all(ENDPOINT, all);
    assert_eq!(cache.version(ENDPOINT), "3");
    assert_eq!(cache.names(ENDPOINT), ["b", "c"]);
    assert_eq!(changed(&cache, ENDPOINT, 2), names(&["a", "c"]), "b was unchanged");
}

#[test]
fn apply_bumps_each_type_once_and_wakes_once() {
    let cache = SnapshotCache::new();
    let mut revision = cache.subscribe();
    cache.apply(vec![
        Change::set(CLUSTER, "c1", resource(CLUSTER, "c1", 1)),
        Change::set(CLUSTER, "c2", resource(CLUSTER, "c2", 1)),
        Change::set(LISTENER, "l", resource(LISTENER, "l", 1)),
        Change::remove(CLUSTER, "c2"),
    ]);
    assert_eq!((cache.version(CLUSTER), cache.version(LISTENER)), ("1".to_owned(), "1".to_owned()));
    assert_eq!(cache.names(CLUSTER), ["c1"]);
    assert_eq!(*revision.borrow_and_update(), 1);
    assert_eq!(changed(&cache, CLUSTER, 0), names(&["c1", "c2"]));
}

#[test]
fn change_log_lists_names_until_it_no_longer_reaches_back() {
    let cache = SnapshotCache::new();
    assert_eq!(changed(&cache, CLUSTER, 0), Changed::Nothing);
    cache.set(CLUSTER, "a", resource(CLUSTER, "a", 1));
    cache.set(CLUSTER, "b", resource(CLUSTER, "b", 1));
    assert_eq!(changed(&cache, CLUSTER, 1), names(&["b"]));
    assert_eq!(changed(&cache, CLUSTER, 2), Changed::Nothing);
    for rev in 2..100 {
        cache.set(CLUSTER, "a", resource(CLUSTER, "a", rev));
    }
    assert_eq!(changed(&cache, CLUSTER, 1), Changed::Unknown);
    assert_eq!(changed(&cache, CLUSTER, 90), names(&["a"]));
}

#[test]
fn content_version_is_a_stable_hash() {
    let any = Any { type_url: "t".to_owned(), value: b"v".to_vec() };
    assert_eq!(content_version(&any), "557cba1943219fc6");
    let other = Any { type_url: "t".to_owned(), value: b"w".to_vec() };
    assert_ne!(content_version(&other), content_version(&any));
}
