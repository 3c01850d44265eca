//! `Listener` → [`ListenerConfig`]: a client-side `api_listener` whose
//! `HttpConnectionManager` names the routes (RDS or inline) and the HTTP filters.
//!
//! The filter chain must end with the router. A fault filter may precede it: its config
//! becomes the listener's default fault policy (routes may override it). Any other filter
//! is rejected unless marked `is_optional`, as gRPC does (gRFC A39): a filter the client
//! does not run would otherwise be silently skipped. Other HCM fields configure a proxy's
//! own connections (codecs, idle timers, access logs, headers it adds as a server) and
//! are ignored; only `common_http_protocol_options.max_stream_duration` matters to a
//! client (gRFC A31).

use envoy_types::pb::envoy::config::listener::v3::Listener;
use envoy_types::pb::envoy::extensions::filters::http::fault::v3::HttpFault;
use envoy_types::pb::envoy::extensions::filters::http::router::v3::Router;
use envoy_types::pb::envoy::extensions::filters::network::http_connection_manager::v3::http_connection_manager::RouteSpecifier;
use envoy_types::pb::envoy::extensions::filters::network::http_connection_manager::v3::http_filter::ConfigType;
use envoy_types::pb::envoy::extensions::filters::network::http_connection_manager::v3::{
    HttpConnectionManager, HttpFilter,
};
use mesh_core::fault::FaultPolicy;

use super::fault::http_fault;
use super::field::{At, FieldResult, reject, unsupported};
use super::route::route_config;
use super::value::{config_source, is, timeout, type_name, unpack};
use super::{ListenerConfig, ResourceError, RouteSource};

impl TryFrom<&Listener> for ListenerConfig {
    type Error = ResourceError;

    fn try_from(l: &Listener) -> Result<Self, ResourceError> {
        listener(l).map_err(|e| ResourceError::of(&l.name, e))
    }
}

fn listener(l: &Listener) -> FieldResult<ListenerConfig> {
    let Some(api) = l.api_listener.as_ref().and_then(|a| a.api_listener.as_ref()) else {
        return reject(
            "api_listener",
            "only client listeners (an api_listener with an HttpConnectionManager) are supported",
        );
    };
    let at = "api_listener.api_listener";
    let hcm: HttpConnectionManager = unpack(api, at)?;
    let (route, max_stream_duration, default_fault) = connection_manager(&hcm).at(at)?;
    Ok(ListenerConfig { name: l.name.clone(), route, max_stream_duration, default_fault })
}

type Hcm = (RouteSource, Option<std::time::Duration>, Option<FaultPolicy>);

fn connection_manager(hcm: &HttpConnectionManager) -> FieldResult<Hcm> {
    let route = match &hcm.route_specifier {
        Some(RouteSpecifier::Rds(rds)) => {
            config_source(rds.config_source.as_ref(), "rds.config_source")?;
            if rds.route_config_name.is_empty() {
                return reject("rds.route_config_name", "must not be empty");
            }
            RouteSource::Rds(rds.route_config_name.clone())
        }
        Some(RouteSpecifier::RouteConfig(rc)) => RouteSource::Inline(route_config(rc).at("route_config")?),
        Some(RouteSpecifier::ScopedRoutes(_)) => return reject("scoped_routes", "scoped routes are not supported"),
        None => return reject("", "one of rds or route_config is required"),
    };
    let max_stream_duration = timeout(
        hcm.common_http_protocol_options.as_ref().and_then(|o| o.max_stream_duration.as_ref()),
        "common_http_protocol_options.max_stream_duration",
    )?;
    let default_fault = http_filters(&hcm.http_filters)?;
    Ok((route, max_stream_duration, default_fault))
}

/// Checks the filter chain; returns the fault filter's policy, if one is configured.
fn http_filters(filters: &[HttpFilter]) -> FieldResult<Option<FaultPolicy>> {
    let Some((last, rest)) = filters.split_last() else {
        return reject("http_filters", "the router filter is required (last)");
    };
    let last_at = format!("http_filters[{}]", rest.len());
    match &last.config_type {
        Some(ConfigType::TypedConfig(any)) if is::<Router>(any) => {
            let at = format!("{last_at}.typed_config");
            let router: Router = unpack(any, &at)?;
            let upstream = format!("{at}.upstream_http_filters");
            unsupported(!router.upstream_http_filters.is_empty(), &upstream, "upstream HTTP filters")?;
        }
        _ => {
            return reject(
                last_at,
                "the last filter must be the router (envoy.extensions.filters.http.router.v3.Router)",
            );
        }
    }
    let mut fault: Option<Option<FaultPolicy>> = None;
    for (i, f) in rest.iter().enumerate() {
        let at = format!("http_filters[{i}]");
        match &f.config_type {
            Some(ConfigType::TypedConfig(any)) if is::<HttpFault>(any) => {
                if fault.is_some() {
                    return reject(at, "only one fault filter is supported");
                }
                let config: HttpFault = unpack(any, &format!("{at}.typed_config"))?;
                let policy = http_fault(&config).at(format!("{at}.typed_config"))?;
                // A disabled filter only runs on routes that enable it with their own config.
                let active = !f.disabled && (policy.delay.is_some() || policy.abort.is_some());
                fault = Some(active.then_some(policy));
            }
            Some(ConfigType::TypedConfig(any)) if is::<Router>(any) => {
                return reject(at, "the router must be the last filter");
            }
            _ if f.is_optional => {}
            Some(ConfigType::TypedConfig(any)) => {
                return reject(
                    format!("{at}.typed_config"),
                    format!(
                        "filter {:?} ({}) is not supported; mark it is_optional to skip it",
                        f.name,
                        type_name(&any.type_url)
                    ),
                );
            }
            Some(ConfigType::ConfigDiscovery(_)) => {
                return reject(format!("{at}.config_discovery"), "filter config discovery (ECDS) is not supported");
            }
            None => return reject(at, format!("filter {:?} has no typed_config", f.name)),
        }
    }
    Ok(fault.flatten())
}
