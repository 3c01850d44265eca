//! [`validate`]: the rules every registered [`WorkloadInstance`] obeys, whatever stores it.

use super::{RegistryError, WorkloadInstance};

/// Checks a workload instance before it is stored; the error names the first bad field.
///
/// - `service`: a lowercase DNS name (`reviews.default.svc.cluster.local`), at most 253 bytes;
/// - `namespace`: a DNS label (`[a-z0-9-]`, at most 63 bytes);
/// - `address`: neither unspecified (`0.0.0.0`, `::`) nor multicast;
/// - `ports`: at least one; names non-empty without whitespace; ports 1–65535;
/// - `labels`: keys non-empty, keys and values without whitespace, values at most 63 bytes;
/// - `weight`: at least 1;
/// - `locality`: at most three `/`-separated parts (`region/zone/subzone`);
/// - `service_account`: empty or a lowercase DNS name.
pub fn validate(instance: &WorkloadInstance) -> Result<(), RegistryError> {
    dns_name("service", &instance.service)?;
    dns_label("namespace", &instance.namespace)?;
    let address = instance.address;
    if address.is_unspecified() {
        return Err(RegistryError::invalid(
            "address",
            format!("{address} is unspecified; give the workload's address"),
        ));
    }
    if address.is_multicast() {
        return Err(RegistryError::invalid("address", format!("{address} is a multicast address")));
    }
    if instance.ports.is_empty() {
        return Err(RegistryError::invalid("ports", "at least one port is required (e.g. {\"http\": 9080})"));
    }
    for (name, port) in &instance.ports {
        let field = format!("ports.{name}");
        if name.is_empty() || name.chars().any(char::is_whitespace) {
            return Err(RegistryError::invalid(field, "a port name must be non-empty and without whitespace"));
        }
        if *port == 0 {
            return Err(RegistryError::invalid(field, "port must be between 1 and 65535"));
        }
    }
    for (key, value) in &instance.labels {
        let field = format!("labels.{key}");
        if key.is_empty() || key.chars().any(char::is_whitespace) {
            return Err(RegistryError::invalid(field, "a label key must be non-empty and without whitespace"));
        }
        if value.len() > 63 || value.chars().any(char::is_whitespace) {
            return Err(RegistryError::invalid(field, "a label value is at most 63 bytes, without whitespace"));
        }
    }
    if instance.weight == 0 {
        return Err(RegistryError::invalid("weight", "weight must be at least 1"));
    }
    if instance.locality.split('/').count() > 3 {
        return Err(RegistryError::invalid("locality", "expected region/zone/subzone (at most three parts)"));
    }
    if !instance.service_account.is_empty() {
        dns_name("service_account", &instance.service_account)?;
    }
    Ok(())
}

/// A lowercase DNS name: labels of `[a-z0-9-]` not starting or ending with `-`, joined by `.`.
fn dns_name(field: &str, name: &str) -> Result<(), RegistryError> {
    if name.is_empty() {
        return Err(RegistryError::invalid(field, "must not be empty"));
    }
    if name.len() > 253 {
        return Err(RegistryError::invalid(field, "a DNS name is at most 253 bytes"));
    }
    for label in name.split('.') {
        check_label(label).map_err(|reason| RegistryError::invalid(field, format!("{name:?}: {reason}")))?;
    }
    Ok(())
}

/// One DNS label (Kubernetes' DNS-1123 label: namespaces).
fn dns_label(field: &str, label: &str) -> Result<(), RegistryError> {
    check_label(label).map_err(|reason| RegistryError::invalid(field, format!("{label:?}: {reason}")))
}

fn check_label(label: &str) -> Result<(), &'static str> {
    if label.is_empty() {
        return Err("empty DNS label");
    }
    if label.len() > 63 {
        return Err("a DNS label is at most 63 bytes");
    }
    if !label.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') {
        return Err("only lowercase letters, digits, '-' and '.' are allowed");
    }
    if label.starts_with('-') || label.ends_with('-') {
        return Err("a DNS label must not start or end with '-'");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn instance() -> WorkloadInstance {
        WorkloadInstance {
            service: "reviews.default.svc.cluster.local".into(),
            namespace: "default".into(),
            address: [10, 0, 0, 7].into(),
            ports: BTreeMap::from([("http".into(), 9080)]),
            labels: BTreeMap::from([("version".into(), "v2".into())]),
            weight: 1,
            locality: "eu/eu-1".into(),
            service_account: "reviews".into(),
        }
    }

    fn field_of(instance: &WorkloadInstance) -> String {
        match validate(instance) {
            Err(RegistryError::Invalid { field, .. }) => field,
            other => panic!("expected an invalid field, got {other:?}"),
        }
    }

    #[test]
    fn accepts_a_complete_instance() {
        assert_eq!(validate(&instance()), Ok(()));
    }

    #[test]
    fn names_the_bad_field() {
        let mut i = instance();
        i.service = "Reviews".into();
        assert_eq!(field_of(&i), "service");
        let mut i = instance();
        i.namespace = "a.b".into();
        assert_eq!(field_of(&i), "namespace");
        let mut i = instance();
        i.address = [0, 0, 0, 0].into();
        assert_eq!(field_of(&i), "address");
        let mut i = instance();
        i.ports.clear();
        assert_eq!(field_of(&i), "ports");
        let mut i = instance();
        i.ports.insert("grpc".into(), 0);
        assert_eq!(field_of(&i), "ports.grpc");
        let mut i = instance();
        i.labels.insert("version".into(), "v 2".into());
        assert_eq!(field_of(&i), "labels.version");
        let mut i = instance();
        i.weight = 0;
        assert_eq!(field_of(&i), "weight");
        let mut i = instance();
        i.locality = "a/b/c/d".into();
        assert_eq!(field_of(&i), "locality");
        let mut i = instance();
        i.service_account = "Bad_SA".into();
        assert_eq!(field_of(&i), "service_account");
    }
}
