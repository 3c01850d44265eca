//! `RetryPolicy` (route or virtual host) → [`mesh_core::retry::RetryPolicy`].
//!
//! `retry_on` takes Envoy's HTTP conditions (`5xx`, `gateway-error`, `reset`,
//! `connect-failure`, `refused-stream`, `retriable-4xx`, `retriable-status-codes`) and
//! gRPC conditions (`cancelled`, `deadline-exceeded`, `internal`, `resource-exhausted`,
//! `unavailable`) in one list; any other condition is rejected by name. `num_retries`
//! defaults to 1, as in Envoy.
//!
//! The `envoy.retry_host_predicates.previous_hosts` predicate is accepted: every retry
//! goes back through the balancer, which picks among the ready endpoints again (it does
//! not exclude the previous ones strictly, but P2C rarely re-picks a failing endpoint).
//! Other host predicates and retry priorities are rejected.

use envoy_types::pb::envoy::config::route::v3 as pb;
use envoy_types::pb::envoy::config::route::v3::retry_policy::retry_host_predicate::ConfigType;
use envoy_types::pb::envoy::extensions::retry::host::previous_hosts::v3::PreviousHostsPredicate;
use mesh_core::retry::{Backoff, RetryOn, RetryPolicy};

use super::field::{At, FieldResult, reject, unsupported};
use super::value::{duration, is, timeout};

const PREVIOUS_HOSTS: &str = "envoy.retry_host_predicates.previous_hosts";

/// Translates a retry policy.
pub(super) fn retry_policy(p: &pb::RetryPolicy) -> FieldResult<RetryPolicy> {
    unsupported(p.retry_priority.is_some(), "retry_priority", "retry_priority")?;
    unsupported(!p.retry_options_predicates.is_empty(), "retry_options_predicates", "retry_options_predicates")?;
    unsupported(p.rate_limited_retry_back_off.is_some(), "rate_limited_retry_back_off", "rate-limited back-off")?;
    unsupported(!p.retriable_headers.is_empty(), "retriable_headers", "retrying on response headers")?;
    unsupported(!p.retriable_request_headers.is_empty(), "retriable_request_headers", "retriable_request_headers")?;
    unsupported(p.refresh_cluster_on_retry, "refresh_cluster_on_retry", "refresh_cluster_on_retry")?;
    unsupported(
        timeout(p.per_try_idle_timeout.as_ref(), "per_try_idle_timeout")?.is_some(),
        "per_try_idle_timeout",
        "a per-try idle timeout",
    )?;
    for (i, pred) in p.retry_host_predicate.iter().enumerate() {
        let previous_hosts = match &pred.config_type {
            Some(ConfigType::TypedConfig(any)) => is::<PreviousHostsPredicate>(any),
            None => pred.name == PREVIOUS_HOSTS,
        };
        if !previous_hosts {
            return reject(
                format!("retry_host_predicate[{i}]"),
                format!("retry host predicate {:?} is not supported (only {PREVIOUS_HOSTS})", pred.name),
            );
        }
    }

    let on = RetryOn::parse(&p.retry_on).for_field("retry_on")?;
    let retries = p.num_retries.as_ref().map_or(1, |n| n.value);
    let mut policy = RetryPolicy::new(retries, on).for_field("num_retries")?;
    let codes = p
        .retriable_status_codes
        .iter()
        .enumerate()
        .map(|(i, &c)| {
            u16::try_from(c)
                .or_else(|_| reject(format!("retriable_status_codes[{i}]"), format!("{c} is not an HTTP status")))
        })
        .collect::<FieldResult<Vec<u16>>>()?;
    policy = policy.with_retriable_status_codes(codes)?;
    if let Some(t) = timeout(p.per_try_timeout.as_ref(), "per_try_timeout")? {
        policy = policy.with_per_try_timeout(t)?;
    }
    if let Some(b) = &p.retry_back_off {
        let Some(base) = &b.base_interval else {
            return reject("retry_back_off.base_interval", "is required");
        };
        let base = duration(base, "retry_back_off.base_interval")?;
        let max = b.max_interval.as_ref().map(|m| duration(m, "retry_back_off.max_interval")).transpose()?;
        policy = policy.with_backoff(Backoff::new(base, max).at("retry_back_off")?);
    }
    Ok(policy)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use envoy_types::pb::envoy::config::route::v3::retry_policy::{RetryBackOff, RetryHostPredicate, RetryPriority};
    use envoy_types::pb::google::protobuf::{Duration as PbDuration, UInt32Value};
    use mesh_core::retry::AttemptOutcome;

    use super::super::test_protos::pack;
    use super::*;

    fn ms(millis: i32) -> Option<PbDuration> {
        Some(PbDuration { seconds: 0, nanos: millis * 1_000_000 })
    }

    #[test]
    fn translates_istio_style_policy() {
        let p = pb::RetryPolicy {
            retry_on: "connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes".into(),
            num_retries: Some(UInt32Value { value: 3 }),
            per_try_timeout: ms(250),
            retriable_status_codes: vec![503],
            retry_back_off: Some(RetryBackOff { base_interval: ms(10), max_interval: ms(50) }),
            retry_host_predicate: vec![RetryHostPredicate {
                name: PREVIOUS_HOSTS.into(),
                config_type: Some(ConfigType::TypedConfig(pack(&PreviousHostsPredicate {}))),
            }],
            host_selection_retry_max_attempts: 5,
            ..Default::default()
        };
        let r = retry_policy(&p).expect("valid");
        assert_eq!(r.max_retries(), 3);
        assert_eq!(r.per_try_timeout(), Some(Duration::from_millis(250)));
        assert_eq!(r.backoff().max(), Duration::from_millis(50));
        assert!(r.should_retry(AttemptOutcome::Response { status: 503, grpc_status: None }));
        assert!(r.should_retry(AttemptOutcome::Response { status: 200, grpc_status: Some(14) }));
        assert!(!r.should_retry(AttemptOutcome::Response { status: 500, grpc_status: None }));
    }

    #[test]
    fn defaults_to_one_retry() {
        let r = retry_policy(&pb::RetryPolicy { retry_on: "5xx".into(), ..Default::default() }).expect("valid");
        assert_eq!(r.max_retries(), 1);
        assert_eq!(r.per_try_timeout(), None);
    }

    #[test]
    fn rejections_name_the_field() {
        let base = || pb::RetryPolicy { retry_on: "5xx".into(), ..Default::default() };
        let cases: Vec<(pb::RetryPolicy, &str)> = vec![
            (pb::RetryPolicy { retry_on: "5xx,envoy-ratelimited".into(), ..base() }, "retry_on"),
            (pb::RetryPolicy { num_retries: Some(UInt32Value { value: 1000 }), ..base() }, "num_retries"),
            (pb::RetryPolicy { retriable_status_codes: vec![70_000], ..base() }, "retriable_status_codes[0]"),
            (pb::RetryPolicy { retry_priority: Some(RetryPriority::default()), ..base() }, "retry_priority"),
            (
                pb::RetryPolicy {
                    retry_host_predicate: vec![RetryHostPredicate {
                        name: "envoy.retry_host_predicates.omit_canary_hosts".into(),
                        config_type: None,
                    }],
                    ..base()
                },
                "retry_host_predicate[0]",
            ),
            (
                pb::RetryPolicy {
                    retry_back_off: Some(RetryBackOff { base_interval: ms(0), max_interval: None }),
                    ..base()
                },
                "retry_back_off.base_interval",
            ),
            (
                pb::RetryPolicy {
                    retry_back_off: Some(RetryBackOff { base_interval: ms(20), max_interval: ms(10) }),
                    ..base()
                },
                "retry_back_off.max_interval",
            ),
            (pb::RetryPolicy { per_try_idle_timeout: ms(5), ..base() }, "per_try_idle_timeout"),
        ];
        for (p, field) in cases {
            assert_eq!(retry_policy(&p).expect_err(field).field, field);
        }
    }
}
