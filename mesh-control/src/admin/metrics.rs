//! [`Metrics`]: the control plane's Prometheus metrics (`GET /metrics`; the list is in the
//! [module docs](super)).
//!
//! Push latency is Istio's `pilot_proxy_convergence_time`: the clock starts when a load (or a
//! registry change) is accepted and stops at the `Pushed` event of the stream; pushes to
//! clients that connected after the configuration was accepted are first responses, not
//! convergence, and are not observed.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::AtomicU64;
use std::sync::{Mutex, PoisonError};
use std::time::Instant;

use mesh_xds::type_url;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// Versions remembered per type for the push-latency clock.
const ACCEPTED_VERSIONS: usize = 32;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TypeLabels {
    r#type: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabels {
    result: &'static str,
}

/// Every metric, registered once; cheap to update from any task.
pub(crate) struct Metrics {
    registry: Registry,
    connected_clients: Gauge,
    pushes: Family<TypeLabels, Counter>,
    push_duration: Histogram,
    nacks: Family<TypeLabels, Counter>,
    config_errors: Gauge,
    reloads: Family<ResultLabels, Counter>,
    generation: Gauge<u64, AtomicU64>,
    registrations: Gauge,
    /// Per type URL: (type version, when the configuration that produced it was accepted).
    accepted: Mutex<HashMap<String, VecDeque<(String, Instant)>>>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Metrics {
    pub(crate) fn new() -> Self {
        let mut registry = Registry::default();
        let connected_clients = Gauge::default();
        let pushes = Family::<TypeLabels, Counter>::default();
        let push_duration = Histogram::new(exponential_buckets(0.0005, 2.0, 16));
        let nacks = Family::<TypeLabels, Counter>::default();
        let config_errors = Gauge::default();
        let reloads = Family::<ResultLabels, Counter>::default();
        let generation = Gauge::<u64, AtomicU64>::default();
        let registrations = Gauge::default();
        registry.register(
            "mesh_control_xds_connected_clients",
            "ADS streams currently open",
            connected_clients.clone(),
        );
        registry.register("mesh_control_xds_pushes", "xDS responses sent, by resource type", pushes.clone());
        registry.register(
            "mesh_control_xds_push_duration_seconds",
            "Time from a configuration accepted to a response carrying it, per connected client",
            push_duration.clone(),
        );
        registry.register("mesh_control_xds_nacks", "xDS responses rejected by clients, by type", nacks.clone());
        registry.register(
            "mesh_control_config_errors",
            "Problems in the latest load of the configuration files if it was rejected (0 once one succeeds)",
            config_errors.clone(),
        );
        registry.register(
            "mesh_control_config_reloads",
            "Loads of the configuration files, by result",
            reloads.clone(),
        );
        registry.register(
            "mesh_control_config_generation",
            "Generation of the configuration served",
            generation.clone(),
        );
        registry.register("mesh_control_registrations", "Workload instances in the registry", registrations.clone());
        // Every series exists from the start, at 0, so dashboards and alerts see them.
        for r#type in ["lds", "rds", "cds", "eds"] {
            drop(pushes.get_or_create(&TypeLabels { r#type }));
            drop(nacks.get_or_create(&TypeLabels { r#type }));
        }
        for result in ["ok", "error"] {
            drop(reloads.get_or_create(&ResultLabels { result }));
        }
        Self {
            registry,
            connected_clients,
            pushes,
            push_duration,
            nacks,
            config_errors,
            reloads,
            generation,
            registrations,
            accepted: Mutex::new(HashMap::new()),
        }
    }

    /// The registry, for metrics other components keep (the CA's `citadel_server_*`).
    pub(crate) fn registry_mut(&mut self) -> &mut Registry {
        &mut self.registry
    }

    /// A load of the files succeeded.
    pub(crate) fn reload_ok(&self) {
        self.reloads.get_or_create(&ResultLabels { result: "ok" }).inc();
        self.config_errors.set(0);
    }

    /// A load of the files was rejected with `issues` problems.
    pub(crate) fn reload_error(&self, issues: usize) {
        self.reloads.get_or_create(&ResultLabels { result: "error" }).inc();
        self.config_errors.set(i64::try_from(issues).unwrap_or(i64::MAX));
    }

    /// A configuration was accepted and pushed into the cache.
    pub(crate) fn generation(&self, generation: u64) {
        self.generation.set(generation);
    }

    /// The cache's `type_url` reached `version` with a configuration accepted `at`.
    pub(crate) fn accepted(&self, type_url: &str, version: String, at: Instant) {
        let mut accepted = self.accepted.lock().unwrap_or_else(PoisonError::into_inner);
        let versions = accepted.entry(type_url.to_owned()).or_default();
        versions.push_back((version, at));
        if versions.len() > ACCEPTED_VERSIONS {
            versions.pop_front();
        }
    }

    /// When the configuration that produced `version` of `type_url` was accepted.
    pub(crate) fn accepted_at(&self, type_url: &str, version: &str) -> Option<Instant> {
        let accepted = self.accepted.lock().unwrap_or_else(PoisonError::into_inner);
        accepted.get(type_url)?.iter().find(|(v, _)| v == version).map(|(_, at)| *at)
    }

    /// A response was sent.
    pub(crate) fn pushed(&self, type_url: &str) {
        self.pushes.get_or_create(&TypeLabels { r#type: short_type(type_url) }).inc();
    }

    /// A response carrying a configuration accepted `elapsed` ago was sent to a client that
    /// was already connected.
    pub(crate) fn push_latency(&self, elapsed: std::time::Duration) {
        self.push_duration.observe(elapsed.as_secs_f64());
    }

    /// A response was rejected.
    pub(crate) fn nacked(&self, type_url: &str) {
        self.nacks.get_or_create(&TypeLabels { r#type: short_type(type_url) }).inc();
    }

    /// The text exposition (OpenMetrics), with the sampled gauges set first.
    pub(crate) fn encode(&self, connected_clients: usize, registrations: usize) -> String {
        self.connected_clients.set(i64::try_from(connected_clients).unwrap_or(i64::MAX));
        self.registrations.set(i64::try_from(registrations).unwrap_or(i64::MAX));
        let mut text = String::new();
        if let Err(e) = prometheus_client::encoding::text::encode(&mut text, &self.registry) {
            tracing::error!(error = %e, "cannot encode metrics");
        }
        text
    }
}

/// `lds`, `rds`, `cds`, `eds` or `other`.
pub(crate) fn short_type(url: &str) -> &'static str {
    match url {
        type_url::LISTENER => "lds",
        type_url::ROUTE => "rds",
        type_url::CLUSTER => "cds",
        type_url::ENDPOINT => "eds",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_metric_is_exposed_from_the_start() {
        let metrics = Metrics::new();
        metrics.reload_error(3);
        metrics.pushed(type_url::LISTENER);
        let text = metrics.encode(2, 1);
        for line in [
            "mesh_control_xds_connected_clients 2",
            "mesh_control_xds_pushes_total{type=\"lds\"} 1",
            "mesh_control_xds_push_duration_seconds_count 0",
            "mesh_control_xds_nacks_total{type=\"eds\"} 0",
            "mesh_control_config_errors 3",
            "mesh_control_config_reloads_total{result=\"error\"} 1",
            "mesh_control_config_reloads_total{result=\"ok\"} 0",
            "mesh_control_registrations 1",
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line:?} in\n{text}");
        }
    }

    #[test]
    fn accepted_versions_are_remembered() {
        let metrics = Metrics::new();
        let at = Instant::now();
        metrics.accepted(type_url::ROUTE, "3".into(), at);
        assert_eq!(metrics.accepted_at(type_url::ROUTE, "3"), Some(at));
        assert_eq!(metrics.accepted_at(type_url::ROUTE, "4"), None);
    }
}
