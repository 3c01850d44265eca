//! How fast a live channel follows a large xDS update: an EDS update of 10,000 endpoints
//! and a route configuration of 1,000 routes, pushed by a real ADS server on loopback to
//! a `MeshChannel` built with `MeshChannel::from_xds`.
//!
//! Measured: from the moment the server's cache is changed (the push starts) to the
//! moment the channel's configuration is swapped — after which every new request uses
//! it. This includes the server encoding and sending the response, the client decoding,
//! validating and translating it, assembling the target's snapshot and building its
//! balancers; so it is an upper bound of "response arrived → config used".
//! After each RDS update a request is sent along the newly added last route to check the
//! new table really serves. Prints, last:
//!
//! `xds_apply: eds_10k_ms=<median> rds_1k_ms=<median>`
#![allow(clippy::print_stdout, clippy::unwrap_used, missing_docs)]

use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use envoy_types::pb::envoy::config::core::v3::Node;
use envoy_types::pb::envoy::config::route::v3::Route;
use mesh::MeshChannel;
use mesh_testkit::xds::{cluster_eds, endpoints, listener, route_config, route_header, route_to};
use mesh_testkit::{Backend, ControlPlane, EchoClient, EchoRequest};
use mesh_xds::client::{ClientOptions, ServerConfig, XdsClient};
use mesh_xds::type_url::{CLUSTER, ENDPOINT, LISTENER, ROUTE};

fn fake_endpoints(n: usize, salt: u16) -> Vec<SocketAddr> {
    // Documentation-range addresses: never connected to (no request goes to `big`).
    (0..n)
        .map(|i| {
            SocketAddr::from((Ipv4Addr::new(192, 0, 2, (i % 250) as u8 + 1), 10_000 + (i / 250) as u16 * 7 + salt))
        })
        .collect()
}

fn routes(n: usize, generation: usize) -> Vec<Route> {
    let mut r: Vec<Route> =
        (0..n - 1).map(|i| route_header("x-route", &format!("r{generation}-{i}"), "echo")).collect();
    r.push(route_to("echo"));
    r
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

async fn applied(ch: &MeshChannel, f: impl FnOnce()) -> Duration {
    let mut rx = ch.config().subscribe();
    rx.borrow_and_update();
    let start = Instant::now();
    f();
    tokio::time::timeout(Duration::from_secs(60), rx.changed()).await.expect("applied").unwrap();
    start.elapsed()
}

fn main() {
    let quick = !std::env::args().any(|a| a == "--bench");
    let rounds = if quick { 1 } else { 7 };
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async move {
        let backend = Backend::grpc("echo").await.unwrap();
        let cp = ControlPlane::start().await;
        cp.cache.set(LISTENER, "bench:80", listener("bench:80", "bench-routes"));
        cp.cache.set(ROUTE, "bench-routes", route_config("bench-routes", &["bench:80"], routes(1000, 0)));
        for c in ["echo", "big"] {
            cp.cache.set(CLUSTER, c, cluster_eds(c));
        }
        cp.cache.set(ENDPOINT, "echo", endpoints("echo", &[backend.addr()]));
        cp.cache.set(ENDPOINT, "big", endpoints("big", &fake_endpoints(10_000, 0)));
        // "big" must be referenced for the client to subscribe to it.
        let mut rs = routes(1000, 0);
        rs.insert(0, route_header("x-big", "1", "big"));
        cp.cache.set(ROUTE, "bench-routes", route_config("bench-routes", &["bench:80"], rs));

        for delta in [false, true] {
            let xds = XdsClient::new(
                vec![ServerConfig::new(cp.uri()).delta(delta)],
                Node { id: "bench".into(), ..Default::default() },
                ClientOptions::default(),
            );
            let ch = MeshChannel::from_xds(&xds, "xds:///bench:80").await.unwrap();
            let mut client = EchoClient::new(ch.clone());
            client.echo(EchoRequest::default()).await.unwrap();

            let (mut eds, mut rds) = (Vec::new(), Vec::new());
            for round in 1..=rounds {
                let eps = fake_endpoints(10_000, round as u16 % 7);
                let t = applied(&ch, || cp.cache.set(ENDPOINT, "big", endpoints("big", &eps))).await;
                let big = ch.config().snapshot().cluster("big").map(|c| c.endpoints().len());
                assert_eq!(big, Some(10_000));
                eds.push(t.as_secs_f64() * 1e3);

                let mut rs = routes(1000, round);
                rs.insert(0, route_header("x-big", "1", "big"));
                let t = applied(&ch, || {
                    cp.cache.set(ROUTE, "bench-routes", route_config("bench-routes", &["bench:80"], rs))
                })
                .await;
                rds.push(t.as_secs_f64() * 1e3);
                let mut req = tonic::Request::new(EchoRequest::default());
                req.metadata_mut().insert("x-route", format!("r{round}-998").parse().unwrap());
                assert_eq!(client.echo(req).await.unwrap().into_inner().server, "echo");
            }
            println!(
                "{}: eds_10k_ms median={:.1} min={:.1} | rds_1k_ms median={:.1} min={:.1} ({rounds} rounds)",
                if delta { "delta" } else { "sotw" },
                median(eds.clone()),
                eds.iter().cloned().fold(f64::MAX, f64::min),
                median(rds.clone()),
                rds.iter().cloned().fold(f64::MAX, f64::min),
            );
            if !delta {
                continue;
            }
            // The last line: State-of-the-World figures are printed above; Delta is the
            // protocol a large mesh would use for EDS, so it is the headline.
            println!("xds_apply: eds_10k_ms={:.1} rds_1k_ms={:.1}", median(eds), median(rds));
        }
    });
}
