//! Property tests for matching in `mesh-core`: string and host matchers,
//! first-match-wins routing and weighted destinations.
//!
//! Statistical properties draw from a seeded `fastrand::Rng` (the seed is part of the
//! generated input, so a failure is reproducible) and allow five standard deviations of
//! the binomial around the expected count.

mod common;

use common::{config, within_binomial};
use mesh_core::matcher::{HostMatcher, RequestAttributes, StringMatcher};
use mesh_core::route::{
    Destination, PathMatch, Route, RouteAction, RouteMatch, RouteTable, VirtualHost, WeightedDestinations,
};
use proptest::prelude::*;

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
        Self { authority: authority.into(), path: path.into(), method: "GET".into(), ..Self::default() }
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

fn action(cluster: &str) -> RouteAction {
    RouteAction::new(WeightedDestinations::single(Destination::new(cluster, None)))
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
    let infix = (small_string(), small_string(), small_string()).prop_map(|(a, b, c)| (format!("{a}{b}{c}"), b));
    let prefix = (small_string(), small_string()).prop_map(|(a, b)| (format!("{a}{b}"), a));
    let suffix = (small_string(), small_string()).prop_map(|(a, b)| (format!("{a}{b}"), b));
    let same = small_string().prop_map(|a| (a.clone(), a));
    let pair = prop_oneof![independent, infix, prefix, suffix, same];
    (pair, any::<bool>(), any::<u64>())
        .prop_map(|((value, pattern), flip, mask)| (value, if flip { flip_case(&pattern, mask) } else { pattern }))
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
        VirtualHost::new("wildcard", &["*.example.com"], vec![Route::new("w", RouteMatch::any(), action("w"))])
            .expect("valid virtual host"),
        VirtualHost::new("exact", &[exact], vec![Route::new("e", RouteMatch::any(), action("e"))])
            .expect("valid virtual host"),
    ];
    if with_any {
        hosts.push(
            VirtualHost::new("any", &["*"], vec![Route::new("a", RouteMatch::any(), action("a"))])
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
    let entries = weights.iter().enumerate().map(|(i, &w)| (Destination::new(format!("c{i}"), None), w)).collect();
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
