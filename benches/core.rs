//! Micro-benchmarks of the per-request decisions in `mesh-core`: route matching and the
//! load-balancing pickers, at growing table and ready-set sizes.
//!
//! Criterion measures each case; afterwards, in the same process, plain timed loops
//! (fastest of five rounds) measure P2C at 10 and 10 000 endpoints and route matching at
//! 1 000 routes, and one machine-readable line is printed whose `p2c_growth` is the ratio
//! of the two P2C figures (the picker draws candidates from an alias table, so it should
//! stay close to 1):
//!
//! ```text
//! core: p2c_ns_10=<ns> p2c_ns_10000=<ns> p2c_growth=<ratio> route_ns_1000=<ns>
//! ```
//!
//! Run with `cargo bench --bench core -- --warm-up-time 1 --measurement-time 2`.

// A bench binary reports on stdout, as a binary would.
#![allow(clippy::print_stdout)]

use std::borrow::Cow;
use std::hint::black_box;
use std::time::Instant;

use criterion::{BenchmarkId, Criterion};
use mesh_core::lb::{LbEndpoint, LbPolicy, PickContext, Picker};
use mesh_core::matcher::{HeaderMatch, HeaderMatcher, RequestAttributes, StringMatcher};
use mesh_core::route::{
    Destination, PathMatch, Route, RouteAction, RouteMatch, RouteTable, VirtualHost, WeightedDestinations,
};

const ROUTE_COUNTS: [usize; 3] = [10, 100, 1000];
const ENDPOINT_COUNTS: [usize; 3] = [10, 1000, 10_000];
const AUTHORITY: &str = "svc.bench.local";

/// A request as the route layer sees it.
struct Req {
    path: String,
    headers: Vec<(&'static str, String)>,
}

impl RequestAttributes for Req {
    fn authority(&self) -> &str {
        AUTHORITY
    }
    fn path(&self) -> &str {
        &self.path
    }
    fn query(&self) -> Option<&str> {
        None
    }
    fn method(&self) -> &str {
        "POST"
    }
    fn for_each_header_value(&self, name: &str, f: &mut dyn FnMut(&str)) {
        for (k, v) in &self.headers {
            if *k == name {
                f(v);
            }
        }
    }
}

/// One virtual host with `n` routes, route `i` matching prefix `/svc{i}/` and header
/// `x-version: v{i}`.
fn route_table(n: usize) -> RouteTable {
    let routes = (0..n)
        .map(|i| {
            let header =
                HeaderMatcher::new("x-version", HeaderMatch::Value(StringMatcher::exact(format!("v{i}"))), false)
                    .expect("valid header matcher");
            let matcher = RouteMatch::new(PathMatch::Prefix(format!("/svc{i}/")), false)
                .expect("valid path")
                .with_headers(vec![header]);
            let dest = WeightedDestinations::single(Destination::new(format!("cluster-{i}"), None));
            Route::new(format!("route-{i}"), matcher, RouteAction::new(dest))
        })
        .collect();
    let vh = VirtualHost::new("bench", &[AUTHORITY, "*.bench.local"], routes).expect("valid virtual host");
    RouteTable::new(vec![vh]).expect("valid route table")
}

/// A request that matches route `i` (and no route before it).
fn request_for(i: usize) -> Req {
    Req {
        path: format!("/svc{i}/Method"),
        headers: vec![("content-type", "application/grpc".into()), ("x-version", format!("v{i}"))],
    }
}

/// An endpoint as a picker sees it.
struct Ep {
    weight: u32,
    in_flight: u64,
    key: String,
}

impl LbEndpoint for Ep {
    fn weight(&self) -> u32 {
        self.weight
    }
    fn in_flight(&self) -> u64 {
        self.in_flight
    }
    fn hash_key(&self) -> Cow<'_, str> {
        Cow::Borrowed(&self.key)
    }
}

/// `n` endpoints with weights 1..=8 and in-flight counts 0..32, from a fixed seed.
fn endpoints(n: usize) -> Vec<Ep> {
    let mut rng = fastrand::Rng::with_seed(42);
    (0..n)
        .map(|i| Ep {
            weight: rng.u32(1..=8),
            in_flight: rng.u64(0..32),
            key: format!("10.{}.{}.{}:8080", i >> 16, (i >> 8) & 0xff, i & 0xff),
        })
        .collect()
}

/// Successive request hashes for ring hash: a Weyl sequence, spread over the ring at the
/// cost of one addition.
fn next_hash(h: &mut u64) -> u64 {
    *h = h.wrapping_add(0x9E37_79B9_7F4A_7C15);
    *h
}

fn bench_route_match(c: &mut Criterion) {
    for (group_name, target) in [("route_match", last as fn(usize) -> usize), ("route_match_middle", middle)] {
        let mut group = c.benchmark_group(group_name);
        for n in ROUTE_COUNTS {
            let table = route_table(n);
            let req = request_for(target(n));
            let expected = format!("route-{}", target(n));
            let (_, route) = table.route(&req).expect("the request matches");
            assert_eq!(route.name(), expected);
            group.bench_with_input(BenchmarkId::from_parameter(n), &req, |b, req| {
                b.iter(|| table.route(black_box(req)).map(|(_, r)| r.name().len()))
            });
        }
        group.finish();
    }
}

fn last(n: usize) -> usize {
    n - 1
}

fn middle(n: usize) -> usize {
    n / 2
}

fn bench_pickers(c: &mut Criterion) {
    let policies = [
        ("p2c_pick", LbPolicy::default()),
        ("ring_hash_pick", LbPolicy::ring_hash_default()),
        ("round_robin_pick", LbPolicy::RoundRobin),
    ];
    for (group_name, policy) in policies {
        let mut group = c.benchmark_group(group_name);
        for n in ENDPOINT_COUNTS {
            let eps = endpoints(n);
            let picker = Picker::build(&policy, &eps);
            let mut rng = fastrand::Rng::with_seed(7);
            let mut hash = 0u64;
            let hashed = matches!(policy, LbPolicy::RingHash { .. });
            group.bench_with_input(BenchmarkId::from_parameter(n), &eps, |b, eps| {
                b.iter(|| {
                    let ctx = PickContext { hash: hashed.then(|| next_hash(&mut hash)) };
                    picker.pick(black_box(eps), &ctx, &mut rng)
                })
            });
        }
        group.finish();
    }
}

/// Repetitions of each timed loop; the fastest is reported, as the one least disturbed
/// by whatever else the machine was doing (other builds, other benches).
const TIMING_ROUNDS: usize = 5;

/// Nanoseconds per call of `op`, over `iters` calls, fastest of [`TIMING_ROUNDS`]
/// rounds after a warm-up round.
fn time_per_op(iters: u32, mut op: impl FnMut()) -> f64 {
    for _ in 0..iters {
        op();
    }
    (0..TIMING_ROUNDS)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..iters {
                op();
            }
            start.elapsed().as_nanos() as f64 / f64::from(iters)
        })
        .fold(f64::INFINITY, f64::min)
}

/// Nanoseconds per P2C pick over `n` endpoints.
fn time_p2c(n: usize, picks: u32) -> f64 {
    let eps = endpoints(n);
    let picker = Picker::build(&LbPolicy::default(), &eps);
    let mut rng = fastrand::Rng::with_seed(7);
    let ctx = PickContext::default();
    time_per_op(picks, || {
        black_box(picker.pick(black_box(&eps), &ctx, &mut rng));
    })
}

/// Nanoseconds per route match of the last of `n` routes.
fn time_route(n: usize, matches: u32) -> f64 {
    let table = route_table(n);
    let req = request_for(n - 1);
    time_per_op(matches, || {
        black_box(table.route(black_box(&req)).map(|(_, r)| r.name().len()).ok());
    })
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    bench_route_match(&mut c);
    bench_pickers(&mut c);
    c.final_summary();

    // Without `--bench` (e.g. `cargo test --benches`) criterion only checks that each
    // case runs once, and `--list` only lists them: no timing then.
    let args: Vec<String> = std::env::args().collect();
    if !args.iter().any(|a| a == "--bench") || args.iter().any(|a| a == "--list" || a == "--test") {
        return;
    }
    let p2c_10 = time_p2c(10, 1_000_000);
    let p2c_10000 = time_p2c(10_000, 1_000_000);
    let route_1000 = time_route(1000, 20_000);
    println!(
        "core: p2c_ns_10={p2c_10:.1} p2c_ns_10000={p2c_10000:.1} p2c_growth={:.2} route_ns_1000={route_1000:.1}",
        p2c_10000 / p2c_10
    );
}
