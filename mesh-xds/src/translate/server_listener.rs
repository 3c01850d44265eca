//! The inbound `Listener` a control plane serves to a mesh server (gRFC A36, A29, A41;
//! Istio's gRPC generator) → [`ServerListener`]: its address and the
//! [`ServerPolicy`] to enforce (which connections are accepted, and per kind of
//! connection the RBAC chain, path settings and client-address rules).
//!
//! Filter chains are told apart by `filter_chain_match.transport_protocol` only (`tls`,
//! `raw_buffer`, or empty for both; `default_filter_chain` takes what no chain matched);
//! a chain with a TLS transport socket serves TLS connections, one without serves
//! plaintext. Two TLS-or-plaintext chains give PERMISSIVE, a TLS one STRICT, a plaintext
//! one DISABLE. Each chain holds exactly one HTTP connection manager whose routes are
//! inline and let every request through (`non_forwarding_action` on a catch-all route
//! of every virtual host) and whose HTTP filters are RBAC filters then the router.
//!
//! Rejected, because they would change who gets in and the server does not do them:
//! other filter-chain match criteria, network filters besides the HCM, PROXY protocol,
//! listener filters other than the TLS/HTTP inspectors, routes that do anything but let
//! requests through, per-route filter overrides (`RBACPerRoute`), HTTP filters that are
//! neither RBAC nor optional, TLS without a required client certificate or with
//! certificates from anywhere but certificate-provider instances, client-certificate
//! checks beyond the chain of trust (SAN matchers, pins, CRLs, custom validators), and
//! HCM settings that rewrite what RBAC sees (port stripping, header-validation and
//! early-mutation extensions, original-IP extensions, dropping headers with
//! underscores). The rest of the HCM (codecs, timeouts, access logs, tracing, request
//! IDs) is a proxy's own business and ignored.

use std::net::{IpAddr, SocketAddr};

use envoy_types::pb::envoy::config::core::v3::address::Address as AddressKind;
use envoy_types::pb::envoy::config::core::v3::socket_address::{PortSpecifier, Protocol as SocketProtocol};
use envoy_types::pb::envoy::config::core::v3::{Address, transport_socket};
use envoy_types::pb::envoy::config::listener::v3::{FilterChain, Listener, filter, listener_filter};
use envoy_types::pb::envoy::config::route::v3::route::Action as RouteAction;
use envoy_types::pb::envoy::config::route::v3::route_match::PathSpecifier;
use envoy_types::pb::envoy::config::route::v3::{Route, RouteConfiguration};
use envoy_types::pb::envoy::extensions::filters::http::rbac::v3::Rbac as HttpRbac;
use envoy_types::pb::envoy::extensions::filters::http::router::v3::Router;
use envoy_types::pb::envoy::extensions::filters::listener::http_inspector::v3::HttpInspector;
use envoy_types::pb::envoy::extensions::filters::listener::tls_inspector::v3::TlsInspector;
use envoy_types::pb::envoy::extensions::filters::network::http_connection_manager::v3::http_connection_manager::{
    PathWithEscapedSlashesAction as EscapedSlashesAction, RouteSpecifier,
};
use envoy_types::pb::envoy::extensions::filters::network::http_connection_manager::v3::http_filter::ConfigType;
use envoy_types::pb::envoy::extensions::filters::network::http_connection_manager::v3::{
    HttpConnectionManager, HttpFilter,
};
use envoy_types::pb::envoy::extensions::transport_sockets::raw_buffer::v3::RawBuffer;
use envoy_types::pb::envoy::extensions::transport_sockets::tls::v3::DownstreamTlsContext;
use envoy_types::pb::google::protobuf::Any;
use mesh_core::authz::{
    AuthzChain, CertProviders, ConnectionPolicy, EscapedSlashes, PathNormalization, RemoteAddress, ServerPolicy,
};

use super::ResourceError;
use super::field::{At, FieldResult, reject, unsupported};
use super::rbac::rbac_filter;
use super::server_tls::downstream_tls;
use super::value::{is, type_name, unpack};

/// An inbound listener: where a server listens and what it enforces there.
#[derive(Debug, Clone)]
pub struct ServerListener {
    /// The resource name (`xds.istio.io/grpc/lds/inbound/10.0.0.1:8080`).
    pub name: String,
    /// The address the control plane serves it for; the server checks it is its own
    /// (gRFC A36).
    pub address: SocketAddr,
    /// What to enforce.
    pub policy: ServerPolicy,
}

impl TryFrom<&Listener> for ServerListener {
    type Error = ResourceError;

    fn try_from(l: &Listener) -> Result<Self, ResourceError> {
        server_listener(l).map_err(|e| ResourceError::of(&l.name, e))
    }
}

/// Decodes and translates a `Listener` in an `Any` (as it arrives in an LDS response).
pub fn decode_server_listener(any: &Any) -> Result<ServerListener, ResourceError> {
    let l: Listener = unpack(any, "").map_err(|e| ResourceError::of("", e))?;
    if l.name.is_empty() {
        return Err(ResourceError { resource: String::new(), field: "name".into(), reason: "is required".into() });
    }
    ServerListener::try_from(&l)
}

fn server_listener(l: &Listener) -> FieldResult<ServerListener> {
    if l.api_listener.is_some() {
        return reject("api_listener", "a client listener (api_listener) is not a server listener");
    }
    unsupported(l.filter_chain_matcher.is_some(), "filter_chain_matcher", "the filter chain matcher API")?;
    unsupported(l.fcds_config.is_some(), "fcds_config", "filter chain discovery")?;
    unsupported(l.listener_specifier.is_some(), "internal_listener", "an internal listener")?;
    let address = address(l.address.as_ref()).at("address")?;
    for (i, f) in l.listener_filters.iter().enumerate() {
        let known = match &f.config_type {
            Some(listener_filter::ConfigType::TypedConfig(any)) => is::<TlsInspector>(any) || is::<HttpInspector>(any),
            Some(listener_filter::ConfigType::ConfigDiscovery(_)) => false,
            None => ["envoy.filters.listener.tls_inspector", "envoy.filters.listener.http_inspector"]
                .contains(&f.name.as_str()),
        };
        if !known {
            return reject(format!("listener_filters[{i}]"), format!("listener filter {:?} is not supported", f.name));
        }
    }
    let policy = filter_chains(l)?;
    Ok(ServerListener { name: l.name.clone(), address, policy })
}

fn address(a: Option<&Address>) -> FieldResult<SocketAddr> {
    let sa = match a.and_then(|a| a.address.as_ref()) {
        Some(AddressKind::SocketAddress(sa)) => sa,
        Some(_) => return reject("", "only a socket address is supported"),
        None => return reject("", "is required (gRFC A36)"),
    };
    if sa.protocol != SocketProtocol::Tcp as i32 {
        return reject("socket_address.protocol", "must be TCP");
    }
    let ip: IpAddr = sa
        .address
        .parse()
        .or_else(|_| reject("socket_address.address", format!("{:?} is not an IP address", sa.address)))?;
    let port = match sa.port_specifier {
        Some(PortSpecifier::PortValue(p)) => {
            u16::try_from(p).or_else(|_| reject("socket_address.port_value", format!("{p} is not a port")))?
        }
        _ => return reject("socket_address.port_value", "is required"),
    };
    Ok(SocketAddr::new(ip, port))
}

/// One filter chain, translated.
#[derive(Clone)]
struct Chain {
    /// `Some`: TLS transport socket, with its certificate providers.
    tls: Option<CertProviders>,
    policy: ConnectionPolicy,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Transport {
    Tls,
    RawBuffer,
    Any,
}

fn filter_chains(l: &Listener) -> FieldResult<ServerPolicy> {
    let mut explicit: [Option<Chain>; 2] = [None, None];
    let mut wildcard: Option<Chain> = None;
    for (i, fc) in l.filter_chains.iter().enumerate() {
        let at = format!("filter_chains[{i}]");
        let (transport, chain) = filter_chain(fc).at(&at)?;
        let slot = match transport {
            Transport::Tls => &mut explicit[0],
            Transport::RawBuffer => &mut explicit[1],
            Transport::Any => &mut wildcard,
        };
        if slot.replace(chain).is_some() {
            return reject(format!("{at}.filter_chain_match"), "two filter chains match the same connections");
        }
    }
    let default = match &l.default_filter_chain {
        Some(fc) => match filter_chain(fc).at("default_filter_chain")? {
            (Transport::Any, chain) => Some(chain),
            _ => return reject("default_filter_chain.filter_chain_match", "must not be set"),
        },
        None => None,
    };
    // A connection takes the chain for its kind, else the wildcard one, else the default.
    let [tls_slot, plain_slot] = explicit;
    let fallback = wildcard.or(default);
    let for_tls = tls_slot.or_else(|| fallback.clone());
    let for_plain = plain_slot.or(fallback);
    // A TLS connection given to a plaintext chain (and the reverse) cannot be served.
    let (tls, cert_provider) = match for_tls {
        Some(Chain { tls: Some(certs), policy }) => (Some(policy), Some(certs)),
        _ => (None, None),
    };
    let plaintext = match for_plain {
        Some(Chain { tls: None, policy }) => Some(policy),
        _ => None,
    };
    if tls.is_none() && plaintext.is_none() {
        return reject("filter_chains", "no filter chain accepts TLS or plaintext connections");
    }
    Ok(ServerPolicy { tls, plaintext, cert_provider })
}

// `use_proxy_proto` is deprecated; still checked so that it is never silently ignored.
#[allow(deprecated)]
fn filter_chain(fc: &FilterChain) -> FieldResult<(Transport, Chain)> {
    let transport = match &fc.filter_chain_match {
        None => Transport::Any,
        Some(m) => {
            let at = "filter_chain_match";
            let criteria = [
                ("destination_port", m.destination_port.is_some()),
                ("prefix_ranges", !m.prefix_ranges.is_empty()),
                ("address_suffix", !m.address_suffix.is_empty()),
                ("suffix_len", m.suffix_len.is_some()),
                ("direct_source_prefix_ranges", !m.direct_source_prefix_ranges.is_empty()),
                ("source_type", m.source_type != 0),
                ("source_prefix_ranges", !m.source_prefix_ranges.is_empty()),
                ("source_ports", !m.source_ports.is_empty()),
                ("server_names", !m.server_names.is_empty()),
                ("application_protocols", !m.application_protocols.is_empty()),
            ];
            if let Some((field, _)) = criteria.iter().find(|(_, set)| *set) {
                return reject(format!("{at}.{field}"), "only transport_protocol may select a filter chain");
            }
            match m.transport_protocol.as_str() {
                "" => Transport::Any,
                "tls" => Transport::Tls,
                "raw_buffer" => Transport::RawBuffer,
                other => {
                    return reject(format!("{at}.transport_protocol"), format!("{other:?} is not tls or raw_buffer"));
                }
            }
        }
    };
    unsupported(fc.use_proxy_proto.as_ref().is_some_and(|b| b.value), "use_proxy_proto", "PROXY protocol")?;
    let tls = match fc.transport_socket.as_ref().and_then(|t| t.config_type.as_ref()) {
        None => None,
        Some(transport_socket::ConfigType::TypedConfig(any)) if is::<DownstreamTlsContext>(any) => {
            let ctx: DownstreamTlsContext = unpack(any, "transport_socket.typed_config")?;
            Some(downstream_tls(&ctx).at("transport_socket.typed_config")?)
        }
        Some(transport_socket::ConfigType::TypedConfig(any)) if is::<RawBuffer>(any) => None,
        Some(transport_socket::ConfigType::TypedConfig(any)) => {
            let what = type_name(&any.type_url);
            return reject("transport_socket.typed_config", format!("transport socket {what} is not supported"));
        }
    };
    match (transport, tls.is_some()) {
        (Transport::Tls, false) => return reject("transport_socket", "a chain for TLS connections needs a TLS socket"),
        (Transport::RawBuffer, true) => {
            return reject("transport_socket", "a chain for plaintext (raw_buffer) connections cannot use TLS");
        }
        _ => {}
    }
    let hcm = match fc.filters.as_slice() {
        [f] => match &f.config_type {
            Some(filter::ConfigType::TypedConfig(any)) if is::<HttpConnectionManager>(any) => {
                unpack::<HttpConnectionManager>(any, "filters[0].typed_config")?
            }
            _ => return reject("filters[0]", format!("network filter {:?} is not an HttpConnectionManager", f.name)),
        },
        _ => return reject("filters", "exactly one network filter (the HttpConnectionManager) is required"),
    };
    let policy = connection_manager(&hcm).at("filters[0].typed_config")?;
    Ok((transport, Chain { tls, policy }))
}

fn connection_manager(hcm: &HttpConnectionManager) -> FieldResult<ConnectionPolicy> {
    match &hcm.route_specifier {
        Some(RouteSpecifier::RouteConfig(rc)) => routes(rc).at("route_config")?,
        Some(RouteSpecifier::Rds(_)) => return reject("rds", "a server's routes must be inline (route_config)"),
        Some(RouteSpecifier::ScopedRoutes(_)) => return reject("scoped_routes", "scoped routes are not supported"),
        None => return reject("route_config", "is required"),
    }
    unsupported(hcm.path_normalization_options.is_some(), "path_normalization_options", "path transformations")?;
    unsupported(hcm.typed_header_validation_config.is_some(), "typed_header_validation_config", "header validators")?;
    unsupported(
        !hcm.early_header_mutation_extensions.is_empty(),
        "early_header_mutation_extensions",
        "early header mutation",
    )?;
    unsupported(
        !hcm.original_ip_detection_extensions.is_empty(),
        "original_ip_detection_extensions",
        "original IP detection extensions",
    )?;
    unsupported(hcm.strip_matching_host_port, "strip_matching_host_port", "stripping the port from :authority")?;
    unsupported(hcm.strip_port_mode.is_some(), "strip_any_host_port", "stripping the port from :authority")?;
    unsupported(hcm.strip_trailing_host_dot, "strip_trailing_host_dot", "rewriting :authority")?;
    let underscores = hcm.common_http_protocol_options.as_ref().map_or(0, |o| o.headers_with_underscores_action);
    unsupported(
        underscores != 0,
        "common_http_protocol_options.headers_with_underscores_action",
        "dropping or rejecting headers with underscores",
    )?;
    let escaped_slashes = match EscapedSlashesAction::try_from(hcm.path_with_escaped_slashes_action) {
        // Envoy's implementation-specific default is KEEP_UNCHANGED.
        Ok(EscapedSlashesAction::ImplementationSpecificDefault | EscapedSlashesAction::KeepUnchanged) => {
            EscapedSlashes::KeepUnchanged
        }
        Ok(EscapedSlashesAction::RejectRequest) => EscapedSlashes::Reject,
        Ok(EscapedSlashesAction::UnescapeAndForward) => EscapedSlashes::UnescapeAndForward,
        Ok(EscapedSlashesAction::UnescapeAndRedirect) => {
            return reject("path_with_escaped_slashes_action", "UNESCAPE_AND_REDIRECT is not supported");
        }
        Err(_) => return reject("path_with_escaped_slashes_action", "unknown action"),
    };
    let path = PathNormalization {
        // Envoy's default is off.
        normalize: hcm.normalize_path.as_ref().is_some_and(|b| b.value),
        merge_slashes: hcm.merge_slashes,
        escaped_slashes,
    };
    let remote_address = RemoteAddress {
        use_remote_address: hcm.use_remote_address.as_ref().is_some_and(|b| b.value),
        xff_num_trusted_hops: hcm.xff_num_trusted_hops,
    };
    let authz = http_filters(&hcm.http_filters)?;
    Ok(ConnectionPolicy { authz, path, remote_address })
}

/// RBAC filters in order, then the router.
fn http_filters(filters: &[HttpFilter]) -> FieldResult<AuthzChain> {
    let Some((last, rest)) = filters.split_last() else {
        return reject("http_filters", "the router filter is required (last)");
    };
    if !matches!(&last.config_type, Some(ConfigType::TypedConfig(any)) if is::<Router>(any)) {
        return reject(format!("http_filters[{}]", rest.len()), "the last filter must be the router");
    }
    let mut chain = Vec::new();
    for (i, f) in rest.iter().enumerate() {
        let at = format!("http_filters[{i}]");
        match &f.config_type {
            Some(ConfigType::TypedConfig(any)) if is::<HttpRbac>(any) => {
                let config: HttpRbac = unpack(any, &format!("{at}.typed_config"))?;
                let rbac = rbac_filter(&config).at(format!("{at}.typed_config"))?;
                // A disabled filter runs only where a route enables it, and per-route
                // configs are rejected: it never runs.
                if !f.disabled {
                    chain.push(rbac);
                }
            }
            Some(ConfigType::TypedConfig(any)) if is::<Router>(any) => {
                return reject(at, "the router must be the last filter");
            }
            _ if f.is_optional => {}
            Some(ConfigType::TypedConfig(any)) => {
                let what = type_name(&any.type_url);
                return reject(
                    format!("{at}.typed_config"),
                    format!(
                        "filter {:?} ({what}) is not supported on a server; mark it is_optional to skip it",
                        f.name
                    ),
                );
            }
            Some(ConfigType::ConfigDiscovery(_)) => {
                return reject(format!("{at}.config_discovery"), "filter config discovery (ECDS) is not supported");
            }
            None => return reject(at, format!("filter {:?} has no typed_config", f.name)),
        }
    }
    Ok(AuthzChain::new(chain))
}

/// Checks that the routes let every request through (gRFC A36: a server only accepts
/// requests that reach a route with `non_forwarding_action`).
fn routes(rc: &RouteConfiguration) -> FieldResult<()> {
    const OVERRIDES: &str = "per-route filter configs (e.g. RBACPerRoute)";
    unsupported(!rc.typed_per_filter_config.is_empty(), "typed_per_filter_config", OVERRIDES)?;
    unsupported(rc.vhds.is_some(), "vhds", "VHDS")?;
    if !rc.virtual_hosts.iter().any(|vh| vh.domains.iter().any(|d| d == "*")) {
        return reject("virtual_hosts", "a virtual host with domain \"*\" is required");
    }
    for (i, vh) in rc.virtual_hosts.iter().enumerate() {
        let at = format!("virtual_hosts[{i}]");
        unsupported(vh.matcher.is_some(), &format!("{at}.matcher"), "the matcher API")?;
        unsupported(!vh.typed_per_filter_config.is_empty(), &format!("{at}.typed_per_filter_config"), OVERRIDES)?;
        for (j, r) in vh.routes.iter().enumerate() {
            let at = format!("{at}.routes[{j}]");
            if !matches!(r.action, Some(RouteAction::NonForwardingAction(_))) {
                return reject(format!("{at}.action"), "a server route must be non_forwarding_action");
            }
            unsupported(!r.typed_per_filter_config.is_empty(), &format!("{at}.typed_per_filter_config"), OVERRIDES)?;
        }
        if !vh.routes.iter().any(catch_all) {
            return reject(format!("{at}.routes"), "a route matching every request (prefix \"/\") is required");
        }
    }
    Ok(())
}

fn catch_all(r: &Route) -> bool {
    r.r#match.as_ref().is_some_and(|m| {
        matches!(&m.path_specifier, Some(PathSpecifier::Prefix(p)) if p.is_empty() || p == "/")
            && m.headers.is_empty()
            && m.query_parameters.is_empty()
            && m.runtime_fraction.is_none()
            && m.grpc.is_none()
            && m.tls_context.is_none()
            && m.dynamic_metadata.is_empty()
            && m.filter_state.is_empty()
            && m.cookies.is_empty()
    })
}

#[cfg(test)]
#[path = "server_listener_tests.rs"]
pub(crate) mod tests;
