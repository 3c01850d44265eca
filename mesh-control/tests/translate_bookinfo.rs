//! Conformance: every bookinfo manifest, with bookinfo's workloads as WorkloadEntries,
//! translates into resources our own client accepts (`mesh_xds::translate::decode`) —
//! except where a warning says a feature is not supported yet — and that behave as
//! Istio's documentation describes.

mod translate_support;

use std::path::Path;
use std::time::Duration;

use mesh_control::translate::{Resources, TranslateOptions, translate};
use mesh_core::fault::AbortKind;
use mesh_xds::type_url;
use translate_support::*;

fn read(dir: &Path, file: &str) -> String {
    std::fs::read_to_string(dir.join(file)).expect("readable manifest")
}

/// The manifest with bookinfo's workloads and, unless it brings its own, `rules`.
fn translated(dir: &Path, manifest: &str, rules: &str) -> Resources {
    let text = read(dir, manifest);
    let mut texts = vec![("workloads.yaml", WORKLOADS.to_string()), (manifest, text.clone())];
    if !text.contains("kind: DestinationRule") {
        texts.push((rules, read(dir, rules)));
    }
    let texts: Vec<(&str, &str)> = texts.iter().map(|(f, t)| (*f, t.as_str())).collect();
    translate(&config(&texts), &[], &TranslateOptions::default())
}

fn manifests(dir: &Path) -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(dir)
        .expect("readable dir")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".yaml"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_resource_is_accepted_by_our_client() {
    let Some(dir) = bookinfo_dir() else { return };
    for manifest in manifests(&dir) {
        let r = translated(&dir, &manifest, "destination-rule-all.yaml");
        if manifest != "destination-rule-all-mtls.yaml" {
            assert_eq!(rejected(&r), Vec::<String>::new(), "{manifest}");
        }
        assert_eq!(client_listeners(&r).len(), 4, "{manifest}: the four bookinfo services");
        assert!(r.names(type_url::CLUSTER).len() >= 4, "{manifest}");
    }
}

#[test]
fn istio_mutual_is_emitted_and_accepted_by_mesh_clients() {
    let Some(dir) = bookinfo_dir() else { return };
    for manifest in manifests(&dir) {
        let r = translated(&dir, &manifest, "destination-rule-all-mtls.yaml");
        let mut tls_clusters = Vec::new();
        for (t, name, res) in decode_all(&r) {
            let resource = res.unwrap_or_else(|e| panic!("{manifest}: {t} {name} rejected: {e}"));
            if let mesh_xds::translate::Resource::Cluster(c) = resource
                && let Some(tls) = &c.tls
            {
                assert!(tls.is_mesh(), "{manifest}: {name}: ISTIO_MUTUAL is mesh mTLS: {tls:?}");
                tls_clusters.push(name);
            }
        }
        let text = read(&dir, &manifest);
        if text.contains("kind: DestinationRule") && !text.contains("ISTIO_MUTUAL") {
            // Brings its own DestinationRules, without TLS.
            assert!(tls_clusters.is_empty(), "{manifest}: {tls_clusters:?}");
            continue;
        }
        assert!(!tls_clusters.is_empty(), "{manifest}");
        assert!(!r.warnings.iter().any(|w| w.contains(".tls:")), "{manifest}: {:#?}", r.warnings);
    }
}

#[test]
fn routes_behave_as_istio_documents() {
    let Some(dir) = bookinfo_dir() else { return };
    let rules = "destination-rule-all.yaml";
    let host = |app: &str| format!("{app}.default.svc.cluster.local:9080");
    let jason = |app: &str| Req::get(app, "/").header("end-user", "jason");
    let anyone = |app: &str| Req::get(app, "/");
    let only = |app: &str, subset: &str| vec![(bookinfo_cluster(app, subset), 1)];

    let r = translated(&dir, "virtual-service-all-v1.yaml", rules);
    for app in ["productpage", "reviews", "ratings", "details"] {
        assert_eq!(route(&routes(&r, &host(app)), &anyone(app)), only(app, "v1"), "{app}");
    }

    let r = translated(&dir, "virtual-service-reviews-test-v2.yaml", rules);
    let rc = routes(&r, &host("reviews"));
    assert_eq!(route(&rc, &jason("reviews")), only("reviews", "v2"));
    assert_eq!(route(&rc, &anyone("reviews")), only("reviews", "v1"));
    assert_eq!(route(&routes(&r, &host("ratings")), &anyone("ratings")), only("ratings", ""), "no VirtualService");

    let r = translated(&dir, "virtual-service-reviews-80-20.yaml", rules);
    let split = vec![(bookinfo_cluster("reviews", "v1"), 80), (bookinfo_cluster("reviews", "v2"), 20)];
    assert_eq!(route(&routes(&r, &host("reviews")), &anyone("reviews")), split);

    let r = translated(&dir, "virtual-service-reviews-jason-v2-v3.yaml", rules);
    let rc = routes(&r, &host("reviews"));
    assert_eq!(
        (route(&rc, &jason("reviews")), route(&rc, &anyone("reviews"))),
        (only("reviews", "v2"), only("reviews", "v3"))
    );

    let r = translated(&dir, "virtual-service-reviews-v3.yaml", rules);
    assert_eq!(route(&routes(&r, &host("reviews")), &jason("reviews")), only("reviews", "v3"));
}

#[test]
fn faults_behave_as_istio_documents() {
    let Some(dir) = bookinfo_dir() else { return };
    let rules = "destination-rule-all.yaml";
    let fault_of = |r: &Resources, app: &str, req: &Req| {
        let rc = routes(r, &format!("{app}.default.svc.cluster.local:9080"));
        rc.routes.route(req).expect("routed").1.action().fault
    };
    let jason = Req::get("ratings", "/ratings/0").header("end-user", "jason");
    let anyone = Req::get("ratings", "/ratings/0");

    let r = translated(&dir, "virtual-service-ratings-test-delay.yaml", rules);
    let delay = fault_of(&r, "ratings", &jason).and_then(|f| f.delay).expect("jason is delayed");
    assert_eq!((delay.duration, delay.percentage.value()), (Duration::from_secs(7), 100.0));
    assert_eq!(fault_of(&r, "ratings", &anyone), None);
    assert!(listener_has_fault_filter(&r, "ratings"));
    assert!(!listener_has_fault_filter(&r, "reviews"));

    let r = translated(&dir, "virtual-service-ratings-test-abort.yaml", rules);
    let abort = fault_of(&r, "ratings", &jason).and_then(|f| f.abort).expect("jason is aborted");
    assert_eq!((abort.kind, abort.percentage.value()), (AbortKind::Http(500), 100.0));
    assert_eq!(fault_of(&r, "ratings", &anyone), None);

    let r = translated(&dir, "fault-injection-details-v1.yaml", rules);
    let abort = fault_of(&r, "details", &Req::get("details", "/details/0")).and_then(|f| f.abort).expect("aborted");
    assert_eq!((abort.kind, abort.percentage.value()), (AbortKind::Http(555), 100.0));
}

fn listener_has_fault_filter(r: &Resources, app: &str) -> bool {
    use envoy_types::pb::envoy::config::listener::v3::Listener;
    use envoy_types::pb::envoy::extensions::filters::network::http_connection_manager::v3::HttpConnectionManager;
    use prost::Message;
    let any = r.get(type_url::LISTENER, &format!("{app}.default.svc.cluster.local:9080")).expect("listener");
    let l = Listener::decode(any.value.as_slice()).expect("listener bytes");
    let api = l.api_listener.and_then(|a| a.api_listener).expect("api listener");
    let hcm = HttpConnectionManager::decode(api.value.as_slice()).expect("hcm bytes");
    hcm.http_filters.iter().any(|f| f.name == "envoy.filters.http.fault")
}

#[test]
fn the_gateway_virtual_service_is_not_applied_to_mesh_clients() {
    let Some(dir) = bookinfo_dir() else { return };
    let r = translated(&dir, "bookinfo-gateway.yaml", "destination-rule-all.yaml");
    let rc = routes(&r, "productpage.default.svc.cluster.local:9080");
    let (_, default) = rc.routes.route(&Req::get("productpage", "/anything")).expect("default route");
    assert_eq!(default.name(), "default", "hosts `*` on bookinfo-gateway does not capture mesh traffic");
    for expected in [
        "Gateway default/bookinfo-gateway: accepted and validated; not served yet",
        "VirtualService default/bookinfo: bound to gateways",
    ] {
        assert!(r.warnings.iter().any(|w| w.starts_with(expected)), "{expected}: {:#?}", r.warnings);
    }
}
