//! Resource names and host forms, as Istio's proxyless (gRPC) generator writes them.
//!
//! - listeners and route configurations: `host:port` — what a client asks for when its
//!   target is `xds:///host:port`;
//! - clusters and their endpoints: `outbound|PORT|SUBSET|HOST`, subset empty for the
//!   whole service (`outbound|9080||reviews.default.svc.cluster.local`);
//! - a route configuration's virtual host answers to every name a client may use as
//!   authority: the FQDN and, for cluster-local services, the short forms Kubernetes DNS
//!   resolves (`reviews`, `reviews.default`, `reviews.default.svc`), each with and
//!   without the port.

/// `host:port`: the name of a service port's listener and route configuration.
pub(crate) fn listener_name(host: &str, port: u16) -> String {
    format!("{host}:{port}")
}

/// `outbound|PORT|SUBSET|HOST`.
pub(crate) fn cluster_name(port: u16, subset: &str, host: &str) -> String {
    format!("outbound|{port}|{subset}|{host}")
}

/// The authorities a virtual host for `host:port` answers to.
pub(crate) fn domains(host: &str, port: u16, domain: &str) -> Vec<String> {
    let mut names = vec![host.to_string()];
    if let Some(short) = host.strip_suffix(&format!(".svc.{domain}")) {
        // `name.namespace`: both labels present and not empty.
        if let Some((name, ns)) = short.split_once('.')
            && !name.is_empty()
            && !ns.is_empty()
            && !ns.contains('.')
        {
            names.extend([name.to_string(), short.to_string(), format!("{short}.svc")]);
        }
    }
    names.iter().flat_map(|n| [n.clone(), format!("{n}:{port}")]).collect()
}

/// HTTP version a service port speaks, from its protocol or, as Istio infers it, from
/// its name (`grpc`, `grpc-*`, `http2`, `http2-*` → HTTP/2; `http`, `http-*` → HTTP/1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PortProtocol {
    /// HTTP/1.1 (or unknown: the client decides).
    Http1OrAuto,
    /// HTTP/2 (gRPC, h2c).
    Http2,
}

/// The protocol of a port with an optional declared protocol and a name.
pub(crate) fn port_protocol(protocol: Option<&str>, name: &str) -> PortProtocol {
    let declared = protocol.map(str::to_ascii_uppercase);
    match declared.as_deref() {
        Some("GRPC" | "HTTP2") => PortProtocol::Http2,
        Some(_) => PortProtocol::Http1OrAuto,
        None => {
            let name = name.to_ascii_lowercase();
            let prefix = name.split('-').next().unwrap_or_default();
            let grpc_web = name == "grpc-web" || name.starts_with("grpc-web-");
            if (prefix == "grpc" && !grpc_web) || prefix == "http2" {
                PortProtocol::Http2
            } else {
                PortProtocol::Http1OrAuto
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_domains() {
        assert_eq!(
            cluster_name(9080, "v2", "reviews.default.svc.cluster.local"),
            "outbound|9080|v2|reviews.default.svc.cluster.local"
        );
        assert_eq!(
            domains("reviews.default.svc.cluster.local", 9080, "cluster.local"),
            [
                "reviews.default.svc.cluster.local",
                "reviews.default.svc.cluster.local:9080",
                "reviews",
                "reviews:9080",
                "reviews.default",
                "reviews.default:9080",
                "reviews.default.svc",
                "reviews.default.svc:9080",
            ]
        );
        assert_eq!(domains("api.example.com", 443, "cluster.local"), ["api.example.com", "api.example.com:443"]);
    }

    #[test]
    fn protocols() {
        assert_eq!(port_protocol(Some("grpc"), "x"), PortProtocol::Http2);
        assert_eq!(port_protocol(Some("HTTP"), "grpc"), PortProtocol::Http1OrAuto);
        assert_eq!(port_protocol(None, "grpc-api"), PortProtocol::Http2);
        assert_eq!(port_protocol(None, "http2"), PortProtocol::Http2);
        assert_eq!(port_protocol(None, "grpc-web"), PortProtocol::Http1OrAuto);
        assert_eq!(port_protocol(None, "http"), PortProtocol::Http1OrAuto);
        assert_eq!(port_protocol(None, "9080"), PortProtocol::Http1OrAuto);
    }
}
