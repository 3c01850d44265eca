//! A cluster's `circuit_breakers` → its retry budget.
//!
//! Envoy's retry budget limits *concurrent* retries to `budget_percent` of the active
//! requests, with a floor of `min_retry_concurrency`; the mesh's budget (tower's
//! `TpsBudget`) limits the retry *rate* to a share of the request rate over a window. The
//! translation keeps the meaning of the numbers: ratio = `budget_percent` / 100 (default
//! 20 %), floor = `min_retry_concurrency` retries per second (default 3), window 10 s
//! (`budget_interval` is not used). Both bound retries to a share of the traffic plus a
//! floor; they differ in how bursts are counted.
//!
//! Connection and request limits (`max_connections`, `max_pending_requests`,
//! `max_requests`, `max_retries`, `max_connection_pools`) are not enforced by the client:
//! a value other than unset or 2³²−1 (Istio's "unlimited") is rejected rather than
//! ignored. Thresholds of the HIGH routing priority are ignored (no route uses it).

use std::time::Duration;

use envoy_types::pb::envoy::config::cluster::v3::CircuitBreakers;
use envoy_types::pb::envoy::config::cluster::v3::circuit_breakers::Thresholds;
use envoy_types::pb::envoy::config::core::v3::RoutingPriority;
use envoy_types::pb::google::protobuf::UInt32Value;
use mesh_core::retry::RetryBudgetPolicy;

use super::field::{At, FieldResult, reject};

const BUDGET_TTL: Duration = Duration::from_secs(10);

/// The retry budget of the DEFAULT-priority thresholds, if any.
pub(super) fn retry_budget(cb: &CircuitBreakers) -> FieldResult<Option<RetryBudgetPolicy>> {
    let mut budget = None;
    for (i, t) in cb.thresholds.iter().enumerate() {
        let at = format!("thresholds[{i}]");
        match RoutingPriority::try_from(t.priority) {
            Ok(RoutingPriority::Default) => {}
            Ok(RoutingPriority::High) => continue,
            Err(_) => return reject(format!("{at}.priority"), format!("unknown priority {}", t.priority)),
        }
        if budget.is_some() {
            return reject(at, "more than one set of DEFAULT thresholds");
        }
        limits(t).at(&at)?;
        budget = Some(threshold_budget(t).at(&at)?);
    }
    for (i, t) in cb.per_host_thresholds.iter().enumerate() {
        limits(t).at(format!("per_host_thresholds[{i}]"))?;
    }
    Ok(budget.flatten())
}

fn threshold_budget(t: &Thresholds) -> FieldResult<Option<RetryBudgetPolicy>> {
    let Some(b) = &t.retry_budget else { return Ok(None) };
    let percent = b.budget_percent.as_ref().map_or(20.0, |p| p.value);
    let floor = b.min_retry_concurrency.as_ref().map_or(3, |v| v.value);
    let ratio = (percent / 100.0) as f32;
    RetryBudgetPolicy::new(ratio, floor, BUDGET_TTL).for_field("retry_budget.budget_percent").map(Some)
}

fn limits(t: &Thresholds) -> FieldResult<()> {
    let limited = |v: &Option<UInt32Value>| v.as_ref().is_some_and(|v| v.value != u32::MAX);
    let fields = [
        ("max_connections", &t.max_connections),
        ("max_pending_requests", &t.max_pending_requests),
        ("max_requests", &t.max_requests),
        ("max_connection_pools", &t.max_connection_pools),
    ];
    for (name, value) in fields {
        if limited(value) {
            return reject(name, "circuit-breaking limits are not supported yet (only unset or 4294967295)");
        }
    }
    // With a retry budget, Envoy ignores max_retries.
    if t.retry_budget.is_none() && limited(&t.max_retries) {
        return reject("max_retries", "a concurrent-retry limit is not supported (use retry_budget)");
    }
    Ok(())
}
