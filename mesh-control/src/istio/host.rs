//! Istio's host names: short-name resolution and wildcard matching.
//!
//! Istio resolves a short name against the namespace *of the rule that wrote it* (not of
//! the service): `reviews` in a VirtualService of namespace `default` means
//! `reviews.default.svc.cluster.local`. We also expand `name.namespace` and
//! `name.namespace.svc` (Istio itself leaves any dotted name as is), since that is how
//! those names resolve inside a Kubernetes cluster and users write them.
//!
//! A two-label name is ambiguous: `reviews.prod` is a service in namespace `prod`, but
//! `httpbin.org` is an external host. So references are compared with [`host_matches`],
//! which accepts either reading: the resolved name, or the name exactly as written when it
//! contains a dot. A ServiceEntry for `httpbin.org` keeps its name as written, and a
//! VirtualService for `httpbin.org` finds it; a VirtualService for `reviews.prod` finds
//! `reviews.prod.svc.cluster.local`.

/// Resolves a host written in namespace `namespace`: `reviews` →
/// `reviews.<namespace>.svc.<domain>`; `reviews.ns` → `reviews.ns.svc.<domain>`;
/// `reviews.ns.svc` → `reviews.ns.svc.<domain>`; anything else (FQDNs, `*`, `*.suffix`)
/// is returned as is.
pub fn resolve_host(host: &str, namespace: &str, domain: &str) -> String {
    if host.starts_with('*') || host.is_empty() {
        return host.to_string();
    }
    let labels: Vec<&str> = host.split('.').collect();
    match labels.as_slice() {
        [name] => format!("{name}.{namespace}.svc.{domain}"),
        [name, ns] => format!("{name}.{ns}.svc.{domain}"),
        [name, ns, "svc"] => format!("{name}.{ns}.svc.{domain}"),
        _ => host.to_string(),
    }
}

/// Whether `written` (a host in a rule of namespace `namespace`) names the service
/// `service` (a fully qualified host): equal once resolved, equal as written when
/// `written` is dotted, or matched by `written` as a wildcard (`*`, `*.example.com`).
pub fn host_matches(written: &str, namespace: &str, domain: &str, service: &str) -> bool {
    if written == "*" {
        return true;
    }
    if let Some(suffix) = written.strip_prefix('*') {
        // `*.example.com` matches `a.example.com` and `a.b.example.com`, not `example.com`.
        // Istio does not expand wildcard hosts.
        return service.len() > suffix.len() && service.ends_with(suffix);
    }
    resolve_host(written, namespace, domain) == service || (written.contains('.') && written == service)
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "cluster.local";

    #[test]
    fn resolves_short_names_in_the_rules_namespace() {
        assert_eq!(resolve_host("reviews", "default", D), "reviews.default.svc.cluster.local");
        assert_eq!(resolve_host("reviews.prod", "default", D), "reviews.prod.svc.cluster.local");
        assert_eq!(resolve_host("reviews.prod.svc", "default", D), "reviews.prod.svc.cluster.local");
        assert_eq!(resolve_host("reviews.prod.svc.cluster.local", "x", D), "reviews.prod.svc.cluster.local");
        assert_eq!(resolve_host("api.example.com", "x", D), "api.example.com");
        assert_eq!(resolve_host("*", "x", D), "*");
        assert_eq!(resolve_host("*.example.com", "x", D), "*.example.com");
    }

    #[test]
    fn matches_resolved_literal_and_wildcard_hosts() {
        let svc = "reviews.default.svc.cluster.local";
        assert!(host_matches("reviews", "default", D, svc));
        assert!(!host_matches("reviews", "prod", D, svc));
        assert!(host_matches("reviews.default", "prod", D, svc));
        assert!(host_matches("httpbin.org", "default", D, "httpbin.org"));
        assert!(host_matches("*", "default", D, svc));
        assert!(host_matches("*.svc.cluster.local", "default", D, svc));
        assert!(!host_matches("*.example.com", "default", D, "example.com"));
        assert!(host_matches("*.example.com", "default", D, "a.b.example.com"));
    }
}
