//! The service catalog: every `host` with its ports, built from ServiceEntries, the
//! implicit services of WorkloadEntries, and the services of registered instances.
//!
//! A ServiceEntry defines its service's ports authoritatively (its instances map their
//! names). A service without a ServiceEntry — bookinfo's, or one only the registration
//! API knows — gets the ports its instances declare: a name (`http: 9080`) is a service
//! port with that name, numbered with the lowest port an instance maps it to (instances
//! may serve it on other ports: `http: 19080`); a number (`"9080": 19080`) is that
//! service port. An instance only serves the ports it declares.
//!
//! ServiceEntry hosts keep their written name when dotted (`httpbin.org`, whose clients
//! ask for `xds:///httpbin.org:80`); a dotless host is a short name and resolves in the
//! entry's namespace. Wildcard hosts name no single service and get no resources.

use std::collections::{BTreeMap, BTreeSet};

use super::names::{PortProtocol, port_protocol};
use super::warnings::{Warnings, who};
use crate::istio::{ConfigSet, Resolution, ServiceEntry, host_matches, resolve_host};
use crate::registry::WorkloadInstance;

/// One service.
#[derive(Debug, Clone)]
pub(crate) struct Service {
    /// Fully qualified host.
    pub(crate) host: String,
    /// Ports by number.
    pub(crate) ports: BTreeMap<u16, ServicePort>,
    /// Resolved by the clients with DNS (ServiceEntry `DNS` resolution): the targets.
    pub(crate) dns: Option<Vec<DnsTarget>>,
    /// Identities the endpoints may present (ServiceEntry `subjectAltNames`).
    pub(crate) subject_alt_names: Vec<String>,
    /// Defined by a ServiceEntry (its ports are authoritative).
    pub(crate) from_entry: bool,
    /// ServiceEntry resolution `NONE`: Istio forwards to the caller's original address,
    /// which proxyless clients (addressing by name) do not have.
    pub(crate) passthrough: bool,
}

/// A service port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ServicePort {
    /// Number.
    pub(crate) number: u16,
    /// Name (empty when declared by number only).
    pub(crate) name: String,
    /// HTTP version.
    pub(crate) protocol: PortProtocol,
    /// Port on the endpoints when they do not map the name.
    pub(crate) target_port: Option<u16>,
}

/// A host name (or IP) a DNS service's clients resolve.
#[derive(Debug, Clone)]
pub(crate) struct DnsTarget {
    pub(crate) address: String,
    pub(crate) ports: BTreeMap<String, u32>,
    pub(crate) labels: BTreeMap<String, String>,
    pub(crate) weight: u32,
    pub(crate) locality: String,
}

/// Every known service by host.
#[derive(Debug, Default)]
pub(crate) struct Catalog {
    services: BTreeMap<String, Service>,
}

/// The service host of a ServiceEntry host written in `namespace`; `None` for wildcards.
pub(crate) fn service_host(written: &str, namespace: &str, domain: &str) -> Option<String> {
    if written.starts_with('*') || written.is_empty() {
        None
    } else if written.contains('.') {
        Some(written.to_string())
    } else {
        Some(resolve_host(written, namespace, domain))
    }
}

impl Catalog {
    /// Builds the catalog from the configuration and every instance (declared by the
    /// configuration and registered).
    pub(crate) fn build(config: &ConfigSet, instances: &[WorkloadInstance], domain: &str, w: &mut Warnings) -> Self {
        let mut catalog = Self::default();
        for se in &config.service_entries {
            for written in &se.spec.hosts {
                let Some(host) = service_host(written, &se.namespace, domain) else {
                    w.add(
                        &who(se),
                        format!("wildcard host {written:?}: no single service to serve to proxyless clients; skipped"),
                    );
                    continue;
                };
                catalog.add_entry(host, &se.spec, &who(se), w);
            }
            if se.spec.ports.is_empty() {
                w.add(&who(se), "no ports: nothing to serve to proxyless clients");
            }
        }
        // Ports of services without ServiceEntry: numbers, and names with the lowest port
        // an instance maps them to.
        let mut numbered: BTreeMap<&str, BTreeSet<u16>> = BTreeMap::new();
        let mut named: BTreeMap<&str, BTreeMap<&str, u16>> = BTreeMap::new();
        for i in instances {
            let service = catalog.services.entry(i.service.clone()).or_insert_with(|| Service {
                host: i.service.clone(),
                ports: BTreeMap::new(),
                dns: None,
                subject_alt_names: Vec::new(),
                from_entry: false,
                passthrough: false,
            });
            if service.from_entry {
                continue;
            }
            for (key, port) in &i.ports {
                match key.parse::<u16>() {
                    Ok(n) => _ = numbered.entry(&i.service).or_default().insert(n),
                    Err(_) => {
                        let lowest = named.entry(&i.service).or_default().entry(key).or_insert(*port);
                        *lowest = (*lowest).min(*port);
                    }
                }
            }
        }
        for (host, numbers) in numbered {
            if let Some(service) = catalog.services.get_mut(host) {
                for number in numbers {
                    service.ports.insert(
                        number,
                        ServicePort {
                            number,
                            name: String::new(),
                            protocol: PortProtocol::Http1OrAuto,
                            target_port: None,
                        },
                    );
                }
            }
        }
        for (host, names) in named {
            if let Some(service) = catalog.services.get_mut(host) {
                for (name, number) in names {
                    let known = service.ports.get(&number).is_some_and(|p| !p.name.is_empty());
                    if !known {
                        let protocol = port_protocol(None, name);
                        service.ports.insert(
                            number,
                            ServicePort { number, name: name.to_string(), protocol, target_port: None },
                        );
                    }
                }
            }
        }
        catalog
    }

    fn add_entry(&mut self, host: String, se: &ServiceEntry, origin: &str, w: &mut Warnings) {
        let ports: BTreeMap<u16, ServicePort> = se
            .ports
            .iter()
            .filter_map(|p| {
                let number = u16::try_from(p.number).ok()?;
                let name = p.name.clone().unwrap_or_default();
                let protocol = port_protocol(p.protocol.as_deref(), &name);
                let target_port = p.target_port.and_then(|t| u16::try_from(t).ok());
                Some((number, ServicePort { number, name, protocol, target_port }))
            })
            .collect();
        let dns =
            matches!(se.resolution, Some(Resolution::Dns | Resolution::DnsRoundRobin)).then(|| dns_targets(se, &host));
        let passthrough = matches!(se.resolution, None | Some(Resolution::None));
        match self.services.get_mut(&host) {
            Some(existing) => {
                w.add(origin, format!("host {host} is also defined by another ServiceEntry; its ports are merged, the first definition's resolution is kept"));
                for (n, p) in ports {
                    existing.ports.entry(n).or_insert(p);
                }
            }
            None => {
                let service = Service {
                    host: host.clone(),
                    ports,
                    dns,
                    subject_alt_names: se.subject_alt_names.clone(),
                    from_entry: true,
                    passthrough,
                };
                self.services.insert(host, service);
            }
        }
    }

    /// Every service, by host.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Service> {
        self.services.values()
    }

    /// The service a host written in a rule of `namespace` refers to: the resolved name
    /// first, then the name as written.
    pub(crate) fn find(&self, written: &str, namespace: &str, domain: &str) -> Option<&Service> {
        self.services
            .get(&resolve_host(written, namespace, domain))
            .or_else(|| self.services.get(written).filter(|s| host_matches(written, namespace, domain, &s.host)))
    }
}

fn dns_targets(se: &ServiceEntry, host: &str) -> Vec<DnsTarget> {
    if se.endpoints.is_empty() {
        return vec![DnsTarget {
            address: host.to_string(),
            ports: BTreeMap::new(),
            labels: BTreeMap::new(),
            weight: 1,
            locality: String::new(),
        }];
    }
    se.endpoints
        .iter()
        .filter_map(|e| {
            Some(DnsTarget {
                address: e.address.clone().filter(|a| !a.is_empty())?,
                ports: e.ports.clone(),
                labels: e.labels.clone(),
                weight: e.weight.unwrap_or(1).max(1),
                locality: e.locality.clone().unwrap_or_default(),
            })
        })
        .collect()
}
