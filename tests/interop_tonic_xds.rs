//! Interop with tonic-xds (crates.io), the Rust proxyless xDS client: the same Istio
//! YAML, served by mesh-control, and the same bootstrap file drive tonic-xds's channel
//! and our `MeshChannel`, and both must route per the YAML (`end-user: jason` → v2,
//! others 50/50 v1/v3).
//!
//! tonic-xds is a dev-dependency, so this peer is never missing.
//!
//! Known gap (tonic-xds 0.1.0-alpha.4): it cannot read the canonical bootstrap, whose
//! `server_uri` is a gRPC target (`127.0.0.1:PORT`, what grpcio, grpc-go and our client
//! read). Its xds-client hands the string to `tonic::transport::Endpoint`, which needs a
//! URL scheme: the ADS connect fails ("invalid URL, scheme is missing"), silently and
//! forever, and RPCs wait for a route configuration that never comes. It needs
//! `http://127.0.0.1:PORT`, which our client accepts too; grpcio does not (it looks the
//! whole string up as a DNS name: "Misformatted domain name"). So tonic-xds and our
//! client share the canary's `bootstrap_http`, and
//! `a_schemeless_server_uri_never_reaches_the_control_plane` pins the gap: when it fails,
//! tonic-xds has fixed it, and the canonical bootstrap can serve all three clients.

// Test helpers outside #[test] functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used)]

mod interop;

use std::path::Path;
use std::time::Duration;

use interop::{Canary, TARGET, Tally};
use mesh_testkit::{EchoClient, EchoRequest};
use mesh_xds::server::ServerEvent;
use tonic_xds::{BootstrapConfig, XdsChannelBuilder, XdsChannelConfig, XdsChannelGrpc, XdsUri};

fn channel(bootstrap: &Path) -> Result<XdsChannelGrpc, String> {
    let json = std::fs::read_to_string(bootstrap).unwrap();
    let bootstrap = BootstrapConfig::from_json(&json).map_err(|e| format!("bootstrap rejected: {e}"))?;
    let target = XdsUri::parse(TARGET).unwrap();
    XdsChannelBuilder::new(XdsChannelConfig::new(target).with_bootstrap(bootstrap))
        .build_grpc_channel()
        .map_err(|e| format!("build_grpc_channel: {e}"))
}

/// tonic-xds's channel, configured by the bootstrap file at `bootstrap`.
async fn tonic_xds_tally(bootstrap: &Path) -> Tally {
    match channel(bootstrap) {
        Ok(ch) => interop::tally(ch).await,
        Err(e) => Tally::failed(e),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tonic_xds_and_mesh_follow_the_same_canary() {
    let canary = Canary::start("tonic-xds").await;
    // One file for both: `server_uri` is a URL, the form tonic-xds needs (see the module docs).
    let mesh = interop::mesh_tally(&canary.bootstrap_http).await;
    let tonic_xds = tonic_xds_tally(&canary.bootstrap_http).await;
    interop::assert_all_follow_the_canary(&[("mesh", &mesh), ("tonic-xds", &tonic_xds)]);
}

/// The gap above, pinned: with `server_uri: "127.0.0.1:PORT"` tonic-xds accepts the
/// bootstrap and builds a channel, but never opens an ADS stream, and its first RPC gets
/// no answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_schemeless_server_uri_never_reaches_the_control_plane() {
    let canary = Canary::start("tonic-xds-schemeless").await;
    let mut events = canary.cp.ads().events();
    let mut client = EchoClient::new(channel(&canary.bootstrap).expect("tonic-xds accepts the bootstrap"));
    let connected = async {
        loop {
            match events.recv().await {
                Ok(ServerEvent::Connected { .. }) => break,
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(tokio::sync::broadcast::error::RecvError::Closed) => std::future::pending().await,
            }
        }
    };
    // A bounded wait for what must not happen: an ADS stream, or an answer.
    let happened = tokio::time::timeout(Duration::from_secs(3), async {
        tokio::select! {
            reply = client.echo(EchoRequest::default()) => format!("the first RPC ended: {reply:?}"),
            () = connected => "an ADS stream was opened".to_string(),
        }
    })
    .await;
    if let Ok(what) = happened {
        panic!(
            "{what}: tonic-xds now handles a scheme-less server_uri; give it the canonical \
             bootstrap in tonic_xds_and_mesh_follow_the_same_canary, and drop this test"
        );
    }
}
