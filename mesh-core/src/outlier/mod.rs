//! Outlier detection: passive health checking of a cluster's endpoints, Envoy's
//! algorithm (Istio's DestinationRule `outlierDetection`).
//!
//! Every attempt's result is charged to the endpoint that served it ([`CallResult`]).
//! An endpoint that fails too often in a row — `consecutive_5xx` 5xx responses,
//! `consecutive_gateway_failure` 502/503/504s, or (with
//! `split_external_local_origin_errors`) `consecutive_local_origin_failure` connection
//! failures and timeouts — is *ejected*: the client stops picking it. Once per
//! `interval` the tracker returns endpoints whose ejection time is over, and, when
//! enabled, ejects endpoints whose success rate is a statistical outlier or whose
//! failure percentage is over a threshold.
//!
//! The rules, as Envoy has them:
//! - an ejection lasts `base_ejection_time` × a multiplier (capped by
//!   `max_ejection_time`, plus up to `max_ejection_time_jitter`); the multiplier grows by
//!   one per ejection and shrinks by one per interval the endpoint stays healthy;
//! - at most `max_ejection_percent` of the cluster's endpoints are ejected at once
//!   (counting the new one), or one when `always_eject_one_host` is set;
//! - an ejection is enforced with the `enforcing_*` probability of its kind;
//! - connection failures and timeouts count as 503 and 504 unless
//!   `split_external_local_origin_errors` counts them apart;
//! - gRPC: Envoy charges the HTTP status of the response headers, and for a
//!   trailers-only response (the `grpc-status` is in the headers) that status mapped to
//!   HTTP ([`grpc_status_to_http`]: `UNAVAILABLE` is 503, `INTERNAL` 500, …). A status
//!   that arrives in trailers after a 200 is not charged. The client does the same.
//!
//! [`OutlierTracker`] is the whole state machine, pure and synchronous: it is given the
//! time and a random source, so tests drive it with explicit instants. `mesh-tower` runs
//! it: it charges results, ticks the interval and takes ejected endpoints out of the
//! balancer's ready set.

mod config;
mod result;
mod statistics;
mod tracker;

pub use config::{FailurePercentageEjection, OutlierDetection, SuccessRateEjection};
pub use result::{CallResult, grpc_status_to_http};
pub use tracker::{EjectionKind, OutlierEvent, OutlierTracker};
