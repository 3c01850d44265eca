//! A real ADS server on loopback and raw SotW / Delta clients speaking the protocol by hand.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use envoy_types::pb::envoy::config::cluster::v3::Cluster;
use envoy_types::pb::envoy::config::core::v3::Node;
use envoy_types::pb::envoy::config::endpoint::v3::{ClusterLoadAssignment, LocalityLbEndpoints};
use envoy_types::pb::envoy::config::listener::v3::Listener;
use envoy_types::pb::envoy::config::route::v3::RouteConfiguration;
use envoy_types::pb::envoy::service::discovery::v3::aggregated_discovery_service_client::AggregatedDiscoveryServiceClient;
use envoy_types::pb::envoy::service::discovery::v3::{
    DeltaDiscoveryRequest, DeltaDiscoveryResponse, DiscoveryRequest, DiscoveryResponse,
};
use envoy_types::pb::google::protobuf::Any;
use envoy_types::pb::google::rpc::Status as RpcStatus;
use prost::{Message, Name};
use tokio::net::TcpListener;
use tokio::sync::{broadcast, mpsc};
use tokio::task::JoinHandle;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Streaming;

use crate::server::{AdsServer, ServerEvent, SnapshotCache};
use crate::type_url;

/// Upper bound on any single wait, so a broken test fails instead of hanging.
const TIMEOUT: Duration = Duration::from_secs(10);

/// A server on 127.0.0.1:0 with an event receiver subscribed before any client connects.
pub(super) struct TestServer {
    pub(super) cache: Arc<SnapshotCache>,
    pub(super) server: AdsServer,
    events: broadcast::Receiver<ServerEvent>,
    url: String,
    task: JoinHandle<()>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl TestServer {
    pub(super) async fn start() -> Self {
        let cache = Arc::new(SnapshotCache::new());
        let server = AdsServer::new(cache.clone());
        let events = server.events();
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
        let url = format!("http://{}", listener.local_addr().expect("local addr"));
        let service = server.clone().into_service();
        let task = tokio::spawn(async move {
            let incoming = tonic::transport::server::TcpIncoming::from(listener);
            // One service, so no router (tonic's `router` feature) is needed.
            let served = tonic::transport::Server::builder().serve_with_incoming(service, incoming).await;
            served.expect("serve");
        });
        Self { cache, server, events, url, task }
    }

    async fn client(&self) -> AggregatedDiscoveryServiceClient<tonic::transport::Channel> {
        AggregatedDiscoveryServiceClient::connect(self.url.clone()).await.expect("connect")
    }

    /// Opens a SotW stream; `node` goes into every request.
    pub(super) async fn sotw(&self, node: &str) -> SotwClient {
        let (tx, rx) = mpsc::channel(16);
        let mut client = self.client().await;
        let responses = within(client.stream_aggregated_resources(ReceiverStream::new(rx)))
            .await
            .expect("open SotW stream")
            .into_inner();
        SotwClient { tx, responses, node: node.to_owned() }
    }

    /// Opens a Delta stream; `node` goes into every request.
    pub(super) async fn delta(&self, node: &str) -> DeltaClient {
        let (tx, rx) = mpsc::channel(16);
        let mut client = self.client().await;
        let responses = within(client.delta_aggregated_resources(ReceiverStream::new(rx)))
            .await
            .expect("open Delta stream")
            .into_inner();
        DeltaClient { tx, responses, node: node.to_owned() }
    }

    /// Waits for the next event matching `wanted`, skipping the others.
    pub(super) async fn wait(&mut self, mut wanted: impl FnMut(&ServerEvent) -> bool) -> ServerEvent {
        loop {
            let event = within(self.events.recv()).await.expect("event channel");
            if wanted(&event) {
                return event;
            }
        }
    }

    /// Waits for the next event of `client`.
    pub(super) async fn next_of(&mut self, client: u64) -> ServerEvent {
        self.wait(|event| event.client() == client).await
    }

    /// Waits for a client with this node id to connect; returns its id.
    pub(super) async fn connected(&mut self, node: &str) -> u64 {
        let event = self.wait(|event| matches!(event, ServerEvent::Connected { node_id, .. } if node_id == node)).await;
        event.client()
    }

    /// Waits for the ACK of `nonce` by `client`.
    pub(super) async fn acked(&mut self, client: u64, nonce: &str) {
        self.wait(|event| matches!(event, ServerEvent::Ack { client: c, nonce: n, .. } if *c == client && n == nonce))
            .await;
    }
}

/// Awaits `future` for at most [`TIMEOUT`].
pub(super) async fn within<F: Future>(future: F) -> F::Output {
    tokio::time::timeout(TIMEOUT, future).await.expect("timed out")
}

fn node(id: &str) -> Option<Node> {
    Some(Node { id: id.to_owned(), ..Node::default() })
}

fn strings(names: &[&str]) -> Vec<String> {
    names.iter().map(|name| (*name).to_owned()).collect()
}

/// A raw SotW client.
pub(super) struct SotwClient {
    tx: mpsc::Sender<DiscoveryRequest>,
    responses: Streaming<DiscoveryResponse>,
    node: String,
}

impl SotwClient {
    /// Sends a request; `nonce`/`version` empty for a first request.
    pub(super) async fn request(&self, type_url: &str, names: &[&str], version: &str, nonce: &str) {
        self.send(DiscoveryRequest {
            version_info: version.to_owned(),
            node: node(&self.node),
            resource_names: strings(names),
            type_url: type_url.to_owned(),
            response_nonce: nonce.to_owned(),
            ..DiscoveryRequest::default()
        })
        .await;
    }

    /// ACKs `response`, keeping the subscription `names`.
    pub(super) async fn ack(&self, response: &DiscoveryResponse, names: &[&str]) {
        self.request(&response.type_url, names, &response.version_info, &response.nonce).await;
    }

    /// NACKs `response`, reporting `kept` as the version still in use.
    pub(super) async fn nack(&self, response: &DiscoveryResponse, names: &[&str], kept: &str, error: &str) {
        self.send(DiscoveryRequest {
            version_info: kept.to_owned(),
            node: node(&self.node),
            resource_names: strings(names),
            type_url: response.type_url.clone(),
            response_nonce: response.nonce.clone(),
            error_detail: Some(RpcStatus { code: 3, message: error.to_owned(), details: Vec::new() }),
            ..DiscoveryRequest::default()
        })
        .await;
    }

    async fn send(&self, request: DiscoveryRequest) {
        self.tx.send(request).await.expect("request stream open");
    }

    /// The next response.
    pub(super) async fn recv(&mut self) -> DiscoveryResponse {
        within(self.responses.message()).await.expect("response stream").expect("a response")
    }
}

/// A raw Delta client.
pub(super) struct DeltaClient {
    tx: mpsc::Sender<DeltaDiscoveryRequest>,
    responses: Streaming<DeltaDiscoveryResponse>,
    node: String,
}

impl DeltaClient {
    /// Sends a subscription change (or a first request, with `initial` versions).
    pub(super) async fn request(
        &self,
        type_url: &str,
        subscribe: &[&str],
        unsubscribe: &[&str],
        initial: HashMap<String, String>,
    ) {
        self.send(DeltaDiscoveryRequest {
            node: node(&self.node),
            type_url: type_url.to_owned(),
            resource_names_subscribe: strings(subscribe),
            resource_names_unsubscribe: strings(unsubscribe),
            initial_resource_versions: initial,
            ..DeltaDiscoveryRequest::default()
        })
        .await;
    }

    /// ACKs `response`.
    pub(super) async fn ack(&self, response: &DeltaDiscoveryResponse) {
        self.send(DeltaDiscoveryRequest {
            type_url: response.type_url.clone(),
            response_nonce: response.nonce.clone(),
            ..DeltaDiscoveryRequest::default()
        })
        .await;
    }

    /// NACKs `response`.
    pub(super) async fn nack(&self, response: &DeltaDiscoveryResponse, error: &str) {
        self.send(DeltaDiscoveryRequest {
            type_url: response.type_url.clone(),
            response_nonce: response.nonce.clone(),
            error_detail: Some(RpcStatus { code: 3, message: error.to_owned(), details: Vec::new() }),
            ..DeltaDiscoveryRequest::default()
        })
        .await;
    }

    async fn send(&self, request: DeltaDiscoveryRequest) {
        self.tx.send(request).await.expect("request stream open");
    }

    /// The next response.
    pub(super) async fn recv(&mut self) -> DeltaDiscoveryResponse {
        within(self.responses.message()).await.expect("response stream").expect("a response")
    }
}

fn any<M: Message + Name>(message: &M) -> Any {
    Any { type_url: M::type_url(), value: message.encode_to_vec() }
}

/// A real encoded resource of `type_url` named `name`; `rev` varies its content.
pub(super) fn resource(type_url: &str, name: &str, rev: u32) -> Any {
    let name = name.to_owned();
    match type_url {
        type_url::LISTENER => any(&Listener { name, stat_prefix: format!("rev{rev}"), ..Listener::default() }),
        type_url::ROUTE => any(&RouteConfiguration {
            name,
            internal_only_headers: vec![format!("x-rev-{rev}")],
            ..RouteConfiguration::default()
        }),
        type_url::CLUSTER => any(&Cluster { name, alt_stat_name: format!("rev{rev}"), ..Cluster::default() }),
        type_url::ENDPOINT => any(&ClusterLoadAssignment {
            cluster_name: name,
            endpoints: vec![LocalityLbEndpoints { priority: rev, ..LocalityLbEndpoints::default() }],
            ..ClusterLoadAssignment::default()
        }),
        other => panic!("no test resource for {other}"),
    }
}

/// (name, rev) of a resource built by [`resource`].
pub(super) fn decode(resource: &Any) -> (String, u32) {
    let bytes = resource.value.as_slice();
    let rev = |text: &str, prefix: &str| text.strip_prefix(prefix).and_then(|rev| rev.parse().ok()).expect("rev");
    match resource.type_url.as_str() {
        type_url::LISTENER => {
            let listener = Listener::decode(bytes).expect("Listener");
            let rev = rev(&listener.stat_prefix, "rev");
            (listener.name, rev)
        }
        type_url::ROUTE => {
            let route = RouteConfiguration::decode(bytes).expect("RouteConfiguration");
            let rev = rev(route.internal_only_headers.first().map_or("", String::as_str), "x-rev-");
            (route.name, rev)
        }
        type_url::CLUSTER => {
            let cluster = Cluster::decode(bytes).expect("Cluster");
            let rev = rev(&cluster.alt_stat_name, "rev");
            (cluster.name, rev)
        }
        type_url::ENDPOINT => {
            let cla = ClusterLoadAssignment::decode(bytes).expect("ClusterLoadAssignment");
            let rev = cla.endpoints.first().map_or(0, |locality| locality.priority);
            (cla.cluster_name, rev)
        }
        other => panic!("unexpected type {other}"),
    }
}

/// The (name, rev) pairs of a SotW response, sorted.
pub(super) fn contents(response: &DiscoveryResponse) -> Vec<(String, u32)> {
    let mut contents: Vec<_> = response.resources.iter().map(decode).collect();
    contents.sort();
    contents
}

/// The (name, rev) pairs of a Delta response, sorted; also checks each entry's name.
pub(super) fn delta_contents(response: &DeltaDiscoveryResponse) -> Vec<(String, u32)> {
    let mut contents: Vec<_> = response
        .resources
        .iter()
        .map(|entry| {
            let decoded = decode(entry.resource.as_ref().expect("resource body"));
            assert_eq!(entry.name, decoded.0, "Resource.name is the resource's name");
            assert!(!entry.version.is_empty(), "Resource.version is set");
            decoded
        })
        .collect();
    contents.sort();
    contents
}

/// `[(name, rev)]` from literals.
pub(super) fn expect(pairs: &[(&str, u32)]) -> Vec<(String, u32)> {
    pairs.iter().map(|(name, rev)| ((*name).to_owned(), *rev)).collect()
}
