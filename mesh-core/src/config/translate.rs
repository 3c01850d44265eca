use std::time::Duration;

use crate::cluster::{Cluster, Protocol, Subset};
use crate::duration::parse_duration;
use crate::endpoint::{Endpoint, HealthStatus, Locality};
use crate::error::Within;
use crate::fault::{AbortKind, FaultAbort, FaultDelay, FaultPolicy, Percent};
use crate::lb::LbPolicy;
use crate::matcher::{HeaderMatch, HeaderMatcher, QueryParamMatch, QueryParamMatcher, StringMatcher};
use crate::retry::{Backoff, RetryBudgetPolicy, RetryOn, RetryPolicy};
use crate::route::{
    Destination, HashPolicy, HeaderMutation, PathMatch, Redirect, RedirectCode, RedirectPath, Route, RouteAction,
    RouteMatch, RouteTable, VirtualHost, WeightedDestinations, validate_authority, validate_prefix_rewrite,
};
use crate::{ConfigError, Snapshot};

use super::file::*;
use super::route_extras;

impl StaticConfig {
    /// Validates and translates into a snapshot.
    pub fn into_snapshot(self) -> Result<Snapshot, ConfigError> {
        let hosts = self
            .virtual_hosts
            .iter()
            .enumerate()
            .map(|(i, vh)| virtual_host(vh).within(format!("virtual_hosts[{i}]")))
            .collect::<Result<Vec<_>, _>>()?;
        let clusters = self
            .clusters
            .iter()
            .enumerate()
            .map(|(i, c)| cluster(c).within(format!("clusters[{i}]")))
            .collect::<Result<Vec<_>, _>>()?;
        Snapshot::new(self.version.unwrap_or_default(), RouteTable::new(hosts)?, clusters)
    }
}

fn duration(field: &str, v: &Option<String>) -> Result<Option<Duration>, ConfigError> {
    v.as_deref().map(parse_duration).transpose().within(field)
}

fn virtual_host(f: &VirtualHostFile) -> Result<VirtualHost, ConfigError> {
    let routes = f
        .routes
        .iter()
        .enumerate()
        .map(|(j, r)| route(r, j).within(format!("routes[{j}]")))
        .collect::<Result<Vec<_>, _>>()?;
    let domains: Vec<&str> = f.domains.iter().map(String::as_str).collect();
    VirtualHost::new(&f.name, &domains, routes)
}

fn route(f: &RouteFile, index: usize) -> Result<Route, ConfigError> {
    let matcher = match &f.matcher {
        None => RouteMatch::any(),
        Some(m) => route_match(m).within("match")?,
    };
    let action = action(&f.route).within("route")?;
    Ok(Route::new(f.name.clone().unwrap_or_else(|| format!("route-{index}")), matcher, action))
}

fn string_matcher(f: &StringFile) -> Result<Option<StringMatcher>, ConfigError> {
    let set = [&f.exact, &f.prefix, &f.suffix, &f.contains, &f.regex].iter().filter(|v| v.is_some()).count();
    if set > 1 {
        return Err(ConfigError::new("", "only one of exact, prefix, suffix, contains, regex may be set"));
    }
    Ok(if let Some(v) = &f.exact {
        Some(StringMatcher::exact(v))
    } else if let Some(v) = &f.prefix {
        Some(StringMatcher::prefix(v))
    } else if let Some(v) = &f.suffix {
        Some(StringMatcher::suffix(v))
    } else if let Some(v) = &f.contains {
        Some(StringMatcher::contains(v))
    } else if let Some(v) = &f.regex {
        Some(StringMatcher::regex(v).within("regex")?)
    } else {
        None
    })
}

fn route_match(f: &MatchFile) -> Result<RouteMatch, ConfigError> {
    let paths = [&f.prefix, &f.path, &f.regex].iter().filter(|v| v.is_some()).count();
    if paths > 1 {
        return Err(ConfigError::new("", "only one of prefix, path, regex may be set"));
    }
    let path = if let Some(p) = &f.path {
        PathMatch::Exact(p.clone())
    } else if let Some(r) = &f.regex {
        PathMatch::Regex(StringMatcher::regex(r).within("regex")?)
    } else {
        PathMatch::Prefix(f.prefix.clone().unwrap_or_else(|| "/".into()))
    };
    let mut headers = Vec::with_capacity(f.headers.len());
    for (i, h) in f.headers.iter().enumerate() {
        let at = format!("headers[{i}]");
        let value = string_matcher(&h.value).within(&at)?;
        let kind = match (value, h.present, h.absent) {
            (Some(v), None, false) => HeaderMatch::Value(v),
            (None, Some(true), false) | (None, None, false) => HeaderMatch::Present,
            (None, Some(false), false) | (None, None, true) => HeaderMatch::Absent,
            _ => return Err(ConfigError::new(at, "set one of a value matcher, present or absent")),
        };
        headers.push(HeaderMatcher::new(&h.name, kind, h.invert).within(&at)?);
    }
    let mut params = Vec::with_capacity(f.query_params.len());
    for (i, q) in f.query_params.iter().enumerate() {
        let at = format!("query_params[{i}]");
        let kind = match string_matcher(&q.value).within(&at)? {
            Some(v) => QueryParamMatch::Value(v),
            None => QueryParamMatch::Present,
        };
        params.push(QueryParamMatcher::new(&q.name, kind).within(&at)?);
    }
    RouteMatch::new(path, f.ignore_case)?
        .with_headers(headers)
        .with_query_params(params)
        .with_methods(f.methods.clone())
}

fn action(f: &ActionFile) -> Result<RouteAction, ConfigError> {
    if let Some(r) = &f.redirect {
        if !f.destinations.is_empty() {
            return Err(ConfigError::new("redirect", "a redirect route has no destinations"));
        }
        return redirect(r).and_then(RouteAction::redirect).within("redirect");
    }
    let entries: Vec<(Destination, u32)> =
        f.destinations.iter().map(|d| (Destination::new(&d.cluster, d.subset.clone()), d.weight)).collect();
    let destinations = match f.weights.as_deref() {
        None | Some("istio") => WeightedDestinations::istio(entries),
        Some("envoy") => WeightedDestinations::new(entries),
        Some(other) => {
            return Err(ConfigError::new("weights", format!("{other:?}: expected \"istio\" or \"envoy\"")));
        }
    }
    .within("destinations")?;
    let destinations = route_extras::destination_headers(destinations, &f.destinations)?;
    let mut action = RouteAction::new(destinations);
    action.timeout = duration("timeout", &f.timeout)?;
    action.retry = f.retries.as_ref().map(retries).transpose().within("retries")?;
    action.fault = f.fault.as_ref().map(fault).transpose().within("fault")?;
    action.hash_policy = f
        .hash_policy
        .iter()
        .enumerate()
        .map(|(i, h)| {
            crate::matcher::HeaderMatcher::new(&h.header, HeaderMatch::Present, false)
                .map(|m| HashPolicy::Header(m.name().to_string()))
                .within(format!("hash_policy[{i}].header"))
        })
        .collect::<Result<_, _>>()?;
    action.request_headers =
        f.request_headers.as_ref().map(headers).transpose().within("request_headers")?.unwrap_or_default();
    action.response_headers =
        f.response_headers.as_ref().map(headers).transpose().within("response_headers")?.unwrap_or_default();
    if let Some(r) = &f.rewrite {
        if let Some(p) = &r.prefix {
            validate_prefix_rewrite(p).within("rewrite.prefix")?;
        }
        if let Some(a) = &r.authority {
            validate_authority(a).within("rewrite.authority")?;
        }
        action.prefix_rewrite.clone_from(&r.prefix);
        action.host_rewrite.clone_from(&r.authority);
        action.regex_rewrite = r.regex.as_ref().map(route_extras::regex_rewrite).transpose().within("rewrite.regex")?;
        action.check_path_rewrites().map_err(|e| ConfigError::new("rewrite.regex", e.reason))?;
    }
    action.mirrors = route_extras::mirrors(&f.mirrors)?;
    Ok(action)
}

pub(super) fn headers(f: &HeadersFile) -> Result<HeaderMutation, ConfigError> {
    let mut m = HeaderMutation::new();
    for (k, v) in &f.set {
        m = m.set(k, v).within(format!("set.{k}"))?;
    }
    for (k, v) in &f.add {
        m = m.add(k, v).within(format!("add.{k}"))?;
    }
    for (i, k) in f.remove.iter().enumerate() {
        m = m.remove(k).within(format!("remove[{i}]"))?;
    }
    Ok(m)
}

fn redirect(f: &RedirectFile) -> Result<Redirect, ConfigError> {
    let path = match (&f.path, &f.prefix) {
        (Some(_), Some(_)) => return Err(ConfigError::new("", "set path or prefix, not both")),
        (Some(p), None) => Some(RedirectPath::Path(p.clone())),
        (None, Some(p)) => Some(RedirectPath::Prefix(p.clone())),
        (None, None) => None,
    };
    Ok(Redirect {
        scheme: f.scheme.clone(),
        host: f.host.clone(),
        port: f.port,
        path,
        code: f.code.map(RedirectCode::from_status).transpose().within("code")?.unwrap_or_default(),
    })
}

fn retries(f: &RetriesFile) -> Result<RetryPolicy, ConfigError> {
    // Istio's default retry_on when none is given.
    let on =
        f.retry_on.as_deref().unwrap_or("connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes");
    let mut p = RetryPolicy::new(f.attempts, RetryOn::parse(on).within("retry_on")?)?
        .with_retriable_status_codes(f.retriable_status_codes.clone())?;
    if let Some(t) = duration("per_try_timeout", &f.per_try_timeout)? {
        p = p.with_per_try_timeout(t)?;
    }
    if let Some(base) = duration("base_interval", &f.base_interval)? {
        p = p.with_backoff(Backoff::new(base, duration("max_interval", &f.max_interval)?)?);
    }
    Ok(p)
}

fn fault(f: &FaultFile) -> Result<FaultPolicy, ConfigError> {
    let delay = f
        .delay
        .as_ref()
        .map(|d| -> Result<_, ConfigError> {
            Ok(FaultDelay {
                duration: parse_duration(&d.fixed_delay).within("fixed_delay")?,
                percentage: Percent::new(d.percentage)?,
            })
        })
        .transpose()
        .within("delay")?;
    let abort = f
        .abort
        .as_ref()
        .map(|a| {
            let kind = match (a.http_status, a.grpc_status) {
                (Some(h), None) => AbortKind::Http(h),
                (None, Some(g)) => AbortKind::Grpc(g),
                _ => return Err(ConfigError::new("", "set exactly one of http_status, grpc_status")),
            };
            FaultAbort::new(kind, Percent::new(a.percentage)?)
        })
        .transpose()
        .within("abort")?;
    if delay.is_none() && abort.is_none() {
        return Err(ConfigError::new("", "a fault needs a delay or an abort"));
    }
    Ok(FaultPolicy { delay, abort })
}

fn cluster(f: &ClusterFile) -> Result<Cluster, ConfigError> {
    let lb = match f.lb.as_deref() {
        None | Some("least_request") => LbPolicy::least_request(f.choice_count.unwrap_or(2))?,
        Some("round_robin") => LbPolicy::RoundRobin,
        Some("random") => LbPolicy::Random,
        Some("ring_hash") => LbPolicy::ring_hash_default(),
        Some(other) => {
            return Err(ConfigError::new(
                "lb",
                format!("{other:?}: expected least_request, round_robin, random or ring_hash"),
            ));
        }
    };
    let protocol = match f.protocol.as_deref() {
        None | Some("auto") => Protocol::Auto,
        Some("http1") => Protocol::Http1,
        Some("http2") => Protocol::Http2,
        Some(other) => return Err(ConfigError::new("protocol", format!("{other:?}: expected auto, http1 or http2"))),
    };
    let mut b = Cluster::builder(&f.name).lb(lb).protocol(protocol);
    if let Some(t) = duration("connect_timeout", &f.connect_timeout)? {
        b = b.connect_timeout(t);
    }
    if let Some(rb) = &f.retry_budget {
        let ttl = duration("ttl", &rb.ttl).within("retry_budget")?.unwrap_or(Duration::from_secs(10));
        b = b.retry_budget(
            RetryBudgetPolicy::new(rb.budget_percent / 100.0, rb.min_retries_per_sec, ttl).within("retry_budget")?,
        );
    }
    if let Some(cb) = &f.circuit_breakers {
        b = b.circuit_breakers(super::cluster_policy::circuit_breakers(cb));
    }
    if let Some(od) = &f.outlier_detection {
        b = b.outlier_detection(super::cluster_policy::outlier_detection(od).within("outlier_detection")?);
    }
    if let Some(t) = &f.tls
        && let Some(tls) = super::cluster_tls::tls(t).within("tls")?
    {
        b = b.tls(tls);
    }
    for (i, s) in f.subsets.iter().enumerate() {
        b = b.subset(Subset::new(&s.name, s.labels.clone()).within(format!("subsets[{i}]"))?);
    }
    for (i, e) in f.endpoints.iter().enumerate() {
        b = b.endpoint(endpoint(e).within(format!("endpoints[{i}]"))?);
    }
    b.build()
}

fn endpoint(f: &EndpointFile) -> Result<Endpoint, ConfigError> {
    let addr = f
        .address
        .parse()
        .map_err(|_| ConfigError::new("address", format!("{:?} is not an ip:port socket address", f.address)))?;
    let mut e = Endpoint::new(addr).with_labels(f.labels.clone());
    if let Some(w) = f.weight {
        e = e.with_weight(w)?;
    }
    if let Some(l) = &f.locality {
        let mut parts = l.splitn(3, '/').map(str::to_string);
        e = e.with_locality(Locality {
            region: parts.next().unwrap_or_default(),
            zone: parts.next().unwrap_or_default(),
            sub_zone: parts.next().unwrap_or_default(),
        });
    }
    let health = match f.health.as_deref() {
        None | Some("unknown") => HealthStatus::Unknown,
        Some("healthy") => HealthStatus::Healthy,
        Some("unhealthy") => HealthStatus::Unhealthy,
        Some("draining") => HealthStatus::Draining,
        Some("degraded") => HealthStatus::Degraded,
        Some(other) => {
            return Err(ConfigError::new(
                "health",
                format!("{other:?}: expected healthy, unhealthy, draining, degraded or unknown"),
            ));
        }
    };
    Ok(e.with_health(health).with_priority(f.priority))
}

#[cfg(test)]
mod tests {
    use crate::config::from_yaml;

    #[test]
    fn errors_name_the_field() {
        let yaml = r#"
virtual_hosts:
  - name: a
    domains: [a]
    routes:
      - route:
          destinations: [{ cluster: c, weight: 60 }, { cluster: c, weight: 30 }]
clusters: [{ name: c }]
"#;
        let e = from_yaml(yaml).expect_err("weights sum to 90");
        assert_eq!(e.field, "virtual_hosts[0].routes[0].route.destinations");
        assert!(e.reason.contains("sum to 90"), "{e}");

        let e = from_yaml("clusters: [{ name: c, endpoints: [{ address: nope }] }]").expect_err("bad addr");
        assert_eq!(e.field, "clusters[0].endpoints[0].address");

        let e = from_yaml("clusters: [{ name: c, bogus: 1 }]").expect_err("unknown field");
        assert!(e.field.starts_with("line 1"), "{e}");
        assert!(e.reason.contains("bogus"), "{e}");

        let yaml = r#"
virtual_hosts:
  - name: a
    domains: [a]
    routes: [{ route: { destinations: [{ cluster: c, subset: v9 }] } }]
clusters: [{ name: c, subsets: [{ name: v1, labels: { version: v1 } }] }]
"#;
        let e = from_yaml(yaml).expect_err("unknown subset");
        assert_eq!(e.field, "virtual_hosts[0].routes[0].route.destinations[0].subset");
    }

    #[test]
    fn rewrites_headers_and_redirects() {
        let yaml = r#"
virtual_hosts:
  - name: a
    domains: [a]
    routes:
      - route:
          destinations: [{ cluster: c }]
          request_headers: { set: { X-A: "1" }, add: { x-b: "2" }, remove: [x-c] }
          response_headers: { remove: [server] }
          rewrite: { prefix: /v2/, authority: "b:80" }
      - route: { redirect: { scheme: https, code: 308 } }
clusters: [{ name: c }]
"#;
        let s = from_yaml(yaml).expect("valid");
        let routes = s.routes().virtual_hosts()[0].routes();
        let a = routes[0].action();
        assert_eq!(a.request_headers.sets(), &[("x-a".to_string(), "1".to_string())]);
        assert_eq!(a.prefix_rewrite.as_deref(), Some("/v2/"));
        assert_eq!(a.host_rewrite.as_deref(), Some("b:80"));
        let r = routes[1].action().redirect.as_ref().expect("redirect");
        assert_eq!(r.code.status(), 308);
        let bad = yaml.replace("code: 308", "code: 200");
        let e = from_yaml(&bad).expect_err("bad code");
        assert_eq!(e.field, "virtual_hosts[0].routes[1].route.redirect.code");
        let bad = yaml.replace("x-c", "bad header");
        assert!(from_yaml(&bad).expect_err("bad name").field.ends_with("request_headers.remove[0]"));
    }
}
