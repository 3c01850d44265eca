//! Which DestinationRule applies to a service, and the traffic policy of one cluster
//! (service or subset, one port).
//!
//! Istio's rules, followed here:
//! - a rule whose host names the service exactly wins over wildcard rules, and a longer
//!   wildcard over a shorter one;
//! - several rules for the same host are merged: the first `trafficPolicy` (by namespace
//!   and name) is used, subsets are appended in order, a repeated subset name keeps its
//!   first definition;
//! - a cluster's policy is built field by field (loadBalancer, connectionPool,
//!   outlierDetection, tls): the rule's, replaced by the rule's `portLevelSettings` for
//!   the port, replaced by the subset's, replaced by the subset's port-level settings.
//!   A field set at a more specific level replaces the whole field, as Istio documents.
//!
//! Rules with a `workloadSelector` apply to some clients only; every client is sent the
//! same resources, so those rules are not applied (a warning says so).

use crate::istio::{
    ClientTlsSettings, ConfigSet, ConnectionPoolSettings, DestinationRule, LoadBalancerSettings, Named,
    OutlierDetection, Subset, TrafficPolicy, host_matches,
};

/// The rules that apply to one service host, merged.
#[derive(Debug, Clone, Default)]
pub(crate) struct Rule<'a> {
    /// The rules, in order (the first with a `trafficPolicy` provides it).
    pub(crate) sources: Vec<&'a Named<DestinationRule>>,
    /// The service-level policy.
    pub(crate) policy: Option<&'a TrafficPolicy>,
    /// Subsets, in order, names unique.
    pub(crate) subsets: Vec<&'a Subset>,
}

/// The policy of one cluster, field by field.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Effective<'a> {
    pub(crate) load_balancer: Option<&'a LoadBalancerSettings>,
    pub(crate) connection_pool: Option<&'a ConnectionPoolSettings>,
    pub(crate) outlier_detection: Option<&'a OutlierDetection>,
    pub(crate) tls: Option<&'a ClientTlsSettings>,
}

/// Finds the DestinationRules of services.
#[derive(Debug)]
pub(crate) struct Policies<'a> {
    rules: Vec<&'a Named<DestinationRule>>,
    domain: &'a str,
}

impl<'a> Policies<'a> {
    /// Over the rules of `config` that apply to every client.
    pub(crate) fn new(config: &'a ConfigSet, domain: &'a str) -> Self {
        let mut rules: Vec<&Named<DestinationRule>> =
            config.destination_rules.iter().filter(|dr| dr.spec.workload_selector.is_none()).collect();
        rules.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
        Self { rules, domain }
    }

    /// The merged rule for service `host`, if any rule names it.
    pub(crate) fn for_host(&self, host: &str) -> Rule<'a> {
        let matching: Vec<&Named<DestinationRule>> = self
            .rules
            .iter()
            .copied()
            .filter(|dr| host_matches(&dr.spec.host, &dr.namespace, self.domain, host))
            .collect();
        let Some(best) = matching.iter().map(|dr| specificity(&dr.spec.host)).max() else {
            return Rule::default();
        };
        let sources: Vec<_> = matching.into_iter().filter(|dr| specificity(&dr.spec.host) == best).collect();
        let policy = sources.iter().find_map(|dr| dr.spec.traffic_policy.as_ref());
        let mut subsets: Vec<&Subset> = Vec::new();
        for dr in &sources {
            for s in &dr.spec.subsets {
                if !subsets.iter().any(|known| known.name == s.name) {
                    subsets.push(s);
                }
            }
        }
        Rule { sources, policy, subsets }
    }
}

/// Exact hosts (all alike) beat wildcards; longer wildcards beat shorter ones.
pub(crate) fn specificity(host: &str) -> (bool, usize) {
    if host.starts_with('*') { (false, host.len()) } else { (true, usize::MAX) }
}

impl<'a> Rule<'a> {
    /// The subset named `name`.
    pub(crate) fn subset(&self, name: &str) -> Option<&'a Subset> {
        self.subsets.iter().copied().find(|s| s.name == name)
    }

    /// The policy of the cluster for `subset` (or the whole service) on `port`.
    pub(crate) fn effective(&self, subset: Option<&'a Subset>, port: u16) -> Effective<'a> {
        let mut e = Effective::default();
        if let Some(p) = self.policy {
            e.apply(p, port);
        }
        if let Some(p) = subset.and_then(|s| s.traffic_policy.as_ref()) {
            e.apply(p, port);
        }
        e
    }
}

impl<'a> Effective<'a> {
    fn apply(&mut self, p: &'a TrafficPolicy, port: u16) {
        self.set(p.load_balancer.as_ref(), p.connection_pool.as_ref(), p.outlier_detection.as_ref(), p.tls.as_ref());
        let port_level =
            p.port_level_settings.iter().find(|pl| pl.port.and_then(|p| p.number) == Some(u32::from(port)));
        if let Some(pl) = port_level {
            self.set(
                pl.load_balancer.as_ref(),
                pl.connection_pool.as_ref(),
                pl.outlier_detection.as_ref(),
                pl.tls.as_ref(),
            );
        }
    }

    fn set(
        &mut self,
        lb: Option<&'a LoadBalancerSettings>,
        pool: Option<&'a ConnectionPoolSettings>,
        outlier: Option<&'a OutlierDetection>,
        tls: Option<&'a ClientTlsSettings>,
    ) {
        self.load_balancer = lb.or(self.load_balancer);
        self.connection_pool = pool.or(self.connection_pool);
        self.outlier_detection = outlier.or(self.outlier_detection);
        self.tls = tls.or(self.tls);
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::istio::{ClientTlsMode, SimpleLb, parse_str};

    const RULES: &str = "
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews}
spec:
  host: reviews
  trafficPolicy:
    loadBalancer: {simple: ROUND_ROBIN}
    tls: {mode: ISTIO_MUTUAL}
    portLevelSettings:
    - port: {number: 9080}
      loadBalancer: {simple: RANDOM}
  subsets:
  - name: v1
    labels: {version: v1}
    trafficPolicy:
      tls: {mode: DISABLE}
  - name: v2
    labels: {version: v2}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews-extra}
spec:
  host: reviews.default.svc.cluster.local
  trafficPolicy:
    loadBalancer: {simple: LEAST_REQUEST}
  subsets:
  - name: v1
    labels: {version: other}
  - name: v3
    labels: {version: v3}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: all}
spec:
  host: '*.svc.cluster.local'
  trafficPolicy:
    loadBalancer: {simple: RANDOM}
";

    #[test]
    fn merges_rules_and_levels() {
        let set = parse_str(RULES, Path::new("dr.yaml"), "default").expect("valid");
        let policies = Policies::new(&set, "cluster.local");
        let rule = policies.for_host("reviews.default.svc.cluster.local");
        assert_eq!(rule.sources.len(), 2, "both exact rules, not the wildcard");
        let names: Vec<&str> = rule.subsets.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["v1", "v2", "v3"]);
        assert_eq!(rule.subset("v1").map(|s| s.labels["version"].as_str()), Some("v1"), "first definition wins");

        let lb = |e: Effective<'_>| e.load_balancer.and_then(|l| l.simple);
        let mode = |e: Effective<'_>| e.tls.and_then(|t| t.mode);
        assert_eq!(lb(rule.effective(None, 9080)), Some(SimpleLb::Random), "port level");
        assert_eq!(lb(rule.effective(None, 9090)), Some(SimpleLb::RoundRobin));
        assert_eq!(mode(rule.effective(rule.subset("v1"), 9080)), Some(ClientTlsMode::Disable), "subset level");
        assert_eq!(mode(rule.effective(rule.subset("v2"), 9080)), Some(ClientTlsMode::IstioMutual), "inherited");

        let ratings = policies.for_host("ratings.default.svc.cluster.local");
        assert_eq!(ratings.sources.iter().map(|d| d.name.as_str()).collect::<Vec<_>>(), ["all"]);
        assert!(policies.for_host("api.example.com").sources.is_empty());
    }
}
