//! `RouteAction` → [`mesh_core::route::RouteAction`]: destinations, deadline, retries,
//! hash policy, `prefix_rewrite` or `regex_rewrite` (not both, as Envoy requires),
//! `host_rewrite_literal` and `request_mirror_policies` (see [`mirror`](super::mirror)).
//!
//! Destinations are `cluster` or `weighted_clusters` (Envoy weights: any total). Each
//! destination has no subset: in xDS a subset is a cluster of its own
//! (`outbound|9080|v2|reviews…`). A weighted cluster's own header mutations are honoured
//! (applied before the route's, Envoy's order); its other per-cluster settings are
//! rejected.
//!
//! The deadline follows proxyless gRPC rather than Envoy: an unset `timeout` means no
//! route deadline (Envoy would default to 15 s), 0 disables it. When `timeout` is unset,
//! `max_stream_duration.grpc_timeout_header_max`, else
//! `max_stream_duration.max_stream_duration`, is the route deadline (gRFC A31; 0 = none).
//! The timeout stage then applies min(route deadline, the caller's `grpc-timeout`). A
//! route without a deadline of its own gets the listener's `max_stream_duration` (see
//! [`apply_listener_defaults`](super::apply_listener_defaults)).
//! `grpc_timeout_header_offset` is not needed in a client (A31) and is ignored.

use std::collections::BTreeSet;
use std::time::Duration;

use envoy_types::pb::envoy::config::route::v3 as pb;
use envoy_types::pb::envoy::config::route::v3::route_action::hash_policy::PolicySpecifier;
use envoy_types::pb::envoy::config::route::v3::route_action::{ClusterSpecifier, HostRewriteSpecifier};
use envoy_types::pb::envoy::config::route::v3::weighted_cluster::RandomValueSpecifier;
use mesh_core::fault::FaultPolicy;
use mesh_core::matcher::{HeaderMatch, HeaderMatcher};
use mesh_core::retry::RetryPolicy;
use mesh_core::route::{
    Destination, DestinationHeaders, HashPolicy, RouteAction, WeightedDestinations, validate_authority,
    validate_prefix_rewrite,
};

use super::field::{At, FieldResult, reject, unsupported};
use super::mirror::mirror_policies;
use super::retry::retry_policy;
use super::rewrite::{header_mutation, regex_rewrite};
use super::value::timeout;

/// Translates a route's `route` action. `vhost_retry` applies when the route sets no
/// retry policy; `fault` comes from the per-filter configs. Referenced clusters are
/// added to `clusters`.
pub(super) fn route_action(
    a: &pb::RouteAction,
    vhost_retry: Option<&RetryPolicy>,
    fault: Option<FaultPolicy>,
    clusters: &mut BTreeSet<String>,
) -> FieldResult<RouteAction> {
    rejected_fields(a)?;
    let destinations = match &a.cluster_specifier {
        Some(ClusterSpecifier::Cluster(c)) if c.is_empty() => return reject("cluster", "must not be empty"),
        Some(ClusterSpecifier::Cluster(c)) => WeightedDestinations::single(Destination::new(c, None)),
        Some(ClusterSpecifier::WeightedClusters(w)) => weighted_clusters(w).at("weighted_clusters")?,
        Some(ClusterSpecifier::ClusterHeader(_)) => {
            return reject("cluster_header", "choosing the cluster from a request header is not supported");
        }
        Some(ClusterSpecifier::ClusterSpecifierPlugin(_)) => {
            return reject("cluster_specifier_plugin", "cluster specifier plugins are not supported");
        }
        Some(ClusterSpecifier::InlineClusterSpecifierPlugin(_)) => {
            return reject("inline_cluster_specifier_plugin", "cluster specifier plugins are not supported");
        }
        None => return reject("", "one of cluster or weighted_clusters is required"),
    };
    clusters.extend(destinations.entries().iter().map(|(d, _)| d.cluster.clone()));
    let mut action = RouteAction::new(destinations);
    action.timeout = deadline(a)?;
    action.retry = match &a.retry_policy {
        Some(p) => Some(retry_policy(p).at("retry_policy")?),
        None => vhost_retry.cloned(),
    };
    action.fault = fault;
    action.hash_policy = a
        .hash_policy
        .iter()
        .enumerate()
        .map(|(i, h)| hash_policy(h).at(format!("hash_policy[{i}]")))
        .collect::<FieldResult<_>>()?;
    if !a.prefix_rewrite.is_empty() {
        validate_prefix_rewrite(&a.prefix_rewrite).for_field("prefix_rewrite")?;
        action.prefix_rewrite = Some(a.prefix_rewrite.clone());
    }
    if let Some(r) = &a.regex_rewrite {
        action.regex_rewrite = Some(regex_rewrite(r).at("regex_rewrite")?);
    }
    action.check_path_rewrites()?;
    if let Some(HostRewriteSpecifier::HostRewriteLiteral(h)) = &a.host_rewrite_specifier {
        validate_authority(h).for_field("host_rewrite_literal")?;
        action.host_rewrite = Some(h.clone());
    }
    action.mirrors = mirror_policies(&a.request_mirror_policies, clusters)?;
    Ok(action)
}

// `internal_redirect_action` is deprecated but still honoured by Envoy.
#[allow(deprecated)]
fn rejected_fields(a: &pb::RouteAction) -> FieldResult<()> {
    unsupported(a.metadata_match.is_some(), "metadata_match", "subset load balancing (metadata_match)")?;
    unsupported(!a.path_rewrite.is_empty(), "path_rewrite", "path rewriting")?;
    unsupported(a.path_rewrite_policy.is_some(), "path_rewrite_policy", "path rewriting")?;
    if let Some(h) = &a.host_rewrite_specifier
        && !matches!(h, HostRewriteSpecifier::HostRewriteLiteral(_))
    {
        let field = match h {
            HostRewriteSpecifier::HostRewriteLiteral(_) => "host_rewrite_literal",
            HostRewriteSpecifier::AutoHostRewrite(_) => "auto_host_rewrite",
            HostRewriteSpecifier::HostRewriteHeader(_) => "host_rewrite_header",
            HostRewriteSpecifier::HostRewritePathRegex(_) => "host_rewrite_path_regex",
            HostRewriteSpecifier::HostRewrite(_) => "host_rewrite",
        };
        return reject(field, "host rewriting other than host_rewrite_literal is not supported");
    }
    unsupported(a.hedge_policy.is_some(), "hedge_policy", "hedging")?;
    unsupported(a.retry_policy_typed_config.is_some(), "retry_policy_typed_config", "typed retry policies")?;
    unsupported(a.internal_redirect_policy.is_some(), "internal_redirect_policy", "following redirects")?;
    unsupported(a.internal_redirect_action == 1, "internal_redirect_action", "following redirects")
}

/// The route deadline (see the module docs).
fn deadline(a: &pb::RouteAction) -> FieldResult<Option<Duration>> {
    if a.timeout.is_some() {
        return timeout(a.timeout.as_ref(), "timeout");
    }
    let Some(m) = &a.max_stream_duration else { return Ok(None) };
    if m.grpc_timeout_header_max.is_some() {
        return timeout(m.grpc_timeout_header_max.as_ref(), "max_stream_duration.grpc_timeout_header_max");
    }
    timeout(m.max_stream_duration.as_ref(), "max_stream_duration.max_stream_duration")
}

// `total_weight` is deprecated but, when set, Envoy still requires the weights to sum to it.
#[allow(deprecated)]
fn weighted_clusters(w: &pb::WeightedCluster) -> FieldResult<WeightedDestinations> {
    match &w.random_value_specifier {
        Some(RandomValueSpecifier::HeaderName(_)) => {
            return reject("header_name", "picking by a request header value is not supported");
        }
        Some(RandomValueSpecifier::UseHashPolicy(b)) if b.value => {
            return reject("use_hash_policy", "picking by the hash policy is not supported");
        }
        _ => {}
    }
    let mut entries = Vec::with_capacity(w.clusters.len());
    let mut headers = Vec::with_capacity(w.clusters.len());
    for (i, c) in w.clusters.iter().enumerate() {
        let at = |f: &str| format!("clusters[{i}].{f}");
        if c.name.is_empty() {
            return reject(at("name"), "must not be empty");
        }
        unsupported(!c.cluster_header.is_empty(), &at("cluster_header"), "choosing the cluster from a header")?;
        unsupported(c.metadata_match.is_some(), &at("metadata_match"), "subset load balancing (metadata_match)")?;
        headers.push(DestinationHeaders {
            request: header_mutation("request", &c.request_headers_to_add, &c.request_headers_to_remove)
                .at(format!("clusters[{i}]"))?,
            response: header_mutation("response", &c.response_headers_to_add, &c.response_headers_to_remove)
                .at(format!("clusters[{i}]"))?,
        });
        unsupported(
            !c.typed_per_filter_config.is_empty(),
            &at("typed_per_filter_config"),
            "per-cluster filter config",
        )?;
        unsupported(c.host_rewrite_specifier.is_some(), &at("host_rewrite_literal"), "host rewriting")?;
        entries.push((Destination::new(&c.name, None), c.weight.as_ref().map_or(0, |v| v.value)));
    }
    let total: u64 = entries.iter().map(|(_, w)| u64::from(*w)).sum();
    if let Some(t) = &w.total_weight
        && u64::from(t.value) != total
    {
        return reject("total_weight", format!("is {} but the weights sum to {total}", t.value));
    }
    let mut destinations = WeightedDestinations::new(entries).at("clusters")?;
    for (i, h) in headers.into_iter().enumerate() {
        destinations = destinations.with_headers(i, h).at("clusters")?;
    }
    Ok(destinations)
}

fn hash_policy(h: &pb::route_action::HashPolicy) -> FieldResult<HashPolicy> {
    match &h.policy_specifier {
        Some(PolicySpecifier::Header(header)) => {
            unsupported(header.regex_rewrite.is_some(), "header.regex_rewrite", "rewriting the hashed header")?;
            let m =
                HeaderMatcher::new(&header.header_name, HeaderMatch::Present, false).for_field("header.header_name")?;
            Ok(HashPolicy::Header(m.name().to_string()))
        }
        Some(PolicySpecifier::Cookie(_)) => reject("cookie", "hashing on a cookie is not supported"),
        Some(PolicySpecifier::ConnectionProperties(_)) => {
            reject("connection_properties", "hashing on connection properties is not supported")
        }
        Some(PolicySpecifier::QueryParameter(_)) => {
            reject("query_parameter", "hashing on a query parameter is not supported")
        }
        Some(PolicySpecifier::FilterState(_)) => reject("filter_state", "hashing on filter state is not supported"),
        None => reject("", "a hash policy needs a header"),
    }
}
