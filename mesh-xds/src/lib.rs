//! # mesh-xds
//!
//! The mesh's xDS side, over Envoy v3 protos from `envoy-types` (no protoc at build
//! time):
//! - [`bootstrap`]: gRPC's xDS bootstrap (gRFC A27, A29 certificate providers, A36
//!   server listener template, A71 multiple servers), from `GRPC_XDS_BOOTSTRAP`,
//!   `GRPC_XDS_BOOTSTRAP_CONFIG` or code — the same file grpc-go, grpcio and tonic-xds read;
//! - [`translate`]: `TryFrom<proto>` into validated `mesh-core` types, at the edge, once;
//! - [`client`]: one shared ADS client per process (State-of-the-World and Delta) that
//!   watches LDS → RDS → CDS → EDS and publishes a `mesh_core::Snapshot` per target;
//! - [`server`]: snapshot-cache building blocks for an ADS server (used by the control
//!   plane and by tests).

pub mod bootstrap;
pub mod client;
pub mod server;
pub mod translate;

/// Envoy v3 type URLs of the resources the mesh uses.
pub mod type_url {
    /// `Listener`.
    pub const LISTENER: &str = "type.googleapis.com/envoy.config.listener.v3.Listener";
    /// `RouteConfiguration`.
    pub const ROUTE: &str = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration";
    /// `Cluster`.
    pub const CLUSTER: &str = "type.googleapis.com/envoy.config.cluster.v3.Cluster";
    /// `ClusterLoadAssignment`.
    pub const ENDPOINT: &str = "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment";
    /// `HttpConnectionManager` (inside a listener's `api_listener`).
    pub const HTTP_CONNECTION_MANAGER: &str =
        "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager";
    /// `HTTPFault` (the fault filter's config).
    pub const HTTP_FAULT: &str = "type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault";
    /// `Router` (the router filter's config).
    pub const ROUTER: &str = "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router";
}
