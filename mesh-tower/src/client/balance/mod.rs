//! Picks the endpoint of one attempt: the cluster's load-balancing policy (P2C
//! least-request by default) over the *ready set* of the request's (cluster, subset),
//! after the cluster's `max_requests` circuit breaker.
//!
//! The ready set and its picker are built once per configuration change (see
//! [`cluster`](super::cluster)) and again when outlier detection ejects or returns an
//! endpoint ([`outlier`]: the balancer notices the detector's generation moved and
//! rebuilds, once); a pick only reads weights and in-flight counts, so it allocates
//! nothing and its cost does not grow with the number of endpoints. The in-flight count
//! of the chosen endpoint and the cluster's request count are raised at pick time and
//! lowered when the response ends, which is the load least-request compares and what
//! `max_requests` limits. Each attempt's result is charged to its endpoint's outlier
//! detector.

mod outlier;
mod ready;

use std::cell::RefCell;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use arc_swap::ArcSwap;
use http::{Request, Response};
use mesh_core::cluster::{Cluster, Protocol};
use mesh_core::lb::PickContext;
use tower_service::Service;

pub(crate) use outlier::{OutlierDetector, OutlierRegistry};
pub(crate) use ready::Candidate;

use super::body::{InFlight, RequestBody, ResponseBody};
use super::cluster::{ClusterResources, Resource};
use super::endpoint::{EndpointConn, Wire};
use super::future::Staged;
use super::request::RouteDecision;
use crate::{Limit, MeshError};
use outlier::AttemptWatch;
use ready::ReadySet;

/// The ready set of a (cluster, subset) and its picker.
#[derive(Debug)]
pub struct Balancer {
    cluster: Arc<Cluster>,
    subset: Option<String>,
    candidates: Vec<Candidate>,
    ready: ArcSwap<ReadySet>,
    rebuilding: Mutex<()>,
    outlier: Option<Arc<OutlierDetector>>,
    resources: Arc<ClusterResources>,
}

impl Balancer {
    /// Builds the ready set: serving endpoints (healthy or unknown, not ejected) of the
    /// highest priority that has any; if there are none at all, degraded ones (Envoy uses
    /// degraded hosts only when no healthy host remains).
    pub(crate) fn new(
        cluster: Arc<Cluster>,
        subset: Option<String>,
        candidates: Vec<Candidate>,
        resources: Arc<ClusterResources>,
        outlier: Option<Arc<OutlierDetector>>,
    ) -> Self {
        let (generation, ejected) = match &outlier {
            Some(d) => (d.generation(), d.ejected()),
            None => (0, Arc::new(HashSet::new())),
        };
        let ready = ReadySet::build(cluster.lb(), &candidates, &ejected, generation);
        Self {
            cluster,
            subset,
            candidates,
            ready: ArcSwap::from_pointee(ready),
            rebuilding: Mutex::new(()),
            outlier,
            resources,
        }
    }

    /// Number of endpoints in the ready set.
    pub fn len(&self) -> usize {
        self.ready().endpoints.len()
    }

    /// Whether the ready set is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The cluster.
    pub fn cluster(&self) -> &Arc<Cluster> {
        &self.cluster
    }

    /// The current ready set, rebuilt first if the outlier detector changed since.
    fn ready(&self) -> arc_swap::Guard<Arc<ReadySet>> {
        let ready = self.ready.load();
        let Some(detector) = &self.outlier else { return ready };
        let generation = detector.generation();
        if ready.generation == generation {
            return ready;
        }
        // One request rebuilds; others meanwhile pick from the previous set.
        let Ok(_rebuilding) = self.rebuilding.try_lock() else { return ready };
        let current = self.ready.load();
        if current.generation == generation {
            return current;
        }
        let next = ReadySet::build(self.cluster.lb(), &self.candidates, &detector.ejected(), generation);
        self.ready.store(Arc::new(next));
        self.ready.load()
    }

    fn pick(&self, hash: Option<u64>) -> Option<Arc<EndpointConn>> {
        thread_local! {
            static RNG: RefCell<fastrand::Rng> = RefCell::new(fastrand::Rng::new());
        }
        let ctx = PickContext { hash };
        let ready = self.ready();
        RNG.with(|rng| ready.picker.pick(&ready.endpoints, &ctx, &mut rng.borrow_mut()))
            .map(|i| ready.endpoints[i].conn.clone())
    }

    fn wire<B>(&self, req: &Request<B>, grpc: bool) -> Wire {
        match self.cluster.protocol() {
            Protocol::Http1 => Wire::Http1,
            Protocol::Http2 => Wire::Http2,
            Protocol::Auto if grpc || req.version() == http::Version::HTTP_2 => Wire::Http2,
            Protocol::Auto => Wire::Http1,
        }
    }
}

/// The balance stage: takes the [`Balancer`] the cluster stage attached, picks, sends.
#[derive(Debug, Clone, Default)]
pub struct BalanceService {
    _priv: (),
}

impl BalanceService {
    /// A new balance stage.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Service<Request<RequestBody>> for BalanceService {
    type Response = Response<ResponseBody>;
    type Error = MeshError;
    type Future = Staged<std::future::Ready<super::future::StageResult>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), MeshError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, mut req: Request<RequestBody>) -> Self::Future {
        let Some(balancer) = req.extensions_mut().remove::<Arc<Balancer>>() else {
            return Staged::ready(Err(MeshError::ClusterNotFound { cluster: String::new() }));
        };
        let (hash, grpc) = req.extensions().get::<RouteDecision>().map_or((None, false), |d| (d.hash, d.grpc));
        let Some(conn) = balancer.pick(hash) else {
            return Staged::ready(Err(MeshError::NoHealthyEndpoint {
                cluster: balancer.cluster.name().to_string(),
                subset: balancer.subset.clone(),
            }));
        };
        let Some(slot) = balancer.resources.try_acquire(Resource::Requests) else {
            let cluster = balancer.cluster.name().to_string();
            tracing::debug!(%cluster, "max_requests reached: request not sent");
            return Staged::ready(Err(MeshError::Overflow { cluster, limit: Limit::MaxRequests }));
        };
        let wire = balancer.wire(&req, grpc);
        super::timeout::write_grpc_timeout(&mut req, grpc);
        let in_flight = InFlight::start(&conn.in_flight).holding(slot);
        match &balancer.outlier {
            None => Staged::boxed(conn.send(req, wire, in_flight)),
            Some(detector) => {
                let watch = AttemptWatch::new(detector.clone(), conn.addr(), grpc, &req);
                Staged::boxed(async move {
                    let result = conn.send(req, wire, in_flight).await;
                    watch.finish(&result);
                    result
                })
            }
        }
    }
}
