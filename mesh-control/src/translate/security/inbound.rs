//! LDS for servers: one inbound `Listener` per workload address and serving port, the
//! shape Istio's gRPC generator serves to proxyless gRPC servers (gRFC A36, A29, A41) and
//! the mesh's server stack reads (see `/notes/inbound-listener-contract.md`).
//!
//! ```text
//! xds.istio.io/grpc/lds/inbound/10.0.0.7:9080   address 10.0.0.7:9080
//!   STRICT      chain "mtls"       TLS (client certificate required)        ─┐
//!   PERMISSIVE  chain "mtls"       transport_protocol "tls", TLS socket      │ each: HCM
//!               chain "plaintext"  transport_protocol "raw_buffer"           │  route "/" non-forwarding
//!               (listener filter tls_inspector)                              │  RBAC AUDIT? DENY? ALLOW?
//!   DISABLE     chain "plaintext"  no transport socket                      ─┘  router
//! ```
//!
//! Certificates come from the bootstrap's certificate provider instance `default`
//! (certificate `default`, roots `ROOTCA`), as for `ISTIO_MUTUAL` clusters. The
//! HttpConnectionManager normalizes paths (RFC 3986, merged slashes) before RBAC sees
//! them, and rejects escaped slashes (`%2F`) by default, so that a path policy cannot be
//! bypassed by spelling the path differently.

use std::net::SocketAddr;

use envoy_types::pb::envoy::config::core::v3::address::Address as AddressKind;
use envoy_types::pb::envoy::config::core::v3::socket_address::PortSpecifier;
use envoy_types::pb::envoy::config::core::v3::transport_socket::ConfigType as SocketConfigType;
use envoy_types::pb::envoy::config::core::v3::{Address, SocketAddress, TrafficDirection, TransportSocket};
use envoy_types::pb::envoy::config::listener::v3::filter::ConfigType as FilterConfigType;
use envoy_types::pb::envoy::config::listener::v3::listener_filter::ConfigType as ListenerFilterConfigType;
use envoy_types::pb::envoy::config::listener::v3::{Filter, FilterChain, FilterChainMatch, Listener, ListenerFilter};
use envoy_types::pb::envoy::config::route::v3::route::Action;
use envoy_types::pb::envoy::config::route::v3::route_match::PathSpecifier;
use envoy_types::pb::envoy::config::route::v3::{
    NonForwardingAction, Route, RouteConfiguration, RouteMatch, VirtualHost,
};
use envoy_types::pb::envoy::extensions::filters::http::router::v3::Router;
use envoy_types::pb::envoy::extensions::filters::listener::tls_inspector::v3::TlsInspector;
use envoy_types::pb::envoy::extensions::filters::network::http_connection_manager::v3::http_connection_manager::{
    PathWithEscapedSlashesAction, RouteSpecifier,
};
use envoy_types::pb::envoy::extensions::filters::network::http_connection_manager::v3::http_filter::ConfigType;
use envoy_types::pb::envoy::extensions::filters::network::http_connection_manager::v3::{
    HttpConnectionManager, HttpFilter,
};
use envoy_types::pb::envoy::extensions::transport_sockets::tls::v3::common_tls_context::{
    CombinedCertificateValidationContext, ValidationContextType,
};
use envoy_types::pb::envoy::extensions::transport_sockets::tls::v3::{
    CertificateProviderPluginInstance, CertificateValidationContext, CommonTlsContext, DownstreamTlsContext,
};
use envoy_types::pb::google::protobuf::BoolValue;

use super::MtlsMode;
use crate::translate::proto::pack;

/// The prefix of inbound listener names: the bootstrap's
/// `server_listener_resource_name_template` is this followed by `%s`.
pub const INBOUND_LISTENER_PREFIX: &str = "xds.istio.io/grpc/lds/inbound/";

/// The name of the inbound listener of `address` (`xds.istio.io/grpc/lds/inbound/10.0.0.7:9080`,
/// IPv6 as `[::1]:8080`).
pub fn inbound_listener_name(address: SocketAddr) -> String {
    format!("{INBOUND_LISTENER_PREFIX}{address}")
}

/// What the inbound HttpConnectionManager does with a path holding escaped slashes
/// (`%2F`, `%5C`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum EscapedSlashes {
    /// Leave the path as it is (a path policy may then be bypassed).
    KeepUnchanged,
    /// Refuse the request (400): the default, as a safe choice for path-based policies.
    #[default]
    Reject,
    /// Unescape, and redirect the client to the unescaped path (Envoy only: mesh servers
    /// refuse a listener asking for it).
    UnescapeAndRedirect,
    /// Unescape, and serve the unescaped path.
    UnescapeAndForward,
}

impl EscapedSlashes {
    fn action(self) -> PathWithEscapedSlashesAction {
        match self {
            Self::KeepUnchanged => PathWithEscapedSlashesAction::KeepUnchanged,
            Self::Reject => PathWithEscapedSlashesAction::RejectRequest,
            Self::UnescapeAndRedirect => PathWithEscapedSlashesAction::UnescapeAndRedirect,
            Self::UnescapeAndForward => PathWithEscapedSlashesAction::UnescapeAndForward,
        }
    }
}

/// The inbound listener of `address` under `mode`, its HTTP filters being `rbac` (in
/// order, possibly none) and the router.
pub fn inbound_listener(
    address: SocketAddr,
    mode: MtlsMode,
    rbac: Vec<HttpFilter>,
    escaped_slashes: EscapedSlashes,
) -> Listener {
    let hcm = pack(&connection_manager(address.port(), rbac, escaped_slashes));
    let chain = |name: &str, protocol: Option<&str>, tls: bool| FilterChain {
        name: name.to_string(),
        filter_chain_match: protocol
            .map(|p| FilterChainMatch { transport_protocol: p.to_string(), ..Default::default() }),
        filters: vec![Filter {
            name: "envoy.filters.network.http_connection_manager".into(),
            config_type: Some(FilterConfigType::TypedConfig(hcm.clone())),
        }],
        transport_socket: tls.then(mtls_socket),
        ..Default::default()
    };
    let (filter_chains, listener_filters) = match mode {
        MtlsMode::Strict => (vec![chain("mtls", None, true)], Vec::new()),
        MtlsMode::Disable => (vec![chain("plaintext", None, false)], Vec::new()),
        MtlsMode::Permissive => (
            vec![chain("mtls", Some("tls"), true), chain("plaintext", Some("raw_buffer"), false)],
            vec![ListenerFilter {
                name: "envoy.filters.listener.tls_inspector".into(),
                config_type: Some(ListenerFilterConfigType::TypedConfig(pack(&TlsInspector::default()))),
                ..Default::default()
            }],
        ),
    };
    Listener {
        name: inbound_listener_name(address),
        address: Some(Address {
            address: Some(AddressKind::SocketAddress(SocketAddress {
                address: address.ip().to_string(),
                port_specifier: Some(PortSpecifier::PortValue(u32::from(address.port()))),
                ..Default::default()
            })),
        }),
        filter_chains,
        listener_filters,
        traffic_direction: TrafficDirection::Inbound as i32,
        ..Default::default()
    }
}

fn connection_manager(port: u16, mut http_filters: Vec<HttpFilter>, escaped: EscapedSlashes) -> HttpConnectionManager {
    http_filters.push(HttpFilter {
        name: "envoy.filters.http.router".into(),
        config_type: Some(ConfigType::TypedConfig(pack(&Router::default()))),
        ..Default::default()
    });
    let route = Route {
        r#match: Some(RouteMatch { path_specifier: Some(PathSpecifier::Prefix("/".into())), ..Default::default() }),
        action: Some(Action::NonForwardingAction(NonForwardingAction {})),
        ..Default::default()
    };
    let routes = RouteConfiguration {
        name: format!("inbound|{port}"),
        virtual_hosts: vec![VirtualHost {
            name: format!("inbound|http|{port}"),
            domains: vec!["*".into()],
            routes: vec![route],
            ..Default::default()
        }],
        ..Default::default()
    };
    HttpConnectionManager {
        stat_prefix: format!("inbound_{port}"),
        route_specifier: Some(RouteSpecifier::RouteConfig(routes)),
        http_filters,
        normalize_path: Some(BoolValue { value: true }),
        merge_slashes: true,
        path_with_escaped_slashes_action: escaped.action() as i32,
        ..Default::default()
    }
}

fn provider(certificate_name: &str) -> CertificateProviderPluginInstance {
    CertificateProviderPluginInstance { instance_name: "default".into(), certificate_name: certificate_name.into() }
}

/// `envoy.transport_sockets.tls` terminating mutual TLS with the mesh's certificates.
fn mtls_socket() -> TransportSocket {
    let validation = CertificateValidationContext {
        ca_certificate_provider_instance: Some(provider("ROOTCA")),
        ..Default::default()
    };
    let context = DownstreamTlsContext {
        common_tls_context: Some(CommonTlsContext {
            tls_certificate_provider_instance: Some(provider("default")),
            validation_context_type: Some(ValidationContextType::CombinedValidationContext(
                CombinedCertificateValidationContext {
                    default_validation_context: Some(validation),
                    ..Default::default()
                },
            )),
            ..Default::default()
        }),
        require_client_certificate: Some(BoolValue { value: true }),
        ..Default::default()
    };
    TransportSocket {
        name: "envoy.transport_sockets.tls".into(),
        config_type: Some(SocketConfigType::TypedConfig(pack(&context))),
    }
}
