//! Retries, as Istio translates `HTTPRetry` (`pilot/pkg/networking/core/route/retry`).
//!
//! Without `retries`, Istio does not leave retries off: every route gets its default
//! policy — 2 retries on `connect-failure,refused-stream,unavailable,cancelled,
//! retriable-status-codes` with status 503, avoiding previously tried hosts (up to 5
//! host selections). `attempts: 0` disables retries. Otherwise the default is the
//! starting point: `attempts` replaces the count, `retryOn` the conditions (its numbers
//! become retriable status codes, adding `retriable-status-codes`), `perTryTimeout`,
//! `backoff` and `retryIgnorePreviousHosts: false` apply, and `retryRemoteLocalities`
//! adds the `previous_priorities` retry priority.
//!
//! With consistent hashing, retries do not avoid previous hosts (that would defeat the
//! affinity), as in Istio.

use envoy_types::pb::envoy::config::route::v3::RetryPolicy;
use envoy_types::pb::envoy::config::route::v3::retry_policy::{
    RetryBackOff, RetryHostPredicate, RetryPriority, retry_host_predicate, retry_priority,
};
use envoy_types::pb::envoy::extensions::retry::host::previous_hosts::v3::PreviousHostsPredicate;
use envoy_types::pb::envoy::extensions::retry::priority::previous_priorities::v3::PreviousPrioritiesConfig;
use envoy_types::pb::google::protobuf::UInt32Value;
use mesh_core::duration::parse_duration;

use crate::istio::HttpRetry;
use crate::istio::split_retry_on;
use crate::translate::proto::{duration, pack};

/// Istio's default retry conditions.
pub(crate) const DEFAULT_RETRY_ON: &str = "connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes";
const DEFAULT_ATTEMPTS: u32 = 2;

/// The retry policy of a route; `None` when retries are disabled.
pub(super) fn retry_policy(retry: Option<&HttpRetry>, consistent_hash: bool) -> Option<RetryPolicy> {
    let mut policy = RetryPolicy {
        retry_on: DEFAULT_RETRY_ON.into(),
        num_retries: Some(UInt32Value { value: DEFAULT_ATTEMPTS }),
        retriable_status_codes: vec![503],
        retry_host_predicate: if consistent_hash { Vec::new() } else { vec![previous_hosts()] },
        host_selection_retry_max_attempts: 5,
        ..Default::default()
    };
    let Some(r) = retry else { return Some(policy) };
    let attempts = r.attempts.unwrap_or(0);
    if attempts <= 0 {
        return None;
    }
    policy.num_retries = Some(UInt32Value { value: attempts.unsigned_abs() });
    if let Some(on) = r.retry_on.as_deref().filter(|s| !s.trim().is_empty()) {
        let (mut names, codes) = split_retry_on(on);
        if !codes.is_empty() && !names.contains(&"retriable-status-codes") {
            names.push("retriable-status-codes");
        }
        policy.retry_on = names.join(",");
        policy.retriable_status_codes = codes;
    }
    if let Some(t) = r.per_try_timeout.as_deref().and_then(|t| parse_duration(t).ok()) {
        policy.per_try_timeout = Some(duration(t));
    }
    if let Some(b) = r.backoff.as_deref().and_then(|t| parse_duration(t).ok()) {
        policy.retry_back_off = Some(RetryBackOff { base_interval: Some(duration(b)), max_interval: None });
    }
    if r.retry_ignore_previous_hosts == Some(false) {
        policy.retry_host_predicate.clear();
    }
    if r.retry_remote_localities == Some(true) {
        let config = PreviousPrioritiesConfig { update_frequency: attempts.saturating_add(1) };
        policy.retry_priority = Some(RetryPriority {
            name: "envoy.retry_priorities.previous_priorities".into(),
            config_type: Some(retry_priority::ConfigType::TypedConfig(pack(&config))),
        });
    }
    Some(policy)
}

fn previous_hosts() -> RetryHostPredicate {
    RetryHostPredicate {
        name: "envoy.retry_host_predicates.previous_hosts".into(),
        config_type: Some(retry_host_predicate::ConfigType::TypedConfig(pack(&PreviousHostsPredicate {}))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn istio_defaults_and_overrides() {
        let default = retry_policy(None, false).expect("default policy");
        assert_eq!((default.retry_on.as_str(), default.num_retries.map(|n| n.value)), (DEFAULT_RETRY_ON, Some(2)));
        assert_eq!((default.retriable_status_codes.as_slice(), default.retry_host_predicate.len()), (&[503][..], 1));
        assert!(retry_policy(None, true).expect("default").retry_host_predicate.is_empty());
        assert!(retry_policy(Some(&HttpRetry { attempts: Some(0), ..Default::default() }), false).is_none());

        let r = HttpRetry {
            attempts: Some(3),
            retry_on: Some("gateway-error, 503,connect-failure".into()),
            per_try_timeout: Some("250ms".into()),
            ..Default::default()
        };
        let p = retry_policy(Some(&r), false).expect("policy");
        assert_eq!(p.retry_on, "gateway-error,connect-failure,retriable-status-codes");
        assert_eq!((p.retriable_status_codes, p.num_retries.map(|n| n.value)), (vec![503], Some(3)));
        assert_eq!(p.per_try_timeout.map(|d| d.nanos), Some(250_000_000));
    }
}
