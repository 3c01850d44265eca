//! LDS: the client listener `host:port` a proxyless client asks for when its target is
//! `xds:///host:port` — an `api_listener` whose HttpConnectionManager fetches the route
//! configuration of the same name over ADS.
//!
//! HTTP filters: the router, preceded by the fault filter (with an empty config: each
//! route carries its own) only when some route of the configuration injects faults.
//! Proxyless clients refuse filters they do not run, so none other is listed.

use envoy_types::pb::envoy::config::listener::v3::{ApiListener, Listener};
use envoy_types::pb::envoy::extensions::filters::http::fault::v3::HttpFault;
use envoy_types::pb::envoy::extensions::filters::http::router::v3::Router;
use envoy_types::pb::envoy::extensions::filters::network::http_connection_manager::v3::http_connection_manager::RouteSpecifier;
use envoy_types::pb::envoy::extensions::filters::network::http_connection_manager::v3::http_filter::ConfigType;
use envoy_types::pb::envoy::extensions::filters::network::http_connection_manager::v3::{
    HttpConnectionManager, HttpFilter, Rds,
};

use super::proto::{ads, pack};

/// The listener `name`, routed by the route configuration of the same name.
pub(crate) fn listener(name: &str, with_fault: bool) -> Listener {
    let mut http_filters = Vec::new();
    if with_fault {
        http_filters.push(HttpFilter {
            name: "envoy.filters.http.fault".into(),
            config_type: Some(ConfigType::TypedConfig(pack(&HttpFault::default()))),
            ..Default::default()
        });
    }
    http_filters.push(HttpFilter {
        name: "envoy.filters.http.router".into(),
        config_type: Some(ConfigType::TypedConfig(pack(&Router::default()))),
        ..Default::default()
    });
    let hcm = HttpConnectionManager {
        stat_prefix: name.to_string(),
        route_specifier: Some(RouteSpecifier::Rds(Rds {
            config_source: Some(ads()),
            route_config_name: name.to_string(),
        })),
        http_filters,
        ..Default::default()
    };
    Listener {
        name: name.to_string(),
        api_listener: Some(ApiListener { api_listener: Some(pack(&hcm)) }),
        ..Default::default()
    }
}
