//! Retry policy: when an attempt is retried, how long to wait, and how much extra load
//! retries may add.
//!
//! # Why a budget and not only a maximum number of attempts?
//!
//! A per-request attempt limit bounds the damage one request can do, but not what a
//! whole fleet does when a backend struggles: if every request is retried twice, a
//! failing backend sees three times its load at the worst moment. A retry *budget* caps
//! retries to a share of the regular traffic (plus a small floor so that a quiet client
//! can still retry), so retries help with sporadic failures and switch themselves off
//! during an outage. Envoy and linkerd both do this; the budget itself is tower's
//! `TpsBudget`, configured from a [`RetryBudgetPolicy`].

mod condition;
mod policy;

pub use condition::{AttemptOutcome, RetryOn};
pub use policy::{Backoff, RetryBudgetPolicy, RetryPolicy};
