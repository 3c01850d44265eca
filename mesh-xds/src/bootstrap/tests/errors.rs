//! Every rejected value, with the exact message (source, field path, reason).

use serde_json::{Value, json};

use super::{load_err, minimal, with};
use crate::bootstrap::Bootstrap;

/// `(document, expected message)`; all come from `Bootstrap::from_json`, so the source is `bootstrap JSON`.
fn cases() -> Vec<(Value, &'static str)> {
    let insecure = json!([{ "type": "insecure" }]);
    vec![
        (json!([1]), "<root>: must be a JSON object"),
        (json!({ "node": { "id": "x" } }), "xds_servers: missing"),
        (json!({ "xds_servers": null }), "xds_servers: missing"),
        (json!({ "xds_servers": [] }), "xds_servers: must not be empty"),
        (json!({ "xds_servers": { "server_uri": "a:1" } }), "xds_servers: must be an array"),
        (with("/xds_servers/0", json!("a:1")), "xds_servers[0]: must be a JSON object"),
        (json!({ "xds_servers": [{ "channel_creds": insecure }] }), "xds_servers[0].server_uri: missing"),
        (with("/xds_servers/0/server_uri", json!(18000)), "xds_servers[0].server_uri: must be a string"),
        (with("/xds_servers/0/server_uri", json!("")), "xds_servers[0].server_uri: must not be empty"),
        (
            with("/xds_servers/0/server_uri", json!("unix:///var/run/xds.sock")),
            "xds_servers[0].server_uri: unix domain socket targets are not supported yet; use host:port or dns:///host:port",
        ),
        (
            with("/xds_servers/0/server_uri", json!("unix-abstract:xds")),
            "xds_servers[0].server_uri: unix domain socket targets are not supported yet; use host:port or dns:///host:port",
        ),
        (
            with("/xds_servers/0/server_uri", json!("xds://istiod:15010")),
            "xds_servers[0].server_uri: unsupported target scheme \"xds\"; use host:port or dns:///host:port",
        ),
        (
            with("/xds_servers/0/server_uri", json!("dns://8.8.8.8/istiod:15010")),
            "xds_servers[0].server_uri: a DNS server in the target (dns://<server>/...) is not supported; use dns:///host:port",
        ),
        (
            with("/xds_servers/0/server_uri", json!("istiod:99999")),
            "xds_servers[0].server_uri: port \"99999\" is not a number from 1 to 65535",
        ),
        (
            with("/xds_servers/0/server_uri", json!("istiod:0")),
            "xds_servers[0].server_uri: port \"0\" is not a number from 1 to 65535",
        ),
        (
            with("/xds_servers/0/server_uri", json!("::1:18000")),
            "xds_servers[0].server_uri: an IPv6 address must be in brackets, e.g. [::1]:18000",
        ),
        (
            with("/xds_servers/0/server_uri", json!("[::1")),
            "xds_servers[0].server_uri: unclosed '[' in an IPv6 address",
        ),
        (with("/xds_servers/0/server_uri", json!(":18000")), "xds_servers[0].server_uri: has no host"),
        (with("/xds_servers/0/server_uri", json!("dns:///")), "xds_servers[0].server_uri: has no host"),
        (
            with("/xds_servers/0/server_uri", json!("ipv4:10.0.0.1:1,10.0.0.2:1")),
            "xds_servers[0].server_uri: only one address is supported in an ipv4: target",
        ),
        (
            with("/xds_servers/0/server_uri", json!("ipv4:istiod:1")),
            "xds_servers[0].server_uri: \"istiod\" is not an ipv4 address",
        ),
        (
            with("/xds_servers/0/server_uri", json!("my host:1")),
            "xds_servers[0].server_uri: host \"my host\" contains ' '",
        ),
        (json!({ "xds_servers": [{ "server_uri": "a:1" }] }), "xds_servers[0].channel_creds: missing"),
        (
            with("/xds_servers/0/channel_creds", json!([])),
            "xds_servers[0].channel_creds: no supported credentials type (this client knows \"insecure\", \"google_default\", \"tls\")",
        ),
        (
            with("/xds_servers/0/channel_creds", json!([{ "type": "alts" }, { "type": "xds" }])),
            "xds_servers[0].channel_creds: no supported credentials type (this client knows \"insecure\", \"google_default\", \"tls\")",
        ),
        (
            with("/xds_servers/0/channel_creds", json!({ "type": "insecure" })),
            "xds_servers[0].channel_creds: must be an array",
        ),
        (
            with("/xds_servers/0/channel_creds", json!([{ "config": {} }])),
            "xds_servers[0].channel_creds[0].type: missing",
        ),
        (
            with("/xds_servers/0/channel_creds", json!(["insecure"])),
            "xds_servers[0].channel_creds[0]: must be a JSON object",
        ),
        (
            with("/xds_servers/0/channel_creds", json!([{ "type": "insecure", "config": "none" }])),
            "xds_servers[0].channel_creds[0].config: must be a JSON object",
        ),
        (
            // Every supported entry is validated, not only the chosen one (as gRPC C-core does).
            with(
                "/xds_servers/0/channel_creds",
                json!([{ "type": "insecure" }, { "type": "tls", "config": { "certificate_file": "/c.pem" } }]),
            ),
            "xds_servers[0].channel_creds[1].config.private_key_file: missing (\"certificate_file\" and \"private_key_file\" must be set together)",
        ),
        (
            with("/xds_servers/0/channel_creds", json!([{ "type": "tls", "config": { "refresh_interval": 60 } }])),
            "xds_servers[0].channel_creds[0].config.refresh_interval: must be a string",
        ),
        (with("/xds_servers/0/server_features", json!("xds_v3")), "xds_servers[0].server_features: must be an array"),
        (with("/node", json!("n1")), "node: must be a JSON object"),
        (with("/node/id", json!(1)), "node.id: must be a string"),
        (with("/node/cluster", json!(["c"])), "node.cluster: must be a string"),
        (with("/node/locality", json!("eu")), "node.locality: must be a JSON object"),
        (with("/node/locality/zone", json!(3)), "node.locality.zone: must be a string"),
        (with("/node/metadata", json!([1])), "node.metadata: must be a JSON object"),
        (with("/certificate_providers", json!([])), "certificate_providers: must be a JSON object"),
        (
            with("/certificate_providers/p", json!("file_watcher")),
            "certificate_providers[\"p\"]: must be a JSON object",
        ),
        (
            with("/certificate_providers/p", json!({ "config": {} })),
            "certificate_providers[\"p\"].plugin_name: missing",
        ),
        (
            with("/certificate_providers/p/plugin_name", json!("")),
            "certificate_providers[\"p\"].plugin_name: must not be empty",
        ),
        (
            with("/certificate_providers/p", json!({ "plugin_name": "file_watcher", "config": [] })),
            "certificate_providers[\"p\"].config: must be a JSON object",
        ),
        (
            with("/certificate_providers/p", json!({ "plugin_name": "file_watcher" })),
            "certificate_providers[\"p\"].config: needs \"certificate_file\" and \"private_key_file\", or \"ca_certificate_file\", or both",
        ),
        (
            with(
                "/certificate_providers/p",
                json!({ "plugin_name": "file_watcher", "config": { "private_key_file": "/k.pem" } }),
            ),
            "certificate_providers[\"p\"].config.certificate_file: missing (\"certificate_file\" and \"private_key_file\" must be set together)",
        ),
        (
            with(
                "/certificate_providers/p",
                json!({ "plugin_name": "file_watcher", "config": { "ca_certificate_file": "" } }),
            ),
            "certificate_providers[\"p\"].config.ca_certificate_file: must not be empty",
        ),
        (
            with(
                "/certificate_providers/p",
                json!({ "plugin_name": "file_watcher", "config": { "ca_certificate_file": "/ca.pem", "refresh_interval": "10m" } }),
            ),
            "certificate_providers[\"p\"].config.refresh_interval: \"10m\" is not a duration such as \"600s\" or \"1.5s\"",
        ),
        (
            with(
                "/certificate_providers/p",
                json!({ "plugin_name": "file_watcher", "config": { "ca_certificate_file": "/ca.pem", "refresh_interval": "-5s" } }),
            ),
            "certificate_providers[\"p\"].config.refresh_interval: \"-5s\" is not a duration such as \"600s\" or \"1.5s\"",
        ),
        (
            with(
                "/certificate_providers/p",
                json!({ "plugin_name": "file_watcher", "config": { "ca_certificate_file": "/ca.pem", "refresh_interval": "0s" } }),
            ),
            "certificate_providers[\"p\"].config.refresh_interval: \"0s\" must be more than zero",
        ),
        (
            with(
                "/certificate_providers/p",
                json!({ "plugin_name": "file_watcher", "config": { "ca_certificate_file": "/ca.pem", "refresh_interval": "1.0000000001s" } }),
            ),
            "certificate_providers[\"p\"].config.refresh_interval: \"1.0000000001s\" is not a duration such as \"600s\" or \"1.5s\"",
        ),
        (
            with("/server_listener_resource_name_template", json!(1)),
            "server_listener_resource_name_template: must be a string",
        ),
        (
            with("/client_default_listener_resource_name_template", json!(true)),
            "client_default_listener_resource_name_template: must be a string",
        ),
        (with("/authorities", json!(["a"])), "authorities: must be a JSON object"),
        (with("/authorities/a.com", json!(1)), "authorities[\"a.com\"]: must be a JSON object"),
        (
            with(
                "/authorities/a.com",
                json!({ "client_listener_resource_name_template": "xdstp://b.com/envoy.config.listener.v3.Listener/%s" }),
            ),
            "authorities[\"a.com\"].client_listener_resource_name_template: must start with \"xdstp://a.com/\"",
        ),
        (
            with("/authorities/a.com", json!({ "client_listener_resource_name_template": "%s" })),
            "authorities[\"a.com\"].client_listener_resource_name_template: must start with \"xdstp://a.com/\"",
        ),
        (
            with("/authorities/a.com", json!({ "xds_servers": [{ "server_uri": "a.com:443" }] })),
            "authorities[\"a.com\"].xds_servers[0].channel_creds: missing",
        ),
        (
            with("/authorities/a.com", json!({ "fallback_on_reachability_only": "yes" })),
            "authorities[\"a.com\"].fallback_on_reachability_only: must be true or false",
        ),
        (
            with(
                "/client_default_listener_resource_name_template",
                json!("xdstp://nowhere.com/envoy.config.listener.v3.Listener/%s"),
            ),
            "client_default_listener_resource_name_template: authority \"nowhere.com\" is not in \"authorities\"",
        ),
        (
            with("/server_listener_resource_name_template", json!("xdstp:///envoy.config.listener.v3.Listener/%s")),
            "server_listener_resource_name_template: authority \"\" is not in \"authorities\"",
        ),
    ]
}

#[test]
fn each_invalid_value_is_rejected_naming_its_field() {
    let mut failures = Vec::new();
    for (doc, expected) in cases() {
        let message = load_err(&doc);
        let expected = format!("bootstrap JSON: {expected}");
        if message != expected {
            failures.push(format!("{doc}\n  expected: {expected}\n  got:      {message}"));
        }
    }
    assert!(failures.is_empty(), "{} mismatches:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn text_that_is_not_json_names_the_source() {
    let message = Bootstrap::from_json("{ \"xds_servers\": [ }").unwrap_err().to_string();
    assert!(message.starts_with("bootstrap JSON: not valid JSON: "), "{message}");
    assert!(message.contains("line 1"), "{message}");
}

#[test]
fn a_valid_document_is_valid() {
    // The base of every case above loads.
    super::load(&minimal());
}
