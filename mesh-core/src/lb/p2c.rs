use super::{AliasTable, LbEndpoint};

/// Least request over `choice_count` random, distinct candidates ("power of two choices").
///
/// Candidates are drawn in proportion to their weight (alias table, `O(1)`), and the
/// one with the lowest in-flight count per unit of weight wins (`in_flight / weight`,
/// compared by cross-multiplication); ties go to the first drawn. With no load this
/// reproduces the weights exactly, and under load it steers away from endpoints that
/// hold requests longer — Envoy's least_request gives the same two properties
/// (weighted draws with `active_request_bias` 1). The cost of a pick does not depend on
/// the number of endpoints.
#[derive(Debug, Clone)]
pub struct P2cPicker {
    draw: AliasTable,
    choice_count: u32,
}

impl P2cPicker {
    /// A picker over `endpoints`.
    pub fn new<E: LbEndpoint>(endpoints: &[E], choice_count: u32) -> Self {
        Self { draw: AliasTable::new(endpoints.iter().map(LbEndpoint::weight)), choice_count: choice_count.max(2) }
    }

    /// The size of the set it was built over.
    pub fn len(&self) -> usize {
        self.draw.len()
    }

    /// Whether that set was empty.
    pub fn is_empty(&self) -> bool {
        self.draw.is_empty()
    }

    /// Picks an index.
    pub fn pick<E: LbEndpoint>(&self, endpoints: &[E], rng: &mut fastrand::Rng) -> usize {
        if endpoints.len() == 1 {
            return 0;
        }
        let first = self.draw.sample(rng);
        let mut best = first;
        for _ in 1..self.choice_count {
            // Draw a candidate other than the first (as tower's p2c samples distinct
            // indices): with replacement, two endpoints would be compared only half the
            // time, and a slow one would still get a quarter of the traffic.
            let c = self.draw.sample_other(rng, first);
            let (b, e) = (&endpoints[best], &endpoints[c]);
            // c wins if in_flight_c / w_c < in_flight_b / w_b.
            if u128::from(e.in_flight()) * u128::from(b.weight()) < u128::from(b.in_flight()) * u128::from(e.weight()) {
                best = c;
            }
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::eps;
    use super::*;

    #[test]
    fn avoids_the_loaded_endpoint() {
        let mut e = eps(&[1, 1]);
        e[0].in_flight = 10;
        let p = P2cPicker::new(&e, 2);
        let mut rng = fastrand::Rng::with_seed(7);
        let hits0 = (0..10_000).filter(|_| p.pick(&e, &mut rng) == 0).count();
        // Both endpoints are always compared, so the loaded one never wins.
        assert_eq!(hits0, 0);
    }
}
