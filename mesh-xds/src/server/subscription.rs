//! [`Subscription`]: which resources of one type one stream wants, including the xDS
//! wildcard rules.
//!
//! The rules (Envoy's "xDS REST and gRPC protocol", *How the client specifies what resources
//! to return*):
//! - The name `"*"` subscribes to the wildcard: every resource of the type. We honour it for
//!   any type; it matters for LDS and CDS.
//! - *Legacy wildcard*: for LDS and CDS, a client that has never named a resource of the type
//!   on this stream is subscribed to the wildcard — in SotW while its `resource_names` stay
//!   empty, in Delta when its first request subscribes and unsubscribes nothing.
//! - Once a name was ever given (`"*"` included), an empty SotW list means *nothing*, and in
//!   Delta the wildcard ends only when `"*"` is unsubscribed. For RDS, EDS and other types an
//!   empty list always means nothing.

use std::collections::BTreeSet;

use crate::type_url;

use super::status::SubscriptionStatus;

/// The wildcard resource name.
pub(crate) const WILDCARD: &str = "*";

/// Which resources of one type one stream wants.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Subscription {
    /// Subscribed to every resource of the type.
    pub(crate) wildcard: bool,
    /// Explicitly subscribed names (`"*"` excluded).
    pub(crate) names: BTreeSet<String>,
    /// Whether the client ever named a resource of this type (ends the legacy wildcard).
    named_once: bool,
}

/// Whether an empty first subscription means the wildcard for this type (LDS and CDS).
pub(crate) fn legacy_wildcard(type_url: &str) -> bool {
    type_url == type_url::LISTENER || type_url == type_url::CLUSTER
}

impl Subscription {
    /// Whether `name` is wanted (explicitly or through the wildcard).
    pub(crate) fn contains(&self, name: &str) -> bool {
        self.wildcard || self.names.contains(name)
    }

    /// Whether `self` wants something `previous` did not (a new name or the wildcard).
    pub(crate) fn adds_to(&self, previous: &Self) -> bool {
        !previous.wildcard && (self.wildcard || !self.names.is_subset(&previous.names))
    }

    /// SotW: a request's `resource_names` is the complete new list.
    pub(crate) fn set_sotw(&mut self, type_url: &str, resource_names: &[String]) {
        if resource_names.is_empty() && !self.named_once && legacy_wildcard(type_url) {
            self.wildcard = true;
            self.names.clear();
            return;
        }
        self.named_once |= !resource_names.is_empty();
        self.wildcard = resource_names.iter().any(|name| name == WILDCARD);
        self.names = resource_names.iter().filter(|name| *name != WILDCARD).cloned().collect();
    }

    /// SotW: whether [`set_sotw`](Self::set_sotw) with these names would change nothing
    /// (the common case: an ACK repeats the list). Cheap: no allocation. A list with
    /// duplicates may be reported as a change, which is merely slower.
    pub(crate) fn unchanged_by_sotw(&self, type_url: &str, resource_names: &[String]) -> bool {
        if resource_names.is_empty() && !self.named_once && legacy_wildcard(type_url) {
            return self.wildcard && self.names.is_empty();
        }
        let wildcard = resource_names.iter().any(|name| name == WILDCARD);
        let named = resource_names.len() - usize::from(wildcard);
        self.named_once == (self.named_once || !resource_names.is_empty())
            && self.wildcard == wildcard
            && self.names.len() == named
            && resource_names.iter().all(|name| name == WILDCARD || self.names.contains(name))
    }

    /// Delta: applies one request's changes; `first` is the stream's first request for the type.
    pub(crate) fn update_delta(&mut self, type_url: &str, first: bool, subscribe: &[String], unsubscribe: &[String]) {
        if first && subscribe.is_empty() && unsubscribe.is_empty() && legacy_wildcard(type_url) {
            self.wildcard = true;
        }
        self.named_once |= !subscribe.is_empty();
        for name in subscribe {
            if name == WILDCARD {
                self.wildcard = true;
            } else {
                self.names.insert(name.clone());
            }
        }
        for name in unsubscribe {
            if name == WILDCARD {
                self.wildcard = false;
            } else {
                self.names.remove(name);
            }
        }
    }

    /// The public view for [`ClientStatus`](super::ClientStatus).
    pub(crate) fn status(&self) -> SubscriptionStatus {
        SubscriptionStatus { wildcard: self.wildcard, names: self.names.clone() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|name| (*name).to_owned()).collect()
    }

    #[test]
    fn sotw_legacy_wildcard_only_until_a_name_is_given() {
        let mut sub = Subscription::default();
        sub.set_sotw(type_url::LISTENER, &[]);
        assert!(sub.wildcard);
        sub.set_sotw(type_url::LISTENER, &names(&["*", "a"]));
        assert!(sub.wildcard && sub.names.contains("a"));
        sub.set_sotw(type_url::LISTENER, &names(&["a"]));
        assert!(!sub.wildcard && sub.contains("a") && !sub.contains("b"));
        sub.set_sotw(type_url::LISTENER, &[]);
        assert!(!sub.wildcard && sub.names.is_empty());
    }

    #[test]
    fn sotw_empty_list_means_nothing_for_routes_and_endpoints() {
        for type_url in [type_url::ROUTE, type_url::ENDPOINT] {
            let mut sub = Subscription::default();
            sub.set_sotw(type_url, &[]);
            assert!(!sub.wildcard && sub.names.is_empty());
        }
    }

    #[test]
    fn delta_legacy_wildcard_survives_named_subscriptions() {
        let mut sub = Subscription::default();
        sub.update_delta(type_url::CLUSTER, true, &[], &[]);
        assert!(sub.wildcard);
        sub.update_delta(type_url::CLUSTER, false, &names(&["a"]), &[]);
        assert!(sub.wildcard && sub.names.contains("a"));
        sub.update_delta(type_url::CLUSTER, false, &[], &names(&["*"]));
        assert!(!sub.wildcard && sub.contains("a"));
        sub.update_delta(type_url::CLUSTER, false, &[], &names(&["a"]));
        assert!(!sub.wildcard && sub.names.is_empty());
    }

    #[test]
    fn delta_first_request_with_names_is_not_wildcard() {
        let mut sub = Subscription::default();
        sub.update_delta(type_url::CLUSTER, true, &names(&["a"]), &[]);
        assert!(!sub.wildcard);
        let mut eds = Subscription::default();
        eds.update_delta(type_url::ENDPOINT, true, &[], &[]);
        assert!(!eds.wildcard);
    }

    #[test]
    fn unchanged_by_sotw_agrees_with_set_sotw() {
        let lists: [&[&str]; 6] = [&[], &["a"], &["a", "b"], &["*"], &["*", "a"], &["b", "a"]];
        for type_url in [type_url::LISTENER, type_url::ENDPOINT] {
            for first in lists {
                for second in lists {
                    let mut sub = Subscription::default();
                    sub.set_sotw(type_url, &names(first));
                    let mut next = sub.clone();
                    next.set_sotw(type_url, &names(second));
                    assert_eq!(
                        sub.unchanged_by_sotw(type_url, &names(second)),
                        next == sub,
                        "{first:?} then {second:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn adds_to_detects_new_names_and_wildcard() {
        let mut old = Subscription::default();
        old.set_sotw(type_url::ENDPOINT, &names(&["a", "b"]));
        let mut fewer = old.clone();
        fewer.set_sotw(type_url::ENDPOINT, &names(&["a"]));
        assert!(!fewer.adds_to(&old));
        let mut more = old.clone();
        more.set_sotw(type_url::ENDPOINT, &names(&["a", "c"]));
        assert!(more.adds_to(&old));
        let mut all = old.clone();
        all.set_sotw(type_url::ENDPOINT, &names(&["*"]));
        assert!(all.adds_to(&old) && !old.adds_to(&all));
    }
}
