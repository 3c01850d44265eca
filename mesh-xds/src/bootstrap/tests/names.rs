//! Listener names for client targets and server addresses (A36, A47), `xds:` target parsing and
//! server selection per authority.

use std::net::SocketAddr;

use serde_json::{Value, json};

use super::{load, minimal, with};
use crate::bootstrap::XdsTarget;

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

/// The "several authorities" arrangement of gRFC A47, with our own names.
fn federated() -> Value {
    json!({
        "xds_servers": [{ "server_uri": "xds-main.example.org:443", "channel_creds": [{ "type": "insecure" }] }],
        "node": { "id": "n" },
        "client_default_listener_resource_name_template": "xdstp://main.example.org/envoy.config.listener.v3.Listener/client/%s?project=7",
        "server_listener_resource_name_template": "xdstp://main.example.org/envoy.config.listener.v3.Listener/server/%s?project=7",
        "authorities": {
            "main.example.org": {
                "client_listener_resource_name_template": "xdstp://main.example.org/envoy.config.listener.v3.Listener/by-authority/%s"
            },
            "other.example.org": {
                "xds_servers": [
                    { "server_uri": "xds-other.example.org:443", "channel_creds": [{ "type": "insecure" }] },
                    { "server_uri": "xds-other-backup.example.org:443", "channel_creds": [{ "type": "insecure" }] }
                ]
            }
        }
    })
}

#[test]
fn without_templates_the_listener_is_the_target_path() {
    let b = load(&minimal());
    assert_eq!(
        b.client_listener_name("xds:///reviews.default.svc.cluster.local:9080").unwrap(),
        "reviews.default.svc.cluster.local:9080"
    );
    assert_eq!(b.client_listener_name("xds:echo:8080").unwrap(), "echo:8080");
    assert_eq!(b.client_listener_name("XDS:///echo:8080").unwrap(), "echo:8080");
    // Old-style names are used as decoded, not re-encoded.
    assert_eq!(b.client_listener_name("xds:///my%20svc:80").unwrap(), "my svc:80");
    assert_eq!(b.server_listener_name(addr("0.0.0.0:8080")), None);
}

#[test]
fn an_old_style_default_template_substitutes_every_token() {
    let b = load(&with("/client_default_listener_resource_name_template", json!("lds/%s/again/%s")));
    assert_eq!(b.client_listener_name("xds:///a:1").unwrap(), "lds/a:1/again/a:1");
}

#[test]
fn an_xdstp_default_template_percent_encodes_the_service() {
    let b = load(&federated());
    assert_eq!(
        b.client_listener_name("xds:///server.example.com:443").unwrap(),
        "xdstp://main.example.org/envoy.config.listener.v3.Listener/client/server.example.com:443?project=7"
    );
    // Only RFC 3986 path characters (including '/' and ':') stay as they are.
    assert_eq!(
        b.client_listener_name("xds:///ns/a%20b[1]%25:80").unwrap(),
        "xdstp://main.example.org/envoy.config.listener.v3.Listener/client/ns/a%20b%5B1%5D%25:80?project=7"
    );
}

#[test]
fn a_target_authority_selects_its_template() {
    let b = load(&federated());
    assert_eq!(
        b.client_listener_name("xds://main.example.org/server.example.com:443").unwrap(),
        "xdstp://main.example.org/envoy.config.listener.v3.Listener/by-authority/server.example.com:443"
    );
    // No template in the entry: the A47 default.
    assert_eq!(
        b.client_listener_name("xds://other.example.org/server.other.com").unwrap(),
        "xdstp://other.example.org/envoy.config.listener.v3.Listener/server.other.com"
    );
    let err = b.client_listener_name("xds://unknown.example.org/svc:80").unwrap_err();
    assert_eq!(
        err.to_string(),
        "\"xds://unknown.example.org/svc:80\": authority \"unknown.example.org\" is not in the bootstrap's \"authorities\""
    );
    // Without any authorities at all, an authority in the target is equally an error (A47).
    assert!(load(&minimal()).client_listener_name("xds://x.org/svc:80").is_err());
}

#[test]
fn server_listener_names_for_ipv4_and_ipv6() {
    let b =
        load(&with("/server_listener_resource_name_template", json!("grpc/server?xds.resource.listening_address=%s")));
    assert_eq!(
        b.server_listener_name(addr("0.0.0.0:8080")).as_deref(),
        Some("grpc/server?xds.resource.listening_address=0.0.0.0:8080")
    );
    assert_eq!(
        b.server_listener_name(addr("[::]:8080")).as_deref(),
        Some("grpc/server?xds.resource.listening_address=[::]:8080")
    );

    let b = load(&federated());
    assert_eq!(
        b.server_listener_name(addr("[::]:8080")).as_deref(),
        Some("xdstp://main.example.org/envoy.config.listener.v3.Listener/server/%5B::%5D:8080?project=7")
    );
    assert_eq!(
        b.server_listener_name(addr("10.0.0.1:50051")).as_deref(),
        Some("xdstp://main.example.org/envoy.config.listener.v3.Listener/server/10.0.0.1:50051?project=7")
    );
}

#[test]
fn servers_for_a_resource_follow_its_authority() {
    let b = load(&federated());
    let uris = |name: &str| -> Vec<String> {
        b.servers_for_resource(name).unwrap().iter().map(|s| s.server_uri.clone()).collect()
    };
    assert_eq!(uris("echo:8080"), ["xds-main.example.org:443"]);
    assert_eq!(uris("xdstp://main.example.org/envoy.config.listener.v3.Listener/x"), ["xds-main.example.org:443"]);
    assert_eq!(
        uris("xdstp://other.example.org/envoy.config.cluster.v3.Cluster/c?x=1"),
        ["xds-other.example.org:443", "xds-other-backup.example.org:443"]
    );
    let err = b.servers_for_resource("xdstp://nope.org/envoy.config.cluster.v3.Cluster/c").unwrap_err();
    assert_eq!(
        err.to_string(),
        "\"xdstp://nope.org/envoy.config.cluster.v3.Cluster/c\": authority \"nope.org\" is not in the bootstrap's \"authorities\""
    );
}

#[test]
fn xds_targets_parse() {
    let parse = |t: &str| XdsTarget::parse(t).unwrap();
    assert_eq!(parse("xds:///echo:8080"), XdsTarget { authority: None, service: "echo:8080".into() });
    assert_eq!(parse("xds:echo:8080"), XdsTarget { authority: None, service: "echo:8080".into() });
    assert_eq!(parse("xds:/echo"), XdsTarget { authority: None, service: "echo".into() });
    assert_eq!(
        parse("xds://a.org/ns/echo:8080"),
        XdsTarget { authority: Some("a.org".into()), service: "ns/echo:8080".into() }
    );
    assert_eq!(parse("xds://a.org/ns/echo:8080").data_plane_authority(), "echo:8080");
    assert_eq!(parse("xds:///echo:8080").data_plane_authority(), "echo:8080");

    let errors = [
        ("dns:///echo:8080", "not an xds target (expected xds:///host:port or xds://authority/host:port)"),
        ("echo:8080", "not an xds target (expected xds:///host:port or xds://authority/host:port)"),
        ("xds:///", "no service name (expected xds:///host:port)"),
        ("xds://a.org", "no service name (expected xds:///host:port)"),
        ("xds:///echo?x=1", "a query or fragment is not supported in an xds target"),
        ("xds:///echo#f", "a query or fragment is not supported in an xds target"),
        ("xds:///bad%zzescape", "invalid percent-encoding at byte 3"),
        ("xds:///%ff", "percent-encoded bytes are not UTF-8"),
    ];
    for (target, reason) in errors {
        let message = XdsTarget::parse(target).unwrap_err().to_string();
        assert_eq!(message, format!("{target:?}: {reason}"));
    }
}
