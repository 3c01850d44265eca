//! Shared fixtures of the property tests.
#![allow(dead_code)]

use proptest::prelude::*;

/// Modest case counts keep the whole file at a few seconds in debug builds; failures are
/// not persisted to disk (the failing input is printed instead).
pub(crate) fn config(cases: u32) -> ProptestConfig {
    ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() }
}

/// Checks that `observed` of `n` draws is within five standard deviations of the
/// binomial with success probability `p` (plus one, for tiny `p`).
pub(crate) fn within_binomial(observed: usize, n: usize, p: f64) -> Result<(), TestCaseError> {
    let expected = n as f64 * p;
    let sigma = (n as f64 * p * (1.0 - p)).sqrt();
    let bound = 5.0 * sigma + 1.0;
    prop_assert!(
        (observed as f64 - expected).abs() <= bound,
        "observed {observed} of {n}, expected {expected:.1} ± {bound:.1} (p = {p:.5})"
    );
    Ok(())
}
