//! Maps the route's destination — a cluster and maybe a subset — to the balancer that
//! serves it, and owns what must outlive a single configuration: connections to
//! endpoints, per-cluster retry budgets, circuit-breaker counts ([`resources`]) and
//! outlier detectors.
//!
//! Why resolve eagerly? When a configuration is installed, every (cluster, subset)
//! balancer is built at once ([`Resolved`]), reusing the existing connection of any
//! endpoint that is still present. The request path then does one hash lookup; it never
//! filters endpoints by labels or builds a picker, and a configuration cannot be half
//! applied. Requests keep the `Resolved` they started with, so in-flight requests finish
//! on their own balancers while new ones use the new ones.

mod pool;
mod resources;
mod tls;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use mesh_core::Snapshot;
use tower_layer::Layer;
use tower_service::Service;

pub(crate) use pool::{BudgetRegistry, EndpointPool};
pub(crate) use resources::{ClusterProtection, ClusterResources, Resource, ResourceGuard, RetryLimit};
pub(crate) use tls::TlsCache;

use super::balance::{Balancer, Candidate};
use super::body::{RequestBody, ResponseBody};
use super::future::Staged;
use super::request::RouteDecision;
use crate::MeshError;

/// The balancers and retry limit of one cluster.
#[derive(Debug)]
pub(crate) struct ClusterState {
    pub(crate) all: Arc<Balancer>,
    pub(crate) subsets: HashMap<String, Arc<Balancer>>,
    pub(crate) retry: RetryLimit,
}

/// What building TLS settings needs: the process's certificate providers and the cache
/// of configurations already built.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TlsContext<'a> {
    pub(crate) providers: &'a mesh_tls::identity::CertificateProviders,
    pub(crate) cache: &'a TlsCache,
}

/// A snapshot with everything the request path needs prebuilt.
#[derive(Debug)]
pub struct Resolved {
    pub(crate) snapshot: Arc<Snapshot>,
    pub(crate) clusters: HashMap<String, ClusterState>,
}

impl Resolved {
    pub(crate) fn build(
        snapshot: Arc<Snapshot>,
        pool: &EndpointPool,
        budgets: &BudgetRegistry,
        tls: &TlsContext<'_>,
        protection: &ClusterProtection,
    ) -> Self {
        let clusters = snapshot
            .clusters()
            .map(|c| {
                let connect = c.tls().map(|t| tls.cache.get(t, tls.providers));
                let resources = protection.resources.get(c.name(), c.circuit_breakers());
                // Connection limits count this cluster's connections: it gets its own.
                let limits = c.circuit_breakers().limits_connections().then_some(&resources);
                let outlier = protection.outliers.get(c);
                let balancer = |subset: Option<&str>| {
                    let members = c.subset_endpoints(subset).unwrap_or_default();
                    let candidates = members
                        .into_iter()
                        .map(|e| Candidate {
                            conn: pool.get(e.address(), c.connect_timeout(), connect.as_ref(), limits),
                            weight: e.weight(),
                            health: e.health(),
                            priority: e.priority(),
                        })
                        .collect();
                    let subset = subset.map(str::to_string);
                    Arc::new(Balancer::new(c.clone(), subset, candidates, resources.clone(), outlier.clone()))
                };
                let state = ClusterState {
                    all: balancer(None),
                    subsets: c.subsets().iter().map(|s| (s.name().to_string(), balancer(Some(s.name())))).collect(),
                    // Envoy: the retry budget if set, else max_retries; the mesh's
                    // default budget when neither is set.
                    retry: match (c.retry_budget(), c.circuit_breakers().max_retries) {
                        (None, Some(_)) => RetryLimit::Concurrent(resources.clone()),
                        (budget, _) => RetryLimit::Budget(budgets.get(c.name(), budget.unwrap_or_default())),
                    },
                };
                (c.name().to_string(), state)
            })
            .collect();
        pool.prune();
        let names: HashSet<&str> = snapshot.clusters().map(|c| c.name()).collect();
        protection.resources.retain(&names);
        protection.outliers.retain(&names);
        Self { snapshot, clusters }
    }

    pub(crate) fn balancer(&self, cluster: &str, subset: Option<&str>) -> Result<&Arc<Balancer>, MeshError> {
        let state =
            self.clusters.get(cluster).ok_or_else(|| MeshError::ClusterNotFound { cluster: cluster.to_string() })?;
        match subset {
            None => Ok(&state.all),
            Some(s) => state.subsets.get(s).ok_or_else(|| MeshError::NoHealthyEndpoint {
                cluster: cluster.to_string(),
                subset: Some(s.to_string()),
            }),
        }
    }

    pub(crate) fn retry_limit(&self, cluster: &str) -> Option<&RetryLimit> {
        self.clusters.get(cluster).map(|c| &c.retry)
    }
}

/// Layer for [`ClusterService`].
#[derive(Debug, Clone, Default)]
pub struct ClusterLayer {
    _priv: (),
}

impl ClusterLayer {
    /// A new layer.
    pub fn new() -> Self {
        Self::default()
    }
}

impl<S> Layer<S> for ClusterLayer {
    type Service = ClusterService<S>;
    fn layer(&self, inner: S) -> ClusterService<S> {
        ClusterService { inner }
    }
}

/// The cluster stage: attaches the `Arc<Balancer>` for the decision's destination.
#[derive(Debug, Clone)]
pub struct ClusterService<S> {
    inner: S,
}

impl<S> Service<Request<RequestBody>> for ClusterService<S>
where
    S: Service<Request<RequestBody>, Response = Response<ResponseBody>, Error = MeshError>,
{
    type Response = Response<ResponseBody>;
    type Error = MeshError;
    type Future = Staged<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), MeshError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<RequestBody>) -> Self::Future {
        let balancer = {
            let Some(d) = req.extensions().get::<RouteDecision>() else {
                return Staged::ready(Err(MeshError::ClusterNotFound { cluster: String::new() }));
            };
            let dest = d.destination();
            match d.resolved.balancer(&dest.cluster, dest.subset.as_deref()) {
                Ok(b) => b.clone(),
                Err(e) => return Staged::ready(Err(e)),
            }
        };
        req.extensions_mut().insert(balancer);
        Staged::inner(self.inner.call(req))
    }
}
