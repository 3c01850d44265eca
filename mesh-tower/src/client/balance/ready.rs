//! The ready set: the endpoints a picker chooses from, and the picker built over them.
//!
//! Built from a balancer's candidates: drop unhealthy and ejected endpoints, keep the
//! highest priority that has serving ones (ejected endpoints count as not serving, so
//! ejecting a whole priority fails over to the next, as in Envoy), or, when no priority
//! has any, the degraded ones.

use std::borrow::Cow;
use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::Arc;

use mesh_core::endpoint::HealthStatus;
use mesh_core::lb::{LbEndpoint, LbPolicy, Picker};

use crate::client::endpoint::EndpointConn;

/// An endpoint offered to a balancer, before health, ejection and priority filtering.
#[derive(Debug)]
pub(crate) struct Candidate {
    pub(crate) conn: Arc<EndpointConn>,
    pub(crate) weight: u32,
    pub(crate) health: HealthStatus,
    pub(crate) priority: u32,
}

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

/// The ready set of a balancer at one outlier-detection generation.
#[derive(Debug)]
pub(crate) struct ReadySet {
    pub(crate) generation: u64,
    pub(crate) endpoints: Vec<ReadyEndpoint>,
    pub(crate) picker: Picker,
}

impl ReadySet {
    pub(crate) fn build(
        lb: &LbPolicy,
        candidates: &[Candidate],
        ejected: &HashSet<SocketAddr>,
        generation: u64,
    ) -> Self {
        let serving = |c: &&Candidate| c.health.is_serving() && !ejected.contains(&c.conn.addr());
        let serving_priority = candidates.iter().filter(serving).map(|c| c.priority).min();
        let endpoints: Vec<ReadyEndpoint> = candidates
            .iter()
            .filter(|c| match serving_priority {
                Some(p) => serving(c) && c.priority == p,
                None => c.health == HealthStatus::Degraded && !ejected.contains(&c.conn.addr()),
            })
            .map(|c| ReadyEndpoint { conn: c.conn.clone(), weight: c.weight })
            .collect();
        let picker = Picker::build(lb, &endpoints);
        Self { generation, endpoints, picker }
    }
}
