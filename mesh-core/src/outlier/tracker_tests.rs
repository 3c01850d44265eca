//! The outlier state machine driven with explicit instants.

use super::*;
use crate::outlier::{FailurePercentageEjection, SuccessRateEjection};

fn addr(i: u8) -> SocketAddr {
    SocketAddr::from(([10, 0, 0, i], 80))
}

fn tracker(config: OutlierDetection, hosts: u8) -> OutlierTracker {
    let mut t = OutlierTracker::new(config);
    t.set_endpoints((1..=hosts).map(addr));
    t
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// Records `n` results; returns the events.
fn charge(t: &mut OutlierTracker, a: SocketAddr, r: CallResult, n: usize, now: Instant) -> Vec<OutlierEvent> {
    let mut rng = fastrand::Rng::with_seed(1);
    (0..n).filter_map(|_| t.record(a, r, now, &mut rng)).collect()
}

fn tick(t: &mut OutlierTracker, now: Instant) -> Vec<OutlierEvent> {
    t.on_interval(now, &mut fastrand::Rng::with_seed(2))
}

fn all_ejecting() -> OutlierDetection {
    OutlierDetection { max_ejection_percent: 100, consecutive_5xx: 3, ..Default::default() }
}

#[test]
fn consecutive_5xx_ejects_at_the_threshold_and_a_success_resets() {
    let t0 = Instant::now();
    let mut t = tracker(all_ejecting(), 2);
    assert!(charge(&mut t, addr(1), CallResult::Response(500), 2, t0).is_empty());
    charge(&mut t, addr(1), CallResult::Response(200), 1, t0);
    assert!(charge(&mut t, addr(1), CallResult::Response(500), 2, t0).is_empty(), "the success reset the count");
    let events = charge(&mut t, addr(1), CallResult::Response(503), 1, t0);
    assert_eq!(
        events,
        [OutlierEvent::Ejected { addr: addr(1), kind: EjectionKind::Consecutive5xx, duration: secs(30) }]
    );
    assert!(t.is_ejected(addr(1)) && !t.is_ejected(addr(2)));
    assert_eq!(t.ejected().collect::<Vec<_>>(), [addr(1)]);
}

#[test]
fn ejection_lasts_base_times_the_multiplier_and_is_reviewed_on_the_interval() {
    let t0 = Instant::now();
    let mut t = tracker(all_ejecting(), 2);
    charge(&mut t, addr(1), CallResult::Response(500), 3, t0);
    assert!(tick(&mut t, t0 + secs(10)).is_empty());
    assert!(tick(&mut t, t0 + secs(29)).is_empty(), "30 s have not passed");
    assert_eq!(tick(&mut t, t0 + secs(30)), [OutlierEvent::Unejected { addr: addr(1) }]);
    // Ejected again right away: the multiplier is 2 now.
    let t1 = t0 + secs(31);
    let events = charge(&mut t, addr(1), CallResult::Response(500), 3, t1);
    assert!(matches!(events[..], [OutlierEvent::Ejected { duration, .. }] if duration == secs(60)));
    assert!(tick(&mut t, t1 + secs(59)).is_empty());
    assert_eq!(tick(&mut t, t1 + secs(60)).len(), 1);
    // Healthy for two intervals: the multiplier decays back to 0, so the next ejection
    // is a first one again.
    tick(&mut t, t1 + secs(70));
    tick(&mut t, t1 + secs(80));
    let events = charge(&mut t, addr(1), CallResult::Response(500), 3, t1 + secs(81));
    assert!(matches!(events[..], [OutlierEvent::Ejected { duration, .. }] if duration == secs(30)));
    assert_eq!(t.ejections_of(addr(1)), 3);
}

#[test]
fn max_ejection_time_caps_the_multiplier() {
    let config = OutlierDetection { max_ejection_time: secs(45), ..all_ejecting() };
    let t0 = Instant::now();
    let mut t = tracker(config, 1);
    let mut now = t0;
    let mut durations = Vec::new();
    for _ in 0..4 {
        for e in charge(&mut t, addr(1), CallResult::Response(500), 3, now) {
            if let OutlierEvent::Ejected { duration, .. } = e {
                durations.push(duration);
            }
        }
        now += secs(45);
        assert_eq!(tick(&mut t, now).len(), 1, "out after at most max_ejection_time");
    }
    assert_eq!(durations, [secs(30), secs(45), secs(45), secs(45)]);
}

#[test]
fn max_ejection_percent_counts_the_new_ejection() {
    let config = OutlierDetection { max_ejection_percent: 50, ..all_ejecting() };
    let t0 = Instant::now();
    let mut t = tracker(config.clone(), 2);
    assert_eq!(charge(&mut t, addr(1), CallResult::Response(503), 3, t0).len(), 1);
    assert!(charge(&mut t, addr(2), CallResult::Response(503), 30, t0).is_empty(), "2 of 2 would be 100 %");
    assert_eq!(t.ejected_count(), 1);

    // Envoy's default 10 % ejects nothing in a small cluster…
    let mut small = tracker(OutlierDetection { consecutive_5xx: 3, ..Default::default() }, 5);
    assert!(charge(&mut small, addr(1), CallResult::Response(500), 3, t0).is_empty());
    // …unless always_eject_one_host, and then only one.
    let one = OutlierDetection { consecutive_5xx: 3, always_eject_one_host: true, ..Default::default() };
    let mut small = tracker(one, 5);
    assert_eq!(charge(&mut small, addr(1), CallResult::Response(500), 3, t0).len(), 1);
    assert!(charge(&mut small, addr(2), CallResult::Response(500), 3, t0).is_empty());
}

#[test]
fn gateway_errors_and_local_origin_failures() {
    let t0 = Instant::now();
    // Gateway failures are counted but not enforced by default.
    let config = OutlierDetection { consecutive_5xx: 10, consecutive_gateway_failure: 2, ..all_ejecting() };
    let mut t = tracker(config.clone(), 2);
    assert!(charge(&mut t, addr(1), CallResult::Response(502), 4, t0).is_empty());
    let enforced = OutlierDetection { enforcing_consecutive_gateway_failure: 100, ..config };
    let mut t = tracker(enforced.clone(), 2);
    // A 500 breaks a run of gateway errors.
    charge(&mut t, addr(1), CallResult::Response(504), 1, t0);
    charge(&mut t, addr(1), CallResult::Response(500), 1, t0);
    assert!(charge(&mut t, addr(1), CallResult::Response(504), 1, t0).is_empty());
    let events = charge(&mut t, addr(1), CallResult::ConnectFailed, 1, t0);
    assert!(matches!(events[..], [OutlierEvent::Ejected { kind: EjectionKind::ConsecutiveGatewayFailure, .. }]));

    // Split: connection failures have their own counter and never count as 5xx.
    let split = OutlierDetection {
        split_external_local_origin_errors: true,
        consecutive_local_origin_failure: 2,
        consecutive_5xx: 2,
        ..all_ejecting()
    };
    let mut t = tracker(split, 2);
    charge(&mut t, addr(1), CallResult::Response(500), 1, t0);
    charge(&mut t, addr(1), CallResult::Timeout, 1, t0);
    let events = charge(&mut t, addr(1), CallResult::ConnectFailed, 1, t0);
    assert!(matches!(events[..], [OutlierEvent::Ejected { kind: EjectionKind::ConsecutiveLocalOriginFailure, .. }]));
    let events = charge(&mut t, addr(2), CallResult::Response(500), 2, t0);
    assert!(matches!(events[..], [OutlierEvent::Ejected { kind: EjectionKind::Consecutive5xx, .. }]));
}

#[test]
fn enforcing_zero_never_ejects_and_threshold_zero_never_triggers() {
    let t0 = Instant::now();
    let mut t = tracker(OutlierDetection { enforcing_consecutive_5xx: 0, ..all_ejecting() }, 1);
    assert!(charge(&mut t, addr(1), CallResult::Response(500), 20, t0).is_empty());
    let mut t = tracker(OutlierDetection { consecutive_5xx: 0, ..all_ejecting() }, 1);
    assert!(charge(&mut t, addr(1), CallResult::Response(500), 20, t0).is_empty());
}

#[test]
fn endpoint_changes_keep_the_state_of_those_that_stay() {
    let t0 = Instant::now();
    let mut t = tracker(all_ejecting(), 3);
    charge(&mut t, addr(1), CallResult::Response(500), 3, t0);
    charge(&mut t, addr(2), CallResult::Response(500), 2, t0);
    t.set_endpoints([addr(1), addr(2), addr(4)]);
    assert!(t.is_ejected(addr(1)), "still ejected after the change");
    assert_eq!(charge(&mut t, addr(2), CallResult::Response(500), 1, t0).len(), 1, "its count was kept");
    t.set_endpoints([addr(4)]);
    assert_eq!((t.len(), t.ejected_count()), (1, 0));
    assert!(charge(&mut t, addr(9), CallResult::Response(500), 5, t0).is_empty(), "unknown endpoint");
}

#[test]
fn success_rate_ejects_the_statistical_outlier() {
    let t0 = Instant::now();
    let config = OutlierDetection {
        consecutive_5xx: 0,
        success_rate: SuccessRateEjection { request_volume: 10, ..Default::default() },
        max_ejection_percent: 100,
        ..Default::default()
    };
    let mut t = tracker(config, 5);
    for i in 1..=5 {
        let failures = if i == 1 { 6 } else { 0 };
        charge(&mut t, addr(i), CallResult::Response(500), failures, t0);
        charge(&mut t, addr(i), CallResult::Response(200), 10 - failures, t0);
    }
    // Rates {40, 100, 100, 100, 100}: mean 88, stdev 24, threshold 42.4.
    let events = tick(&mut t, t0 + secs(10));
    assert!(
        matches!(events[..], [OutlierEvent::Ejected { kind: EjectionKind::SuccessRate, addr: a, .. }] if a == addr(1))
    );
    // Below request_volume nothing is judged.
    let mut quiet =
        tracker(OutlierDetection { consecutive_5xx: 0, max_ejection_percent: 100, ..Default::default() }, 5);
    charge(&mut quiet, addr(1), CallResult::Response(500), 50, t0);
    assert!(tick(&mut quiet, t0 + secs(10)).is_empty());
}

#[test]
fn failure_percentage_ejects_over_the_threshold() {
    let t0 = Instant::now();
    let config = OutlierDetection {
        consecutive_5xx: 0,
        success_rate: SuccessRateEjection { enforcing: 0, ..Default::default() },
        failure_percentage: FailurePercentageEjection {
            enforcing: 100,
            minimum_hosts: 2,
            request_volume: 10,
            threshold: 50,
            ..Default::default()
        },
        max_ejection_percent: 100,
        ..Default::default()
    };
    let mut t = tracker(config, 2);
    charge(&mut t, addr(1), CallResult::Response(503), 5, t0);
    charge(&mut t, addr(1), CallResult::Response(200), 5, t0);
    charge(&mut t, addr(2), CallResult::Response(200), 10, t0);
    let events = tick(&mut t, t0 + secs(10));
    assert!(
        matches!(events[..], [OutlierEvent::Ejected { kind: EjectionKind::FailurePercentage, addr: a, .. }] if a == addr(1))
    );
}

#[test]
fn jitter_is_bounded() {
    let config = OutlierDetection { max_ejection_time_jitter: Duration::from_millis(500), ..all_ejecting() };
    let t0 = Instant::now();
    for seed in 0..20 {
        let mut t = tracker(config.clone(), 1);
        let mut rng = fastrand::Rng::with_seed(seed);
        let e = (0..3).find_map(|_| t.record(addr(1), CallResult::Response(500), t0, &mut rng));
        let Some(OutlierEvent::Ejected { duration, .. }) = e else { panic!("ejected") };
        assert!((secs(30)..=secs(30) + Duration::from_millis(500)).contains(&duration), "{duration:?}");
    }
}
