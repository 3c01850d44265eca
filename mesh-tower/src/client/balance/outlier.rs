//! Outlier detection at run time: charges each attempt's result to its endpoint, runs
//! the interval timer, and publishes the set of ejected endpoints that the balancers
//! take out of their ready sets.
//!
//! The state machine is `mesh_core::outlier::OutlierTracker` (pure, tested with explicit
//! instants); this file adds the clock (tokio's, so `tokio::time::pause` drives it), a
//! lock, and a timer task. One [`OutlierDetector`] per cluster name lives across
//! configurations, so an endpoint that stays keeps its counters and ejection.
//!
//! What is charged (Envoy's router does the same): the response's HTTP status when
//! its headers arrive — for a gRPC trailers-only response, its `grpc-status` mapped to
//! HTTP; connection failures, refused and reset streams as a connect failure; an
//! attempt abandoned at its per-try or overall deadline as a timeout. Overflows, and
//! attempts the caller cancelled, are not charged.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};

use arc_swap::ArcSwap;
use http::Request;
use mesh_core::cluster::Cluster;
use mesh_core::outlier::{CallResult, OutlierDetection, OutlierEvent, OutlierTracker, grpc_status_to_http};
use tokio::time::Instant;

use crate::MeshError;
use crate::client::future::StageResult;
use crate::client::request::Deadline;
use crate::client::retry::PerTryDeadline;

#[derive(Debug)]
struct State {
    tracker: OutlierTracker,
    rng: fastrand::Rng,
}

/// The outlier detection of one cluster.
#[derive(Debug)]
pub(crate) struct OutlierDetector {
    cluster: String,
    state: Mutex<State>,
    /// The ejected endpoints, republished on each change.
    ejected: ArcSwap<HashSet<SocketAddr>>,
    /// Bumped after each change of `ejected`; balancers rebuild when it moved.
    generation: AtomicU64,
    timer: AtomicBool,
}

impl OutlierDetector {
    fn new(cluster: &str, config: OutlierDetection) -> Self {
        Self {
            cluster: cluster.to_string(),
            state: Mutex::new(State { tracker: OutlierTracker::new(config), rng: fastrand::Rng::new() }),
            ejected: ArcSwap::from_pointee(HashSet::new()),
            generation: AtomicU64::new(0),
            timer: AtomicBool::new(false),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Applies a configuration: settings and the cluster's endpoints.
    fn configure(&self, config: &OutlierDetection, endpoints: impl Iterator<Item = SocketAddr>) {
        let mut st = self.lock();
        if st.tracker.config() != config {
            st.tracker.set_config(config.clone());
        }
        let before = st.tracker.ejected_count();
        st.tracker.set_endpoints(endpoints);
        if st.tracker.ejected_count() != before {
            self.publish(&st);
        }
    }

    fn publish(&self, st: &State) {
        self.ejected.store(Arc::new(st.tracker.ejected().collect()));
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// Changes so far (a balancer compares it with the generation of its ready set).
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// The ejected endpoints.
    pub(crate) fn ejected(&self) -> Arc<HashSet<SocketAddr>> {
        self.ejected.load_full()
    }

    /// Charges one attempt's result.
    pub(crate) fn record(self: &Arc<Self>, addr: SocketAddr, result: CallResult) {
        self.start_timer();
        let now = Instant::now().into_std();
        let mut st = self.lock();
        let State { tracker, rng } = &mut *st;
        if let Some(event) = tracker.record(addr, result, now, rng) {
            self.log(&event);
            self.publish(&st);
        }
    }

    fn on_interval(&self) {
        let now = Instant::now().into_std();
        let mut st = self.lock();
        let State { tracker, rng } = &mut *st;
        let events = tracker.on_interval(now, rng);
        if !events.is_empty() {
            events.iter().for_each(|e| self.log(e));
            self.publish(&st);
        }
    }

    fn log(&self, event: &OutlierEvent) {
        match event {
            OutlierEvent::Ejected { addr, kind, duration } => {
                tracing::info!(cluster = %self.cluster, endpoint = %addr, ?kind, ?duration, "outlier ejected");
            }
            OutlierEvent::Unejected { addr } => {
                tracing::info!(cluster = %self.cluster, endpoint = %addr, "outlier ejection ended");
            }
        }
    }

    /// Starts the interval timer on the first result (there is a runtime then; a
    /// configuration may be installed outside one). It ends when the detector is gone.
    fn start_timer(self: &Arc<Self>) {
        if self.timer.load(Ordering::Relaxed) || self.timer.swap(true, Ordering::AcqRel) {
            return;
        }
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            self.timer.store(false, Ordering::Release);
            return;
        };
        let weak = Arc::downgrade(self);
        rt.spawn(interval_timer(weak));
    }
}

async fn interval_timer(detector: Weak<OutlierDetector>) {
    loop {
        let Some(interval) = detector.upgrade().map(|d| d.lock().tracker.config().interval) else { return };
        tokio::time::sleep(interval).await;
        let Some(d) = detector.upgrade() else { return };
        d.on_interval();
    }
}

/// Outlier detectors by cluster name, across configurations.
#[derive(Debug, Default)]
pub(crate) struct OutlierRegistry {
    clusters: Mutex<HashMap<String, Arc<OutlierDetector>>>,
}

impl OutlierRegistry {
    /// The detector of `cluster` under its current settings; `None` (and forgotten)
    /// when the cluster has no outlier detection.
    pub(crate) fn get(&self, cluster: &Cluster) -> Option<Arc<OutlierDetector>> {
        let mut clusters = self.clusters.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(config) = cluster.outlier_detection() else {
            clusters.remove(cluster.name());
            return None;
        };
        let d = clusters
            .entry(cluster.name().to_string())
            .or_insert_with(|| Arc::new(OutlierDetector::new(cluster.name(), config.clone())));
        d.configure(config, cluster.endpoints().iter().map(|e| e.address()));
        Some(d.clone())
    }

    /// The ejected endpoints of `cluster`, in address order.
    pub(crate) fn ejected(&self, cluster: &str) -> Vec<SocketAddr> {
        let clusters = self.clusters.lock().unwrap_or_else(PoisonError::into_inner);
        let mut v: Vec<SocketAddr> =
            clusters.get(cluster).map(|d| d.ejected().iter().copied().collect()).unwrap_or_default();
        v.sort();
        v
    }

    /// Forgets clusters no longer configured.
    pub(crate) fn retain(&self, clusters: &HashSet<&str>) {
        self.clusters.lock().unwrap_or_else(PoisonError::into_inner).retain(|name, _| clusters.contains(name.as_str()));
    }
}

/// Watches one attempt to charge its result: [`finish`](Self::finish) with the
/// result, or, if the attempt is dropped unfinished past its deadline, a timeout.
#[derive(Debug)]
pub(crate) struct AttemptWatch {
    detector: Option<Arc<OutlierDetector>>,
    addr: SocketAddr,
    grpc: bool,
    deadline: Option<Instant>,
}

impl AttemptWatch {
    pub(crate) fn new<B>(detector: Arc<OutlierDetector>, addr: SocketAddr, grpc: bool, req: &Request<B>) -> Self {
        let overall = req.extensions().get::<Deadline>().map(|d| d.0);
        let per_try = req.extensions().get::<PerTryDeadline>().map(|d| d.0);
        let deadline = match (overall, per_try) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        Self { detector: Some(detector), addr, grpc, deadline }
    }

    /// Charges the attempt's result.
    pub(crate) fn finish(mut self, result: &StageResult) {
        let Some(detector) = self.detector.take() else { return };
        let charged = match result {
            Ok(res) => {
                let grpc_status = self
                    .grpc
                    .then(|| res.headers().get("grpc-status").and_then(|v| v.to_str().ok()?.parse::<u32>().ok()))
                    .flatten();
                Some(CallResult::Response(grpc_status.map_or(res.status().as_u16(), grpc_status_to_http)))
            }
            Err(MeshError::Connect { .. } | MeshError::RefusedStream { .. } | MeshError::Upstream { .. }) => {
                Some(CallResult::ConnectFailed)
            }
            Err(_) => None,
        };
        if let Some(c) = charged {
            detector.record(self.addr, c);
        }
    }
}

impl Drop for AttemptWatch {
    fn drop(&mut self) {
        if let (Some(detector), Some(deadline)) = (self.detector.take(), self.deadline)
            && Instant::now() >= deadline
        {
            detector.record(self.addr, CallResult::Timeout);
        }
    }
}
