/// Walker/Vose alias table: draws index `i` with probability `wᵢ / Σw` in `O(1)`.
///
/// Written here rather than taken from `rand_distr` because we draw with `fastrand`
/// (tiny, no `rand` stack) and need only this one distribution.
#[derive(Debug, Clone)]
pub struct AliasTable {
    /// Probability scaled to `u32::MAX` of keeping column `i` (else take `alias[i]`).
    /// Empty when all weights are equal (uniform draw).
    keep: Vec<u32>,
    alias: Vec<u32>,
    len: usize,
}

impl AliasTable {
    /// Builds the table; weights of 0 are never drawn unless all are 0 (then uniform).
    pub fn new(weights: impl Iterator<Item = u32>) -> Self {
        let w: Vec<u64> = weights.map(u64::from).collect();
        let len = w.len();
        let total: u64 = w.iter().sum();
        if len == 0 || total == 0 || w.iter().all(|&x| x == w[0]) {
            return Self { keep: Vec::new(), alias: Vec::new(), len };
        }
        // Scaled so the average column is exactly `total`: p_i = w_i * len.
        let mut scaled: Vec<u128> = w.iter().map(|&x| u128::from(x) * len as u128).collect();
        let avg = u128::from(total);
        let mut keep = vec![u32::MAX; len];
        let mut alias: Vec<u32> = (0..len as u32).collect();
        let (mut small, mut large): (Vec<usize>, Vec<usize>) = (0..len).partition(|&i| scaled[i] < avg);
        while let (Some(s), Some(&l)) = (small.pop(), large.last()) {
            keep[s] = ((scaled[s] * u128::from(u32::MAX)) / avg) as u32;
            alias[s] = l as u32;
            scaled[l] -= avg - scaled[s];
            if scaled[l] < avg {
                large.pop();
                small.push(l);
            }
        }
        Self { keep, alias, len }
    }

    /// Draws an index. Panics never; returns 0 for an empty table.
    pub fn sample(&self, rng: &mut fastrand::Rng) -> usize {
        if self.len <= 1 {
            return 0;
        }
        let col = rng.usize(..self.len);
        if self.keep.is_empty() || rng.u32(..) < self.keep[col] { col } else { self.alias[col] as usize }
    }

    /// Draws an index other than `not` when there is one: exactly for equal weights;
    /// for unequal weights by redrawing a few times (only an endpoint holding nearly all
    /// the weight makes that fail, and then it is the right pick anyway).
    pub fn sample_other(&self, rng: &mut fastrand::Rng, not: usize) -> usize {
        if self.len <= 1 {
            return 0;
        }
        if self.keep.is_empty() {
            let c = rng.usize(..self.len - 1);
            return if c >= not { c + 1 } else { c };
        }
        let mut c = self.sample(rng);
        for _ in 0..8 {
            if c != not {
                break;
            }
            c = self.sample(rng);
        }
        c
    }

    /// Number of columns.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}
