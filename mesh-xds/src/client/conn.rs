//! One ADS stream to one server, State-of-the-World or Delta, behind one small enum so
//! the worker handles both the same way.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use envoy_types::pb::envoy::config::core::v3::Node;
use envoy_types::pb::envoy::service::discovery::v3::aggregated_discovery_service_client::AggregatedDiscoveryServiceClient;
use envoy_types::pb::envoy::service::discovery::v3::{
    DeltaDiscoveryRequest, DeltaDiscoveryResponse, DiscoveryRequest, DiscoveryResponse,
};
use envoy_types::pb::google::rpc::Status;
use tokio::sync::mpsc;
use tokio_stream::wrappers::UnboundedReceiverStream;
use tonic::Streaming;

use super::ServerConfig;

/// A response from either protocol variant.
pub(crate) enum Inbound {
    Sotw(DiscoveryResponse),
    Delta(DeltaDiscoveryResponse),
}

enum Tx {
    Sotw(mpsc::UnboundedSender<DiscoveryRequest>),
    Delta(mpsc::UnboundedSender<DeltaDiscoveryRequest>),
}

enum Rx {
    Sotw(Streaming<DiscoveryResponse>),
    Delta(Streaming<DeltaDiscoveryResponse>),
}

/// An open ADS stream.
pub(crate) struct Conn {
    pub(crate) server: usize,
    pub(crate) uri: String,
    tx: Tx,
    rx: Rx,
    node: Node,
    node_sent: bool,
    /// Whether any response arrived (resets the reconnect backoff).
    pub(crate) got_response: bool,
}

/// A subscription request, independent of the protocol variant.
pub(crate) struct Subscribe<'a> {
    pub(crate) type_url: &'a str,
    pub(crate) names: &'a BTreeSet<String>,
    /// SotW: version to send (last ACKed on this server).
    pub(crate) version: &'a str,
    /// SotW: nonce of the last response of this type.
    pub(crate) nonce: &'a str,
    /// Delta: names newly wanted / no longer wanted, and (initial request) versions held.
    pub(crate) subscribe: Vec<String>,
    pub(crate) unsubscribe: Vec<String>,
    pub(crate) initial_versions: HashMap<String, String>,
}

impl Conn {
    /// Connects and opens the stream, sending `initial` before waiting for the server.
    pub(crate) async fn open(
        server: usize,
        config: &ServerConfig,
        node: Node,
        connect_timeout: Duration,
        initial: Vec<Subscribe<'_>>,
    ) -> Result<Self, tonic::Status> {
        let endpoint = tonic::transport::Endpoint::from_shared(config.uri.clone())
            .map_err(|e| tonic::Status::invalid_argument(format!("server_uri {:?}: {e}", config.uri)))?
            .connect_timeout(connect_timeout)
            .tcp_nodelay(true);
        let channel = endpoint.connect().await.map_err(|e| tonic::Status::unavailable(format!("connect: {e}")))?;
        let mut client = AggregatedDiscoveryServiceClient::new(channel).max_decoding_message_size(256 << 20);
        let node_sent = !initial.is_empty();
        let mut first_node = Some(node.clone());
        let (tx, rx) = if config.delta {
            let (tx, requests) = mpsc::unbounded_channel();
            let tx = Tx::Delta(tx);
            for sub in initial {
                send_on(&tx, first_node.take(), sub);
            }
            let stream = client.delta_aggregated_resources(UnboundedReceiverStream::new(requests)).await?.into_inner();
            (tx, Rx::Delta(stream))
        } else {
            let (tx, requests) = mpsc::unbounded_channel();
            let tx = Tx::Sotw(tx);
            for sub in initial {
                send_on(&tx, first_node.take(), sub);
            }
            let stream = client.stream_aggregated_resources(UnboundedReceiverStream::new(requests)).await?.into_inner();
            (tx, Rx::Sotw(stream))
        };
        Ok(Self { server, uri: config.uri.clone(), tx, rx, node, node_sent, got_response: false })
    }

    pub(crate) fn is_delta(&self) -> bool {
        matches!(self.tx, Tx::Delta(_))
    }

    fn node_once(&mut self) -> Option<Node> {
        if self.node_sent {
            None
        } else {
            self.node_sent = true;
            Some(self.node.clone())
        }
    }

    /// Sends a subscription (SotW: full name list; Delta: the diff).
    pub(crate) fn send(&mut self, sub: Subscribe<'_>) {
        let node = self.node_once();
        send_on(&self.tx, node, sub);
    }

    /// ACKs (`error` = None) or NACKs a response.
    pub(crate) fn ack(
        &mut self,
        type_url: &str,
        names: &BTreeSet<String>,
        version: &str,
        nonce: &str,
        error: Option<String>,
    ) {
        let error_detail =
            error.map(|message| Status { code: tonic::Code::InvalidArgument as i32, message, details: vec![] });
        let node = self.node_once();
        match &self.tx {
            Tx::Sotw(tx) => {
                let _ = tx.send(DiscoveryRequest {
                    version_info: version.to_string(),
                    node,
                    resource_names: names.iter().cloned().collect(),
                    type_url: type_url.to_string(),
                    response_nonce: nonce.to_string(),
                    error_detail,
                    ..Default::default()
                });
            }
            Tx::Delta(tx) => {
                let _ = tx.send(DeltaDiscoveryRequest {
                    node,
                    type_url: type_url.to_string(),
                    response_nonce: nonce.to_string(),
                    error_detail,
                    ..Default::default()
                });
            }
        }
    }

    /// The next response; `Ok(None)` when the server closed the stream.
    pub(crate) async fn next(&mut self) -> Result<Option<Inbound>, tonic::Status> {
        let got = match &mut self.rx {
            Rx::Sotw(s) => s.message().await?.map(Inbound::Sotw),
            Rx::Delta(s) => s.message().await?.map(Inbound::Delta),
        };
        if got.is_some() {
            self.got_response = true;
        }
        Ok(got)
    }
}

fn send_on(tx: &Tx, node: Option<Node>, s: Subscribe<'_>) {
    match tx {
        Tx::Sotw(tx) => {
            let _ = tx.send(DiscoveryRequest {
                version_info: s.version.to_string(),
                node,
                resource_names: s.names.iter().cloned().collect(),
                type_url: s.type_url.to_string(),
                response_nonce: s.nonce.to_string(),
                ..Default::default()
            });
        }
        Tx::Delta(tx) => {
            let _ = tx.send(DeltaDiscoveryRequest {
                node,
                type_url: s.type_url.to_string(),
                resource_names_subscribe: s.subscribe,
                resource_names_unsubscribe: s.unsubscribe,
                initial_resource_versions: s.initial_versions,
                ..Default::default()
            });
        }
    }
}
