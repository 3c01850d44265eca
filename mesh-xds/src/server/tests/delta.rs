//! Delta (incremental) over a real stream.

use std::collections::HashMap;

use crate::server::ServerEvent;
use crate::type_url::{CLUSTER, ENDPOINT};

use super::harness::{TestServer, contents, delta_contents, expect, resource};

#[tokio::test]
async fn subscribe_then_only_changes_and_removals() {
    let mut srv = TestServer::start().await;
    srv.cache.set(CLUSTER, "a", resource(CLUSTER, "a", 1));
    srv.cache.set(CLUSTER, "b", resource(CLUSTER, "b", 1));
    let mut client = srv.delta("n").await;
    client.request(CLUSTER, &["a", "b"], &[], HashMap::new()).await;
    let id = srv.connected("n").await;

    let first = client.recv().await;
    assert_eq!(delta_contents(&first), expect(&[("a", 1), ("b", 1)]));
    assert!(first.removed_resources.is_empty());
    assert_eq!(first.system_version_info, srv.cache.version(CLUSTER));
    client.ack(&first).await;
    srv.acked(id, &first.nonce).await;
    let status = &srv.server.clients()[0];
    assert!(status.delta);
    assert_eq!(status.acked.get(CLUSTER), Some(&first.system_version_info));

    srv.cache.set(CLUSTER, "a", resource(CLUSTER, "a", 2));
    let changed = client.recv().await;
    assert_eq!(delta_contents(&changed), expect(&[("a", 2)]), "only the changed resource");
    assert_ne!(changed.resources[0].version, first.resources[0].version);
    client.ack(&changed).await;

    srv.cache.remove(CLUSTER, "b");
    let removed = client.recv().await;
    assert!(removed.resources.is_empty());
    assert_eq!(removed.removed_resources, ["b"]);
    client.ack(&removed).await;

    // Still subscribed: b coming back is sent.
    srv.cache.set(CLUSTER, "b", resource(CLUSTER, "b", 3));
    let back = client.recv().await;
    assert_eq!(delta_contents(&back), expect(&[("b", 3)]));
}

#[tokio::test]
async fn unsubscribe_stops_updates() {
    let mut srv = TestServer::start().await;
    srv.cache.set(ENDPOINT, "a", resource(ENDPOINT, "a", 1));
    srv.cache.set(ENDPOINT, "b", resource(ENDPOINT, "b", 1));
    let mut client = srv.delta("n").await;
    client.request(ENDPOINT, &["a", "b"], &[], HashMap::new()).await;
    let id = srv.connected("n").await;
    let first = client.recv().await;
    client.ack(&first).await;
    srv.acked(id, &first.nonce).await;

    client.request(ENDPOINT, &[], &["a"], HashMap::new()).await;
    srv.wait(|event| matches!(event, ServerEvent::Request { unsubscribe, .. } if unsubscribe == &["a"])).await;
    assert_eq!(srv.server.clients()[0].subscribed[ENDPOINT].names, ["b".to_owned()].into());

    srv.cache.set(ENDPOINT, "a", resource(ENDPOINT, "a", 2));
    srv.cache.set(ENDPOINT, "b", resource(ENDPOINT, "b", 2));
    let next = client.recv().await;
    assert_eq!(delta_contents(&next), expect(&[("b", 2)]), "nothing for the unsubscription, nothing for a");
    assert!(next.removed_resources.is_empty());
}

#[tokio::test]
async fn reconnect_with_initial_versions_resends_only_what_changed() {
    let mut srv = TestServer::start().await;
    srv.cache.set(CLUSTER, "a", resource(CLUSTER, "a", 1));
    srv.cache.set(CLUSTER, "b", resource(CLUSTER, "b", 1));
    let mut client = srv.delta("first").await;
    client.request(CLUSTER, &["a", "b"], &[], HashMap::new()).await;
    let id = srv.connected("first").await;
    let first = client.recv().await;
    let versions: HashMap<String, String> =
        first.resources.iter().map(|entry| (entry.name.clone(), entry.version.clone())).collect();
    client.ack(&first).await;
    srv.acked(id, &first.nonce).await;
    drop(client);
    srv.wait(|event| *event == ServerEvent::Disconnected { client: id }).await;

    // Changed while the client was away: only b is resent.
    srv.cache.set(CLUSTER, "b", resource(CLUSTER, "b", 2));
    let mut client = srv.delta("second").await;
    client.request(CLUSTER, &["a", "b"], &[], versions.clone()).await;
    let _ = srv.connected("second").await;
    let resync = client.recv().await;
    assert_eq!(delta_contents(&resync), expect(&[("b", 2)]));
    assert!(resync.removed_resources.is_empty());

    // Up to date: a reconnect is sent nothing; the next response is the next change.
    let mut current = versions;
    current.insert("b".to_owned(), resync.resources[0].version.clone());
    let mut client = srv.delta("third").await;
    client.request(CLUSTER, &["a", "b"], &[], current).await;
    let third = srv.connected("third").await;
    srv.wait(|event| matches!(event, ServerEvent::Request { client, .. } if *client == third)).await;
    srv.cache.set(CLUSTER, "a", resource(CLUSTER, "a", 3));
    let next = client.recv().await;
    assert_eq!(delta_contents(&next), expect(&[("a", 3)]));
}

#[tokio::test]
async fn legacy_wildcard_cds() {
    let mut srv = TestServer::start().await;
    srv.cache.set(CLUSTER, "c1", resource(CLUSTER, "c1", 1));
    srv.cache.set(CLUSTER, "c2", resource(CLUSTER, "c2", 1));
    let mut client = srv.delta("n").await;
    client.request(CLUSTER, &[], &[], HashMap::new()).await;
    let id = srv.connected("n").await;
    let first = client.recv().await;
    assert_eq!(delta_contents(&first), expect(&[("c1", 1), ("c2", 1)]));
    client.ack(&first).await;
    srv.acked(id, &first.nonce).await;
    assert!(srv.server.clients()[0].subscribed[CLUSTER].wildcard);

    srv.cache.set(CLUSTER, "c3", resource(CLUSTER, "c3", 1));
    let added = client.recv().await;
    assert_eq!(delta_contents(&added), expect(&[("c3", 1)]));
    srv.cache.remove(CLUSTER, "c1");
    let removed = client.recv().await;
    assert_eq!((removed.resources.len(), removed.removed_resources.as_slice()), (0, &["c1".to_owned()][..]));
}

#[tokio::test]
async fn empty_wildcard_is_answered_once() {
    let srv = TestServer::start().await;
    let mut client = srv.delta("n").await;
    client.request(CLUSTER, &[], &[], HashMap::new()).await;
    let first = client.recv().await;
    assert!(first.resources.is_empty() && first.removed_resources.is_empty());
    client.ack(&first).await;
    srv.cache.set(CLUSTER, "c", resource(CLUSTER, "c", 1));
    assert_eq!(delta_contents(&client.recv().await), expect(&[("c", 1)]));
}

#[tokio::test]
async fn missing_name_is_reported_removed_until_it_appears() {
    let srv = TestServer::start().await;
    srv.cache.set(ENDPOINT, "other", resource(ENDPOINT, "other", 1));
    let mut client = srv.delta("n").await;
    client.request(ENDPOINT, &["ghost"], &[], HashMap::new()).await;
    let first = client.recv().await;
    assert!(first.resources.is_empty());
    assert_eq!(first.removed_resources, ["ghost"]);
    client.ack(&first).await;

    srv.cache.set(ENDPOINT, "other", resource(ENDPOINT, "other", 2));
    srv.cache.set(ENDPOINT, "ghost", resource(ENDPOINT, "ghost", 1));
    let appeared = client.recv().await;
    assert_eq!(delta_contents(&appeared), expect(&[("ghost", 1)]));
}

#[tokio::test]
async fn wildcard_plus_name_unsubscribe_says_whether_it_is_still_covered() {
    let srv = TestServer::start().await;
    srv.cache.set(CLUSTER, "c", resource(CLUSTER, "c", 1));
    let mut client = srv.delta("n").await;
    client.request(CLUSTER, &["*"], &[], HashMap::new()).await;
    let first = client.recv().await;
    assert_eq!(delta_contents(&first), expect(&[("c", 1)]));
    // Explicitly subscribing resends even what the client should have.
    client.request(CLUSTER, &["c", "ghost"], &[], HashMap::new()).await;
    let resent = client.recv().await;
    assert_eq!(delta_contents(&resent), expect(&[("c", 1)]));
    assert_eq!(resent.removed_resources, ["ghost"]);
    // Unsubscribing a name the wildcard still covers: resent; one it does not: removed.
    client.request(CLUSTER, &[], &["c", "ghost"], HashMap::new()).await;
    let answer = client.recv().await;
    assert_eq!(delta_contents(&answer), expect(&[("c", 1)]));
    assert_eq!(answer.removed_resources, ["ghost"]);
}

#[tokio::test]
async fn nack_is_recorded_with_the_version_kept() {
    let mut srv = TestServer::start().await;
    srv.cache.set(CLUSTER, "c", resource(CLUSTER, "c", 1));
    let mut client = srv.delta("n").await;
    client.request(CLUSTER, &["c"], &[], HashMap::new()).await;
    let id = srv.connected("n").await;
    let first = client.recv().await;
    client.ack(&first).await;
    srv.acked(id, &first.nonce).await;

    srv.cache.set(CLUSTER, "c", resource(CLUSTER, "c", 2));
    let bad = client.recv().await;
    client.nack(&bad, "c: invalid").await;
    let nack = srv.wait(|event| matches!(event, ServerEvent::Nack { .. })).await;
    let expected = ServerEvent::Nack {
        client: id,
        type_url: CLUSTER.to_owned(),
        version: first.system_version_info.clone(),
        nonce: bad.nonce.clone(),
        error: "c: invalid".to_owned(),
    };
    assert_eq!(nack, expected);
    let status = &srv.server.clients()[0];
    assert_eq!(status.nacked[CLUSTER], (first.system_version_info.clone(), "c: invalid".to_owned()));

    // Not resent; the fix is.
    srv.cache.set(CLUSTER, "c", resource(CLUSTER, "c", 3));
    assert_eq!(delta_contents(&client.recv().await), expect(&[("c", 3)]));
}

#[tokio::test]
async fn sotw_and_delta_clients_with_different_subscriptions() {
    let srv = TestServer::start().await;
    srv.cache.set(ENDPOINT, "a", resource(ENDPOINT, "a", 1));
    srv.cache.set(ENDPOINT, "b", resource(ENDPOINT, "b", 1));
    let mut sotw = srv.sotw("sotw").await;
    sotw.request(ENDPOINT, &["a"], "", "").await;
    let mut delta = srv.delta("delta").await;
    delta.request(ENDPOINT, &["b"], &[], HashMap::new()).await;
    let sotw_first = sotw.recv().await;
    let delta_first = delta.recv().await;
    assert_eq!(contents(&sotw_first), expect(&[("a", 1)]));
    assert_eq!(delta_contents(&delta_first), expect(&[("b", 1)]));

    srv.cache.set(ENDPOINT, "a", resource(ENDPOINT, "a", 2));
    assert_eq!(contents(&sotw.recv().await), expect(&[("a", 2)]));
    srv.cache.set(ENDPOINT, "b", resource(ENDPOINT, "b", 2));
    let delta_next = delta.recv().await;
    assert_eq!(delta_contents(&delta_next), expect(&[("b", 2)]), "a's change pushed nothing to the delta stream");
    assert_eq!(delta_next.system_version_info, srv.cache.version(ENDPOINT));

    let mut statuses = srv.server.clients();
    statuses.sort_by_key(|status| status.delta);
    assert_eq!(statuses.iter().map(|status| status.node_id.as_str()).collect::<Vec<_>>(), ["sotw", "delta"]);
}
