//! Property tests for the policies of `mesh-core`: load-balancing pickers, retry
//! conditions, backoff and duration parsing.
//!
//! Statistical properties draw from a seeded `fastrand::Rng` (the seed is part of the
//! generated input, so a failure is reproducible) and allow five standard deviations of
//! the binomial around the expected count.

mod common;

use std::borrow::Cow;
use std::time::Duration;

use common::{config, within_binomial};
use mesh_core::duration::parse_duration;
use mesh_core::lb::{LbEndpoint, LbPolicy, PickContext, Picker};
use mesh_core::retry::{Backoff, RetryOn};
use proptest::prelude::*;

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

    /// The least loaded of the drawn candidates wins, so the unique most loaded endpoint
    /// (highest in-flight per unit of weight) can win only when every candidate drawn is
    /// that endpoint: at most `(w / Σw)^choice_count` of the picks (less when, as here,
    /// the picker draws distinct candidates), and never when the weights are equal (then
    /// the candidates are exactly distinct).
    #[test]
    fn p2c_rarely_picks_the_unique_worst(
        weights in prop::collection::vec(1u32..1000, 2..10),
        equal_weights in any::<bool>(),
        in_flight in prop::collection::vec(0u64..50, 10),
        worst in any::<prop::sample::Index>(),
        choice_count in 2u32..4,
        seed in any::<u64>(),
    ) {
        const N: usize = 20_000;
        let weights = if equal_weights { vec![weights[0]; weights.len()] } else { weights };
        let mut eps = endpoints(&weights, &in_flight);
        let worst = worst.index(eps.len());
        // Others carry at most 49 per unit of weight; this one at least 1000.
        eps[worst].in_flight = 1_000_000;
        let picker = Picker::build(&LbPolicy::least_request(choice_count).expect("valid"), &eps);
        let mut rng = fastrand::Rng::with_seed(seed);
        let hits = (0..N).filter(|_| picker.pick(&eps, &PickContext::default(), &mut rng) == Some(worst)).count();
        if equal_weights {
            prop_assert_eq!(hits, 0, "the worst of {} equally weighted endpoints was picked", eps.len());
        }
        let total: f64 = weights.iter().map(|&w| f64::from(w)).sum();
        let q = (f64::from(weights[worst]) / total).powi(choice_count as i32);
        let bound = N as f64 * q + 5.0 * (N as f64 * q * (1.0 - q)).sqrt() + 1.0;
        prop_assert!(hits as f64 <= bound, "worst picked {} of {} times, bound {:.1}", hits, N, bound);
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
