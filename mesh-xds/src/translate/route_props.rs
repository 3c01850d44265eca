//! Round trip: a random `RouteConfiguration` (prefix, exact-path and header matchers;
//! single and weighted clusters) translates, keeps its shape, and routes every request
//! where a first-match-wins reading of the proto says it should go.

use std::collections::BTreeSet;

use envoy_types::pb::envoy::config::route::v3 as pb;
use envoy_types::pb::envoy::config::route::v3::route_match::PathSpecifier;
use proptest::prelude::*;

use super::test_protos::*;
use super::*;

#[derive(Debug, Clone)]
enum Spec {
    Prefix(String),
    Exact(String),
    Header(String),
}

impl Spec {
    /// The reference semantics, straight from Envoy's docs.
    fn matches(&self, path: &str, key: Option<&str>) -> bool {
        match self {
            Self::Prefix(p) => path.starts_with(p.as_str()),
            Self::Exact(p) => path == p,
            Self::Header(v) => key == Some(v.as_str()),
        }
    }

    fn to_match(&self) -> pb::RouteMatch {
        match self {
            Self::Prefix(p) => prefix_match(p),
            Self::Exact(p) => {
                pb::RouteMatch { path_specifier: Some(PathSpecifier::Path(p.clone())), ..Default::default() }
            }
            Self::Header(v) => {
                let mut m = prefix_match("/");
                m.headers.push(exact_header("x-key", v));
                m
            }
        }
    }

    /// A request this spec matches: (path, x-key).
    fn example(&self) -> (String, Option<String>) {
        match self {
            Self::Prefix(p) => (format!("{p}/more"), None),
            Self::Exact(p) => (p.clone(), None),
            Self::Header(v) => ("/any".into(), Some(v.clone())),
        }
    }
}

fn spec() -> impl Strategy<Value = Spec> {
    let segment = "[a-c]{1,3}";
    prop_oneof![
        segment.prop_map(|s| Spec::Prefix(format!("/{s}"))),
        segment.prop_map(|s| Spec::Exact(format!("/{s}"))),
        segment.prop_map(Spec::Header),
    ]
}

/// Destinations: one cluster, or weighted clusters with distinct names.
fn destinations() -> impl Strategy<Value = Vec<(String, u32)>> {
    prop_oneof![
        "[a-d]".prop_map(|c| vec![(format!("c-{c}"), 0)]),
        proptest::collection::btree_map("[a-f]", 1u32..100, 1..4)
            .prop_map(|m| m.into_iter().map(|(c, w)| (format!("w-{c}"), w)).collect()),
    ]
}

/// A virtual host's routes: match and destinations (cluster, weight; 0 = lone cluster).
type Routes = Vec<(Spec, Vec<(String, u32)>)>;

fn host() -> impl Strategy<Value = Routes> {
    proptest::collection::vec((spec(), destinations()), 1..6)
}

fn build(hosts: &[Routes]) -> pb::RouteConfiguration {
    let vhosts = hosts
        .iter()
        .enumerate()
        .map(|(i, routes)| {
            let routes = routes
                .iter()
                .enumerate()
                .map(|(j, (spec, dests))| {
                    let action = match dests.as_slice() {
                        [(c, 0)] => to_cluster(c),
                        weighted => {
                            let w: Vec<(&str, u32)> = weighted.iter().map(|(c, w)| (c.as_str(), *w)).collect();
                            to_weighted(&w)
                        }
                    };
                    route(&format!("r{j}"), spec.to_match(), action)
                })
                .collect();
            let domain = format!("svc{i}.example");
            vhost(&format!("vh{i}"), &[&domain, &format!("{domain}:8080")], routes)
        })
        .collect();
    route_config("props", vhosts)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_route_configs_route_like_envoy(
        hosts in proptest::collection::vec(host(), 1..4),
        probes in proptest::collection::vec((spec(), any::<bool>()), 0..8),
    ) {
        let rc = RouteConfig::try_from(&build(&hosts)).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(rc.routes.virtual_hosts().len(), hosts.len());
        let expected: BTreeSet<String> = hosts.iter().flatten().flat_map(|(_, d)| d.iter().map(|(c, _)| c.clone())).collect();
        prop_assert_eq!(&rc.cluster_names, &expected);

        for (i, routes) in hosts.iter().enumerate() {
            prop_assert_eq!(rc.routes.virtual_hosts()[i].routes().len(), routes.len());
            // Every route's own example, and a few unrelated probes, on both spellings of the host.
            let examples = routes.iter().map(|(s, _)| (s.clone(), true)).chain(probes.iter().cloned());
            for (probe, with_port) in examples {
                let (path, key) = probe.example();
                let authority = if with_port { format!("svc{i}.example:8080") } else { format!("svc{i}.example") };
                let mut req = Req::get(&authority, &path);
                if let Some(k) = &key {
                    req = req.header("x-key", k);
                }
                let want = routes.iter().position(|(s, _)| s.matches(&path, key.as_deref()));
                match (rc.routes.route(&req), want) {
                    (Ok((vh, r)), Some(j)) => {
                        prop_assert_eq!(vh.name(), format!("vh{i}"));
                        prop_assert_eq!(r.name(), format!("r{j}"));
                        let got: Vec<(String, u32)> = r.action().destinations.entries().iter()
                            .map(|(d, w)| (d.cluster.clone(), *w)).collect();
                        let mut dests = routes[j].1.clone();
                        if let [(_, w)] = dests.as_mut_slice() && *w == 0 {
                            *w = 1;
                        }
                        prop_assert_eq!(got, dests);
                    }
                    (Err(no), None) => prop_assert!(no.host_matched),
                    (got, want) => prop_assert!(false, "{path} {key:?}: got {got:?}, want route {want:?}"),
                }
            }
        }
        prop_assert!(rc.routes.route(&Req::get("unknown.example", "/")).is_err());
    }
}
