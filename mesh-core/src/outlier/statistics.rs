//! Success rates per interval and the two statistical ejection rules.

/// Requests and successes counted over one interval.
#[derive(Debug, Clone, Copy, Default)]
struct Window {
    success: u64,
    total: u64,
}

/// An endpoint's success rate: the interval being counted, and the last complete one
/// (which the statistical rules read).
#[derive(Debug, Clone, Default)]
pub(super) struct RateMonitor {
    current: Window,
    last: Window,
}

impl RateMonitor {
    pub(super) fn record(&mut self, success: bool) {
        self.current.total += 1;
        if success {
            self.current.success += 1;
        }
    }

    /// Closes the interval.
    pub(super) fn rotate(&mut self) {
        self.last = std::mem::take(&mut self.current);
    }

    /// Success rate in percent and request volume of the last complete interval.
    pub(super) fn last(&self) -> Option<(f64, u64)> {
        (self.last.total > 0).then(|| (self.last.success as f64 * 100.0 / self.last.total as f64, self.last.total))
    }
}

/// The success rate below which an endpoint is an outlier: mean − factor × stdev of
/// the rates (population standard deviation, as Envoy).
pub(super) fn success_rate_threshold(rates: &[f64], stdev_factor: f64) -> f64 {
    if rates.is_empty() {
        return 0.0;
    }
    let n = rates.len() as f64;
    let mean = rates.iter().sum::<f64>() / n;
    let variance = rates.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / n;
    mean - stdev_factor * variance.sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envoys_worked_example() {
        // Envoy's comment: rates {50, 100, 100, 100, 100}, factor 1.9 → mean 90,
        // stdev 20, threshold 52.
        let t = success_rate_threshold(&[50.0, 100.0, 100.0, 100.0, 100.0], 1.9);
        assert!((t - 52.0).abs() < 1e-9, "{t}");
    }

    #[test]
    fn monitor_reads_the_last_complete_interval() {
        let mut m = RateMonitor::default();
        m.record(true);
        m.record(false);
        assert_eq!(m.last(), None, "nothing complete yet");
        m.rotate();
        assert_eq!(m.last(), Some((50.0, 2)));
        m.rotate();
        assert_eq!(m.last(), None, "an idle interval has no rate");
    }
}
