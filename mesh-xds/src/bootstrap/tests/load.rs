//! Loading valid bootstraps: every field, credentials selection, features, certificate providers,
//! forward compatibility, `to_json` and the builder.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::{Value, json};

use super::{load, minimal, with};
use crate::bootstrap::{
    Authority, Bootstrap, CLIENT_FEATURES, CertificateProvider, ChannelCreds, DEFAULT_REFRESH_INTERVAL,
    FileWatcherConfig, Locality, XdsServer,
};

/// A bootstrap in the style of the ones grpc-go's and Istio's tooling generate, using every field.
fn full_example() -> Value {
    json!({
        "xds_servers": [
            {
                "server_uri": "dns:///istiod.istio-system.svc:15010",
                "channel_creds": [{ "type": "insecure" }],
                "server_features": ["xds_v3", "ignore_resource_deletion", "delta_xds"]
            },
            {
                "server_uri": "backup-xds.example.com:443",
                "channel_creds": [
                    { "type": "tls", "config": { "ca_certificate_file": "/etc/xds/ca.pem" } },
                    { "type": "insecure" }
                ],
                "server_features": ["xds_v3"]
            }
        ],
        "node": {
            "id": "sidecar~10.1.2.3~reviews-v1-7d9f.default~default.svc.cluster.local",
            "cluster": "reviews",
            "locality": { "region": "europe-west1", "zone": "europe-west1-b", "sub_zone": "rack7" },
            "metadata": { "ISTIO_VERSION": "1.24.0", "GENERATOR": "grpc", "LABELS": { "app": "reviews" } }
        },
        "certificate_providers": {
            "default": {
                "plugin_name": "file_watcher",
                "config": {
                    "certificate_file": "/var/run/certs/cert-chain.pem",
                    "private_key_file": "/var/run/certs/key.pem",
                    "ca_certificate_file": "/var/run/certs/root-cert.pem",
                    "refresh_interval": "900s"
                }
            }
        },
        "server_listener_resource_name_template": "xds.istio.io/grpc/lds/inbound/%s",
        "client_default_listener_resource_name_template": "%s",
        "authorities": {
            "xds.example.com": {
                "xds_servers": [{ "server_uri": "xds.example.com:443", "channel_creds": [{ "type": "google_default" }] }]
            },
            "traffic.example.com": {
                "client_listener_resource_name_template": "xdstp://traffic.example.com/envoy.config.listener.v3.Listener/grpc/client/%s",
                "fallback_on_reachability_only": true
            }
        }
    })
}

#[test]
fn full_example_loads_every_field() {
    let b = load(&full_example());

    assert_eq!(b.xds_servers.len(), 2);
    let primary = &b.xds_servers[0];
    assert_eq!(primary.server_uri, "dns:///istiod.istio-system.svc:15010");
    assert_eq!(primary.channel_creds, ChannelCreds::Insecure);
    assert_eq!(primary.server_features, ["xds_v3", "ignore_resource_deletion", "delta_xds"]);
    assert!(primary.ignore_resource_deletion() && primary.supports_delta());
    assert_eq!(primary.endpoint_uri(), "http://istiod.istio-system.svc:15010");
    let fallback = &b.xds_servers[1];
    assert_eq!(fallback.channel_creds.type_name(), "tls");
    assert!(!fallback.ignore_resource_deletion() && !fallback.supports_delta());
    assert_eq!(fallback.endpoint_uri(), "https://backup-xds.example.com:443");

    assert_eq!(b.node.id, "sidecar~10.1.2.3~reviews-v1-7d9f.default~default.svc.cluster.local");
    assert_eq!(b.node.cluster, "reviews");
    let locality = Locality { region: "europe-west1".into(), zone: "europe-west1-b".into(), sub_zone: "rack7".into() };
    assert_eq!(b.node.locality, Some(locality));
    assert_eq!(b.node.metadata["LABELS"], json!({ "app": "reviews" }));
    assert_eq!(b.node.user_agent_name, "mesh");
    assert_eq!(b.node.user_agent_version, env!("CARGO_PKG_VERSION"));

    let provider = &b.certificate_providers["default"];
    assert_eq!(provider.plugin_name, "file_watcher");
    let files = provider.file_watcher_config().unwrap();
    assert_eq!(files.certificate_file, Some(PathBuf::from("/var/run/certs/cert-chain.pem")));
    assert_eq!(files.private_key_file, Some(PathBuf::from("/var/run/certs/key.pem")));
    assert_eq!(files.ca_certificate_file, Some(PathBuf::from("/var/run/certs/root-cert.pem")));
    assert_eq!(files.refresh_interval, Duration::from_secs(900));

    assert_eq!(b.server_listener_resource_name_template.as_deref(), Some("xds.istio.io/grpc/lds/inbound/%s"));
    assert_eq!(b.client_default_listener_resource_name_template.as_deref(), Some("%s"));
    let federated = &b.authorities["xds.example.com"];
    assert_eq!(federated.client_listener_resource_name_template, None);
    assert_eq!(federated.xds_servers[0].channel_creds, ChannelCreds::GoogleDefault);
    assert!(!federated.fallback_on_reachability_only);
    let traffic = &b.authorities["traffic.example.com"];
    assert!(traffic.xds_servers.is_empty() && traffic.fallback_on_reachability_only);
}

#[test]
fn first_supported_channel_creds_win_and_unknown_types_are_skipped() {
    let creds = json!([{ "type": "alts" }, { "type": "google_default" }, { "type": "insecure" }]);
    let b = load(&with("/xds_servers/0/channel_creds", creds));
    assert_eq!(b.xds_servers[0].channel_creds, ChannelCreds::GoogleDefault);
    assert_eq!(b.xds_servers[0].endpoint_uri(), "https://localhost:18000");

    // Unknown types may carry any config; it is not looked at.
    let creds = json!([{ "type": "future_creds", "config": 42 }, { "type": "insecure", "config": {} }]);
    assert_eq!(load(&with("/xds_servers/0/channel_creds", creds)).xds_servers[0].channel_creds, ChannelCreds::Insecure);
}

#[test]
fn tls_channel_creds_are_parsed_with_their_files() {
    let config = json!({
        "ca_certificate_file": "/certs/ca.pem",
        "certificate_file": "/certs/cert.pem",
        "private_key_file": "/certs/key.pem",
        "refresh_interval": "1.5s"
    });
    let b = load(&with("/xds_servers/0/channel_creds", json!([{ "type": "tls", "config": config }])));
    let creds = &b.xds_servers[0].channel_creds;
    assert_eq!(creds, &ChannelCreds::Tls { config: config.clone() });
    let files = creds.tls_files().unwrap();
    assert_eq!(files.ca_certificate_file, Some(PathBuf::from("/certs/ca.pem")));
    assert_eq!(files.refresh_interval, Duration::from_millis(1500));

    // No config: plain TLS with the system roots, default refresh.
    let b = load(&with("/xds_servers/0/channel_creds", json!([{ "type": "tls" }])));
    assert_eq!(b.xds_servers[0].channel_creds, ChannelCreds::Tls { config: json!({}) });
    let files = b.xds_servers[0].channel_creds.tls_files().unwrap();
    assert_eq!((files.certificate_file, files.refresh_interval), (None, DEFAULT_REFRESH_INTERVAL));
    assert_eq!(ChannelCreds::Insecure.tls_files(), None);
}

#[test]
fn several_servers_keep_their_order_and_own_features() {
    let servers = json!([
        { "server_uri": "a:1", "channel_creds": [{ "type": "insecure" }], "server_features": ["ignore_resource_deletion"] },
        { "server_uri": "b:2", "channel_creds": [{ "type": "insecure" }], "server_features": [1, null, "delta_xds", {"x": 1}] },
        { "server_uri": "c:3", "channel_creds": [{ "type": "insecure" }] }
    ]);
    let b = load(&with("/xds_servers", servers));
    let uris: Vec<_> = b.xds_servers.iter().map(|s| s.server_uri.as_str()).collect();
    assert_eq!(uris, ["a:1", "b:2", "c:3"]);
    assert!(b.xds_servers[0].ignore_resource_deletion() && !b.xds_servers[0].supports_delta());
    // Non-string entries are ignored, as gRPC does.
    assert_eq!(b.xds_servers[1].server_features, ["delta_xds"]);
    assert!(!b.xds_servers[1].ignore_resource_deletion() && b.xds_servers[1].supports_delta());
    assert!(b.xds_servers[2].server_features.is_empty());
}

#[test]
fn endpoint_uri_accepts_the_grpc_target_forms() {
    let cases = [
        ("localhost:18000", "http://localhost:18000"),
        ("dns:///istiod.istio-system.svc:15010", "http://istiod.istio-system.svc:15010"),
        ("dns:istiod:15010", "http://istiod:15010"),
        ("DNS:///upper:1", "http://upper:1"),
        ("istiod.istio-system.svc", "http://istiod.istio-system.svc:443"),
        ("[::1]:18000", "http://[::1]:18000"),
        ("[::1]", "http://[::1]:443"),
        ("ipv4:127.0.0.1:18000", "http://127.0.0.1:18000"),
        ("ipv6:[::1]:18000", "http://[::1]:18000"),
    ];
    for (uri, expected) in cases {
        let b = load(&with("/xds_servers/0/server_uri", json!(uri)));
        assert_eq!(b.xds_servers[0].endpoint_uri(), expected, "{uri}");
    }
    // A hand-built server with an unusable target still gives a URI (connecting will fail).
    assert_eq!(XdsServer::insecure("unix:///tmp/xds.sock").endpoint_uri(), "http://unix:///tmp/xds.sock");
}

#[test]
fn certificate_providers_validate_file_watcher_and_keep_other_plugins() {
    let providers = json!({
        "roots-only": { "plugin_name": "file_watcher", "config": { "ca_certificate_file": "/ca.pem" } },
        "spiffe": { "plugin_name": "file_watcher", "config": { "spiffe_trust_bundle_map_file": "/bundles.json" } },
        "vendor": { "plugin_name": "meshca", "config": { "server": "x", "anything": [1, 2] } },
        "no-config": { "plugin_name": "other" }
    });
    let b = load(&with("/certificate_providers", providers));
    let roots = b.certificate_providers["roots-only"].file_watcher_config().unwrap();
    assert_eq!(roots.ca_certificate_file, Some(PathBuf::from("/ca.pem")));
    assert_eq!((roots.certificate_file, roots.refresh_interval), (None, DEFAULT_REFRESH_INTERVAL));
    assert!(b.certificate_providers["spiffe"].file_watcher_config().is_some());
    let vendor = &b.certificate_providers["vendor"];
    assert_eq!(vendor.config, json!({ "server": "x", "anything": [1, 2] }));
    assert_eq!(vendor.file_watcher_config(), None);
    assert_eq!(b.certificate_providers["no-config"].config, json!({}));
}

#[test]
fn unknown_fields_are_ignored_and_null_means_absent() {
    let mut doc = full_example();
    let root = doc.as_object_mut().unwrap();
    root.insert("allowed_grpc_services".into(), json!({ "dns:///x": {} }));
    root.insert("a_field_from_the_future".into(), json!([1, 2, 3]));
    root.insert("client_default_listener_resource_name_template".into(), Value::Null);
    doc["xds_servers"][0]["call_creds"] = json!([{ "type": "jwt_token_file" }]);
    doc["xds_servers"][0]["channel_creds"][0]["extra"] = json!(true);
    doc["node"]["user_agent_name"] = json!("not-us");
    doc["node"]["locality"]["building"] = json!("B4");
    doc["authorities"]["xds.example.com"]["dynamic_parameters"] = json!({});
    doc["certificate_providers"]["default"]["priority"] = json!(1);
    let b = load(&doc);
    let mut expected = load(&full_example());
    expected.client_default_listener_resource_name_template = None;
    assert_eq!(b, expected);
    assert_eq!(b.node.user_agent_name, "mesh");
}

#[test]
fn missing_node_is_an_empty_node() {
    let mut doc = minimal();
    doc.as_object_mut().unwrap().remove("node");
    let b = load(&doc);
    assert_eq!((b.node.id.as_str(), b.node.locality.as_ref()), ("", None));
    assert_eq!(b.node.user_agent_name, "mesh");
}

#[test]
fn to_json_round_trips() {
    for doc in [full_example(), minimal()] {
        let b = load(&doc);
        let again = load(&b.to_json());
        assert_eq!(again, b, "{}", b.to_json());
    }
    // What the JSON looks like (the shape other gRPC clients read).
    let b = load(&full_example());
    let out = b.to_json();
    assert_eq!(
        out["xds_servers"][1]["channel_creds"],
        json!([{ "type": "tls", "config": { "ca_certificate_file": "/etc/xds/ca.pem" } }])
    );
    assert_eq!(out["node"]["locality"]["zone"], "europe-west1-b");
    assert_eq!(out["certificate_providers"]["default"]["config"]["refresh_interval"], "900s");
    assert_eq!(
        out["authorities"]["xds.example.com"],
        json!({ "xds_servers": [{ "server_uri": "xds.example.com:443", "channel_creds": [{ "type": "google_default" }] }] })
    );
}

#[test]
fn node_to_proto_carries_identity_user_agent_and_client_features() {
    use envoy_types::pb::envoy::config::core::v3::node::UserAgentVersionType;
    use envoy_types::pb::google::protobuf::value::Kind;

    let node = load(&full_example()).node;
    let proto = node.to_proto();
    assert_eq!(proto.id, node.id);
    assert_eq!(proto.cluster, "reviews");
    let locality = proto.locality.unwrap();
    assert_eq!(
        (locality.region.as_str(), locality.zone.as_str(), locality.sub_zone.as_str()),
        ("europe-west1", "europe-west1-b", "rack7")
    );
    assert_eq!(proto.user_agent_name, "mesh");
    assert_eq!(
        proto.user_agent_version_type,
        Some(UserAgentVersionType::UserAgentVersion(env!("CARGO_PKG_VERSION").into()))
    );
    assert_eq!(proto.client_features, CLIENT_FEATURES);
    assert!(proto.client_features.iter().any(|f| f == "envoy.lb.does_not_support_overprovisioning"));
    let metadata = proto.metadata.unwrap();
    assert_eq!(metadata.fields["ISTIO_VERSION"].kind, Some(Kind::StringValue("1.24.0".into())));
    let Some(Kind::StructValue(labels)) = &metadata.fields["LABELS"].kind else { panic!("LABELS is not a struct") };
    assert_eq!(labels.fields["app"].kind, Some(Kind::StringValue("reviews".into())));

    let bare = load(&minimal()).node.to_proto();
    assert_eq!((bare.locality, bare.metadata), (None, None));
}

#[test]
fn builder_makes_a_valid_bootstrap() {
    let files = FileWatcherConfig {
        certificate_file: Some("/c.pem".into()),
        private_key_file: Some("/k.pem".into()),
        ca_certificate_file: None,
        spiffe_trust_bundle_map_file: None,
        refresh_interval: Duration::from_millis(2500),
    };
    let b = Bootstrap::builder("127.0.0.1:18000")
        .node_id("client-1")
        .node_cluster("tests")
        .node_metadata("TRAFFIC", "yes")
        .server_features(["ignore_resource_deletion", "delta_xds"])
        .add_server(XdsServer::insecure("127.0.0.1:18001"))
        .certificate_provider("default", CertificateProvider::file_watcher(&files))
        .server_listener_resource_name_template("grpc/server/%s")
        .authority("xds.example.com", Authority::default())
        .build()
        .unwrap();
    assert_eq!(b.node.id, "client-1");
    assert_eq!(b.node.metadata["TRAFFIC"], "yes");
    assert_eq!(b.xds_servers[0].endpoint_uri(), "http://127.0.0.1:18000");
    assert!(b.xds_servers[0].supports_delta() && !b.xds_servers[1].supports_delta());
    assert_eq!(b.certificate_providers["default"].file_watcher_config(), Some(files));
    assert_eq!(b.certificate_providers["default"].config["refresh_interval"], "2.500000000s");
    assert_eq!(load(&b.to_json()), b);

    let err = Bootstrap::builder("unix:///run/xds.sock").build().unwrap_err();
    assert_eq!(
        err.to_string(),
        "Bootstrap::builder: xds_servers[0].server_uri: unix domain socket targets are not supported yet; use host:port or dns:///host:port"
    );
}

#[test]
fn an_http_url_server_uri_is_accepted_for_tonic_xds_compatibility() {
    let b = Bootstrap::from_json(
        r#"{"xds_servers": [{"server_uri": "http://istiod:15010/", "channel_creds": [{"type": "insecure"}]}], "node": {"id": "n"}}"#,
    )
    .expect("http:// accepted");
    assert_eq!(b.xds_servers[0].endpoint_uri(), "http://istiod:15010");
}
