//! Building blocks of an ADS (Aggregated Discovery Service) server: what the control plane
//! (`mesh-control`) serves from, and what the ADS client's integration tests talk to.
//!
//! - [`SnapshotCache`]: versioned resources by type URL, written by whoever owns the config
//!   (one [`Change`] batch per translation, atomically).
//! - [`AdsServer`]: the gRPC service, State-of-the-World and Delta over one cache, with
//!   per-client status ([`AdsServer::clients`], for `/debug/syncz`) and a stream of protocol
//!   events ([`AdsServer::events`], for tests and metrics).
//!
//! ```no_run
//! # async fn serve(listener: tokio::net::TcpListener) -> Result<(), tonic::transport::Error> {
//! use std::sync::Arc;
//! use mesh_xds::server::{AdsServer, SnapshotCache};
//!
//! let cache = Arc::new(SnapshotCache::new());
//! let server = AdsServer::new(cache.clone());
//! let incoming = tonic::transport::server::TcpIncoming::from(listener);
//! tonic::transport::Server::builder().serve_with_incoming(server.into_service(), incoming).await
//! # }
//! ```
//!
//! (To serve it beside other services, use `add_service`, behind tonic's `router` feature.)
//!
//! # Why one task per stream, woken by the cache
//!
//! A control plane serves thousands of streams from one cache. Each stream's task owns its
//! protocol state and, on each cache write, diffs only the names that write touched (the
//! cache keeps a short change log per type) against what that client was last sent. So a
//! write costs an unaffected stream a version comparison, and no stream is sent what it
//! already has. Resources are encoded once and shared; no lock is held across an `.await`.
//!
//! # The protocol, in short (Envoy's "xDS REST and gRPC protocol")
//!
//! - Types on one stream are independent; a batch touching several types is pushed
//!   clusters → endpoints → listeners → routes (make before break).
//! - SotW: every response carries all subscribed resources of its type (`version_info` = the
//!   type's version). A new stream's first request is always answered. Requests answering a
//!   stale nonce get no response and are neither ACK nor NACK, but their names are kept.
//!   A NACK is recorded and its version not resent.
//! - Delta: only changed resources (versioned by content hash, so reconnects with
//!   `initial_resource_versions` are resent only what differs, even across server restarts),
//!   `removed_resources` for deletions and for subscribed names that do not exist.
//! - Wildcard: `"*"` for any type; an empty first subscription means the wildcard for LDS and
//!   CDS only (legacy rule), nothing for RDS and EDS.
//!
//! Every client sees every resource of the cache: per-node views (Istio's `Sidecar` scoping)
//! belong to the layer that fills the cache.

mod cache;
mod delta;
mod event;
mod sotw;
mod status;
mod stream;
mod subscription;

#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use envoy_types::pb::envoy::service::discovery::v3::aggregated_discovery_service_server::{
    AggregatedDiscoveryService, AggregatedDiscoveryServiceServer,
};
use envoy_types::pb::envoy::service::discovery::v3::{
    DeltaDiscoveryRequest, DeltaDiscoveryResponse, DiscoveryRequest, DiscoveryResponse,
};
use tokio::sync::broadcast;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};

pub use cache::{Change, SnapshotCache};
pub use event::ServerEvent;
pub use status::{ClientStatus, SubscriptionStatus};

use status::ClientRegistry;

/// Events buffered per [`AdsServer::events`] receiver before a slow one lags.
const EVENT_BUFFER: usize = 4096;

/// The ADS service: SotW and Delta over one [`SnapshotCache`]. Cheap to clone (shared state).
#[derive(Clone, Debug)]
pub struct AdsServer {
    shared: Arc<Shared>,
}

/// State shared by the service and its stream tasks.
#[derive(Debug)]
pub(crate) struct Shared {
    cache: Arc<SnapshotCache>,
    clients: ClientRegistry,
    events: broadcast::Sender<ServerEvent>,
    next_client: AtomicU64,
}

impl AdsServer {
    /// A server answering from `cache`.
    pub fn new(cache: Arc<SnapshotCache>) -> Self {
        let (events, _) = broadcast::channel(EVENT_BUFFER);
        let shared = Shared { cache, clients: ClientRegistry::default(), events, next_client: AtomicU64::new(1) };
        Self { shared: Arc::new(shared) }
    }

    /// The tonic service, ready for `Server::builder().add_service(..)`.
    pub fn into_service(self) -> AggregatedDiscoveryServiceServer<AdsServer> {
        AggregatedDiscoveryServiceServer::new(self)
    }

    /// The cache this server answers from.
    pub fn cache(&self) -> &Arc<SnapshotCache> {
        &self.shared.cache
    }

    /// Every connected client (one per stream), by id: subscriptions, versions sent, ACKed
    /// and NACKed — for debug pages (`/debug/syncz`) and tests.
    pub fn clients(&self) -> Vec<ClientStatus> {
        self.shared.clients.snapshot()
    }

    /// Protocol events from now on (see [`ServerEvent`]). A receiver that falls more than a
    /// few thousand events behind gets `RecvError::Lagged` and then continues.
    pub fn events(&self) -> broadcast::Receiver<ServerEvent> {
        self.shared.events.subscribe()
    }
}

#[tonic::async_trait]
impl AggregatedDiscoveryService for AdsServer {
    type StreamAggregatedResourcesStream = ReceiverStream<Result<DiscoveryResponse, Status>>;
    type DeltaAggregatedResourcesStream = ReceiverStream<Result<DeltaDiscoveryResponse, Status>>;

    async fn stream_aggregated_resources(
        &self,
        request: Request<Streaming<DiscoveryRequest>>,
    ) -> Result<Response<Self::StreamAggregatedResourcesStream>, Status> {
        let responses = stream::spawn(self.shared.clone(), request.into_inner(), sotw::Sotw::default());
        Ok(Response::new(responses))
    }

    async fn delta_aggregated_resources(
        &self,
        request: Request<Streaming<DeltaDiscoveryRequest>>,
    ) -> Result<Response<Self::DeltaAggregatedResourcesStream>, Status> {
        let responses = stream::spawn(self.shared.clone(), request.into_inner(), delta::Delta::default());
        Ok(Response::new(responses))
    }
}
