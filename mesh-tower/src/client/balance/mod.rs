//! Picks the endpoint of one attempt: the cluster's load-balancing policy (P2C
//! least-request by default) over the *ready set* of the request's (cluster, subset).
//!
//! The ready set and its picker are built once per configuration change (see
//! [`cluster`](super::cluster)); a pick only reads weights and in-flight counts, so
//! it allocates nothing and its cost does not grow with the number of endpoints. The
//! in-flight count of the chosen endpoint is raised at pick time and lowered when the
//! response ends, which is the load least-request compares.

use std::borrow::Cow;
use std::cell::RefCell;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use mesh_core::cluster::{Cluster, Protocol};
use mesh_core::endpoint::HealthStatus;
use mesh_core::lb::{LbEndpoint, PickContext, Picker};
use tower_service::Service;

use super::body::{InFlight, RequestBody, ResponseBody};
use super::endpoint::{EndpointConn, Wire};
use super::future::Staged;
use super::request::RouteDecision;
use crate::MeshError;

/// One endpoint of a ready set.
#[derive(Debug)]
pub(crate) struct ReadyEndpoint {
    pub(crate) conn: Arc<EndpointConn>,
    pub(crate) weight: u32,
}

impl LbEndpoint for ReadyEndpoint {
    fn weight(&self) -> u32 {
        self.weight
    }
    fn in_flight(&self) -> u64 {
        self.conn.in_flight()
    }
    fn hash_key(&self) -> Cow<'_, str> {
        Cow::Owned(self.conn.addr().to_string())
    }
}

/// An endpoint offered to a balancer, before health and priority filtering.
#[derive(Debug)]
pub(crate) struct Candidate {
    pub(crate) conn: Arc<EndpointConn>,
    pub(crate) weight: u32,
    pub(crate) health: HealthStatus,
    pub(crate) priority: u32,
}

/// The ready set of a (cluster, subset) and its picker.
#[derive(Debug)]
pub struct Balancer {
    cluster: Arc<Cluster>,
    subset: Option<String>,
    endpoints: Vec<ReadyEndpoint>,
    picker: Picker,
}

impl Balancer {
    /// Builds the ready set: serving endpoints (healthy or unknown) of the highest
    /// priority that has any; if there are none at all, degraded ones (Envoy uses
    /// degraded hosts only when no healthy host remains).
    pub(crate) fn new(cluster: Arc<Cluster>, subset: Option<String>, candidates: Vec<Candidate>) -> Self {
        // The highest priority (lowest number) that has serving endpoints; degraded
        // endpoints only when no priority has a serving one.
        let serving_priority = candidates.iter().filter(|c| c.health.is_serving()).map(|c| c.priority).min();
        let endpoints: Vec<ReadyEndpoint> = candidates
            .into_iter()
            .filter(|c| match serving_priority {
                Some(p) => c.health.is_serving() && c.priority == p,
                None => c.health == HealthStatus::Degraded,
            })
            .map(|c| ReadyEndpoint { conn: c.conn, weight: c.weight })
            .collect();
        let picker = Picker::build(cluster.lb(), &endpoints);
        Self { cluster, subset, endpoints, picker }
    }

    /// Number of endpoints in the ready set.
    pub fn len(&self) -> usize {
        self.endpoints.len()
    }

    /// Whether the ready set is empty.
    pub fn is_empty(&self) -> bool {
        self.endpoints.is_empty()
    }

    /// The cluster.
    pub fn cluster(&self) -> &Arc<Cluster> {
        &self.cluster
    }

    fn pick(&self, hash: Option<u64>) -> Option<&ReadyEndpoint> {
        thread_local! {
            static RNG: RefCell<fastrand::Rng> = RefCell::new(fastrand::Rng::new());
        }
        let ctx = PickContext { hash };
        RNG.with(|rng| self.picker.pick(&self.endpoints, &ctx, &mut rng.borrow_mut())).map(|i| &self.endpoints[i])
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
        let Some(ep) = balancer.pick(hash) else {
            return Staged::ready(Err(MeshError::NoHealthyEndpoint {
                cluster: balancer.cluster.name().to_string(),
                subset: balancer.subset.clone(),
            }));
        };
        let wire = balancer.wire(&req, grpc);
        super::timeout::write_grpc_timeout(&mut req, grpc);
        let in_flight = InFlight::start(&ep.conn.in_flight);
        Staged::boxed(ep.conn.clone().send(req, wire, in_flight))
    }
}
