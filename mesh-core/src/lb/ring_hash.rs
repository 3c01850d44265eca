use xxhash_rust::xxh64::xxh64;

use super::LbEndpoint;

/// Consistent hashing on a ring (Envoy's `RING_HASH` with xxHash).
///
/// Each endpoint owns a number of ring points proportional to its weight (at least
/// one), the ring has between `min_ring_size` and `max_ring_size` points, and a request
/// hash maps to the first point at or after it. Adding or removing an endpoint moves
/// only the keys that hashed next to its points.
#[derive(Debug, Clone)]
pub struct RingHashPicker {
    /// Sorted (point hash, endpoint index).
    ring: Vec<(u64, u32)>,
    len: usize,
}

impl RingHashPicker {
    /// Builds the ring.
    pub fn new<E: LbEndpoint>(endpoints: &[E], min_ring_size: u64, max_ring_size: u64) -> Self {
        let total: f64 = endpoints.iter().map(|e| f64::from(e.weight())).sum();
        if endpoints.is_empty() || total == 0.0 {
            return Self { ring: Vec::new(), len: endpoints.len() };
        }
        let min_norm = endpoints.iter().map(|e| f64::from(e.weight()) / total).fold(f64::MAX, f64::min);
        // Envoy: scale so the lightest endpoint gets at least one entry, within bounds.
        let scale = ((min_norm * min_ring_size as f64).ceil() / min_norm).min(max_ring_size as f64);
        let mut ring = Vec::with_capacity(scale as usize + endpoints.len());
        let (mut current, mut target) = (0.0f64, 0.0f64);
        for (i, e) in endpoints.iter().enumerate() {
            target += scale * f64::from(e.weight()) / total;
            let key = e.hash_key();
            let mut n = 0u64;
            while current < target {
                let point = format!("{key}_{n}");
                ring.push((xxh64(point.as_bytes(), 0), i as u32));
                n += 1;
                current += 1.0;
            }
        }
        ring.sort_unstable();
        Self { ring, len: endpoints.len() }
    }

    /// The endpoint for a request hash.
    pub fn pick(&self, hash: u64) -> usize {
        if self.ring.is_empty() {
            return 0;
        }
        let i = self.ring.partition_point(|(h, _)| *h < hash);
        self.ring[if i == self.ring.len() { 0 } else { i }].1 as usize
    }

    /// The size of the set it was built over.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether that set was empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Number of ring entries.
    pub fn ring_size(&self) -> usize {
        self.ring.len()
    }
}

/// Hashes a request key (header value) the way the ring does.
pub fn hash_key(value: &[u8]) -> u64 {
    xxh64(value, 0)
}

#[cfg(test)]
mod tests {
    use super::super::test_support::eps;
    use super::*;

    #[test]
    fn same_key_same_endpoint_and_minimal_disruption() {
        let four = eps(&[1, 1, 1, 1]);
        let ring4 = RingHashPicker::new(&four, 1024, 8 << 20);
        assert!(ring4.ring_size() >= 1024);
        let three = &four[..3];
        let ring3 = RingHashPicker::new(three, 1024, 8 << 20);
        let (mut moved, mut stayed_candidates) = (0, 0);
        for k in 0..2_000u32 {
            let h = hash_key(k.to_string().as_bytes());
            assert_eq!(ring4.pick(h), ring4.pick(h));
            let (a, b) = (ring4.pick(h), ring3.pick(h));
            if a != 3 {
                stayed_candidates += 1;
                if a != b {
                    moved += 1;
                }
            }
        }
        // The three remaining endpoints gain ring points (the ring is rescaled), so a
        // few keys move between them, but far fewer than a rehash (2/3) would move.
        assert!(moved * 5 < stayed_candidates, "{moved} of {stayed_candidates} keys moved");
    }
}
