//! Zero trust end to end, everything real: mesh-control reads Istio YAML
//! (ServiceEntry, WorkloadEntry, DestinationRule ISTIO_MUTUAL, PeerAuthentication STRICT,
//! AuthorizationPolicy) and runs its CA; a tonic server and mesh clients get their
//! certificates from that CA over gRPC (`mesh_ca` certificate provider in their gRPC
//! bootstrap, key generated in-process, bearer token → SPIFFE identity), the server gets
//! its mTLS mode and authorization from its inbound listener, the client its mTLS
//! settings from CDS.
#![allow(clippy::unwrap_used)] // test helpers unwrap on setup failures

mod common;

use std::sync::Arc;

use common::mesh_ca::*;
use common::*;
use mesh::MeshChannel;
use mesh::tower::server::ServerPolicyHandle;
use mesh_testkit::{EchoClient, EchoRequest, MeshBackend};
use tokio::net::TcpListener;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificates_mtls_and_authorization_from_the_control_plane() {
    let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = tcp.local_addr().unwrap();
    let m = control_plane(addr.port()).await;

    // The server: identity from the CA, policy from its inbound listener.
    let server_xds = client(&m, "reviews", None).await;
    let server_identity = identity(&server_xds).await;
    assert_eq!(
        server_identity.certificate().unwrap().identity().unwrap().as_str(),
        "spiffe://cluster.local/ns/default/sa/reviews"
    );
    let name = format!("xds.istio.io/grpc/lds/inbound/{addr}");
    let policy = ServerPolicyHandle::from_xds(&server_xds, &name, addr).await.expect("inbound listener");
    assert_eq!(policy.load().mtls(), Some(mesh::core::authz::MtlsMode::Strict));
    let backend = MeshBackend::grpc_on(tcp, "reviews", policy, Some(&server_identity)).unwrap();

    // productpage: allowed.
    let pp = client(&m, "productpage", None).await;
    identity(&pp).await;
    let ch = MeshChannel::from_xds(&pp, TARGET).await.expect("channel");
    for _ in 0..10 {
        assert_eq!(echo(&ch).await.unwrap(), "reviews");
    }

    // ratings: authenticated, but not allowed by the AuthorizationPolicy.
    let ratings = client(&m, "ratings", None).await;
    identity(&ratings).await;
    let ch = MeshChannel::from_xds(&ratings, TARGET).await.expect("channel");
    let err = echo(&ch).await.unwrap_err();
    assert_eq!(err.code(), tonic::Code::PermissionDenied, "{err:?}");

    // A plaintext caller: refused by STRICT before any request is read.
    let plain = tonic::transport::Endpoint::from_shared(format!("http://{addr}")).unwrap().connect_lazy();
    let err = EchoClient::new(plain).echo(EchoRequest { payload: bytes::Bytes::from_static(b"x") }).await.unwrap_err();
    // The connection is closed unanswered (tonic reports UNAVAILABLE, CANCELLED or a
    // transport error depending on timing): no HTTP answer at all, so no gRPC status.
    assert!(err.metadata().is_empty() && err.code() != tonic::Code::PermissionDenied, "{err:?}");

    assert_eq!(backend.state().hits(), 10, "only productpage's calls reached the application");
    let stats = backend.policy().stats();
    assert!(stats.denied() >= 1 && stats.refused_plaintext() >= 1);
    assert!(m.cp.ca().unwrap().metrics().success_cert_issuance_count() >= 3);
    m.cp.shutdown().await;
    std::fs::remove_dir_all(&m.dir).ok();
}

/// Counts certificate installations in `store` until dropped.
fn count_rotations(store: &Arc<mesh::tls::identity::IdentityStore>) -> Arc<std::sync::atomic::AtomicUsize> {
    let count = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut changes = store.subscribe();
    let (store, c) = (store.clone(), count.clone());
    tokio::spawn(async move {
        let mut last = store.certificate().map(|c| c.not_after());
        while changes.changed().await.is_ok() {
            let now = store.certificate().map(|c| c.not_after());
            if now != last {
                c.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                last = now;
            }
        }
    });
    count
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificates_rotate_every_two_seconds_under_load_without_a_failed_request() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = tcp.local_addr().unwrap();
    let m = control_plane(addr.port()).await;
    // 4 s certificates: renewed at half-life ± 5 %, i.e. about every 2 s.
    let server_xds = client(&m, "reviews", Some("4s")).await;
    let server_identity = identity(&server_xds).await;
    let name = format!("xds.istio.io/grpc/lds/inbound/{addr}");
    let policy = ServerPolicyHandle::from_xds(&server_xds, &name, addr).await.expect("inbound listener");
    let backend = MeshBackend::grpc_on(tcp, "reviews", policy, Some(&server_identity)).unwrap();
    let pp = client(&m, "productpage", Some("4s")).await;
    let client_identity = identity(&pp).await;
    let server_rotations = count_rotations(&server_identity);
    let client_rotations = count_rotations(&client_identity);

    // 4 workers call continuously for ~7 s; each opens a new channel (new connection, new
    // handshake with whatever certificates are current) every 20 calls.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(7);
    let (ok, failed, channels) =
        (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let mut workers = Vec::new();
    for _ in 0..4 {
        let (pp, ok, failed, channels) = (pp.clone(), ok.clone(), failed.clone(), channels.clone());
        workers.push(tokio::spawn(async move {
            // Bounded in time and in count.
            while tokio::time::Instant::now() < deadline && ok.load(Ordering::SeqCst) < 200_000 {
                let ch = MeshChannel::from_xds(&pp, TARGET).await.expect("channel");
                channels.fetch_add(1, Ordering::SeqCst);
                for _ in 0..20 {
                    match echo(&ch).await {
                        Ok(_) => ok.fetch_add(1, Ordering::SeqCst),
                        Err(e) => {
                            eprintln!("failed call: {e:?}");
                            failed.fetch_add(1, Ordering::SeqCst)
                        }
                    };
                }
            }
        }));
    }
    for w in workers {
        w.await.unwrap();
    }
    let (ok, failed) = (ok.load(Ordering::SeqCst), failed.load(Ordering::SeqCst));
    let (sr, cr) = (server_rotations.load(Ordering::SeqCst), client_rotations.load(Ordering::SeqCst));
    eprintln!(
        "calls ok={ok} failed={failed} channels={} server_rotations={sr} client_rotations={cr} handshakes={}",
        channels.load(Ordering::SeqCst),
        backend.policy().stats().tls_handshakes()
    );
    assert_eq!(failed, 0, "no request may fail across rotations");
    assert!(sr >= 2 && cr >= 2, "certificates rotated: server {sr}, client {cr}");
    assert!(backend.policy().stats().tls_handshakes() as usize >= channels.load(Ordering::SeqCst));
    assert_eq!(backend.policy().stats().tls_failures(), 0);
    m.cp.shutdown().await;
    std::fs::remove_dir_all(&m.dir).ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_authentication_edit_applies_to_a_running_server() {
    let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = tcp.local_addr().unwrap();
    let m = control_plane_with(addr.port(), &config_with(addr.port(), "PERMISSIVE", false)).await;
    let server_xds = client(&m, "reviews", None).await;
    let server_identity = identity(&server_xds).await;
    let name = format!("xds.istio.io/grpc/lds/inbound/{addr}");
    let policy = ServerPolicyHandle::from_xds(&server_xds, &name, addr).await.expect("inbound listener");
    assert_eq!(policy.load().mtls(), Some(mesh::core::authz::MtlsMode::Permissive));
    let backend = MeshBackend::grpc_on(tcp, "reviews", policy.clone(), Some(&server_identity)).unwrap();
    let plain = || async {
        let ch = tonic::transport::Endpoint::from_shared(format!("http://{addr}")).unwrap().connect_lazy();
        EchoClient::new(ch).echo(EchoRequest { payload: bytes::Bytes::from_static(b"x") }).await
    };
    assert_eq!(plain().await.unwrap().into_inner().server, "reviews", "PERMISSIVE serves plaintext");
    let pp = client(&m, "productpage", None).await;
    identity(&pp).await;
    let mtls = MeshChannel::from_xds(&pp, TARGET).await.expect("channel");
    assert_eq!(echo(&mtls).await.unwrap(), "reviews");

    // The operator tightens the PeerAuthentication to STRICT: pushed, applied live.
    let mut changes = policy.subscribe();
    changes.borrow_and_update();
    rewrite(&m, &config_with(addr.port(), "STRICT", false));
    tokio::time::timeout(
        std::time::Duration::from_secs(20),
        changes.wait_for(|_| policy.load().mtls() == Some(mesh::core::authz::MtlsMode::Strict)),
    )
    .await
    .expect("the edit reaches the server")
    .unwrap();
    assert!(plain().await.is_err(), "a new plaintext connection is refused");
    assert_eq!(echo(&mtls).await.unwrap(), "reviews", "mTLS traffic continues");
    assert!(backend.policy().stats().refused_plaintext() >= 1);
    m.cp.shutdown().await;
    std::fs::remove_dir_all(&m.dir).ok();
}
