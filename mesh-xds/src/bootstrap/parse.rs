//! The bootstrap JSON → [`Bootstrap`], validated field by field.

use std::collections::BTreeMap;

use serde_json::Value;

use super::certificate::parse_provider;
use super::error::FieldError;
use super::fields;
use super::names::{is_xdstp, xdstp_authority};
use super::node::{Node, parse_node};
use super::server::{XdsServer, parse_server};
use super::{Authority, Bootstrap};

/// Parses and validates a whole bootstrap.
pub(super) fn parse_bootstrap(value: &Value) -> Result<Bootstrap, FieldError> {
    let root = fields::object(value, "")?;

    let xds_servers = parse_servers(root, "")?.ok_or_else(|| FieldError::new("xds_servers", "missing"))?;
    if xds_servers.is_empty() {
        // Required and non-empty even when every authority lists its own servers: gRPC C-core and
        // grpc-go both insist, so a bootstrap without it would not work for them either.
        return Err(FieldError::new("xds_servers", "must not be empty"));
    }

    let node = match fields::get(root, "node") {
        None => Node::default(),
        Some(v) => parse_node(v, "node")?,
    };

    let mut certificate_providers = BTreeMap::new();
    if let Some(map) = fields::opt_object(root, "certificate_providers", "")? {
        for (name, v) in map {
            let provider = parse_provider(v, &fields::entry("certificate_providers", name))?;
            certificate_providers.insert(name.clone(), provider);
        }
    }

    let mut authorities = BTreeMap::new();
    if let Some(map) = fields::opt_object(root, "authorities", "")? {
        for (name, v) in map {
            authorities.insert(name.clone(), parse_authority(name, v, &fields::entry("authorities", name))?);
        }
    }

    let bootstrap = Bootstrap {
        xds_servers,
        node,
        certificate_providers,
        server_listener_resource_name_template: fields::opt_string(root, "server_listener_resource_name_template", "")?,
        client_default_listener_resource_name_template: fields::opt_string(
            root,
            "client_default_listener_resource_name_template",
            "",
        )?,
        authorities,
    };
    check_template_authority(&bootstrap, "server_listener_resource_name_template")?;
    check_template_authority(&bootstrap, "client_default_listener_resource_name_template")?;
    Ok(bootstrap)
}

/// `obj.xds_servers`, if present.
fn parse_servers(obj: &fields::Object, parent: &str) -> Result<Option<Vec<XdsServer>>, FieldError> {
    let Some(items) = fields::opt_array(obj, "xds_servers", parent)? else {
        return Ok(None);
    };
    let path = fields::child(parent, "xds_servers");
    let servers = items.iter().enumerate().map(|(i, v)| parse_server(v, &fields::index(&path, i)));
    servers.collect::<Result<Vec<_>, _>>().map(Some)
}

/// One entry of `authorities`. Its client template, if set, must start with `xdstp://<name>/` (A47).
fn parse_authority(name: &str, value: &Value, path: &str) -> Result<Authority, FieldError> {
    let obj = fields::object(value, path)?;
    let template = fields::opt_string(obj, "client_listener_resource_name_template", path)?;
    if let Some(template) = &template {
        let prefix = format!("xdstp://{name}/");
        if !template.starts_with(&prefix) {
            return Err(FieldError::new(
                fields::child(path, "client_listener_resource_name_template"),
                format!("must start with {prefix:?}"),
            ));
        }
    }
    Ok(Authority {
        client_listener_resource_name_template: template,
        xds_servers: parse_servers(obj, path)?.unwrap_or_default(),
        fallback_on_reachability_only: fields::opt_bool(obj, "fallback_on_reachability_only", path)?.unwrap_or(false),
    })
}

/// A top-level `xdstp:` template must name an authority of `authorities`. gRPC only finds out when the
/// template is used; checking on load reports a broken bootstrap at start-up instead.
fn check_template_authority(bootstrap: &Bootstrap, field: &str) -> Result<(), FieldError> {
    let template = match field {
        "server_listener_resource_name_template" => &bootstrap.server_listener_resource_name_template,
        _ => &bootstrap.client_default_listener_resource_name_template,
    };
    let Some(template) = template.as_deref().filter(|t| is_xdstp(t)) else {
        return Ok(());
    };
    match xdstp_authority(template) {
        Some(authority) if !bootstrap.authorities.contains_key(authority) => {
            Err(FieldError::new(field, format!("authority {authority:?} is not in \"authorities\"")))
        }
        _ => Ok(()),
    }
}
