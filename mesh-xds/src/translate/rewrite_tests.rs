//! Route-level header mutations, rewrites and redirects are accepted and translated.

use envoy_types::pb::envoy::config::route::v3 as pb;
use envoy_types::pb::envoy::config::route::v3::redirect_action::{PathRewriteSpecifier, SchemeRewriteSpecifier};
use envoy_types::pb::envoy::config::route::v3::route::Action;
use envoy_types::pb::envoy::config::route::v3::route_action::HostRewriteSpecifier;
use envoy_types::pb::google::protobuf::BoolValue;
use mesh_core::route::{RedirectCode, RedirectPath, RouteAction};

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
