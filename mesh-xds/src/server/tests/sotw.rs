//! State-of-the-World over a real stream.

use crate::server::{Change, ServerEvent, SubscriptionStatus};
use crate::type_url::{CLUSTER, ENDPOINT, LISTENER, ROUTE};

use super::harness::{TestServer, contents, expect, resource};

#[tokio::test]
async fn subscribe_response_then_ack_is_recorded() {
    let mut srv = TestServer::start().await;
    srv.cache.set(ENDPOINT, "a", resource(ENDPOINT, "a", 1));
    srv.cache.set(ENDPOINT, "b", resource(ENDPOINT, "b", 1));
    let mut client = srv.sotw("node-1").await;
    client.request(ENDPOINT, &["a"], "", "").await;
    let id = srv.connected("node-1").await;

    let response = client.recv().await;
    assert_eq!(response.type_url, ENDPOINT);
    assert_eq!(response.version_info, srv.cache.version(ENDPOINT));
    assert_eq!(contents(&response), expect(&[("a", 1)]));
    client.ack(&response, &["a"]).await;
    srv.acked(id, &response.nonce).await;

    let status = srv.server.clients();
    assert_eq!(status.len(), 1);
    let status = &status[0];
    assert_eq!((status.id, status.node_id.as_str(), status.delta), (id, "node-1", false));
    assert_eq!(status.acked.get(ENDPOINT), Some(&response.version_info));
    assert_eq!(status.sent.get(ENDPOINT), Some(&response.version_info));
    let wanted = SubscriptionStatus { wildcard: false, names: ["a".to_owned()].into() };
    assert_eq!(status.subscribed.get(ENDPOINT), Some(&wanted));
    assert!(status.nacked.is_empty());
}

#[tokio::test]
async fn nack_is_recorded_and_the_rejected_version_not_resent() {
    let mut srv = TestServer::start().await;
    srv.cache.set(CLUSTER, "c", resource(CLUSTER, "c", 1));
    let mut client = srv.sotw("n").await;
    client.request(CLUSTER, &["c"], "", "").await;
    let id = srv.connected("n").await;
    let first = client.recv().await;

    client.nack(&first, &["c"], "", "cluster c: bad config").await;
    let nack = srv.wait(|event| matches!(event, ServerEvent::Nack { .. })).await;
    let expected = ServerEvent::Nack {
        client: id,
        type_url: CLUSTER.to_owned(),
        version: String::new(),
        nonce: first.nonce.clone(),
        error: "cluster c: bad config".to_owned(),
    };
    assert_eq!(nack, expected);
    let status = &srv.server.clients()[0];
    assert_eq!(status.nacked.get(CLUSTER), Some(&(String::new(), "cluster c: bad config".to_owned())));
    assert!(status.acked.is_empty());

    // The next response is the fixed config, not a resend of the rejected one.
    srv.cache.set(CLUSTER, "c", resource(CLUSTER, "c", 2));
    let second = client.recv().await;
    assert_ne!(second.version_info, first.version_info);
    assert_eq!(contents(&second), expect(&[("c", 2)]));
    client.ack(&second, &["c"]).await;
    srv.acked(id, &second.nonce).await;
    let status = &srv.server.clients()[0];
    assert!(status.nacked.is_empty(), "a later ACK supersedes the NACK");
    assert_eq!(status.acked.get(CLUSTER), Some(&second.version_info));
}

#[tokio::test]
async fn a_change_pushes_only_to_streams_subscribed_to_it() {
    let mut srv = TestServer::start().await;
    srv.cache.set(ENDPOINT, "a", resource(ENDPOINT, "a", 1));
    srv.cache.set(ENDPOINT, "b", resource(ENDPOINT, "b", 1));
    let mut client_a = srv.sotw("a").await;
    client_a.request(ENDPOINT, &["a"], "", "").await;
    let id_a = srv.connected("a").await;
    let mut client_b = srv.sotw("b").await;
    client_b.request(ENDPOINT, &["b"], "", "").await;
    let id_b = srv.connected("b").await;
    let first_a = client_a.recv().await;
    let first_b = client_b.recv().await;
    assert_eq!(contents(&first_a), expect(&[("a", 1)]));
    assert_eq!(contents(&first_b), expect(&[("b", 1)]));
    client_a.ack(&first_a, &["a"]).await;
    srv.acked(id_a, &first_a.nonce).await;
    client_b.ack(&first_b, &["b"]).await;
    srv.acked(id_b, &first_b.nonce).await;

    srv.cache.set(ENDPOINT, "a", resource(ENDPOINT, "a", 2));
    let version_a = srv.cache.version(ENDPOINT);
    let push_a = client_a.recv().await;
    assert_eq!((push_a.version_info.as_str(), contents(&push_a)), (version_a.as_str(), expect(&[("a", 2)])));

    // Writing identical bytes changes nothing; then b changes. Responses on a stream are
    // ordered, so b's next response being this one proves "a" pushed nothing to it.
    srv.cache.set(ENDPOINT, "a", resource(ENDPOINT, "a", 2));
    assert_eq!(srv.cache.version(ENDPOINT), version_a);
    srv.cache.set(ENDPOINT, "b", resource(ENDPOINT, "b", 2));
    let push_b = client_b.recv().await;
    assert_eq!(push_b.version_info, srv.cache.version(ENDPOINT));
    assert_eq!(contents(&push_b), expect(&[("b", 2)]));
    let statuses = srv.server.clients();
    assert_eq!(statuses.len(), 2);
    assert_eq!(statuses[1].sent.get(ENDPOINT), Some(&push_b.version_info));
}

#[tokio::test]
async fn lds_wildcard_gets_every_listener_and_a_removal_drops_it() {
    let mut srv = TestServer::start().await;
    srv.cache.set(LISTENER, "l1", resource(LISTENER, "l1", 1));
    srv.cache.set(LISTENER, "l2", resource(LISTENER, "l2", 1));
    let mut client = srv.sotw("n").await;
    client.request(LISTENER, &[], "", "").await;
    let id = srv.connected("n").await;
    let first = client.recv().await;
    assert_eq!(contents(&first), expect(&[("l1", 1), ("l2", 1)]));
    client.ack(&first, &[]).await;
    srv.acked(id, &first.nonce).await;
    assert!(srv.server.clients()[0].subscribed[LISTENER].wildcard);

    srv.cache.set(LISTENER, "l3", resource(LISTENER, "l3", 1));
    let added = client.recv().await;
    assert_eq!(contents(&added), expect(&[("l1", 1), ("l2", 1), ("l3", 1)]));
    client.ack(&added, &[]).await;

    srv.cache.remove(LISTENER, "l2");
    let removed = client.recv().await;
    assert_eq!(contents(&removed), expect(&[("l1", 1), ("l3", 1)]), "full state: absent means deleted");
    assert_ne!(removed.version_info, added.version_info);
}

#[tokio::test]
async fn rds_empty_list_means_nothing_and_names_select() {
    let mut srv = TestServer::start().await;
    srv.cache.set(ROUTE, "r1", resource(ROUTE, "r1", 1));
    srv.cache.set(ROUTE, "r2", resource(ROUTE, "r2", 1));
    let mut client = srv.sotw("n").await;
    client.request(ROUTE, &[], "", "").await;
    let id = srv.connected("n").await;
    let empty = client.recv().await;
    assert!(empty.resources.is_empty(), "an empty RDS list is not a wildcard");
    client.ack(&empty, &[]).await;
    srv.acked(id, &empty.nonce).await;

    // Not subscribed: no push. Then subscribing to r1 is answered with r1 alone.
    srv.cache.set(ROUTE, "r1", resource(ROUTE, "r1", 2));
    client.request(ROUTE, &["r1"], &empty.version_info, &empty.nonce).await;
    let named = client.recv().await;
    assert_eq!(contents(&named), expect(&[("r1", 2)]));
    assert_eq!(named.version_info, srv.cache.version(ROUTE));
}

#[tokio::test]
async fn stale_request_gets_no_response_but_its_names_are_honoured() {
    let mut srv = TestServer::start().await;
    srv.cache.set(ENDPOINT, "a", resource(ENDPOINT, "a", 1));
    srv.cache.set(ENDPOINT, "b", resource(ENDPOINT, "b", 1));
    let mut client = srv.sotw("n").await;
    client.request(ENDPOINT, &["a"], "", "").await;
    let id = srv.connected("n").await;
    let first = client.recv().await;
    // A push crosses the client's next request: that request answers a stale nonce.
    srv.cache.set(ENDPOINT, "a", resource(ENDPOINT, "a", 2));
    let second = client.recv().await;
    client.request(ENDPOINT, &["a", "b"], &first.version_info, &first.nonce).await;
    let stale = srv.wait(|event| matches!(event, ServerEvent::Request { stale: true, .. })).await;
    assert_eq!(stale.client(), id);

    client.ack(&second, &["a", "b"]).await;
    match srv.next_of(id).await {
        ServerEvent::Request { stale: false, response_nonce, .. } => assert_eq!(response_nonce, second.nonce),
        other => panic!("the stale request must cause nothing, got {other:?}"),
    }
    assert!(matches!(srv.next_of(id).await, ServerEvent::Ack { version, .. } if version == second.version_info));
    let third = client.recv().await;
    assert_eq!(contents(&third), expect(&[("a", 2), ("b", 1)]));
    assert!(!srv.server.clients()[0].acked.values().any(|version| *version == first.version_info));
}

#[tokio::test]
async fn types_on_one_stream_are_independent() {
    let mut srv = TestServer::start().await;
    srv.cache.set(CLUSTER, "c1", resource(CLUSTER, "c1", 1));
    srv.cache.set(LISTENER, "l1", resource(LISTENER, "l1", 1));
    let mut client = srv.sotw("n").await;
    client.request(LISTENER, &[], "", "").await;
    client.request(CLUSTER, &[], "", "").await;
    let lds = client.recv().await;
    let cds = client.recv().await;
    assert_eq!((lds.type_url.as_str(), cds.type_url.as_str()), (LISTENER, CLUSTER));
    client.ack(&lds, &[]).await;
    client.ack(&cds, &[]).await;
    let id = srv.connected("n").await;
    srv.acked(id, &cds.nonce).await;

    srv.cache.set(CLUSTER, "c2", resource(CLUSTER, "c2", 1));
    let next = client.recv().await;
    assert_eq!(next.type_url, CLUSTER);
    assert_eq!(contents(&next), expect(&[("c1", 1), ("c2", 1)]));
    srv.cache.set(LISTENER, "l1", resource(LISTENER, "l1", 2));
    let next = client.recv().await;
    assert_eq!(next.type_url, LISTENER, "the cluster change did not push listeners");
    assert_eq!(contents(&next), expect(&[("l1", 2)]));
    assert_ne!(next.nonce, cds.nonce);
}

#[tokio::test]
async fn a_new_stream_is_answered_even_at_the_current_version() {
    let mut srv = TestServer::start().await;
    srv.cache.set(CLUSTER, "c", resource(CLUSTER, "c", 1));
    let version = srv.cache.version(CLUSTER);
    let mut client = srv.sotw("n").await;
    client.request(CLUSTER, &["c"], &version, "nonce-from-an-old-stream").await;
    let response = client.recv().await;
    assert_eq!((response.version_info.as_str(), contents(&response)), (version.as_str(), expect(&[("c", 1)])));
    let _ = srv.connected("n").await;
}

#[tokio::test]
async fn disconnect_removes_the_client_and_is_announced() {
    let mut srv = TestServer::start().await;
    let mut client = srv.sotw("gone").await;
    client.request(CLUSTER, &[], "", "").await;
    let id = srv.connected("gone").await;
    let _ = client.recv().await;
    assert_eq!(srv.server.clients().len(), 1);
    drop(client);
    srv.wait(|event| *event == ServerEvent::Disconnected { client: id }).await;
    assert!(srv.server.clients().is_empty());
}

#[tokio::test]
async fn one_batch_over_several_types_pushes_make_before_break() {
    let srv = TestServer::start().await;
    let mut client = srv.sotw("n").await;
    for type_url in [ROUTE, LISTENER, ENDPOINT, CLUSTER] {
        client.request(type_url, &["x"], "", "").await;
        assert!(client.recv().await.resources.is_empty());
    }
    srv.cache.apply(vec![
        Change::set(ROUTE, "x", resource(ROUTE, "x", 1)),
        Change::set(LISTENER, "x", resource(LISTENER, "x", 1)),
        Change::set(ENDPOINT, "x", resource(ENDPOINT, "x", 1)),
        Change::set(CLUSTER, "x", resource(CLUSTER, "x", 1)),
    ]);
    let mut order = Vec::new();
    for _ in 0..4 {
        let response = client.recv().await;
        assert_eq!(contents(&response), expect(&[("x", 1)]));
        order.push(response.type_url);
    }
    assert_eq!(order, [CLUSTER, ENDPOINT, LISTENER, ROUTE], "one response per type, clusters first");
}
