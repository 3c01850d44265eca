//! Warnings: configuration that is accepted but not (fully) honoured by mesh clients.
//!
//! Validation rejects what is wrong; warnings tell about what is right but not served
//! as written — a feature the proxyless clients do not implement yet (emitted anyway, so
//! clients that do implement it, such as Envoy, get it), a Gateway that only `mesh-proxy`
//! will serve, a policy that cannot be tailored per client. They are shown on the admin
//! page and logged; each is reported once, in the order found.

use std::collections::BTreeSet;

/// The wording of the common cases.
pub(crate) const NOT_SUPPORTED: &str = "not supported by mesh clients yet (emitted; they reject the resource)";
/// Emitted for Envoy; mesh clients accept the resource but do not act on the field.
pub(crate) const EMITTED_NOT_ENFORCED: &str = "emitted (Envoy honours it); not enforced by mesh clients yet";
/// Accepted configuration that the clients ignore.
pub(crate) const NOT_ENFORCED: &str = "accepted; not enforced by mesh clients yet (not emitted)";

/// Collects warnings, once each.
#[derive(Debug, Default)]
pub(crate) struct Warnings {
    seen: BTreeSet<String>,
    list: Vec<String>,
}

impl Warnings {
    /// Adds `who: what` (`who` names the object, `VirtualService default/reviews`).
    pub(crate) fn add(&mut self, who: &str, what: impl AsRef<str>) {
        let line = format!("{who}: {}", what.as_ref());
        if self.seen.insert(line.clone()) {
            self.list.push(line);
        }
    }

    /// The warnings, in the order found.
    pub(crate) fn into_vec(self) -> Vec<String> {
        self.list
    }
}

/// How warnings name an object: `Kind namespace/name`.
pub(crate) fn who<T>(object: &crate::istio::Named<T>) -> String {
    format!("{} {}/{}", object.kind, object.namespace, object.name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn once_each_in_order() {
        let mut w = Warnings::default();
        w.add("b", "x");
        w.add("a", "y");
        w.add("b", "x");
        assert_eq!(w.into_vec(), ["b: x", "a: y"]);
    }
}
