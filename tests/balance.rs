//! Load balancing over real backends: P2C least-request steers away from a slow
//! endpoint, ring hash keeps a key on one endpoint, unhealthy endpoints get nothing.

mod common;

use std::time::Duration;

use common::*;
use mesh_testkit::Backend;

const ALL: &str = "      - route: { destinations: [{ cluster: svc }] }\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn p2c_sends_fewer_requests_to_the_endpoint_that_holds_them_longer() {
    let slow = Backend::grpc("slow").await.unwrap();
    let fast = Backend::grpc("fast").await.unwrap();
    slow.state().set_hold(Duration::from_millis(20));
    let ch = channel(&handle(&config(ALL, &[&slow, &fast], "")));
    let n = 1_000;
    let served = run(n, 16, {
        let ch = ch.clone();
        move |_| {
            let ch = ch.clone();
            async move { echo(&ch).await.expect("call") }
        }
    })
    .await;
    let to_slow = served.iter().filter(|s| *s == "slow").count();
    // Round robin would send 50 %; least request sends the slow endpoint only what the
    // fast one cannot absorb. Measured ≈ 2-6 %; 20 % leaves room for a loaded machine.
    assert!(to_slow * 5 < n, "slow endpoint got {to_slow} of {n}");
    assert!(to_slow > 0, "P2C still probes the slow endpoint");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ring_hash_keeps_a_key_on_one_endpoint() {
    let (a, b, c) =
        (Backend::grpc("a").await.unwrap(), Backend::grpc("b").await.unwrap(), Backend::grpc("c").await.unwrap());
    let routes = "      - route: { destinations: [{ cluster: svc }], hash_policy: [{ header: x-user }] }\n";
    let ch = channel(&handle(&config(routes, &[&a, &b, &c], "    lb: ring_hash\n")));
    let mut owners = std::collections::HashSet::new();
    for user in 0..30 {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..5 {
            seen.insert(
                echo_with(&ch, |r| {
                    r.metadata_mut().insert("x-user", user.to_string().parse().unwrap());
                })
                .await
                .unwrap(),
            );
        }
        assert_eq!(seen.len(), 1, "user {user} moved between {seen:?}");
        owners.extend(seen);
    }
    assert_eq!(owners.len(), 3, "30 keys spread over all three endpoints");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unhealthy_and_draining_endpoints_get_no_requests() {
    let (a, b, c) =
        (Backend::grpc("a").await.unwrap(), Backend::grpc("b").await.unwrap(), Backend::grpc("c").await.unwrap());
    let yaml = format!(
        "virtual_hosts: [{{ name: svc, domains: [svc], routes: [{{ route: {{ destinations: [{{ cluster: svc }}] }} }}] }}]\nclusters:\n  - name: svc\n    endpoints:\n      - {{ address: \"{}\", health: unhealthy }}\n      - {{ address: \"{}\", health: healthy }}\n      - {{ address: \"{}\", health: draining }}\n",
        a.addr(),
        b.addr(),
        c.addr()
    );
    let ch = channel(&handle(&yaml));
    for _ in 0..50 {
        assert_eq!(echo(&ch).await.unwrap(), "b");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endpoint_weights_shape_the_split() {
    let (a, b) = (Backend::grpc("a").await.unwrap(), Backend::grpc("b").await.unwrap());
    let yaml = format!(
        "virtual_hosts: [{{ name: svc, domains: [svc], routes: [{{ route: {{ destinations: [{{ cluster: svc }}] }} }}] }}]\nclusters:\n  - name: svc\n    lb: random\n    endpoints:\n      - {{ address: \"{}\", weight: 1 }}\n      - {{ address: \"{}\", weight: 3 }}\n",
        a.addr(),
        b.addr()
    );
    let ch = channel(&handle(&yaml));
    let n = 1_000;
    let served = run(n, 8, {
        let ch = ch.clone();
        move |_| {
            let ch = ch.clone();
            async move { echo(&ch).await.unwrap() }
        }
    })
    .await;
    assert_share("weight 3 of 4", served.iter().filter(|s| *s == "b").count(), n, 0.75);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lower_priorities_serve_only_when_higher_ones_cannot() {
    let (a, b, c) =
        (Backend::grpc("a").await.unwrap(), Backend::grpc("b").await.unwrap(), Backend::grpc("c").await.unwrap());
    let yaml = |c_health: &str| {
        format!(
            "virtual_hosts: [{{ name: svc, domains: [svc], routes: [{{ route: {{ destinations: [{{ cluster: svc }}] }} }}] }}]\nclusters:\n  - name: svc\n    endpoints:\n      - {{ address: \"{}\", health: unhealthy }}\n      - {{ address: \"{}\", priority: 1 }}\n      - {{ address: \"{}\", health: {c_health} }}\n",
            a.addr(),
            b.addr(),
            c.addr()
        )
    };
    let cfg = handle(&yaml("healthy"));
    let ch = channel(&cfg);
    for _ in 0..20 {
        assert_eq!(echo(&ch).await.unwrap(), "c", "priority 0 has a serving endpoint");
    }
    cfg.update(mesh::core::config::from_yaml(&yaml("unhealthy")).unwrap());
    for _ in 0..20 {
        assert_eq!(echo(&ch).await.unwrap(), "b", "priority 0 has none left: fail over to priority 1");
    }
}
