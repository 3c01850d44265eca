//! Property tests for the pure decisions of `mesh-core`: string and host matching,
//! first-match-wins routing, weighted destinations, load-balancing pickers, retry
//! conditions, backoff and duration parsing.
//!
//! Statistical properties draw from a seeded `fastrand::Rng` (the seed is part of the
//! generated input, so a failure is reproducible) and allow five standard deviations of
//! the binomial around the expected count: a correct implementation fails such a bound
//! with probability below 10⁻⁶ per check.

use std::borrow::Cow;
use std::time::Duration;

use mesh_core::duration::parse_duration;
use mesh_core::lb::{LbEndpoint, LbPolicy, PickContext, Picker};
use mesh_core::matcher::{HostMatcher, RequestAttributes, StringMatcher};
use mesh_core::retry::{Backoff, RetryOn};
use mesh_core::route::{
    Destination, PathMatch, Route, RouteAction, RouteMatch, RouteTable, VirtualHost,
    WeightedDestinations,
};
use proptest::prelude::*;

// --- fixtures -------------------------------------------------------------------------

/// Modest case counts keep the whole file at a few seconds in debug builds; failures are
/// not persisted to disk (the failing input is printed instead).
fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// A plain request for route matching.
#[derive(Debug, Clone, Default)]
struct Req {
    authority: String,
    path: String,
    query: Option<String>,
    method: String,
    headers: Vec<(String, String)>,
}

impl Req {
    fn new(authority: &str, path: &str) -> Self {
        Self {
            authority: authority.into(),
            path: path.into(),
            method: "GET".into(),
            ..Self::default()
        }
    }
}

impl RequestAttributes for Req {
    fn authority(&self) -> &str {
        &self.authority
    }
    fn path(&self) -> &str {
        &self.path
    }
    fn query(&self) -> Option<&str> {
        self.query.as_deref()
    }
    fn method(&self) -> &str {
        &self.method
    }
    fn for_each_header_value(&self, name: &str, f: &mut dyn FnMut(&str)) {
        for (k, v) in &self.headers {
            if k == name {
                f(v);
            }
        }
    }
}

/// An endpoint for the pickers.
#[derive(Debug, Clone)]
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

fn endpoints(weights: &[u32], in_flight: &[u64]) -> Vec<Ep> {
    weights
        .iter()
        .enumerate()
        .map(|(i, &weight)| Ep {
            weight,
            in_flight: in_flight.get(i).copied().unwrap_or(0),
            key: format!("10.0.{}.{}:8080", i / 256, i % 256),
        })
        .collect()
}

/// Every policy, with non-default parameters too.
fn all_policies() -> Vec<LbPolicy> {
    vec![
        LbPolicy::default(),
        LbPolicy::least_request(3).expect("valid choice count"),
        LbPolicy::RoundRobin,
        LbPolicy::Random,
        LbPolicy::ring_hash_default(),
        LbPolicy::ring_hash(1, 64).expect("valid ring sizes"),
    ]
}

fn action(cluster: &str) -> RouteAction {
    RouteAction::new(WeightedDestinations::single(Destination::new(
        cluster, None,
    )))
}

/// Checks that `observed` of `n` draws is within five standard deviations of the
/// binomial with success probability `p` (plus one, for tiny `p`).
fn within_binomial(observed: usize, n: usize, p: f64) -> Result<(), TestCaseError> {
    let expected = n as f64 * p;
    let sigma = (n as f64 * p * (1.0 - p)).sqrt();
    let bound = 5.0 * sigma + 1.0;
    prop_assert!(
        (observed as f64 - expected).abs() <= bound,
        "observed {observed} of {n}, expected {expected:.1} ± {bound:.1} (p = {p:.5})"
    );
    Ok(())
}

/// Strings over a small alphabet so that prefixes, suffixes and case-insensitive
/// collisions are common; includes multi-byte characters (`é`, `É`, the Kelvin sign,
/// which Unicode — but not ASCII — lowercases to `k`).
fn small_string() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "[aAbBkK/\\-é\u{c9}\u{212a}\u{1f600}]{0,8}",
        1 => any::<String>(),
    ]
}

/// Flips the ASCII case of the characters selected by `mask`.
fn flip_case(s: &str, mask: u64) -> String {
    s.chars()
        .enumerate()
        .map(|(i, c)| {
            if mask >> (i % 64) & 1 == 0 {
                c
            } else if c.is_ascii_lowercase() {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect()
}

/// `(value, pattern)` pairs: independent, or the pattern cut out of the value, with the
/// pattern's ASCII case randomly flipped half the time.
fn value_and_pattern() -> impl Strategy<Value = (String, String)> {
    let independent = (small_string(), small_string());
    let infix = (small_string(), small_string(), small_string())
        .prop_map(|(a, b, c)| (format!("{a}{b}{c}"), b));
    let prefix = (small_string(), small_string()).prop_map(|(a, b)| (format!("{a}{b}"), a));
    let suffix = (small_string(), small_string()).prop_map(|(a, b)| (format!("{a}{b}"), b));
    let same = small_string().prop_map(|a| (a.clone(), a));
    let pair = prop_oneof![independent, infix, prefix, suffix, same];
    (pair, any::<bool>(), any::<u64>()).prop_map(|((value, pattern), flip, mask)| {
        (
            value,
            if flip {
                flip_case(&pattern, mask)
            } else {
                pattern
            },
        )
    })
}

// --- string matcher -------------------------------------------------------------------

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn string_matcher_agrees_with_std((value, pattern) in value_and_pattern()) {
        let p = pattern.as_str();
        prop_assert_eq!(StringMatcher::exact(p).matches(&value), value == pattern, "exact");
        prop_assert_eq!(StringMatcher::prefix(p).matches(&value), value.starts_with(p), "prefix");
        prop_assert_eq!(StringMatcher::suffix(p).matches(&value), value.ends_with(p), "suffix");
        prop_assert_eq!(StringMatcher::contains(p).matches(&value), value.contains(p), "contains");
    }

    #[test]
    fn string_matcher_ignore_case_agrees_with_ascii_lowercase((value, pattern) in value_and_pattern()) {
        let (v, p) = (value.to_ascii_lowercase(), pattern.to_ascii_lowercase());
        let m = |m: StringMatcher| m.ignore_case(true).matches(&value);
        prop_assert_eq!(m(StringMatcher::exact(pattern.as_str())), v == p, "exact");
        prop_assert_eq!(m(StringMatcher::prefix(pattern.as_str())), v.starts_with(&p), "prefix");
        prop_assert_eq!(m(StringMatcher::suffix(pattern.as_str())), v.ends_with(&p), "suffix");
        prop_assert_eq!(m(StringMatcher::contains(pattern.as_str())), v.contains(&p), "contains");
    }

    #[test]
    fn regex_of_escaped_literal_matches_exactly_that_literal(
        (other, literal) in value_and_pattern(),
        extra in small_string(),
    ) {
        let m = StringMatcher::regex(&regex::escape(&literal)).expect("an escaped literal is a valid regex");
        prop_assert!(m.matches(&literal));
        prop_assert_eq!(m.matches(&other), other == literal, "{:?}", other);
        let longer = format!("{literal}{extra}");
        prop_assert_eq!(m.matches(&longer), extra.is_empty(), "{:?}", longer);
        let longer = format!("{extra}{literal}");
        prop_assert_eq!(m.matches(&longer), extra.is_empty(), "{:?}", longer);
    }
}

// --- hosts ----------------------------------------------------------------------------

/// One or more DNS labels, in mixed case.
fn dns_name() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9]([a-zA-Z0-9-]{0,12}[a-zA-Z0-9])?(\\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,12}[a-zA-Z0-9])?){0,2}"
}

fn host_table(exact: &str, with_any: bool) -> RouteTable {
    let mut hosts = vec![
        VirtualHost::new(
            "wildcard",
            &["*.example.com"],
            vec![Route::new("w", RouteMatch::any(), action("w"))],
        )
        .expect("valid virtual host"),
        VirtualHost::new(
            "exact",
            &[exact],
            vec![Route::new("e", RouteMatch::any(), action("e"))],
        )
        .expect("valid virtual host"),
    ];
    if with_any {
        hosts.push(
            VirtualHost::new(
                "any",
                &["*"],
                vec![Route::new("a", RouteMatch::any(), action("a"))],
            )
            .expect("valid virtual host"),
        );
    }
    RouteTable::new(hosts).expect("valid table")
}

fn vhost_name<'a>(table: &'a RouteTable, authority: &str) -> Option<&'a str> {
    table.virtual_host(authority).map(VirtualHost::name)
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn suffix_wildcard_matches_any_subdomain_but_not_the_bare_domain(name in dns_name(), port in 1u16..) {
        let m = HostMatcher::parse("*.example.com").expect("valid domain");
        let host = format!("{name}.example.com");
        prop_assert!(m.matches(&host.to_ascii_lowercase()));
        prop_assert!(!m.matches("example.com"));

        let table = host_table("exact.invalid", false);
        prop_assert_eq!(vhost_name(&table, &host), Some("wildcard"));
        prop_assert_eq!(vhost_name(&table, &format!("{host}:{port}")), Some("wildcard"));
        prop_assert_eq!(vhost_name(&table, "example.com"), None);
        prop_assert_eq!(vhost_name(&table, &format!("example.com:{port}")), None);
        prop_assert_eq!(vhost_name(&table, &format!("{name}.example.com.evil")), None);
    }

    #[test]
    fn exact_domain_beats_suffix_wildcard(exact in dns_name(), other in dns_name(), port in 1u16..) {
        let exact_host = format!("{exact}.example.com");
        let table = host_table(&exact_host, false);
        prop_assert_eq!(vhost_name(&table, &exact_host), Some("exact"));
        prop_assert_eq!(vhost_name(&table, &exact_host.to_ascii_uppercase()), Some("exact"));
        prop_assert_eq!(vhost_name(&table, &format!("{exact_host}:{port}")), Some("exact"));
        let other_host = format!("{other}.example.com");
        let expected = if other_host.eq_ignore_ascii_case(&exact_host) { "exact" } else { "wildcard" };
        prop_assert_eq!(vhost_name(&table, &other_host), Some(expected));
    }

    /// `RouteTable::virtual_host` documents that `reviews` serves `reviews:9080` unless a
    /// domain names the port; a catch-all `*` does not name the port.
    #[test]
    fn exact_domain_beats_catch_all_with_port(exact in dns_name(), port in 1u16..) {
        let table = host_table(&exact, true);
        prop_assert_eq!(vhost_name(&table, &exact), Some("exact"));
        prop_assert_eq!(vhost_name(&table, &format!("{exact}:{port}")), Some("exact"));
    }
}

// --- route table ----------------------------------------------------------------------

proptest! {
    #![proptest_config(config(128))]

    #[test]
    fn first_matching_route_wins(
        paths in prop::collection::btree_set("/[a-z0-9]{1,6}", 1..16),
        probe in "/[a-z0-9]{0,7}",
        pick in any::<prop::sample::Index>(),
        use_probe in any::<bool>(),
    ) {
        let paths: Vec<String> = paths.into_iter().collect();
        let mut routes: Vec<Route> = paths
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let m = RouteMatch::new(PathMatch::Exact(p.clone()), false).expect("valid path");
                Route::new(format!("r{i}"), m, action(&format!("c{i}")))
            })
            .collect();
        routes.push(Route::new("catch-all", RouteMatch::any(), action("default")));
        let vh = VirtualHost::new("vh", &["svc"], routes).expect("valid virtual host");
        let table = RouteTable::new(vec![vh]).expect("valid table");

        let path = if use_probe { probe } else { pick.get(&paths).clone() };
        let (_, route) = table.route(&Req::new("svc", &path)).expect("the catch-all matches everything");
        let expected = match paths.iter().position(|p| *p == path) {
            Some(i) => format!("r{i}"),
            None => "catch-all".to_string(),
        };
        prop_assert_eq!(route.name(), expected.as_str());
    }
}

// --- weighted destinations ------------------------------------------------------------

fn destinations(weights: &[u32]) -> WeightedDestinations {
    let entries = weights
        .iter()
        .enumerate()
        .map(|(i, &w)| (Destination::new(format!("c{i}"), None), w))
        .collect();
    WeightedDestinations::new(entries).expect("valid weights")
}

fn dest_index(d: &Destination) -> usize {
    d.cluster[1..].parse().expect("cluster names are c<index>")
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn weighted_pick_is_a_member_with_nonzero_weight(
        weights in prop::collection::vec(prop_oneof![1 => Just(0u32), 3 => 1u32..1000], 1..10)
            .prop_filter("some weight is non-zero", |w| w.iter().any(|&x| x > 0)),
        randoms in prop::collection::vec(any::<u64>(), 1..32),
    ) {
        let d = destinations(&weights);
        for r in randoms.into_iter().chain([0, u64::MAX, d.total() - 1, d.total()]) {
            let picked = d.pick(r);
            let i = dest_index(picked);
            prop_assert!(i < weights.len());
            prop_assert_eq!(&d.entries()[i].0, picked);
            prop_assert!(weights[i] > 0, "picked c{} of weight 0 for random {}", i, r);
        }
    }
}

proptest! {
    #![proptest_config(config(24))]

    #[test]
    fn weighted_pick_shares_follow_weights(
        weights in prop::collection::vec(1u32..1000, 1..10),
        seed in any::<u64>(),
    ) {
        const N: usize = 20_000;
        let d = destinations(&weights);
        let mut rng = fastrand::Rng::with_seed(seed);
        let mut counts = vec![0usize; weights.len()];
        for _ in 0..N {
            counts[dest_index(d.pick(rng.u64(..)))] += 1;
        }
        let total: f64 = weights.iter().map(|&w| f64::from(w)).sum();
        for (i, &w) in weights.iter().enumerate() {
            within_binomial(counts[i], N, f64::from(w) / total)?;
        }
    }
}

// --- pickers --------------------------------------------------------------------------

proptest! {
    #![proptest_config(config(128))]

    #[test]
    fn pick_is_in_range_and_none_only_when_empty(
        weights in prop::collection::vec(1u32..1000, 0..12),
        in_flight in prop::collection::vec(0u64..100, 12),
        hashes in prop::collection::vec(any::<Option<u64>>(), 1..24),
        seed in any::<u64>(),
    ) {
        let eps = endpoints(&weights, &in_flight);
        let mut rng = fastrand::Rng::with_seed(seed);
        for policy in all_policies() {
            let picker = Picker::build(&policy, &eps);
            for &hash in &hashes {
                let picked = picker.pick(&eps, &PickContext { hash }, &mut rng);
                match picked {
                    None => prop_assert!(eps.is_empty(), "{:?} returned None over {} endpoints", policy, eps.len()),
                    Some(i) => prop_assert!(i < eps.len(), "{:?} picked {} of {}", policy, i, eps.len()),
                }
            }
        }
    }

    /// `Picker::pick` clamps its answer because "a picker built over another set must
    /// never index out of bounds": a ready set that shrank between build and pick must
    /// not make a pick panic.
    #[test]
    fn picker_built_over_a_larger_set_stays_in_range(
        weights in prop::collection::vec(1u32..1000, 2..12),
        keep in any::<prop::sample::Index>(),
        seed in any::<u64>(),
    ) {
        let eps = endpoints(&weights, &[]);
        let shrunk = &eps[..1 + keep.index(eps.len() - 1)];
        let mut rng = fastrand::Rng::with_seed(seed);
        for policy in all_policies() {
            let picker = Picker::build(&policy, &eps);
            for _ in 0..16 {
                let picked = picker.pick(shrunk, &PickContext::default(), &mut rng);
                prop_assert!(picked.is_some_and(|i| i < shrunk.len()), "{:?}: {:?} of {}", policy, picked, shrunk.len());
            }
        }
    }

    #[test]
    fn round_robin_gives_exact_proportions_over_each_cycle(weights in prop::collection::vec(1u32..1000, 1..10)) {
        let eps = endpoints(&weights, &[]);
        let picker = Picker::build(&LbPolicy::RoundRobin, &eps);
        let cycle: u32 = weights.iter().sum();
        let mut rng = fastrand::Rng::with_seed(0);
        for round in 0..2 {
            let mut counts = vec![0u32; weights.len()];
            for _ in 0..cycle {
                let i = picker.pick(&eps, &PickContext::default(), &mut rng).expect("non-empty set");
                counts[i] += 1;
            }
            prop_assert_eq!(&counts, &weights, "cycle {}", round);
        }
    }

    #[test]
    fn ring_hash_is_a_function_of_the_hash(
        weights in prop::collection::vec(1u32..1000, 1..10),
        hashes in prop::collection::vec(any::<u64>(), 1..32),
        seed in any::<u64>(),
    ) {
        let eps = endpoints(&weights, &[]);
        let policy = LbPolicy::ring_hash_default();
        let (a, b) = (Picker::build(&policy, &eps), Picker::build(&policy, &eps));
        let mut rng = fastrand::Rng::with_seed(seed);
        for hash in hashes {
            let ctx = PickContext { hash: Some(hash) };
            let first = a.pick(&eps, &ctx, &mut rng);
            prop_assert!(first.is_some());
            prop_assert_eq!(first, a.pick(&eps, &ctx, &mut rng), "same picker, hash {}", hash);
            prop_assert_eq!(first, b.pick(&eps, &ctx, &mut rng), "rebuilt picker, hash {}", hash);
        }
    }
}

proptest! {
    #![proptest_config(config(16))]

    #[test]
    fn unloaded_p2c_and_random_shares_follow_weights(
        weights in prop::collection::vec(1u32..1000, 1..10),
        seed in any::<u64>(),
    ) {
        const N: usize = 20_000;
        let eps = endpoints(&weights, &[]);
        let total: f64 = weights.iter().map(|&w| f64::from(w)).sum();
        let mut rng = fastrand::Rng::with_seed(seed);
        for policy in [LbPolicy::default(), LbPolicy::least_request(3).expect("valid"), LbPolicy::Random] {
            let picker = Picker::build(&policy, &eps);
            let mut counts = vec![0usize; eps.len()];
            for _ in 0..N {
                counts[picker.pick(&eps, &PickContext::default(), &mut rng).expect("non-empty set")] += 1;
            }
            for (i, &w) in weights.iter().enumerate() {
                within_binomial(counts[i], N, f64::from(w) / total)
                    .map_err(|e| TestCaseError::fail(format!("{policy:?}, endpoint {i}: {e}")))?;
            }
        }
    }

    /// With `choice_count` draws the least loaded candidate wins, so the unique most
    /// loaded endpoint (highest in-flight per unit of weight) is picked only when every
    /// draw lands on it: with probability `(w / Σw)^choice_count`.
    #[test]
    fn p2c_picks_the_unique_worst_only_when_every_draw_is_it(
        weights in prop::collection::vec(1u32..1000, 2..10),
        in_flight in prop::collection::vec(0u64..50, 10),
        worst in any::<prop::sample::Index>(),
        choice_count in 2u32..4,
        seed in any::<u64>(),
    ) {
        const N: usize = 20_000;
        let mut eps = endpoints(&weights, &in_flight);
        let worst = worst.index(eps.len());
        // Others carry at most 49 per unit of weight; this one at least 1000.
        eps[worst].in_flight = 1_000_000;
        let picker = Picker::build(&LbPolicy::least_request(choice_count).expect("valid"), &eps);
        let mut rng = fastrand::Rng::with_seed(seed);
        let hits = (0..N)
            .filter(|_| picker.pick(&eps, &PickContext::default(), &mut rng) == Some(worst))
            .count();
        let total: f64 = weights.iter().map(|&w| f64::from(w)).sum();
        let p = f64::from(weights[worst]) / total;
        within_binomial(hits, N, p.powi(choice_count as i32))?;
    }
}

// --- retry conditions, backoff, durations ---------------------------------------------

const RETRY_ON_NAMES: &[(&str, RetryOn)] = &[
    ("5xx", RetryOn::FIVE_XX),
    ("gateway-error", RetryOn::GATEWAY_ERROR),
    ("reset", RetryOn::RESET),
    ("connect-failure", RetryOn::CONNECT_FAILURE),
    ("refused-stream", RetryOn::REFUSED_STREAM),
    ("retriable-4xx", RetryOn::RETRIABLE_4XX),
    ("retriable-status-codes", RetryOn::RETRIABLE_STATUS_CODES),
    ("cancelled", RetryOn::GRPC_CANCELLED),
    ("deadline-exceeded", RetryOn::GRPC_DEADLINE_EXCEEDED),
    ("internal", RetryOn::GRPC_INTERNAL),
    ("resource-exhausted", RetryOn::GRPC_RESOURCE_EXHAUSTED),
    ("unavailable", RetryOn::GRPC_UNAVAILABLE),
];

fn retry_on_subset() -> impl Strategy<Value = Vec<(&'static str, RetryOn)>> {
    prop::sample::subsequence(RETRY_ON_NAMES.to_vec(), 0..=RETRY_ON_NAMES.len()).prop_shuffle()
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn retry_on_parses_any_subset_of_known_names(subset in retry_on_subset(), spaced in any::<bool>()) {
        let names: Vec<&str> = subset.iter().map(|(n, _)| *n).collect();
        let list = names.join(if spaced { " , " } else { "," });
        let parsed = RetryOn::parse(&list).expect("known names parse");
        let expected = subset.iter().fold(RetryOn::empty(), |acc, (_, bit)| acc.with(*bit));
        prop_assert_eq!(parsed, expected, "{:?}", list);
        for (name, bit) in RETRY_ON_NAMES {
            let listed = names.contains(name);
            prop_assert_eq!(parsed.contains(*bit), listed, "{} in {:?}", name, list);
            if listed {
                prop_assert!(parsed.contains(RetryOn::parse(name).expect("known name")));
            }
        }
        prop_assert_eq!(parsed.is_empty(), subset.is_empty());
    }

    #[test]
    fn retry_on_rejects_and_names_an_unknown_condition(
        subset in retry_on_subset(),
        unknown in "[^,]{1,24}".prop_filter("not a known name", |s| {
            let t = s.trim();
            !t.is_empty() && RETRY_ON_NAMES.iter().all(|(n, _)| *n != t)
        }),
        at in any::<prop::sample::Index>(),
    ) {
        let mut names: Vec<&str> = subset.iter().map(|(n, _)| *n).collect();
        names.insert(at.index(names.len() + 1), &unknown);
        let list = names.join(",");
        let err = RetryOn::parse(&list).expect_err("an unknown name is an error");
        let named = format!("{:?}", unknown.trim());
        prop_assert!(err.reason.contains(&named), "{:?} does not name {}", err.reason, named);
    }

    #[test]
    fn backoff_delay_is_below_the_capped_exponential(
        base_ns in 1u64..100_000_000_000,
        max_factor in prop::option::of(1u64..1_000),
        retry in 0u32..80,
        random in any::<u64>(),
    ) {
        let base = Duration::from_nanos(base_ns);
        let max = max_factor.map(|f| Duration::from_nanos(base_ns.saturating_mul(f)));
        let backoff = Backoff::new(base, max).expect("valid backoff");
        let max_ns = u128::from(base_ns) * u128::from(max_factor.unwrap_or(10));
        let ceiling = (u128::from(base_ns) << retry).min(max_ns);
        let delay = backoff.delay(retry, random);
        prop_assert!(delay.as_nanos() < ceiling, "delay {:?} >= ceiling {}ns", delay, ceiling);
        prop_assert!(delay < backoff.max());
    }

    #[test]
    fn parse_duration_of_milliseconds_is_exact(n in 0u64..1_000_000_000) {
        prop_assert_eq!(parse_duration(&format!("{n}ms")).ok(), Some(Duration::from_millis(n)));
    }
}
