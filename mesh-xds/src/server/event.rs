//! [`ServerEvent`]: the protocol milestones an [`AdsServer`](super::AdsServer) broadcasts.
//!
//! Tests wait on these instead of sleeping; metrics and debug pages can count them. Events
//! of one client are sent in the order its stream processed them (a request, then the ACK
//! or NACK it carries, then the response it caused). They are built only while someone
//! holds a receiver, so an unobserved server pays nothing for them.

/// One protocol milestone on one client's stream. `client` is [`ClientStatus::id`](super::ClientStatus::id).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ServerEvent {
    /// A stream delivered its first request.
    Connected {
        /// The client's stream id.
        client: u64,
        /// `node.id` of the first request (empty if absent).
        node_id: String,
        /// Delta (`true`) or State-of-the-World stream.
        delta: bool,
    },
    /// A stream ended (client gone, error, or server shutdown); its state is dropped.
    Disconnected {
        /// The client's stream id.
        client: u64,
    },
    /// A request was received (every request, ACKs and stale ones included).
    Request {
        /// The client's stream id.
        client: u64,
        /// The request's type URL.
        type_url: String,
        /// Delta (`true`) or State-of-the-World stream.
        delta: bool,
        /// The `response_nonce` it carries (empty on a first request).
        response_nonce: String,
        /// Delta: `resource_names_subscribe`. SotW: the request's whole `resource_names`.
        subscribe: Vec<String>,
        /// Delta: `resource_names_unsubscribe`. SotW: names the previous request had and
        /// this one has not.
        unsubscribe: Vec<String>,
        /// SotW only: the `response_nonce` is not the latest one sent for the type, so the
        /// request is neither an ACK nor a NACK and gets no response of its own.
        stale: bool,
    },
    /// The client accepted a response.
    Ack {
        /// The client's stream id.
        client: u64,
        /// The type URL.
        type_url: String,
        /// SotW: the request's `version_info`. Delta: the `system_version_info` of the
        /// acknowledged response.
        version: String,
        /// The acknowledged response's nonce.
        nonce: String,
    },
    /// The client rejected a response.
    Nack {
        /// The client's stream id.
        client: u64,
        /// The type URL.
        type_url: String,
        /// The version the client kept: SotW `version_info`; Delta: the last version it
        /// ACKed on this stream (empty if none).
        version: String,
        /// The rejected response's nonce.
        nonce: String,
        /// `error_detail.message`.
        error: String,
    },
    /// A response was queued for the client.
    Pushed {
        /// The client's stream id.
        client: u64,
        /// The type URL.
        type_url: String,
        /// SotW `version_info` / Delta `system_version_info`.
        version: String,
        /// The response's nonce.
        nonce: String,
        /// Names of the resources it carries.
        resources: Vec<String>,
        /// Delta only: `removed_resources`.
        removed: Vec<String>,
    },
}

impl ServerEvent {
    /// The client stream the event is about.
    pub fn client(&self) -> u64 {
        match self {
            Self::Connected { client, .. }
            | Self::Disconnected { client }
            | Self::Request { client, .. }
            | Self::Ack { client, .. }
            | Self::Nack { client, .. }
            | Self::Pushed { client, .. } => *client,
        }
    }
}
