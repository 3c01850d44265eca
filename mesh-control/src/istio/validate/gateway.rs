//! Gateway and Sidecar rules: the schema basics (ports, protocols, hosts). Both kinds are
//! accepted and validated now so that a directory applied to Istio also loads here; they
//! are served later.

use super::Findings;
use crate::istio::model::{Gateway, Port, Sidecar};
use crate::istio::path::FieldPath;

/// Checks one Gateway.
pub(crate) fn check_gateway(gw: &Gateway) -> Findings {
    let mut f = Findings::default();
    let spec = FieldPath::spec();
    if gw.servers.is_empty() {
        f.push(spec.key("servers"), "at least one server is required");
    }
    for (i, s) in gw.servers.iter().enumerate() {
        let at = spec.key("servers").index(i);
        port(&mut f, at.key("port"), &s.port, true);
        if s.hosts.is_empty() {
            f.push(at.key("hosts"), "at least one host is required");
        }
        for (j, h) in s.hosts.iter().enumerate() {
            // `namespace/host`: the namespace part is `*`, `.` or a name.
            let host = h.split_once('/').map_or(h.as_str(), |(_, host)| host);
            f.host(at.key("hosts").index(j), host);
        }
    }
    f.labels(spec.key("selector"), &gw.selector);
    f
}

/// Checks one Sidecar.
pub(crate) fn check_sidecar(sc: &Sidecar) -> Findings {
    let mut f = Findings::default();
    let spec = FieldPath::spec();
    for (i, l) in sc.ingress.iter().enumerate() {
        port(&mut f, spec.key("ingress").index(i).key("port"), &l.port, true);
    }
    for (i, l) in sc.egress.iter().enumerate() {
        let at = spec.key("egress").index(i);
        if let Some(p) = &l.port {
            port(&mut f, at.key("port"), p, false);
        }
        if l.hosts.is_empty() {
            f.push(at.key("hosts"), "at least one host is required");
        }
        for (j, h) in l.hosts.iter().enumerate() {
            match h.split_once('/') {
                Some((ns, host)) if !ns.is_empty() => f.host(at.key("hosts").index(j), host),
                _ => f.push(at.key("hosts").index(j), format!("{h:?} is not namespace/host")),
            }
        }
    }
    if let Some(sel) = &sc.workload_selector {
        f.labels(spec.key("workloadSelector").key("labels"), &sel.labels);
    }
    f
}

fn port(f: &mut Findings, at: FieldPath, p: &Port, protocol_required: bool) {
    f.port(at.key("number"), p.number);
    match &p.protocol {
        Some(proto) => f.protocol(at.key("protocol"), proto),
        None if protocol_required => f.push(at.key("protocol"), "protocol is required"),
        None => {}
    }
    f.optional_port(at.key("targetPort"), p.target_port);
}
