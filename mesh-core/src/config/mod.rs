//! The static configuration file: routes and clusters in YAML, translated into a
//! validated [`Snapshot`](crate::Snapshot).
//!
//! The shape mirrors Envoy's resources (virtual hosts → routes → weighted clusters;
//! clusters → subsets → endpoints) with Istio's vocabulary where it is friendlier
//! (`attempts`, `retry_on`, `percentage`). Unknown fields are rejected, and every error
//! names the field path — and, for syntax errors, the line — that is wrong.
//!
//! ```yaml
//! version: "canary-1"
//! virtual_hosts:
//!   - name: reviews
//!     domains: ["reviews", "reviews.default.svc.cluster.local"]
//!     routes:
//!       - name: jason-to-v2
//!         match:
//!           prefix: /
//!           headers: [{ name: end-user, exact: jason }]
//!         route:
//!           destinations: [{ cluster: reviews, subset: v2 }]
//!       - name: default
//!         route:
//!           destinations:
//!             - { cluster: reviews, subset: v1, weight: 90 }
//!             - { cluster: reviews, subset: v3, weight: 10 }
//!           timeout: 2s
//!           retries: { attempts: 2, retry_on: "5xx,unavailable", per_try_timeout: 500ms }
//! clusters:
//!   - name: reviews
//!     circuit_breakers: { max_requests: 1000 }
//!     outlier_detection: { consecutive_5xx: 5, interval: 10s, base_ejection_time: 30s }
//!     subsets:
//!       - { name: v1, labels: { version: v1 } }
//!       - { name: v2, labels: { version: v2 } }
//!       - { name: v3, labels: { version: v3 } }
//!     endpoints:
//!       - { address: "127.0.0.1:9081", labels: { version: v1 } }
//!       - { address: "127.0.0.1:9082", labels: { version: v2 } }
//!       - { address: "127.0.0.1:9083", labels: { version: v3 } }
//! ```

mod cluster_policy;
mod cluster_tls;
mod file;
mod route_extras;
mod translate;

pub use file::StaticConfig;

use crate::{ConfigError, Snapshot};

/// Parses and validates a YAML static configuration.
pub fn from_yaml(text: &str) -> Result<Snapshot, ConfigError> {
    let parsed: StaticConfig = serde_yaml_ng::from_str(text).map_err(|e| {
        let at = e.location().map(|l| format!("line {}", l.line())).unwrap_or_default();
        ConfigError::new(at, e.to_string())
    })?;
    parsed.into_snapshot()
}
