//! ServiceEntry and WorkloadEntry rules: hosts, ports (named, unique, known protocol),
//! resolution versus endpoints, endpoint addresses and ports.

use std::collections::BTreeSet;
use std::net::IpAddr;

use super::Findings;
use crate::istio::model::{Resolution, ServiceEntry, WorkloadEntry};
use crate::istio::path::FieldPath;

/// Checks one ServiceEntry.
pub(crate) fn check_service_entry(se: &ServiceEntry) -> Findings {
    let mut f = Findings::default();
    let spec = FieldPath::spec();
    if se.hosts.is_empty() {
        f.push(spec.key("hosts"), "at least one host is required");
    }
    for (i, h) in se.hosts.iter().enumerate() {
        if h == "*" {
            f.push(spec.key("hosts").index(i), "a ServiceEntry cannot have the host \"*\"");
        } else {
            f.host(spec.key("hosts").index(i), h);
        }
    }
    let mut numbers = BTreeSet::new();
    let mut names = BTreeSet::new();
    for (i, p) in se.ports.iter().enumerate() {
        let at = spec.key("ports").index(i);
        f.port(at.key("number"), p.number);
        if !numbers.insert(p.number) {
            f.push(at.key("number"), format!("duplicate port {}", p.number));
        }
        match p.name.as_deref() {
            None | Some("") => f.push(at.key("name"), "port name is required"),
            Some(name) if !names.insert(name) => f.push(at.key("name"), format!("duplicate port name {name:?}")),
            Some(_) => {}
        }
        if let Some(proto) = &p.protocol {
            f.protocol(at.key("protocol"), proto);
        }
        f.optional_port(at.key("targetPort"), p.target_port);
    }
    if se.workload_selector.is_some() && !se.endpoints.is_empty() {
        f.push(spec.key("workloadSelector"), "workloadSelector and endpoints exclude each other");
    }
    let resolution = se.resolution.unwrap_or(Resolution::None);
    if resolution == Resolution::Static && se.endpoints.is_empty() && se.workload_selector.is_none() {
        f.push(spec.key("endpoints"), "STATIC resolution needs endpoints or a workloadSelector");
    }
    if resolution == Resolution::DnsRoundRobin && se.endpoints.len() > 1 {
        f.push(spec.key("endpoints"), "DNS_ROUND_ROBIN allows at most one endpoint");
    }
    for (i, e) in se.endpoints.iter().enumerate() {
        let at = spec.key("endpoints").index(i);
        endpoint(&mut f, &at, e, resolution);
        for name in e.ports.keys() {
            if !se.ports.iter().any(|p| p.name.as_deref() == Some(name)) && name.parse::<u32>().is_err() {
                f.push(at.key("ports").key(name), format!("no port of the ServiceEntry is named {name:?}"));
            }
        }
    }
    if let Some(sel) = &se.workload_selector {
        f.labels(spec.key("workloadSelector").key("labels"), &sel.labels);
    }
    f
}

/// Checks one WorkloadEntry.
pub(crate) fn check_workload_entry(we: &WorkloadEntry) -> Findings {
    let mut f = Findings::default();
    endpoint(&mut f, &FieldPath::spec(), we, Resolution::Dns);
    f
}

/// An endpoint (inline or WorkloadEntry). Under STATIC resolution the address must be an
/// IP (or a Unix socket); otherwise a host name is allowed too.
fn endpoint(f: &mut Findings, at: &FieldPath, e: &WorkloadEntry, resolution: Resolution) {
    match e.address.as_deref() {
        None | Some("") if e.network.is_none() => f.push(at.key("address"), "address is required"),
        None | Some("") => {}
        Some(a) if a.starts_with("unix://") => {}
        Some(a) if a.parse::<IpAddr>().is_ok() => {}
        Some(a) if resolution == Resolution::Static => {
            f.push(at.key("address"), format!("{a:?} is not an IP address (required by STATIC resolution)"));
        }
        Some(a) => f.host(at.key("address"), a),
    }
    for (name, port) in &e.ports {
        f.port(at.key("ports").key(name), *port);
    }
    f.labels(at.key("labels"), &e.labels);
    if e.weight == Some(0) {
        f.push(at.key("weight"), "weight must be at least 1");
    }
    if let Some(l) = &e.locality
        && l.split('/').count() > 3
    {
        f.push(at.key("locality"), format!("locality {l:?} is not region/zone/subzone"));
    }
}
