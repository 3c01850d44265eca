//! Inbound listeners as mesh-control (and Istio's gRPC generator) build them: each mTLS
//! mode, RBAC chains, path settings, certificate providers, decoding from bytes, and
//! every rejection naming its field.
// Deprecated fields (legacy provider instances, SAN matchers, PROXY protocol) are what
// some control planes still send, and must be handled.
#![allow(deprecated)]

use std::net::SocketAddr;

use envoy_types::pb::envoy::config::core::v3::{HttpProtocolOptions, TransportSocket, transport_socket};
use envoy_types::pb::envoy::config::listener::v3::{
    Filter, FilterChain, FilterChainMatch, Listener, ListenerFilter, filter, listener_filter,
};
use envoy_types::pb::envoy::config::rbac::v3 as rbac_pb;
use envoy_types::pb::envoy::config::rbac::v3::permission::Rule;
use envoy_types::pb::envoy::config::route::v3 as route_pb;
use envoy_types::pb::envoy::config::route::v3::route::Action;
use envoy_types::pb::envoy::extensions::filters::http::fault::v3::HttpFault;
use envoy_types::pb::envoy::extensions::filters::listener::proxy_protocol::v3::ProxyProtocol;
use envoy_types::pb::envoy::extensions::filters::listener::tls_inspector::v3::TlsInspector;
use envoy_types::pb::envoy::extensions::filters::network::http_connection_manager::v3::http_connection_manager::{
    PathWithEscapedSlashesAction, RouteSpecifier, StripPortMode,
};
use envoy_types::pb::envoy::extensions::filters::network::http_connection_manager::v3::{
    HttpConnectionManager, HttpFilter,
};
use envoy_types::pb::envoy::extensions::transport_sockets::tls::v3::common_tls_context::{
    CertificateProviderInstance as LegacyInstance, CombinedCertificateValidationContext, ValidationContextType,
};
use envoy_types::pb::envoy::extensions::transport_sockets::tls::v3::{
    CertificateProviderPluginInstance, CertificateValidationContext, CommonTlsContext, DownstreamTlsContext,
};
use envoy_types::pb::google::protobuf::{Any, BoolValue};
use mesh_core::authz::{
    AuthzRequest, CertProviderInstance, Decision, EscapedSlashes, MtlsMode, PathNormalization, RbacAction,
    normalize_path,
};
use mesh_core::matcher::RequestAttributes;
use proptest::prelude::*;

use super::super::rbac::tests::{any_id, any_perm, http_rbac, path_rule, perm, policy, prefix, principal_name, rules};
use super::super::test_protos::{filter, pack, router, socket};
use super::*;

const NAME: &str = "xds.istio.io/grpc/lds/inbound/10.0.0.1:8080";

pub(crate) fn provider(instance_name: &str, certificate_name: &str) -> CertificateProviderPluginInstance {
    CertificateProviderPluginInstance { instance_name: instance_name.into(), certificate_name: certificate_name.into() }
}

/// The contract's TLS context: identity `default/default`, roots `default/ROOTCA`.
pub(crate) fn tls_context() -> DownstreamTlsContext {
    let roots = CertificateValidationContext {
        ca_certificate_provider_instance: Some(provider("default", "ROOTCA")),
        ..Default::default()
    };
    let combined =
        CombinedCertificateValidationContext { default_validation_context: Some(roots), ..Default::default() };
    DownstreamTlsContext {
        require_client_certificate: Some(BoolValue { value: true }),
        common_tls_context: Some(CommonTlsContext {
            tls_certificate_provider_instance: Some(provider("default", "default")),
            validation_context_type: Some(ValidationContextType::CombinedValidationContext(combined)),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// What Istio's gRPC generator sends: the deprecated provider-instance fields.
#[allow(deprecated)]
pub(crate) fn istio_tls_context() -> DownstreamTlsContext {
    let legacy = |c: &str| LegacyInstance { instance_name: "default".into(), certificate_name: c.into() };
    let combined = CombinedCertificateValidationContext {
        default_validation_context: Some(CertificateValidationContext::default()),
        validation_context_certificate_provider_instance: Some(legacy("ROOTCA")),
        ..Default::default()
    };
    DownstreamTlsContext {
        require_client_certificate: Some(BoolValue { value: true }),
        common_tls_context: Some(CommonTlsContext {
            tls_certificate_certificate_provider_instance: Some(legacy("default")),
            validation_context_type: Some(ValidationContextType::CombinedValidationContext(combined)),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn tls_socket(ctx: &DownstreamTlsContext) -> TransportSocket {
    TransportSocket {
        name: "envoy.transport_sockets.tls".into(),
        config_type: Some(transport_socket::ConfigType::TypedConfig(pack(ctx))),
    }
}

fn inbound_routes() -> route_pb::RouteConfiguration {
    let route = route_pb::Route {
        r#match: Some(route_pb::RouteMatch {
            path_specifier: Some(route_pb::route_match::PathSpecifier::Prefix("/".into())),
            ..Default::default()
        }),
        action: Some(Action::NonForwardingAction(route_pb::NonForwardingAction {})),
        ..Default::default()
    };
    let vh = route_pb::VirtualHost {
        name: "inbound|http|8080".into(),
        domains: vec!["*".into()],
        routes: vec![route],
        ..Default::default()
    };
    route_pb::RouteConfiguration { name: "inbound|http|8080".into(), virtual_hosts: vec![vh], ..Default::default() }
}

/// The contract's HCM: inline routes, `http_filters` then the router, normalization on.
fn hcm(http_filters: Vec<HttpFilter>) -> HttpConnectionManager {
    let mut filters = http_filters;
    filters.push(router());
    HttpConnectionManager {
        route_specifier: Some(RouteSpecifier::RouteConfig(inbound_routes())),
        http_filters: filters,
        normalize_path: Some(BoolValue { value: true }),
        merge_slashes: true,
        path_with_escaped_slashes_action: PathWithEscapedSlashesAction::RejectRequest as i32,
        ..Default::default()
    }
}

fn chain(
    name: &str,
    transport_protocol: &str,
    tls: Option<&DownstreamTlsContext>,
    hcm: &HttpConnectionManager,
) -> FilterChain {
    FilterChain {
        name: name.into(),
        filter_chain_match: (!transport_protocol.is_empty())
            .then(|| FilterChainMatch { transport_protocol: transport_protocol.into(), ..Default::default() }),
        filters: vec![Filter {
            name: "envoy.filters.network.http_connection_manager".into(),
            config_type: Some(filter::ConfigType::TypedConfig(pack(hcm))),
        }],
        transport_socket: tls.map(tls_socket),
        ..Default::default()
    }
}

fn listener(filter_chains: Vec<FilterChain>) -> Listener {
    Listener {
        name: NAME.into(),
        address: Some(socket("10.0.0.1", 8080)),
        filter_chains,
        listener_filters: vec![ListenerFilter {
            name: "envoy.filters.listener.tls_inspector".into(),
            config_type: Some(listener_filter::ConfigType::TypedConfig(pack(&TlsInspector::default()))),
            ..Default::default()
        }],
        ..Default::default()
    }
}

fn rbac(name: &str, rules: rbac_pb::Rbac) -> HttpFilter {
    filter(name, &http_rbac(rules))
}

/// istiod's order: AUDIT, DENY, ALLOW.
fn istio_filters() -> Vec<HttpFilter> {
    let audit = rules(
        rbac_pb::rbac::Action::Log,
        vec![("ns[ns]-policy[audit]-rule[0]", policy(vec![path_rule(prefix("/"))], vec![any_id()]))],
    );
    let deny = rules(
        rbac_pb::rbac::Action::Deny,
        vec![("ns[ns]-policy[deny]-rule[0]", policy(vec![path_rule(prefix("/admin"))], vec![any_id()]))],
    );
    let allow = rules(
        rbac_pb::rbac::Action::Allow,
        vec![(
            "ns[ns]-policy[allow]-rule[0]",
            policy(vec![any_perm()], vec![principal_name(prefix("spiffe://cluster.local/ns/a/"))]),
        )],
    );
    vec![
        rbac("envoy.filters.http.rbac", audit),
        rbac("envoy.filters.http.rbac", deny),
        rbac("envoy.filters.http.rbac", allow),
    ]
}

fn strict(filters: Vec<HttpFilter>) -> Listener {
    listener(vec![chain("mtls", "", Some(&tls_context()), &hcm(filters))])
}

fn permissive(tls_filters: Vec<HttpFilter>, plaintext_filters: Vec<HttpFilter>) -> Listener {
    listener(vec![
        chain("mtls", "tls", Some(&tls_context()), &hcm(tls_filters)),
        chain("plaintext", "raw_buffer", None, &hcm(plaintext_filters)),
    ])
}

fn disable(filters: Vec<HttpFilter>) -> Listener {
    listener(vec![chain("plaintext", "", None, &hcm(filters))])
}

fn translate(l: &Listener) -> ServerListener {
    ServerListener::try_from(l).expect("valid server listener")
}

fn rejected(l: &Listener) -> ResourceError {
    ServerListener::try_from(l).expect_err("must be rejected")
}

struct NoHeaders;

impl RequestAttributes for NoHeaders {
    fn authority(&self) -> &str {
        ""
    }
    fn path(&self) -> &str {
        ""
    }
    fn query(&self) -> Option<&str> {
        None
    }
    fn method(&self) -> &str {
        ""
    }
    fn for_each_header_value(&self, _: &str, _: &mut dyn FnMut(&str)) {}
}

fn request<'a>(path: &'a str, principal: Option<&'static str>) -> AuthzRequest<'a> {
    AuthzRequest {
        method: "GET",
        path,
        query: None,
        authority: "svc:8080",
        headers: &NoHeaders,
        destination_port: 8080,
        direct_remote: None,
        remote: None,
        principal,
        authenticated: principal.is_some(),
        sni: None,
        request_principal: None,
    }
}

#[test]
fn mtls_modes() {
    let certs = CertProviders {
        identity: CertProviderInstance { instance_name: "default".into(), certificate_name: "default".into() },
        roots: CertProviderInstance { instance_name: "default".into(), certificate_name: "ROOTCA".into() },
    };
    let s = translate(&strict(vec![]));
    assert_eq!(s.name, NAME);
    assert_eq!(s.address, "10.0.0.1:8080".parse::<SocketAddr>().expect("addr"));
    assert_eq!(s.policy.mtls(), Some(MtlsMode::Strict));
    assert!(s.policy.for_connection(false).is_none(), "STRICT refuses plaintext");
    assert_eq!(s.policy.cert_provider.as_ref(), Some(&certs));
    let p = translate(&permissive(vec![], vec![])).policy;
    assert_eq!((p.mtls(), p.cert_provider.as_ref()), (Some(MtlsMode::Permissive), Some(&certs)));
    let d = translate(&disable(vec![])).policy;
    assert_eq!((d.mtls(), d.cert_provider.as_ref()), (Some(MtlsMode::Disable), None));
    assert!(d.for_connection(true).is_none(), "DISABLE refuses TLS");

    let istio = listener(vec![chain("mtls", "", Some(&istio_tls_context()), &hcm(vec![]))]);
    assert_eq!(translate(&istio).policy.cert_provider, Some(certs), "the deprecated fields Istio sends");
    let tls_and_default = Listener {
        default_filter_chain: Some(chain("plaintext", "", None, &hcm(vec![]))),
        ..listener(vec![chain("mtls", "tls", Some(&tls_context()), &hcm(vec![]))])
    };
    assert_eq!(translate(&tls_and_default).policy.mtls(), Some(MtlsMode::Permissive), "default chain takes plaintext");
    let v6 = Listener { address: Some(socket("::1", 8080)), ..strict(vec![]) };
    assert_eq!(translate(&v6).address, "[::1]:8080".parse::<SocketAddr>().expect("addr"));
}

#[test]
fn connection_policies() {
    let p = translate(&strict(istio_filters())).policy;
    let tls = p.for_connection(true).expect("TLS accepted");
    assert_eq!(tls.path, PathNormalization::default());
    let actions: Vec<_> = tls.authz.filters.iter().map(|f| f.action).collect();
    assert_eq!(actions, [RbacAction::Log, RbacAction::Deny, RbacAction::Allow], "istiod's order is kept");
    let a = Some("spiffe://cluster.local/ns/a/sa/x");
    assert_eq!(
        tls.authz.evaluate(&request("/api", a)),
        Decision::Allow { logged: vec!["ns[ns]-policy[audit]-rule[0]".into()] }
    );
    assert!(!tls.authz.evaluate(&request("/api", Some("spiffe://cluster.local/ns/b/sa/x"))).is_allowed());

    // The path RBAC matches is the normalized one: a bypass of the DENY prefix fails.
    for raw in ["/x/..;/admin", "//admin", "/%61dmin/", "/a/%2e%2e/admin"] {
        let n = normalize_path(raw, &tls.path).expect("valid path");
        assert_eq!(
            tls.authz.evaluate(&request(&n.path, a)),
            Decision::Deny {
                action: RbacAction::Deny,
                policy: Some("ns[ns]-policy[deny]-rule[0]".into()),
                logged: vec!["ns[ns]-policy[audit]-rule[0]".into()]
            },
            "{raw}"
        );
    }
    assert!(normalize_path("/admin%2Fx", &tls.path).is_err());

    // Different chains per connection kind.
    let deny_all = vec![rbac("rbac", rules(rbac_pb::rbac::Action::Allow, vec![]))];
    let p = translate(&permissive(vec![], deny_all)).policy;
    let plain = p.for_connection(false).expect("plaintext accepted");
    assert!(!plain.authz.evaluate(&request("/", None)).is_allowed());
    assert!(p.for_connection(true).expect("TLS accepted").authz.evaluate(&request("/", a)).is_allowed());

    // A disabled RBAC filter never runs (no per-route config may enable it); an optional
    // unknown filter is skipped.
    let mut disabled = rbac("rbac", rules(rbac_pb::rbac::Action::Allow, vec![]));
    disabled.disabled = true;
    let mut optional = filter("envoy.filters.http.fault", &HttpFault::default());
    optional.is_optional = true;
    let p = translate(&disable(vec![disabled, optional])).policy;
    assert!(p.for_connection(false).expect("plaintext").authz.filters.is_empty());
}

#[test]
fn hcm_defaults_are_envoys() {
    let bare = HttpConnectionManager {
        route_specifier: Some(RouteSpecifier::RouteConfig(inbound_routes())),
        http_filters: vec![router()],
        use_remote_address: Some(BoolValue { value: true }),
        xff_num_trusted_hops: 2,
        ..Default::default()
    };
    let p = translate(&listener(vec![chain("plaintext", "", None, &bare)])).policy;
    let c = p.for_connection(false).expect("plaintext");
    let off =
        PathNormalization { normalize: false, merge_slashes: false, escaped_slashes: EscapedSlashes::KeepUnchanged };
    assert_eq!(c.path, off, "normalize_path unset is off, the escaped-slash default is KEEP_UNCHANGED");
    assert!(c.remote_address.use_remote_address);
    assert_eq!(c.remote_address.xff_num_trusted_hops, 2);
    let unescape = HttpConnectionManager {
        path_with_escaped_slashes_action: PathWithEscapedSlashesAction::UnescapeAndForward as i32,
        ..bare
    };
    let p = translate(&listener(vec![chain("plaintext", "", None, &unescape)])).policy;
    assert_eq!(p.plaintext.map(|c| c.path.escaped_slashes), Some(EscapedSlashes::UnescapeAndForward));
}

#[test]
fn decodes_from_bytes() {
    let l = decode_server_listener(&pack(&strict(istio_filters()))).expect("valid");
    assert_eq!((l.name.as_str(), l.policy.mtls()), (NAME, Some(MtlsMode::Strict)));
    let garbage = Any { type_url: crate::type_url::LISTENER.into(), value: vec![0xff; 9] };
    assert!(decode_server_listener(&garbage).expect_err("garbage").reason.starts_with("cannot decode"));
    let cluster = pack(&super::super::test_protos::eds_cluster("c"));
    assert!(decode_server_listener(&cluster).is_err(), "not a listener");
    let unnamed = Listener { name: String::new(), ..strict(vec![]) };
    assert_eq!(decode_server_listener(&pack(&unnamed)).expect_err("no name").field, "name");
}

/// Each broken listener, and the field its rejection names.
#[test]
fn rejections_name_the_field() {
    let fc = |i: usize, f: &str| format!("filter_chains[{i}].{f}");
    let hcm_at = |f: &str| fc(0, &format!("filters[0].typed_config.{f}"));
    let tls_at = |f: &str| fc(0, &format!("transport_socket.typed_config.{f}"));
    let with_hcm = |h: HttpConnectionManager| listener(vec![chain("plaintext", "", None, &h)]);
    let with_tls = |ctx: DownstreamTlsContext| listener(vec![chain("mtls", "", Some(&ctx), &hcm(vec![]))]);
    let mut cases: Vec<(Listener, String)> = vec![
        (Listener { address: None, ..strict(vec![]) }, "address".into()),
        (
            Listener { address: Some(socket("host.example", 80)), ..strict(vec![]) },
            "address.socket_address.address".into(),
        ),
        (listener(vec![]), "filter_chains".into()),
        (
            listener(vec![
                chain("a", "tls", Some(&tls_context()), &hcm(vec![])),
                chain("b", "tls", Some(&tls_context()), &hcm(vec![])),
            ]),
            fc(1, "filter_chain_match"),
        ),
        (listener(vec![chain("mtls", "tls", None, &hcm(vec![]))]), fc(0, "transport_socket")),
        (listener(vec![chain("plain", "raw_buffer", Some(&tls_context()), &hcm(vec![]))]), fc(0, "transport_socket")),
        (listener(vec![chain("x", "quic", None, &hcm(vec![]))]), fc(0, "filter_chain_match.transport_protocol")),
        (
            with_tls(DownstreamTlsContext { require_client_certificate: None, ..tls_context() }),
            tls_at("require_client_certificate"),
        ),
        (
            with_hcm(HttpConnectionManager {
                route_specifier: Some(RouteSpecifier::Rds(Default::default())),
                ..hcm(vec![])
            }),
            hcm_at("rds"),
        ),
        (with_hcm(HttpConnectionManager { http_filters: vec![], ..hcm(vec![]) }), hcm_at("http_filters")),
        (
            with_hcm(HttpConnectionManager { http_filters: vec![router(), router()], ..hcm(vec![]) }),
            hcm_at("http_filters[0]"),
        ),
        (
            with_hcm(hcm(vec![filter("envoy.filters.http.fault", &HttpFault::default())])),
            hcm_at("http_filters[0].typed_config"),
        ),
        (
            with_hcm(hcm(vec![rbac(
                "rbac",
                rules(
                    rbac_pb::rbac::Action::Deny,
                    vec![("p", policy(vec![perm(Rule::DestinationIp(Default::default()))], vec![any_id()]))],
                ),
            )])),
            hcm_at("http_filters[0].typed_config.rules.policies[\"p\"].permissions[0].destination_ip"),
        ),
        (
            with_hcm(HttpConnectionManager {
                strip_port_mode: Some(StripPortMode::StripAnyHostPort(true)),
                ..hcm(vec![])
            }),
            hcm_at("strip_any_host_port"),
        ),
        (
            with_hcm(HttpConnectionManager {
                path_with_escaped_slashes_action: PathWithEscapedSlashesAction::UnescapeAndRedirect as i32,
                ..hcm(vec![])
            }),
            hcm_at("path_with_escaped_slashes_action"),
        ),
        (
            with_hcm(HttpConnectionManager {
                common_http_protocol_options: Some(HttpProtocolOptions {
                    headers_with_underscores_action: 2,
                    ..Default::default()
                }),
                ..hcm(vec![])
            }),
            hcm_at("common_http_protocol_options.headers_with_underscores_action"),
        ),
    ];

    let mut forwarding = inbound_routes();
    forwarding.virtual_hosts[0].routes[0].action = Some(Action::Route(Default::default()));
    let h = HttpConnectionManager { route_specifier: Some(RouteSpecifier::RouteConfig(forwarding)), ..hcm(vec![]) };
    cases.push((with_hcm(h), hcm_at("route_config.virtual_hosts[0].routes[0].action")));
    let mut per_route = inbound_routes();
    per_route.virtual_hosts[0].routes[0]
        .typed_per_filter_config
        .insert("envoy.filters.http.rbac".into(), pack(&http_rbac(Default::default())));
    let h = HttpConnectionManager { route_specifier: Some(RouteSpecifier::RouteConfig(per_route)), ..hcm(vec![]) };
    cases.push((with_hcm(h), hcm_at("route_config.virtual_hosts[0].routes[0].typed_per_filter_config")));
    let mut narrow = inbound_routes();
    narrow.virtual_hosts[0].routes[0].r#match = Some(route_pb::RouteMatch {
        path_specifier: Some(route_pb::route_match::PathSpecifier::Prefix("/api".into())),
        ..Default::default()
    });
    let h = HttpConnectionManager { route_specifier: Some(RouteSpecifier::RouteConfig(narrow)), ..hcm(vec![]) };
    cases.push((with_hcm(h), hcm_at("route_config.virtual_hosts[0].routes")));

    let mut proxy = strict(vec![]);
    proxy.filter_chains[0].use_proxy_proto = Some(BoolValue { value: true });
    cases.push((proxy, fc(0, "use_proxy_proto")));
    let mut sni = strict(vec![]);
    sni.filter_chains[0].filter_chain_match =
        Some(FilterChainMatch { server_names: vec!["a".into()], ..Default::default() });
    cases.push((sni, fc(0, "filter_chain_match.server_names")));
    let mut two_filters = strict(vec![]);
    let extra = two_filters.filter_chains[0].filters[0].clone();
    two_filters.filter_chains[0].filters.push(extra);
    cases.push((two_filters, fc(0, "filters")));
    let mut pp = strict(vec![]);
    pp.listener_filters.push(ListenerFilter {
        name: "envoy.filters.listener.proxy_protocol".into(),
        config_type: Some(listener_filter::ConfigType::TypedConfig(pack(&ProxyProtocol::default()))),
        ..Default::default()
    });
    cases.push((pp, "listener_filters[1]".into()));
    let api = Listener { api_listener: Some(Default::default()), ..strict(vec![]) };
    cases.push((api, "api_listener".into()));

    for (l, field) in cases {
        let e = rejected(&l);
        assert_eq!((e.resource.as_str(), e.field.as_str()), (NAME, field.as_str()), "{e}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    /// Arbitrary and mutated bytes never panic the server-listener decoder.
    #[test]
    fn decoding_never_panics(
        bytes in prop::collection::vec(any::<u8>(), 0..256),
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..8),
    ) {
        let _ = decode_server_listener(&Any { type_url: crate::type_url::LISTENER.into(), value: bytes });
        let mut valid = pack(&permissive(istio_filters(), istio_filters())).value;
        for (at, b) in flips {
            let i = at.index(valid.len());
            valid[i] ^= b;
        }
        let _ = decode_server_listener(&Any { type_url: crate::type_url::LISTENER.into(), value: valid });
    }
}
