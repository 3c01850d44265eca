//! Value checks of the `security.istio.io` kinds: workload selectors, IP blocks, ports,
//! service accounts, and the values of each `when` attribute. The parsers are shared with
//! the translation (`translate/security/`), so that what validation accepts is exactly
//! what is translated.

use std::net::IpAddr;

use super::Findings;
use crate::istio::model::{ConditionAttribute, MatchLabelsSelector};
use crate::istio::path::FieldPath;

/// An IP block: a single address (`203.0.113.4`, a /32 or /128) or a CIDR
/// (`203.0.113.0/24`). Returns the address and the prefix length.
pub(crate) fn parse_cidr(value: &str) -> Result<(IpAddr, u32), String> {
    let (address, length) = match value.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (value, None),
    };
    let address: IpAddr =
        address.parse().map_err(|_| format!("{value:?} is not an IP address or a CIDR block (`10.0.0.0/8`)"))?;
    let max = if address.is_ipv4() { 32 } else { 128 };
    let length = match length {
        None => max,
        Some(l) => match l.parse::<u32>() {
            Ok(n) if n <= max => n,
            _ => return Err(format!("{value:?}: the prefix length must be a number in [0, {max}]")),
        },
    };
    Ok((address, length))
}

/// A port as the rules write it (a string): a number in `[0, 65535]`, as Istio accepts.
pub(crate) fn parse_port(value: &str) -> Result<u16, String> {
    value.parse::<u16>().map_err(|_| format!("{value:?} is not a port number in [0, 65535]"))
}

/// A service account `<sa>` or `<ns>/<sa>`: both parts non-empty, no wildcard.
fn check_service_account(value: &str) -> Result<(), String> {
    let parts: Vec<&str> = value.split('/').collect();
    if value.contains('*') {
        return Err(format!("{value:?}: wildcards are not allowed in service accounts"));
    }
    if parts.len() > 2 || parts.iter().any(|p| p.is_empty()) {
        return Err(format!("{value:?} is not <service account> or <namespace>/<service account>"));
    }
    Ok(())
}

impl Findings {
    /// A workload selector: label names not empty, no wildcards (Istio's rules).
    pub(crate) fn selector(&mut self, path: FieldPath, selector: Option<&MatchLabelsSelector>) {
        let Some(selector) = selector else { return };
        for (k, v) in &selector.match_labels {
            let at = path.key("matchLabels").key(k);
            if k.is_empty() {
                self.push(at, "label names must not be empty");
            } else if k.contains('*') || v.contains('*') {
                self.push(at, format!("wildcards are not supported in selectors ({k}={v})"));
            }
        }
    }

    /// A list of values: none empty; each checked by `check` (which says why not).
    pub(crate) fn values(&mut self, path: FieldPath, values: &[String], check: impl Fn(&str) -> Result<(), String>) {
        for (i, v) in values.iter().enumerate() {
            if v.is_empty() {
                self.push(path.index(i), "empty values are not allowed");
            } else if let Err(reason) = check(v) {
                self.push(path.index(i), reason);
            }
        }
    }

    /// IP blocks.
    pub(crate) fn ip_blocks(&mut self, path: FieldPath, values: &[String]) {
        self.values(path, values, |v| parse_cidr(v).map(drop));
    }

    /// Ports.
    pub(crate) fn ports(&mut self, path: FieldPath, values: &[String]) {
        self.values(path, values, |v| parse_port(v).map(drop));
    }

    /// Service accounts.
    pub(crate) fn service_accounts(&mut self, path: FieldPath, values: &[String]) {
        self.values(path, values, check_service_account);
    }

    /// Paths: not empty, and no path templates (`{*}`, `{**}`), which mesh servers do not
    /// match.
    pub(crate) fn paths(&mut self, path: FieldPath, values: &[String]) {
        self.values(path, values, |v| {
            if v.contains('{') || v.contains('}') {
                Err(format!("{v:?}: path templates ({{*}}, {{**}}) are not supported"))
            } else {
                Ok(())
            }
        });
    }

    /// The values (or not-values) of a `when` condition on `attribute`.
    pub(crate) fn attribute_values(&mut self, path: FieldPath, attribute: &ConditionAttribute, values: &[String]) {
        match attribute {
            ConditionAttribute::SourceIp | ConditionAttribute::RemoteIp | ConditionAttribute::DestinationIp => {
                self.ip_blocks(path, values);
            }
            ConditionAttribute::DestinationPort => self.ports(path, values),
            ConditionAttribute::SourceServiceAccount => self.service_accounts(path, values),
            _ => self.values(path, values, |_| Ok(())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidrs_ports_and_accounts() {
        assert_eq!(parse_cidr("10.0.0.0/8"), Ok(("10.0.0.0".parse().unwrap(), 8)));
        assert_eq!(parse_cidr("203.0.113.4"), Ok(("203.0.113.4".parse().unwrap(), 32)));
        assert_eq!(parse_cidr("2001:db8::/32"), Ok(("2001:db8::".parse().unwrap(), 32)));
        assert_eq!(parse_cidr("::1"), Ok(("::1".parse().unwrap(), 128)));
        for bad in ["10.0.0.0/33", "10.0.0/8", "10.0.0.0/", "host", "10.0.0.0/x", ""] {
            assert!(parse_cidr(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_port("8080"), Ok(8080));
        assert!(parse_port("65536").is_err() && parse_port("http").is_err());
        assert!(check_service_account("sleep").is_ok() && check_service_account("ns/sleep").is_ok());
        for bad in ["a/b/c", "/sleep", "ns/", "s*"] {
            assert!(check_service_account(bad).is_err(), "{bad}");
        }
    }
}
