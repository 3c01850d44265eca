use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::statistics::{RateMonitor, success_rate_threshold};
use super::{CallResult, OutlierDetection};

/// Why an endpoint was ejected (Envoy's `OutlierEjectionType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EjectionKind {
    /// `consecutive_5xx` 5xx responses in a row.
    Consecutive5xx,
    /// `consecutive_gateway_failure` 502/503/504 responses in a row.
    ConsecutiveGatewayFailure,
    /// `consecutive_local_origin_failure` connection failures or timeouts in a row.
    ConsecutiveLocalOriginFailure,
    /// Success rate below the cluster's outlier threshold.
    SuccessRate,
    /// Local-origin success rate below the threshold.
    SuccessRateLocalOrigin,
    /// Failure percentage at or over the threshold.
    FailurePercentage,
    /// Local-origin failure percentage at or over the threshold.
    FailurePercentageLocalOrigin,
}

/// A change of the set of ejected endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutlierEvent {
    /// The endpoint is ejected for `duration` (reviewed at the next interval after it).
    Ejected {
        /// The endpoint.
        addr: SocketAddr,
        /// Why.
        kind: EjectionKind,
        /// How long.
        duration: Duration,
    },
    /// The endpoint's ejection is over.
    Unejected {
        /// The endpoint.
        addr: SocketAddr,
    },
}

#[derive(Debug, Clone, Default)]
struct HostState {
    consecutive_5xx: u32,
    consecutive_gateway: u32,
    consecutive_local: u32,
    /// Set while ejected.
    ejected_at: Option<Instant>,
    num_ejections: u32,
    /// The ejection-time multiplier.
    backoff: u32,
    jitter: Duration,
    last_unejection: Option<Instant>,
    external: RateMonitor,
    local: RateMonitor,
}

impl HostState {
    fn reset_counters(&mut self) {
        self.consecutive_5xx = 0;
        self.consecutive_gateway = 0;
        self.consecutive_local = 0;
    }
}

/// The outlier-detection state of one cluster: per-endpoint counters and ejections.
/// See the [module docs](super) for the rules.
///
/// Pure: callers pass the time and a random source (for `enforcing_*` and jitter).
/// Endpoints are keyed by address; [`set_endpoints`](Self::set_endpoints) keeps the
/// state of endpoints that stay, so a configuration change does not forgive them.
#[derive(Debug, Clone)]
pub struct OutlierTracker {
    config: OutlierDetection,
    hosts: BTreeMap<SocketAddr, HostState>,
    ejected: usize,
}

impl OutlierTracker {
    /// A tracker with no endpoints.
    pub fn new(config: OutlierDetection) -> Self {
        Self { config, hosts: BTreeMap::new(), ejected: 0 }
    }

    /// The settings.
    pub fn config(&self) -> &OutlierDetection {
        &self.config
    }

    /// Replaces the settings; endpoint state is kept.
    pub fn set_config(&mut self, config: OutlierDetection) {
        self.config = config;
    }

    /// Sets the cluster's endpoints: new ones start clean, ones that stay keep their
    /// state (and ejection), others are forgotten.
    pub fn set_endpoints(&mut self, addrs: impl IntoIterator<Item = SocketAddr>) {
        let mut next = BTreeMap::new();
        for a in addrs {
            let state = self.hosts.remove(&a).unwrap_or_default();
            next.insert(a, state);
        }
        self.hosts = next;
        self.ejected = self.hosts.values().filter(|h| h.ejected_at.is_some()).count();
    }

    /// Number of endpoints tracked.
    pub fn len(&self) -> usize {
        self.hosts.len()
    }

    /// Whether no endpoint is tracked.
    pub fn is_empty(&self) -> bool {
        self.hosts.is_empty()
    }

    /// Whether `addr` is ejected.
    pub fn is_ejected(&self, addr: SocketAddr) -> bool {
        self.hosts.get(&addr).is_some_and(|h| h.ejected_at.is_some())
    }

    /// The ejected endpoints, in address order.
    pub fn ejected(&self) -> impl Iterator<Item = SocketAddr> + '_ {
        self.hosts.iter().filter(|(_, h)| h.ejected_at.is_some()).map(|(a, _)| *a)
    }

    /// How many endpoints are ejected.
    pub fn ejected_count(&self) -> usize {
        self.ejected
    }

    /// How many times `addr` has been ejected.
    pub fn ejections_of(&self, addr: SocketAddr) -> u32 {
        self.hosts.get(&addr).map_or(0, |h| h.num_ejections)
    }

    /// Charges one attempt's result to `addr`; returns the ejection it caused, if any.
    /// Results for unknown endpoints are ignored.
    pub fn record(
        &mut self,
        addr: SocketAddr,
        result: CallResult,
        now: Instant,
        rng: &mut fastrand::Rng,
    ) -> Option<OutlierEvent> {
        let host = self.hosts.get_mut(&addr)?;
        if self.config.split_external_local_origin_errors {
            match result {
                CallResult::Response(status) => {
                    host.local.record(true);
                    host.consecutive_local = 0;
                    self.http_status(addr, status, now, rng)
                }
                CallResult::ConnectFailed | CallResult::Timeout => {
                    host.local.record(false);
                    host.consecutive_local = host.consecutive_local.saturating_add(1);
                    if host.consecutive_local == self.config.consecutive_local_origin_failure {
                        self.consecutive(addr, EjectionKind::ConsecutiveLocalOriginFailure, now, rng)
                    } else {
                        None
                    }
                }
            }
        } else {
            let status = match result {
                CallResult::Response(status) => status,
                CallResult::ConnectFailed => 503,
                CallResult::Timeout => 504,
            };
            self.http_status(addr, status, now, rng)
        }
    }

    fn http_status(
        &mut self,
        addr: SocketAddr,
        status: u16,
        now: Instant,
        rng: &mut fastrand::Rng,
    ) -> Option<OutlierEvent> {
        let host = self.hosts.get_mut(&addr)?;
        if !(500..=599).contains(&status) {
            host.external.record(true);
            host.consecutive_5xx = 0;
            host.consecutive_gateway = 0;
            return None;
        }
        host.external.record(false);
        let mut gateway = false;
        if (502..=504).contains(&status) {
            host.consecutive_gateway = host.consecutive_gateway.saturating_add(1);
            gateway = host.consecutive_gateway == self.config.consecutive_gateway_failure;
        } else {
            host.consecutive_gateway = 0;
        }
        host.consecutive_5xx = host.consecutive_5xx.saturating_add(1);
        let five_xx = host.consecutive_5xx == self.config.consecutive_5xx;
        // Envoy reports the gateway failure first; the second report finds the endpoint
        // ejected (and then leaves its counter alone).
        let first =
            if gateway { self.consecutive(addr, EjectionKind::ConsecutiveGatewayFailure, now, rng) } else { None };
        let second = if five_xx { self.consecutive(addr, EjectionKind::Consecutive5xx, now, rng) } else { None };
        first.or(second)
    }

    /// A consecutive-failure threshold was reached.
    fn consecutive(
        &mut self,
        addr: SocketAddr,
        kind: EjectionKind,
        now: Instant,
        rng: &mut fastrand::Rng,
    ) -> Option<OutlierEvent> {
        if self.is_ejected(addr) {
            return None;
        }
        let event = self.eject(addr, kind, now, rng);
        if let Some(host) = self.hosts.get_mut(&addr) {
            match kind {
                EjectionKind::Consecutive5xx => host.consecutive_5xx = 0,
                EjectionKind::ConsecutiveGatewayFailure => host.consecutive_gateway = 0,
                _ => host.consecutive_local = 0,
            }
        }
        event
    }

    fn eject(
        &mut self,
        addr: SocketAddr,
        kind: EjectionKind,
        now: Instant,
        rng: &mut fastrand::Rng,
    ) -> Option<OutlierEvent> {
        let c = &self.config;
        // At most max_ejection_percent ejected, counting this one (Envoy ≥ 1.31).
        let allowed = 100 * (self.ejected as u64 + 1) <= u64::from(c.max_ejection_percent) * self.hosts.len() as u64
            || (c.always_eject_one_host && self.ejected == 0);
        if !allowed || !enforced(self.enforcing(kind), rng) {
            return None;
        }
        let (base, max, max_jitter) = (c.base_ejection_time, c.max_ejection_time, c.max_ejection_time_jitter);
        let host = self.hosts.get_mut(&addr)?;
        host.ejected_at = Some(now);
        host.num_ejections = host.num_ejections.saturating_add(1);
        let jitter_ms = max_jitter.as_millis().min(u128::from(u64::MAX)) as u64;
        host.jitter = if jitter_ms == 0 { Duration::ZERO } else { Duration::from_millis(rng.u64(0..=jitter_ms)) };
        if base.saturating_mul(host.backoff) < max.saturating_add(base) {
            host.backoff += 1;
        }
        self.ejected += 1;
        let duration = ejection_time(base, max, host.backoff) + host.jitter;
        Some(OutlierEvent::Ejected { addr, kind, duration })
    }

    fn enforcing(&self, kind: EjectionKind) -> u32 {
        let c = &self.config;
        match kind {
            EjectionKind::Consecutive5xx => c.enforcing_consecutive_5xx,
            EjectionKind::ConsecutiveGatewayFailure => c.enforcing_consecutive_gateway_failure,
            EjectionKind::ConsecutiveLocalOriginFailure => c.enforcing_consecutive_local_origin_failure,
            EjectionKind::SuccessRate => c.success_rate.enforcing,
            EjectionKind::SuccessRateLocalOrigin => c.success_rate.enforcing_local_origin,
            EjectionKind::FailurePercentage => c.failure_percentage.enforcing,
            EjectionKind::FailurePercentageLocalOrigin => c.failure_percentage.enforcing_local_origin,
        }
    }

    /// The periodic review, due every `interval`: returns endpoints whose ejection is
    /// over, runs the statistical rules over the interval that just ended, and lets the
    /// ejection multiplier of healthy endpoints decay.
    pub fn on_interval(&mut self, now: Instant, rng: &mut fastrand::Rng) -> Vec<OutlierEvent> {
        let mut events = Vec::new();
        let c = &self.config;
        for (addr, host) in &mut self.hosts {
            if let Some(at) = host.ejected_at
                && now.saturating_duration_since(at)
                    >= ejection_time(c.base_ejection_time, c.max_ejection_time, host.backoff) + host.jitter
            {
                host.ejected_at = None;
                host.reset_counters();
                host.last_unejection = Some(now);
                self.ejected -= 1;
                events.push(OutlierEvent::Unejected { addr: *addr });
            }
            host.external.rotate();
            host.local.rotate();
        }
        self.statistical(false, now, rng, &mut events);
        if self.config.split_external_local_origin_errors {
            self.statistical(true, now, rng, &mut events);
        }
        let interval = self.config.interval;
        for host in self.hosts.values_mut().filter(|h| h.ejected_at.is_none()) {
            if host.last_unejection.is_some_and(|t| now.saturating_duration_since(t) >= interval) {
                host.backoff = host.backoff.saturating_sub(1);
            }
        }
        events
    }

    /// Success-rate and failure-percentage ejection over the last interval's rates.
    fn statistical(&mut self, local: bool, now: Instant, rng: &mut fastrand::Rng, events: &mut Vec<OutlierEvent>) {
        let (sr, fp) = (self.config.success_rate, self.config.failure_percentage);
        let (sr_on, fp_on) = if local {
            (sr.enforcing_local_origin > 0, fp.enforcing_local_origin > 0)
        } else {
            (sr.enforcing > 0, fp.enforcing > 0)
        };
        let n = self.hosts.len();
        if (!sr_on && !fp_on) || (n < sr.minimum_hosts as usize && n < fp.minimum_hosts as usize) {
            return;
        }
        let rates: Vec<(SocketAddr, f64, u64)> = self
            .hosts
            .iter()
            .filter(|(_, h)| h.ejected_at.is_none())
            .filter_map(|(a, h)| (if local { &h.local } else { &h.external }).last().map(|(r, v)| (*a, r, v)))
            .collect();
        let mut outliers = Vec::new();
        let sr_hosts: Vec<&(SocketAddr, f64, u64)> =
            rates.iter().filter(|(_, _, v)| *v >= u64::from(sr.request_volume)).collect();
        if sr_on && !sr_hosts.is_empty() && sr_hosts.len() >= sr.minimum_hosts as usize {
            let values: Vec<f64> = sr_hosts.iter().map(|(_, r, _)| *r).collect();
            let threshold = success_rate_threshold(&values, f64::from(sr.stdev_factor) / 1000.0);
            let kind = if local { EjectionKind::SuccessRateLocalOrigin } else { EjectionKind::SuccessRate };
            outliers.extend(sr_hosts.iter().filter(|(_, r, _)| *r < threshold).map(|(a, _, _)| (*a, kind)));
        }
        let fp_hosts: Vec<&(SocketAddr, f64, u64)> =
            rates.iter().filter(|(_, _, v)| *v >= u64::from(fp.request_volume)).collect();
        if fp_on && !fp_hosts.is_empty() && fp_hosts.len() >= fp.minimum_hosts as usize {
            let kind = if local { EjectionKind::FailurePercentageLocalOrigin } else { EjectionKind::FailurePercentage };
            let threshold = f64::from(fp.threshold);
            outliers.extend(fp_hosts.iter().filter(|(_, r, _)| 100.0 - r >= threshold).map(|(a, _, _)| (*a, kind)));
        }
        for (addr, kind) in outliers {
            if !self.is_ejected(addr)
                && let Some(e) = self.eject(addr, kind, now, rng)
            {
                events.push(e);
            }
        }
    }
}

/// `base × multiplier`, at most `max`.
fn ejection_time(base: Duration, max: Duration, backoff: u32) -> Duration {
    base.saturating_mul(backoff.max(1)).min(max)
}

/// Whether a `percent` chance comes true.
fn enforced(percent: u32, rng: &mut fastrand::Rng) -> bool {
    percent >= 100 || (percent > 0 && rng.u32(0..100) < percent)
}

#[cfg(test)]
#[path = "tracker_tests.rs"]
mod tests;
