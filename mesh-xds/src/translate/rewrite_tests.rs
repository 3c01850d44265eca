//! Header mutations (route and weighted-cluster level), rewrites (prefix, regex, host),
//! mirrors and redirects are accepted and translated.

use envoy_types::pb::envoy::config::core::v3::RuntimeFractionalPercent;
use envoy_types::pb::envoy::config::route::v3 as pb;
use envoy_types::pb::envoy::config::route::v3::redirect_action::{PathRewriteSpecifier, SchemeRewriteSpecifier};
use envoy_types::pb::envoy::config::route::v3::route::Action;
use envoy_types::pb::envoy::config::route::v3::route_action::{
    ClusterSpecifier, HostRewriteSpecifier, RequestMirrorPolicy,
};
use envoy_types::pb::envoy::r#type::matcher::v3::{RegexMatchAndSubstitute, RegexMatcher};
use envoy_types::pb::envoy::r#type::v3::FractionalPercent;
use envoy_types::pb::envoy::r#type::v3::fractional_percent::DenominatorType;
use envoy_types::pb::google::protobuf::BoolValue;
use mesh_core::route::{MirrorHost, RedirectCode, RedirectPath, RouteAction};

use super::test_protos::*;
use super::*;

fn translate(r: pb::Route) -> RouteAction {
    let rc = route_config("r", vec![vhost("vh", &["*"], vec![r])]);
    let rc = RouteConfig::try_from(&rc).expect("accepted");
    rc.routes.virtual_hosts()[0].routes()[0].action().clone()
}

#[test]
#[allow(deprecated)]
fn header_mutations_at_route_level() {
    let mut r = route("r", prefix_match("/"), to_cluster("c"));
    r.request_headers_to_add.push(header_option("X-Set", "1", 2));
    r.request_headers_to_add.push(header_option("x-add", "50%%", 0));
    let mut legacy = header_option("x-legacy", "v", 0);
    legacy.append = Some(BoolValue { value: false });
    r.request_headers_to_add.push(legacy);
    r.request_headers_to_remove.push("X-Gone".into());
    r.response_headers_to_add.push(header_option("x-resp", "r", 0));
    r.response_headers_to_remove.push("server".into());
    let a = translate(r);
    let pairs = |v: &[(String, String)]| v.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>();
    assert_eq!(pairs(a.request_headers.sets()), ["x-set=1", "x-legacy=v"]);
    assert_eq!(pairs(a.request_headers.adds()), ["x-add=50%"]);
    assert_eq!(a.request_headers.removes(), ["x-gone"]);
    assert_eq!(pairs(a.response_headers.adds()), ["x-resp=r"]);
    assert_eq!(a.response_headers.removes(), ["server"]);
}

#[test]
fn prefix_and_host_rewrites() {
    let mut action = to_cluster("c");
    action.prefix_rewrite = "/v2/".into();
    action.host_rewrite_specifier = Some(HostRewriteSpecifier::HostRewriteLiteral("new.example:8080".into()));
    let a = translate(route("r", prefix_match("/api/"), action));
    assert_eq!(a.prefix_rewrite.as_deref(), Some("/v2/"));
    assert_eq!(a.host_rewrite.as_deref(), Some("new.example:8080"));
}

#[test]
fn redirects() {
    let mut r = route("r", prefix_match("/old/"), to_cluster("unused"));
    r.action = Some(Action::Redirect(pb::RedirectAction {
        host_redirect: "new.example".into(),
        port_redirect: 8443,
        response_code: 4,
        scheme_rewrite_specifier: Some(SchemeRewriteSpecifier::SchemeRedirect("HTTPS".into())),
        path_rewrite_specifier: Some(PathRewriteSpecifier::PrefixRewrite("/new/".into())),
        ..Default::default()
    }));
    r.response_headers_to_add.push(header_option("x-r", "1", 0));
    let rc = RouteConfig::try_from(&route_config("r", vec![vhost("vh", &["*"], vec![r.clone()])])).expect("ok");
    assert!(rc.cluster_names.is_empty(), "a redirect references no cluster");
    let a = translate(r);
    assert!(a.destinations.entries().is_empty());
    let redirect = a.redirect.expect("redirect");
    assert_eq!(redirect.scheme.as_deref(), Some("https"));
    assert_eq!(redirect.host.as_deref(), Some("new.example"));
    assert_eq!(redirect.port, Some(8443));
    assert_eq!(redirect.path, Some(RedirectPath::Prefix("/new/".into())));
    assert_eq!(redirect.code, RedirectCode::PermanentRedirect);
    assert_eq!(a.response_headers.adds().len(), 1);
    assert_eq!(redirect.location("http", "old:80", "/old/x?q", Some("/old/")), "https://new.example:8443/new/x?q");

    let mut r = route("r", prefix_match("/"), to_cluster("unused"));
    r.action = Some(Action::Redirect(pb::RedirectAction {
        scheme_rewrite_specifier: Some(SchemeRewriteSpecifier::HttpsRedirect(true)),
        ..Default::default()
    }));
    let redirect = translate(r).redirect.expect("redirect");
    assert_eq!(redirect.code, RedirectCode::MovedPermanently);
    assert_eq!(redirect.scheme.as_deref(), Some("https"));
}

#[test]
fn regex_rewrites() {
    let mut action = to_cluster("c");
    action.regex_rewrite = Some(RegexMatchAndSubstitute {
        pattern: Some(RegexMatcher { regex: "^/service/([^/]+)(/.*)$".into(), engine_type: None }),
        substitution: r"\2/instance/\1".into(),
    });
    let a = translate(route("r", prefix_match("/"), action));
    let re = a.regex_rewrite.expect("regex rewrite");
    assert_eq!(re.rewrite("/service/foo/v1/api?x=1"), "/v1/api/instance/foo?x=1");
    assert_eq!(a.prefix_rewrite, None);
}

#[test]
fn mirrors_are_translated_and_their_clusters_referenced() {
    let mut action = to_cluster("c");
    action.request_mirror_policies = vec![
        // Istio's form: a per-million runtime fraction, trace_sampled set.
        RequestMirrorPolicy {
            cluster: "shadow".into(),
            runtime_fraction: Some(RuntimeFractionalPercent {
                default_value: Some(FractionalPercent {
                    numerator: 250_000,
                    denominator: DenominatorType::Million as i32,
                }),
                runtime_key: "ignored".into(),
            }),
            trace_sampled: Some(BoolValue { value: false }),
            ..Default::default()
        },
        RequestMirrorPolicy { cluster: "keep".into(), disable_shadow_host_suffix_append: true, ..Default::default() },
        RequestMirrorPolicy { cluster: "lit".into(), host_rewrite_literal: "copy:80".into(), ..Default::default() },
    ];
    let r = route("r", prefix_match("/"), action);
    let rc = RouteConfig::try_from(&route_config("r", vec![vhost("vh", &["*"], vec![r.clone()])])).expect("ok");
    let names: Vec<&str> = rc.cluster_names.iter().map(String::as_str).collect();
    assert_eq!(names, ["c", "keep", "lit", "shadow"], "mirror clusters are fetched too");
    let m = translate(r).mirrors;
    assert_eq!(m.len(), 3);
    assert_eq!((m[0].destination.cluster.as_str(), m[0].percentage.value()), ("shadow", 25.0));
    assert_eq!(m[0].host, MirrorHost::ShadowSuffix);
    assert_eq!((m[1].percentage.value(), &m[1].host), (100.0, &MirrorHost::Unchanged), "unset fraction: all");
    assert_eq!(m[2].host, MirrorHost::Literal("copy:80".into()));
}

#[test]
fn weighted_cluster_header_mutations() {
    let mut action = to_weighted(&[("a", 3), ("b", 1)]);
    if let Some(ClusterSpecifier::WeightedClusters(w)) = &mut action.cluster_specifier {
        w.clusters[1].request_headers_to_add.push(header_option("x-to", "b", 2));
        w.clusters[1].response_headers_to_remove.push("Server".into());
    }
    let a = translate(route("r", prefix_match("/"), action));
    assert!(a.destinations.headers(0).is_none(), "a has none");
    let b = a.destinations.headers(1).expect("b has some");
    assert_eq!(b.request.sets(), &[("x-to".to_string(), "b".to_string())]);
    assert_eq!(b.response.removes(), ["server"]);
}
