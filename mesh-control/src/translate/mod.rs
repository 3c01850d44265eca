//! Istio configuration → Envoy xDS resources for proxyless clients: what Istio's gRPC
//! generator serves, so that our clients, grpc-go, grpcio and tonic-xds all understand it.
//!
//! For every service port `host:port` (services come from ServiceEntries, from the
//! implicit services of WorkloadEntries, and from registered instances):
//!
//! ```text
//! LDS  host:port                  api_listener → HttpConnectionManager (fault?, router)
//!  └─ RDS  host:port              one virtual host: routes of the host's VirtualService
//!      └─ CDS  outbound|port||host, outbound|port|subset|host (DestinationRule subsets)
//!          └─ EDS  same names     instances, by subset labels and locality
//! ```
//!
//! and, for every workload address and port that serves one (see [`security`]):
//!
//! ```text
//! LDS  xds.istio.io/grpc/lds/inbound/ip:port   filter chains by PeerAuthentication mode,
//!                                               RBAC filters from AuthorizationPolicies
//! ```
//!
//! # Why pure
//!
//! [`translate`] reads nothing but its arguments and writes no timestamps; every map is
//! ordered. The same input gives byte-identical resources, so the xDS server can compare
//! a new snapshot with the last one and push only the resources that changed.
//!
//! # What is emitted when clients do not support it
//!
//! Our own client's translation (`mesh_xds::translate`) defines exactly what it accepts;
//! resources are built to pass it. Where Istio's configuration asks for something our
//! clients reject (direct responses, header values with `%` formatters, TLS to
//! upstreams, …), the standard Envoy field is emitted all the same — Envoy and other clients honour
//! it, and ours will once they implement it — and [`Resources::warnings`] says so. What
//! our clients would reject and that is safe to leave out (slow start, locality
//! settings) is left out, also with a warning.
//!
//! Files: `services.rs` (the catalog), `instances.rs` ([`workload_instances`]),
//! `virtual_services.rs` and `policy.rs` (which VirtualService / DestinationRule apply),
//! `listener.rs`, `route/`, `cluster.rs`, `tls.rs`, `endpoints.rs` (one per resource),
//! `unsupported/` (the warnings about configuration), `names.rs`, `proto.rs`,
//! `warnings.rs`; `security/` (the servers' inbound listeners).

mod cluster;
mod connection_pool;
mod endpoints;
mod instances;
mod listener;
mod names;
mod policy;
mod proto;
mod route;
pub mod security;
mod services;
mod tls;
mod unsupported;
mod virtual_services;
mod warnings;

use std::collections::BTreeMap;

use envoy_types::pb::google::protobuf::Any;
use mesh_xds::type_url;

pub use instances::workload_instances;

use crate::istio::ConfigSet;
use crate::registry::WorkloadInstance;
use policy::Policies;
use services::Catalog;
use warnings::{Warnings, who};

/// Translation settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TranslateOptions {
    /// The cluster domain short names resolve into (`reviews` →
    /// `reviews.<ns>.svc.<domain>`). Also the SPIFFE trust domain of `ISTIO_MUTUAL`
    /// identities, as in a default Istio installation.
    pub domain: String,
    /// The root namespace: its PeerAuthentications and AuthorizationPolicies apply to the
    /// whole mesh (Istio's `rootNamespace`, default `istio-system`).
    pub root_namespace: String,
    /// What servers do with escaped slashes in paths (default: reject the request).
    pub escaped_slashes: security::EscapedSlashes,
}

impl Default for TranslateOptions {
    fn default() -> Self {
        Self {
            domain: "cluster.local".into(),
            root_namespace: "istio-system".into(),
            escaped_slashes: security::EscapedSlashes::default(),
        }
    }
}

/// The translated resources: by type URL ([`mesh_xds::type_url`]), by name. Every type
/// is present, possibly empty.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Resources {
    /// Type URL → resource name → resource.
    pub by_type: BTreeMap<&'static str, BTreeMap<String, Any>>,
    /// Configuration accepted but not (fully) served to mesh clients, one line each
    /// (`VirtualService default/reviews: spec.http[0].headers: …`).
    pub warnings: Vec<String>,
}

impl Resources {
    /// The resource `name` of type `type_url`.
    pub fn get(&self, type_url: &str, name: &str) -> Option<&Any> {
        self.by_type.get(type_url)?.get(name)
    }

    /// The names of the resources of type `type_url`, sorted.
    pub fn names(&self, type_url: &str) -> Vec<&str> {
        self.by_type.get(type_url).map(|m| m.keys().map(String::as_str).collect()).unwrap_or_default()
    }

    /// The number of resources, all types together.
    pub fn len(&self) -> usize {
        self.by_type.values().map(BTreeMap::len).sum()
    }

    /// Whether there is no resource at all.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// What every translation step reads.
pub(crate) struct Ctx<'a> {
    pub(crate) config: &'a ConfigSet,
    pub(crate) domain: &'a str,
    pub(crate) catalog: Catalog,
    pub(crate) policies: Policies<'a>,
}

/// Translates `config` and the `registered` instances into xDS resources (see the module
/// docs). Pure: the same input gives byte-identical output.
pub fn translate(config: &ConfigSet, registered: &[WorkloadInstance], opts: &TranslateOptions) -> Resources {
    let mut w = Warnings::default();
    unsupported::config_warnings(config, &opts.root_namespace, &mut w);
    let mut instances = workload_instances(config, opts);
    instances.extend(registered.iter().cloned());
    instances.sort();
    instances.dedup();
    let catalog = Catalog::build(config, &instances, &opts.domain, &mut w);
    let ctx = Ctx { config, domain: &opts.domain, catalog, policies: Policies::new(config, &opts.domain) };
    let mut by_service: BTreeMap<&str, Vec<&WorkloadInstance>> = BTreeMap::new();
    for i in &instances {
        by_service.entry(i.service.as_str()).or_default().push(i);
    }
    unknown_hosts(&ctx, &mut w);

    let mut by_type: BTreeMap<&'static str, BTreeMap<String, Any>> =
        [type_url::LISTENER, type_url::ROUTE, type_url::CLUSTER, type_url::ENDPOINT]
            .map(|t| (t, BTreeMap::new()))
            .into();
    let mut put = |t: &'static str, name: String, any: Any| {
        if let Some(m) = by_type.get_mut(t) {
            m.insert(name, any);
        }
    };
    for service in ctx.catalog.iter() {
        let members: &[&WorkloadInstance] = by_service.get(service.host.as_str()).map_or(&[], Vec::as_slice);
        if service.passthrough && members.is_empty() {
            w.add(
                &format!("service {}", service.host),
                "resolution NONE (passthrough to the caller's address) cannot be served to proxyless clients, which address by name: no endpoints",
            );
        }
        if service.ports.is_empty() && !service.from_entry {
            w.add(&format!("service {}", service.host), "its instances declare no ports: nothing to serve");
        }
        let rule = ctx.policies.for_host(&service.host);
        let with_policy: Vec<_> = rule.sources.iter().filter(|dr| dr.spec.traffic_policy.is_some()).collect();
        if let Some((first, others)) = with_policy.split_first() {
            for dr in others {
                let what = format!(
                    "merged with {} for host {}: its trafficPolicy is ignored (the first rule's applies), its subsets are added",
                    who(first),
                    service.host
                );
                w.add(&who(dr), what);
            }
        }
        let identities = identities(members, opts);
        for port in service.ports.values() {
            let routes = route::route_configuration(&ctx, service, port, &mut w);
            let name = names::listener_name(&service.host, port.number);
            put(type_url::LISTENER, name.clone(), proto::pack(&listener::listener(&name, routes.uses_fault)));
            put(type_url::ROUTE, name, proto::pack(&routes.config));
            let subsets = std::iter::once(None).chain(rule.subsets.iter().copied().map(Some));
            for subset in subsets {
                let built = cluster::cluster(service, port, subset, &rule, &identities, &mut w);
                let cluster_name = built.cluster.name.clone();
                if built.eds {
                    let cla = endpoints::load_assignment(&cluster_name, service, port, subset, members, &mut w);
                    put(type_url::ENDPOINT, cluster_name.clone(), proto::pack(&cla));
                }
                put(type_url::CLUSTER, cluster_name, proto::pack(&built.cluster));
            }
        }
    }
    for (name, listener) in security::inbound_listeners(config, &ctx.catalog, &instances, opts, &mut w) {
        put(type_url::LISTENER, name, proto::pack(&listener));
    }
    Resources { by_type, warnings: w.into_vec() }
}

/// The SPIFFE identities of a service's instances.
fn identities(members: &[&WorkloadInstance], opts: &TranslateOptions) -> Vec<String> {
    let mut ids: Vec<String> = members
        .iter()
        .filter(|i| !i.service_account.is_empty())
        .map(|i| format!("spiffe://{}/ns/{}/sa/{}", opts.domain, i.namespace, i.service_account))
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

/// Warns about DestinationRules and VirtualServices whose (exact) hosts name no known
/// service: nothing is served for them until the service exists.
fn unknown_hosts(ctx: &Ctx<'_>, w: &mut Warnings) {
    let unknown = |host: &str, namespace: &str| {
        (!host.starts_with('*') && ctx.catalog.find(host, namespace, ctx.domain).is_none())
            .then(|| crate::istio::resolve_host(host, namespace, ctx.domain))
    };
    for dr in ctx.config.destination_rules.iter().filter(|dr| dr.spec.workload_selector.is_none()) {
        if let Some(host) = unknown(&dr.spec.host, &dr.namespace) {
            w.add(&who(dr), format!("host {host} is not a known service (yet): no clusters for it"));
        }
    }
    for vs in ctx.config.virtual_services.iter().filter(|vs| virtual_services::applies_to_mesh(&vs.spec.gateways)) {
        for host in vs.spec.hosts.iter().filter_map(|h| unknown(h, &vs.namespace)) {
            w.add(&who(vs), format!("host {host} is not a known service (yet): its routes are not served"));
        }
    }
}
