//! A cluster's `circuit_breakers` → its [`CircuitBreakers`] and retry budget.
//!
//! The DEFAULT-priority thresholds give the limits the client enforces per cluster:
//! `max_connections`, `max_pending_requests`, `max_requests`, `max_retries` (see
//! `mesh_core::cluster::limits` for what each means to a request). 2³²−1 (istiod's
//! "unlimited") and unset are unlimited — Envoy's implicit 1024 / 3 defaults are not
//! applied, because Istio always sends explicit values. `track_remaining` only adds
//! stats and is ignored.
//!
//! Envoy's retry budget limits *concurrent* retries to `budget_percent` of the active
//! requests, with a floor of `min_retry_concurrency`; the mesh's budget (tower's
//! `TpsBudget`) limits the retry *rate* to a share of the request rate over a window. The
//! translation keeps the meaning of the numbers: ratio = `budget_percent` / 100 (default
//! 20 %), floor = `min_retry_concurrency` retries per second (default 3), window 10 s
//! (`budget_interval` is not used). With a budget, `max_retries` is ignored, as in Envoy.
//!
//! Rejected: a finite `max_connection_pools`; finite thresholds of the HIGH routing
//! priority (routes always run at DEFAULT priority in the client, so they would never
//! apply; unlimited HIGH thresholds, as some control planes send, are accepted); a finite
//! per-host `max_connections` (the only per-host field Envoy honours; the others are
//! ignored as Envoy ignores them).

use std::time::Duration;

use envoy_types::pb::envoy::config::cluster::v3::CircuitBreakers as PbCircuitBreakers;
use envoy_types::pb::envoy::config::cluster::v3::circuit_breakers::Thresholds;
use envoy_types::pb::envoy::config::core::v3::RoutingPriority;
use envoy_types::pb::google::protobuf::UInt32Value;
use mesh_core::cluster::CircuitBreakers;
use mesh_core::retry::RetryBudgetPolicy;

use super::field::{At, FieldResult, reject};

const BUDGET_TTL: Duration = Duration::from_secs(10);

/// What a cluster's `circuit_breakers` configure.
#[derive(Debug, Clone, Default)]
pub(super) struct Breakers {
    pub(super) limits: CircuitBreakers,
    pub(super) retry_budget: Option<RetryBudgetPolicy>,
}

/// The limits and retry budget of the DEFAULT-priority thresholds.
pub(super) fn circuit_breakers(cb: &PbCircuitBreakers) -> FieldResult<Breakers> {
    let mut out: Option<Breakers> = None;
    for (i, t) in cb.thresholds.iter().enumerate() {
        let at = format!("thresholds[{i}]");
        match RoutingPriority::try_from(t.priority) {
            Ok(RoutingPriority::Default) => {}
            Ok(RoutingPriority::High) => {
                high(t).at(&at)?;
                continue;
            }
            Err(_) => return reject(format!("{at}.priority"), format!("unknown priority {}", t.priority)),
        }
        if out.is_some() {
            return reject(at, "more than one set of DEFAULT thresholds");
        }
        out = Some(thresholds(t).at(&at)?);
    }
    for (i, t) in cb.per_host_thresholds.iter().enumerate() {
        if limit(&t.max_connections).is_some() {
            return reject(
                format!("per_host_thresholds[{i}].max_connections"),
                "per-endpoint connection limits are not supported (only per-cluster ones)",
            );
        }
    }
    Ok(out.unwrap_or_default())
}

/// A threshold value; 2³²−1 and unset are unlimited.
fn limit(v: &Option<UInt32Value>) -> Option<u32> {
    v.as_ref().map(|v| v.value).filter(|v| *v != u32::MAX)
}

fn thresholds(t: &Thresholds) -> FieldResult<Breakers> {
    if limit(&t.max_connection_pools).is_some() {
        return reject("max_connection_pools", "a limit on connection pools is not supported");
    }
    let retry_budget = budget(t)?;
    Ok(Breakers {
        limits: CircuitBreakers {
            max_connections: limit(&t.max_connections),
            max_pending_requests: limit(&t.max_pending_requests),
            max_requests: limit(&t.max_requests),
            // With a retry budget, Envoy ignores max_retries.
            max_retries: if retry_budget.is_some() { None } else { limit(&t.max_retries) },
        },
        retry_budget,
    })
}

fn high(t: &Thresholds) -> FieldResult<()> {
    let limited =
        [&t.max_connections, &t.max_pending_requests, &t.max_requests, &t.max_retries, &t.max_connection_pools]
            .into_iter()
            .any(|v| limit(v).is_some());
    if limited || t.retry_budget.is_some() {
        return reject(
            "priority",
            "HIGH-priority thresholds are not supported (the client sends every request at DEFAULT priority); only unlimited ones are accepted",
        );
    }
    Ok(())
}

fn budget(t: &Thresholds) -> FieldResult<Option<RetryBudgetPolicy>> {
    let Some(b) = &t.retry_budget else { return Ok(None) };
    let percent = b.budget_percent.as_ref().map_or(20.0, |p| p.value);
    let floor = b.min_retry_concurrency.as_ref().map_or(3, |v| v.value);
    let ratio = (percent / 100.0) as f32;
    RetryBudgetPolicy::new(ratio, floor, BUDGET_TTL).for_field("retry_budget.budget_percent").map(Some)
}
