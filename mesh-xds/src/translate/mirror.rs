//! `RouteAction.request_mirror_policies` → [`RequestMirror`]s: copies of a share of the
//! route's requests, sent fire and forget to another cluster.
//!
//! Honoured: `cluster`, `runtime_fraction.default_value` (unset: every request, as in
//! Envoy), `disable_shadow_host_suffix_append` and `host_rewrite_literal` (the copies'
//! authority). Ignored: `runtime_fraction.runtime_key` (the client has no runtime; the
//! default applies) and `trace_sampled` (the client does not trace yet). Rejected:
//! `cluster_header` and `request_headers_mutations`, which would change what is sent.
//! Mirror policies on a virtual host or route configuration are rejected in `route.rs`.

use std::collections::BTreeSet;

use envoy_types::pb::envoy::config::route::v3::route_action::RequestMirrorPolicy;
use mesh_core::fault::Percent;
use mesh_core::route::{Destination, MirrorHost, RequestMirror, validate_authority};

use super::field::{At, FieldResult, reject, unsupported};
use super::value::fraction;

/// Translates a route's mirror policies; their clusters are added to `clusters`.
pub(super) fn mirror_policies(
    policies: &[RequestMirrorPolicy],
    clusters: &mut BTreeSet<String>,
) -> FieldResult<Vec<RequestMirror>> {
    policies
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let m = mirror_policy(p).at(format!("request_mirror_policies[{i}]"))?;
            clusters.insert(m.destination.cluster.clone());
            Ok(m)
        })
        .collect()
}

fn mirror_policy(p: &RequestMirrorPolicy) -> FieldResult<RequestMirror> {
    unsupported(!p.cluster_header.is_empty(), "cluster_header", "choosing the mirror cluster from a header")?;
    unsupported(
        !p.request_headers_mutations.is_empty(),
        "request_headers_mutations",
        "header mutations of mirrored requests",
    )?;
    if p.cluster.is_empty() {
        return reject("cluster", "must not be empty");
    }
    let percentage = match &p.runtime_fraction {
        None => Percent::ALL,
        Some(f) => match &f.default_value {
            None => return reject("runtime_fraction.default_value", "is required"),
            Some(v) => fraction(Some(v), "runtime_fraction.default_value")?,
        },
    };
    let host = if !p.host_rewrite_literal.is_empty() {
        validate_authority(&p.host_rewrite_literal).for_field("host_rewrite_literal")?;
        MirrorHost::Literal(p.host_rewrite_literal.clone())
    } else if p.disable_shadow_host_suffix_append {
        MirrorHost::Unchanged
    } else {
        MirrorHost::ShadowSuffix
    };
    Ok(RequestMirror::new(Destination::new(&p.cluster, None)).with_percentage(percentage).with_host(host))
}
