use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::LbEndpoint;

/// Round robin; weighted with Envoy's earliest-deadline-first scheduler when weights differ.
#[derive(Debug)]
pub struct RoundRobinPicker {
    next: AtomicUsize,
    len: usize,
    /// Present when weights differ.
    edf: Option<Mutex<Edf>>,
}

#[derive(Debug)]
struct Edf {
    /// (deadline, tie-breaker, index); deadlines in units of 1/lcm-free fixed point.
    heap: BinaryHeap<Reverse<(u128, usize)>>,
    step: Vec<u128>,
}

const SCALE: u128 = 1 << 64;

impl RoundRobinPicker {
    /// A picker over `endpoints`.
    pub fn new<E: LbEndpoint>(endpoints: &[E]) -> Self {
        let len = endpoints.len();
        let weighted = endpoints.windows(2).any(|w| w[0].weight() != w[1].weight());
        let edf = weighted.then(|| {
            let step: Vec<u128> = endpoints.iter().map(|e| SCALE / u128::from(e.weight().max(1))).collect();
            let heap = step.iter().enumerate().map(|(i, s)| Reverse((*s, i))).collect();
            Mutex::new(Edf { heap, step })
        });
        Self { next: AtomicUsize::new(0), len, edf }
    }

    /// The size of the set it was built over.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether that set was empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Picks an index.
    pub fn pick(&self) -> usize {
        if let Some(edf) = &self.edf {
            let mut edf = edf.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some(Reverse((deadline, i))) = edf.heap.pop() {
                let next = deadline + edf.step[i];
                edf.heap.push(Reverse((next, i)));
                return i;
            }
        }
        self.next.fetch_add(1, Ordering::Relaxed) % self.len.max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::eps;
    use super::*;

    #[test]
    fn cycles_and_weights() {
        let p = RoundRobinPicker::new(&eps(&[1, 1, 1]));
        let picks: Vec<usize> = (0..6).map(|_| p.pick()).collect();
        assert_eq!(picks, vec![0, 1, 2, 0, 1, 2]);
        let p = RoundRobinPicker::new(&eps(&[1, 3]));
        let ones = (0..400).filter(|_| p.pick() == 1).count();
        assert_eq!(ones, 300);
    }
}
