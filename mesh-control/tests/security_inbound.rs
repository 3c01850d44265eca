//! The inbound listeners mesh servers fetch: one per workload address and serving port,
//! named `xds.istio.io/grpc/lds/inbound/<ip>:<port>`, with the filter chains of the
//! PeerAuthentication mode and the RBAC filters of the AuthorizationPolicies — in the
//! translation, and served over ADS by a running control plane.
// Tests: unwrap on fixtures is the assertion.
#![allow(clippy::unwrap_used)]

mod common;
mod security_support;

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};

use envoy_types::pb::envoy::config::core::v3::Node;
use envoy_types::pb::envoy::config::core::v3::address::Address as AddressKind;
use envoy_types::pb::envoy::config::core::v3::socket_address::PortSpecifier;
use envoy_types::pb::envoy::config::listener::v3::Listener;
use envoy_types::pb::envoy::config::route::v3::route::Action;
use envoy_types::pb::envoy::config::route::v3::route_match::PathSpecifier;
use envoy_types::pb::envoy::extensions::filters::network::http_connection_manager::v3::http_connection_manager::{
    PathWithEscapedSlashesAction, RouteSpecifier,
};
use envoy_types::pb::envoy::service::discovery::v3::aggregated_discovery_service_client::AggregatedDiscoveryServiceClient;
use envoy_types::pb::envoy::service::discovery::v3::{DiscoveryRequest, DiscoveryResponse};
use mesh_control::registry::WorkloadInstance;
use mesh_control::translate::security::{INBOUND_LISTENER_PREFIX, inbound_listener_name};
use mesh_control::translate::{Resources, TranslateOptions, translate};
use mesh_xds::type_url::LISTENER;
use prost::Message;
use security_support::*;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Streaming;

/// A mesh-internal ServiceEntry selecting `app: reviews` WorkloadEntries (one mapping
/// `http` to 19080, one over IPv6), an implicit service (bookinfo style, port 7070) and an
/// external service whose endpoints are not mesh servers.
const WORKLOADS: &str = "
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: reviews, namespace: foo}
spec:
  hosts: [reviews.foo.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{number: 9080, name: http, protocol: HTTP}]
  workloadSelector: {labels: {app: reviews}}
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: reviews-v1, namespace: foo}
spec: {address: 10.0.0.1, labels: {app: reviews, version: v1}, serviceAccount: reviews}
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: reviews-v2, namespace: foo}
spec: {address: 10.0.0.2, labels: {app: reviews, version: v2}, ports: {http: 19080}}
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: reviews-v6, namespace: foo}
spec: {address: 'fd00::1', labels: {app: reviews, version: v3}}
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: ratings, namespace: bar}
spec: {address: 10.0.1.1, labels: {app: ratings}, ports: {grpc: 7070}}
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: external, namespace: foo}
spec:
  hosts: [api.example.com]
  location: MESH_EXTERNAL
  resolution: STATIC
  ports: [{number: 443, name: https, protocol: TLS}]
  endpoints: [{address: 198.51.100.7}]
";

fn translated(extra: &[String]) -> Resources {
    let mut docs = vec![WORKLOADS.to_string()];
    docs.extend_from_slice(extra);
    translate(&config(&docs), &[], &TranslateOptions::default())
}

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn listener(r: &Resources, address: &str) -> Listener {
    let name = inbound_listener_name(addr(address));
    let any = r.get(LISTENER, &name).unwrap_or_else(|| panic!("no {name} in {:?}", r.names(LISTENER)));
    assert_eq!(any.type_url, "type.googleapis.com/envoy.config.listener.v3.Listener");
    Listener::decode(any.value.as_slice()).unwrap()
}

/// `(name, transport protocol, mTLS)` of each chain of the listener at `address`.
fn shape(r: &Resources, address: &str) -> Vec<(String, Option<String>, bool)> {
    chains(&listener(r, address)).into_iter().map(|c| (c.name, c.transport_protocol, c.mtls)).collect()
}

#[test]
fn one_listener_per_workload_address_and_serving_port() {
    let r = translated(&[]);
    let inbound: Vec<&str> = r.names(LISTENER).into_iter().filter(|n| n.starts_with(INBOUND_LISTENER_PREFIX)).collect();
    assert_eq!(
        inbound,
        [
            "xds.istio.io/grpc/lds/inbound/10.0.0.1:9080",
            "xds.istio.io/grpc/lds/inbound/10.0.0.2:19080",
            "xds.istio.io/grpc/lds/inbound/10.0.1.1:7070",
            "xds.istio.io/grpc/lds/inbound/[fd00::1]:9080",
        ],
        "the external service's endpoint serves no mesh listener"
    );
    // Side by side with the client listeners, which keep their names.
    assert!(r.get(LISTENER, "reviews.foo.svc.cluster.local:9080").is_some());
    let l = listener(&r, "[fd00::1]:9080");
    assert_eq!(l.name, "xds.istio.io/grpc/lds/inbound/[fd00::1]:9080");
    let Some(AddressKind::SocketAddress(sa)) = l.address.and_then(|a| a.address) else { panic!("socket address") };
    assert_eq!((sa.address.as_str(), sa.port_specifier), ("fd00::1", Some(PortSpecifier::PortValue(9080))));
}

#[test]
fn permissive_by_default_two_chains_told_apart_by_the_tls_inspector() {
    let r = translated(&[]);
    let l = listener(&r, "10.0.0.1:9080");
    assert_eq!(
        shape(&r, "10.0.0.1:9080"),
        [("mtls".into(), Some("tls".into()), true), ("plaintext".into(), Some("raw_buffer".into()), false)]
    );
    let inspectors: Vec<&str> = l.listener_filters.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(inspectors, ["envoy.filters.listener.tls_inspector"]);
    for chain in chains(&l) {
        let hcm = chain.hcm;
        let Some(RouteSpecifier::RouteConfig(routes)) = &hcm.route_specifier else { panic!("inline routes") };
        let vh = &routes.virtual_hosts[0];
        assert_eq!((vh.name.as_str(), vh.domains.as_slice()), ("inbound|http|9080", &["*".to_string()][..]));
        let route = &vh.routes[0];
        assert_eq!(route.r#match.as_ref().unwrap().path_specifier, Some(PathSpecifier::Prefix("/".into())));
        assert!(matches!(route.action, Some(Action::NonForwardingAction(_))));
        assert_eq!(hcm.normalize_path.map(|b| b.value), Some(true));
        assert!(hcm.merge_slashes);
        assert_eq!(hcm.path_with_escaped_slashes_action, PathWithEscapedSlashesAction::RejectRequest as i32);
        assert_eq!(http_filters(&hcm), (vec![], vec!["envoy.filters.http.router".to_string()]), "no policy");
    }
}

#[test]
fn strict_and_disable_one_chain_each_by_level_and_port() {
    let r = translated(&[
        peer("istio-system", "default", "{mtls: {mode: STRICT}}"),
        peer("bar", "default", "{mtls: {mode: DISABLE}}"),
        peer("foo", "v2", "{selector: {matchLabels: {version: v2}}, portLevelMtls: {19080: {mode: PERMISSIVE}}}"),
    ]);
    let strict = [("mtls".to_string(), None, true)];
    assert_eq!(shape(&r, "10.0.0.1:9080"), strict, "mesh-wide STRICT");
    assert!(listener(&r, "10.0.0.1:9080").listener_filters.is_empty());
    assert_eq!(shape(&r, "[fd00::1]:9080"), strict);
    assert_eq!(shape(&r, "10.0.1.1:7070"), [("plaintext".to_string(), None, false)], "namespace bar DISABLE");
    assert_eq!(shape(&r, "10.0.0.2:19080").len(), 2, "the workload port's own PERMISSIVE");
}

#[test]
fn rbac_filters_on_every_chain_before_the_router() {
    let r = translated(&[
        authz(
            "foo",
            "allow-v1-readers",
            "\n  selector: {matchLabels: {version: v1}}\n  rules:\n  - to: [{operation: {methods: [GET]}}]\n",
        ),
        authz("istio-system", "deny-debug", "\n  action: DENY\n  rules:\n  - to: [{operation: {paths: [/debug*]}}]\n"),
        authz("foo", "audit", "\n  action: AUDIT\n  rules: [{}]\n"),
    ]);
    for chain in chains(&listener(&r, "10.0.0.1:9080")) {
        let (rbac, others) = http_filters(&chain.hcm);
        assert_eq!(rbac.iter().map(|f| f.action).collect::<Vec<_>>(), ["LOG", "DENY", "ALLOW"], "{}", chain.name);
        assert_eq!(others, ["envoy.filters.http.router"]);
        assert_eq!(chain.hcm.http_filters.last().unwrap().name, "envoy.filters.http.router");
        assert_eq!(rbac[2].policies.keys().collect::<Vec<_>>(), ["ns[foo]-policy[allow-v1-readers]-rule[0]"]);
    }
    let (rbac, _) = http_filters(&chains(&listener(&r, "10.0.0.2:19080"))[0].hcm);
    assert_eq!(rbac.iter().map(|f| f.action).collect::<Vec<_>>(), ["LOG", "DENY"], "v2 is not selected: no ALLOW");
    let (rbac, _) = http_filters(&chains(&listener(&r, "10.0.1.1:7070"))[0].hcm);
    assert_eq!(rbac.iter().map(|f| f.action).collect::<Vec<_>>(), ["DENY"], "namespace bar: the root one only");
}

#[test]
fn registered_instances_get_listeners_and_are_selected_by_their_labels() {
    let set = config(&[
        WORKLOADS.to_string(),
        peer("foo", "canary", "{selector: {matchLabels: {track: canary}}, mtls: {mode: STRICT}}"),
    ]);
    let registered = WorkloadInstance {
        service: "reviews.foo.svc.cluster.local".into(),
        namespace: "foo".into(),
        address: IpAddr::from([10, 0, 0, 9]),
        ports: [("http".to_string(), 9081)].into(),
        labels: [("app".to_string(), "reviews".to_string()), ("track".to_string(), "canary".to_string())].into(),
        weight: 1,
        locality: String::new(),
        service_account: "reviews".into(),
    };
    let r = translate(&set, &[registered], &TranslateOptions::default());
    assert_eq!(shape(&r, "10.0.0.9:9081"), [("mtls".to_string(), None, true)]);
    assert_eq!(shape(&r, "10.0.0.1:9080").len(), 2);
}

#[test]
fn the_same_input_gives_the_same_bytes() {
    let policies: Vec<String> = (0..12)
        .map(|i| {
            authz(
                "foo",
                &format!("p{i}"),
                &format!("\n  rules:\n  - from: [{{source: {{namespaces: [ns{i}]}}}}]\n  - {{}}\n"),
            )
        })
        .collect();
    let a = translated(&policies);
    let b = translated(&policies);
    assert_eq!(a.by_type, b.by_type);
    let (rbac, _) = http_filters(&chains(&listener(&a, "10.0.0.1:9080"))[0].hcm);
    assert_eq!(rbac[0].policies.len(), 24);
}

#[test]
fn no_warning_that_security_kinds_are_not_served() {
    let r = translated(&[peer("foo", "default", "{mtls: {mode: STRICT}}"), authz("foo", "a", " {}")]);
    let about: Vec<&String> = r.warnings.iter().filter(|w| w.contains("foo/default") || w.contains("foo/a")).collect();
    assert!(about.is_empty(), "{about:#?}");
}

/// The next response of an ADS stream, and its listeners by name.
async fn next(responses: &mut Streaming<DiscoveryResponse>) -> (DiscoveryResponse, BTreeMap<String, Listener>) {
    let response = tokio::time::timeout(common::WAIT, responses.message()).await.unwrap().unwrap().unwrap();
    let listeners = response
        .resources
        .iter()
        .map(|any| Listener::decode(any.value.as_slice()).unwrap())
        .map(|l| (l.name.clone(), l))
        .collect();
    (response, listeners)
}

/// A server's ADS stream: subscribes to its inbound listener, as a proxyless server does.
#[tokio::test]
async fn a_running_control_plane_serves_the_listener_and_pushes_mode_changes() {
    let dir = common::TempDir::new();
    dir.write("workloads.yaml", WORKLOADS);
    dir.write("peer.yaml", &peer("foo", "default", "{mtls: {mode: STRICT}}"));
    let cp = common::start(&dir).await;
    let name = inbound_listener_name(addr("10.0.0.1:9080"));
    let mut client = AggregatedDiscoveryServiceClient::connect(format!("http://{}", cp.xds_addr())).await.unwrap();
    let (requests, rx) = tokio::sync::mpsc::channel(4);
    let request = |version: &str, nonce: &str| DiscoveryRequest {
        node: Some(Node { id: "reviews-v1".into(), ..Default::default() }),
        type_url: LISTENER.into(),
        resource_names: vec![name.clone()],
        version_info: version.into(),
        response_nonce: nonce.into(),
        ..Default::default()
    };
    requests.send(request("", "")).await.unwrap();
    let mut responses = client.stream_aggregated_resources(ReceiverStream::new(rx)).await.unwrap().into_inner();
    let (first, listeners) = next(&mut responses).await;
    assert_eq!(listeners.keys().collect::<Vec<_>>(), [&name], "only the listener asked for");
    let names = |l: &Listener| l.filter_chains.iter().map(|c| c.name.clone()).collect::<Vec<_>>();
    assert_eq!(names(&listeners[&name]), ["mtls"]);

    requests.send(request(&first.version_info, &first.nonce)).await.unwrap();
    dir.write("peer.yaml", &peer("foo", "default", "{mtls: {mode: PERMISSIVE}}"));
    let (_, listeners) = next(&mut responses).await;
    assert_eq!(names(&listeners[&name]), ["mtls", "plaintext"]);
    cp.shutdown().await;
}
