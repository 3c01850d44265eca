//! The workload instances the configuration itself declares.
//!
//! Istio learns endpoints from Kubernetes; without Kubernetes they come from:
//! - a ServiceEntry's inline `endpoints` (instances of each of its hosts);
//! - the WorkloadEntries its `workloadSelector` selects (same namespace, all labels
//!   carried), as Istio does for VMs;
//! - as a convenience for manifests written for Kubernetes, such as bookinfo, that have no
//!   ServiceEntry at all: a WorkloadEntry with an `app` label that no ServiceEntry selects
//!   is an instance of the *implicit service* `<app>.<namespace>.svc.<domain>` — the
//!   name the Kubernetes Service would have had — with the WorkloadEntry's `ports` as the
//!   service's ports (`http: 9080` is port 9080 named `http`; `"9080": 19080` is port
//!   9080, served on 19080).
//!
//! Endpoints whose address is not an IP (a host name under DNS resolution, a Unix
//! socket) are not instances: DNS services are resolved by the clients instead.

use std::collections::BTreeMap;
use std::net::IpAddr;

use super::TranslateOptions;
use super::services::service_host;
use crate::istio::{ConfigSet, Named, ServiceEntry, WorkloadEntry};
use crate::registry::WorkloadInstance;

/// Every instance declared by `config` (see the module docs), sorted, without duplicates.
pub fn workload_instances(config: &ConfigSet, opts: &TranslateOptions) -> Vec<WorkloadInstance> {
    let mut out = Vec::new();
    for se in &config.service_entries {
        let hosts: Vec<String> =
            se.spec.hosts.iter().filter_map(|h| service_host(h, &se.namespace, &opts.domain)).collect();
        for host in &hosts {
            out.extend(se.spec.endpoints.iter().filter_map(|ep| instance(host, &se.namespace, ep)));
            for we in selected(se, &config.workload_entries) {
                out.extend(instance(host, &we.namespace, &we.spec));
            }
        }
    }
    for we in &config.workload_entries {
        if config.service_entries.iter().any(|se| selected(se, std::slice::from_ref(we)).next().is_some()) {
            continue;
        }
        if let Some(app) = we.spec.labels.get("app").filter(|a| !a.is_empty()) {
            let host = implicit_service(app, &we.namespace, &opts.domain);
            out.extend(instance(&host, &we.namespace, &we.spec));
        }
    }
    out.sort();
    out.dedup();
    out
}

/// The implicit service of a WorkloadEntry with label `app` in `namespace`.
pub(crate) fn implicit_service(app: &str, namespace: &str, domain: &str) -> String {
    format!("{app}.{namespace}.svc.{domain}")
}

/// The WorkloadEntries a ServiceEntry's `workloadSelector` selects among `entries`.
pub(crate) fn selected<'a>(
    se: &'a Named<ServiceEntry>,
    entries: &'a [Named<WorkloadEntry>],
) -> impl Iterator<Item = &'a Named<WorkloadEntry>> + 'a {
    let selector = se.spec.workload_selector.as_ref();
    entries.iter().filter(move |we| {
        selector.is_some_and(|s| {
            we.namespace == se.namespace && s.labels.iter().all(|(k, v)| we.spec.labels.get(k) == Some(v))
        })
    })
}

/// An instance of `service` from an endpoint, if its address is an IP.
fn instance(service: &str, namespace: &str, ep: &WorkloadEntry) -> Option<WorkloadInstance> {
    let address: IpAddr = ep.address.as_deref()?.parse().ok()?;
    let ports: BTreeMap<String, u16> =
        ep.ports.iter().filter_map(|(name, port)| Some((name.clone(), u16::try_from(*port).ok()?))).collect();
    Some(WorkloadInstance {
        service: service.to_string(),
        namespace: namespace.to_string(),
        address,
        ports,
        labels: ep.labels.clone(),
        weight: ep.weight.unwrap_or(1).max(1),
        locality: ep.locality.clone().unwrap_or_default(),
        service_account: ep.service_account.clone().unwrap_or_default(),
    })
}
