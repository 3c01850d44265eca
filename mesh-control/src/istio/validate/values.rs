//! Checks of single values shared by every kind: durations, percentages, ports, regular
//! expressions, string matches, retry conditions, gRPC status names, host names.

use std::time::Duration;

use mesh_core::duration::parse_duration;
use mesh_core::retry::RetryOn;

use super::Findings;
use crate::istio::model::{Percent, StringMatch};
use crate::istio::path::FieldPath;

/// gRPC status codes by the names Istio's `grpcStatus` takes.
pub(crate) const GRPC_STATUS: &[(&str, u32)] = &[
    ("OK", 0),
    ("CANCELLED", 1),
    ("UNKNOWN", 2),
    ("INVALID_ARGUMENT", 3),
    ("DEADLINE_EXCEEDED", 4),
    ("NOT_FOUND", 5),
    ("ALREADY_EXISTS", 6),
    ("PERMISSION_DENIED", 7),
    ("RESOURCE_EXHAUSTED", 8),
    ("FAILED_PRECONDITION", 9),
    ("ABORTED", 10),
    ("OUT_OF_RANGE", 11),
    ("UNIMPLEMENTED", 12),
    ("INTERNAL", 13),
    ("UNAVAILABLE", 14),
    ("DATA_LOSS", 15),
    ("UNAUTHENTICATED", 16),
];

/// The code of a gRPC status name (`UNAVAILABLE` → 14).
pub(crate) fn grpc_status_code(name: &str) -> Option<u32> {
    GRPC_STATUS.iter().find(|(n, _)| *n == name).map(|(_, c)| *c)
}

/// Port protocols Istio knows (case-insensitive).
const PROTOCOLS: &[&str] =
    &["HTTP", "HTTPS", "HTTP2", "HTTP_PROXY", "GRPC", "GRPC-WEB", "TCP", "TLS", "UDP", "MONGO", "MYSQL", "REDIS"];

impl Findings {
    /// A duration string, at least `min` when set.
    pub(crate) fn duration(&mut self, path: FieldPath, value: Option<&String>, min: Duration) -> Option<Duration> {
        let value = value?;
        match parse_duration(value) {
            Ok(d) if d < min => {
                self.push(path, format!("duration {value:?} must be at least {min:?}"));
                None
            }
            Ok(d) => Some(d),
            Err(e) => {
                self.push(path, e.reason);
                None
            }
        }
    }

    /// A `Percent` within `[0, 100]`.
    pub(crate) fn percent(&mut self, path: FieldPath, value: Option<&Percent>) {
        if let Some(p) = value {
            self.percentage(path.key("value"), p.value);
        }
    }

    /// A percentage value within `[0, 100]`.
    pub(crate) fn percentage(&mut self, path: FieldPath, value: f64) {
        if !(0.0..=100.0).contains(&value) {
            self.push(path, format!("percentage {value} is not within [0, 100]"));
        }
    }

    /// A deprecated integer percentage within `[0, 100]`.
    pub(crate) fn int_percent(&mut self, path: FieldPath, value: Option<i32>) {
        if let Some(v) = value
            && !(0..=100).contains(&v)
        {
            self.push(path, format!("percentage {v} is not within [0, 100]"));
        }
    }

    /// A port number within `[1, 65535]`.
    pub(crate) fn port(&mut self, path: FieldPath, value: u32) {
        if !(1..=65535).contains(&value) {
            self.push(path, format!("port {value} is not within [1, 65535]"));
        }
    }

    /// An optional port number within `[1, 65535]`.
    pub(crate) fn optional_port(&mut self, path: FieldPath, value: Option<u32>) {
        if let Some(p) = value {
            self.port(path, p);
        }
    }

    /// A regular expression (RE2 syntax, as the `regex` crate takes it).
    pub(crate) fn regex(&mut self, path: FieldPath, pattern: &str) {
        if let Err(e) = regex::Regex::new(pattern) {
            let message = e.to_string();
            let reason = message.lines().last().unwrap_or("invalid").trim().trim_start_matches("error: ");
            self.push(path, format!("invalid regular expression {pattern:?}: {reason}"));
        }
    }

    /// A `StringMatch`: at most one of `exact`, `prefix`, `regex` (none only where
    /// `allow_empty`), regexes that compile.
    pub(crate) fn string_match(&mut self, path: FieldPath, m: &StringMatch, allow_empty: bool) {
        let set = [m.exact.is_some(), m.prefix.is_some(), m.regex.is_some()].iter().filter(|b| **b).count();
        if set > 1 {
            self.push(path.clone(), "only one of exact, prefix or regex may be set");
        } else if set == 0 && !allow_empty {
            self.push(path.clone(), "one of exact, prefix or regex is required");
        }
        if let Some(re) = &m.regex {
            self.regex(path.key("regex"), re);
        }
    }

    /// A port protocol Istio knows.
    pub(crate) fn protocol(&mut self, path: FieldPath, protocol: &str) {
        if !PROTOCOLS.iter().any(|p| p.eq_ignore_ascii_case(protocol)) {
            self.push(path, format!("unknown protocol {protocol:?} (known: {})", PROTOCOLS.join(", ")));
        }
    }

    /// A host name as VirtualServices, DestinationRules and ServiceEntries write them:
    /// not empty, a wildcard only as the whole first label.
    pub(crate) fn host(&mut self, path: FieldPath, host: &str) {
        if host.is_empty() {
            self.push(path, "host must not be empty");
            return;
        }
        let rest = host.strip_prefix("*.").unwrap_or(if host == "*" { "" } else { host });
        if rest.contains('*') {
            self.push(path, format!("host {host:?}: a wildcard is only allowed as the first label (`*.example.com`)"));
        } else if rest.split('.').any(|l| l.is_empty() && !rest.is_empty()) || rest.contains(char::is_whitespace) {
            self.push(path, format!("host {host:?} is not a valid host name"));
        }
    }

    /// A label map: keys not empty.
    pub(crate) fn labels(&mut self, path: FieldPath, labels: &std::collections::BTreeMap<String, String>) {
        if labels.keys().any(String::is_empty) {
            self.push(path, "label names must not be empty");
        }
    }
}

/// Splits Istio's `retryOn` into Envoy conditions and retriable status codes
/// (`"503,connect-failure"` → `connect-failure` + `[503]`), as Istio does.
pub(crate) fn split_retry_on(list: &str) -> (Vec<&str>, Vec<u32>) {
    let mut names = Vec::new();
    let mut codes = Vec::new();
    for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        match item.parse::<u32>() {
            Ok(code) => codes.push(code),
            Err(_) => names.push(item),
        }
    }
    (names, codes)
}

impl Findings {
    /// A `retryOn` list: known conditions (as the mesh's retry layer implements them)
    /// and HTTP status codes.
    pub(crate) fn retry_on(&mut self, path: FieldPath, list: &str) {
        let (names, codes) = split_retry_on(list);
        if let Err(e) = RetryOn::parse(&names.join(",")) {
            self.push(path.clone(), e.reason);
        }
        if let Some(code) = codes.iter().find(|c| !(100..=599).contains(*c)) {
            self.push(path, format!("status code {code} is not within [100, 599]"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reasons(f: impl FnOnce(&mut Findings)) -> Vec<String> {
        let mut findings = Findings::default();
        f(&mut findings);
        findings.0.into_iter().map(|f| format!("{}: {}", f.path, f.reason)).collect()
    }

    #[test]
    fn durations_percentages_ports() {
        let p = || FieldPath::spec().key("t");
        assert!(reasons(|f| _ = f.duration(p(), Some(&"0.5s".into()), Duration::ZERO)).is_empty());
        assert_eq!(reasons(|f| _ = f.duration(p(), Some(&"5 parsecs".into()), Duration::ZERO)).len(), 1);
        assert_eq!(reasons(|f| _ = f.duration(p(), Some(&"0s".into()), Duration::from_millis(1))).len(), 1);
        assert_eq!(
            reasons(|f| f.percent(p(), Some(&Percent { value: 100.5 }))),
            ["spec.t.value: percentage 100.5 is not within [0, 100]"]
        );
        assert_eq!(reasons(|f| f.port(p(), 0)).len(), 1);
        assert!(reasons(|f| f.port(p(), 65535)).is_empty());
    }

    #[test]
    fn retry_on_and_hosts() {
        let p = || FieldPath::spec().key("x");
        assert!(reasons(|f| f.retry_on(p(), "5xx, connect-failure,503,unavailable")).is_empty());
        assert_eq!(reasons(|f| f.retry_on(p(), "5xx,bogus")).len(), 1);
        assert_eq!(reasons(|f| f.retry_on(p(), "1000")).len(), 1);
        assert_eq!(split_retry_on("503,reset, 504"), (vec!["reset"], vec![503, 504]));
        for ok in ["reviews", "*", "*.example.com", "a.b.c"] {
            assert!(reasons(|f| f.host(p(), ok)).is_empty(), "{ok}");
        }
        for bad in ["", "a.*.com", "foo*", "a..b", "a b"] {
            assert_eq!(reasons(|f| f.host(p(), bad)).len(), 1, "{bad}");
        }
    }

    #[test]
    fn regexes_and_string_matches() {
        let p = || FieldPath::spec().key("m");
        assert!(reasons(|f| f.regex(p(), r"^/api/v\d+/.*")).is_empty());
        let bad = reasons(|f| f.regex(p(), "(unclosed"));
        assert_eq!(bad.len(), 1);
        assert!(bad[0].starts_with("spec.m: invalid regular expression \"(unclosed\""), "{bad:?}");
        let two = StringMatch { exact: Some("a".into()), prefix: Some("b".into()), regex: None };
        assert_eq!(reasons(|f| f.string_match(p(), &two, false)).len(), 1);
        assert_eq!(reasons(|f| f.string_match(p(), &StringMatch::default(), false)).len(), 1);
        assert!(reasons(|f| f.string_match(p(), &StringMatch::default(), true)).is_empty());
        assert_eq!(grpc_status_code("UNAVAILABLE"), Some(14));
    }
}
