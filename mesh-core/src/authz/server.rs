//! What a mesh server enforces on one listening address: which connections it accepts
//! (the PeerAuthentication mTLS mode), and per kind of connection the RBAC chain, the
//! path settings and how the original client address is found.
//!
//! A control plane may give TLS and plaintext connections different chains (one filter
//! chain each in the inbound `Listener`), so the policy is kept per kind of connection:
//! [`ServerPolicy::for_connection`] is what the server asks when it has accepted a
//! connection and knows whether it is TLS.

use std::net::IpAddr;

use crate::matcher::RequestAttributes;

use super::{AuthzChain, PathNormalization};

/// Which connections a server accepts (Istio's PeerAuthentication mode).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MtlsMode {
    /// Only mutual TLS (a verified client certificate is required).
    Strict,
    /// Mutual TLS or plaintext.
    Permissive,
    /// Only plaintext.
    Disable,
}

/// How the original client's address (RBAC's `remote_ip`) is found: Envoy's HCM
/// `use_remote_address` and `xff_num_trusted_hops`.
///
/// With the defaults (`false`, 0), as Envoy, the last `x-forwarded-for` entry is taken
/// when it is an IP address — a client can claim any `remote_ip`; `direct_remote_ip` (the
/// TCP peer) cannot be forged.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct RemoteAddress {
    /// The connection's peer is the client, unless trusted hops say otherwise.
    pub use_remote_address: bool,
    /// Proxies in front of this server that append to `x-forwarded-for`.
    pub xff_num_trusted_hops: u32,
}

impl RemoteAddress {
    /// The original client's address for a request from `direct` with `headers`.
    pub fn resolve(&self, direct: IpAddr, headers: &dyn RequestAttributes) -> IpAddr {
        let skip = match (self.use_remote_address, self.xff_num_trusted_hops) {
            (true, 0) => return direct,
            (true, hops) => hops - 1,
            (false, hops) => hops,
        };
        let mut xff: Option<String> = None;
        headers.for_each_header_value("x-forwarded-for", &mut |v| match &mut xff {
            None => xff = Some(v.to_string()),
            Some(all) => {
                all.push(',');
                all.push_str(v);
            }
        });
        xff.and_then(|x| from_xff(&x, skip)).unwrap_or(direct)
    }
}

/// Envoy's `getLastAddressFromXFF`: the entry `skip` places from the right.
fn from_xff(xff: &str, skip: u32) -> Option<IpAddr> {
    let entry = xff.rsplit(',').nth(usize::try_from(skip).ok()?)?;
    entry.trim().parse().ok()
}

/// What applies to the requests of one kind of connection (one filter chain's HCM).
#[derive(Debug, Clone, Default)]
pub struct ConnectionPolicy {
    /// The RBAC filters.
    pub authz: AuthzChain,
    /// Path normalization, before RBAC and forwarding.
    pub path: PathNormalization,
    /// How `remote_ip` is found.
    pub remote_address: RemoteAddress,
}

/// A certificate provider instance named by a control plane (gRFC A29): the bootstrap's
/// `certificate_providers[instance_name]`, certificate `certificate_name`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CertProviderInstance {
    /// Key in the bootstrap's `certificate_providers`.
    pub instance_name: String,
    /// Which certificate of that provider (`default`, `ROOTCA`).
    pub certificate_name: String,
}

/// Where a TLS server's identity and the roots that verify its clients come from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CertProviders {
    /// The server's certificate and key.
    pub identity: CertProviderInstance,
    /// The roots client certificates are verified against.
    pub roots: CertProviderInstance,
}

/// A server's policy for one listening address.
///
/// `tls` applies to TLS connections (a verified client certificate is always required),
/// `plaintext` to the others; a kind with no policy is refused. The mTLS mode follows:
/// both = [`MtlsMode::Permissive`], TLS only = [`MtlsMode::Strict`], plaintext only =
/// [`MtlsMode::Disable`]. The default is permissive with no RBAC and the default path
/// settings.
#[derive(Debug, Clone)]
pub struct ServerPolicy {
    /// For TLS connections; `None`: refused.
    pub tls: Option<ConnectionPolicy>,
    /// For plaintext connections; `None`: refused.
    pub plaintext: Option<ConnectionPolicy>,
    /// The certificate providers a control plane named for TLS connections (`None` when it
    /// named none, or the policy was built in code: the server's own identity is used).
    pub cert_provider: Option<CertProviders>,
}

impl ServerPolicy {
    /// `policy` for each kind of connection `mtls` accepts.
    pub fn new(mtls: MtlsMode, policy: ConnectionPolicy) -> Self {
        let (tls, plaintext) = match mtls {
            MtlsMode::Strict => (Some(policy), None),
            MtlsMode::Permissive => (Some(policy.clone()), Some(policy)),
            MtlsMode::Disable => (None, Some(policy)),
        };
        Self { tls, plaintext, cert_provider: None }
    }

    /// The mode, from the kinds of connection accepted; `None` when none is.
    pub fn mtls(&self) -> Option<MtlsMode> {
        match (&self.tls, &self.plaintext) {
            (Some(_), Some(_)) => Some(MtlsMode::Permissive),
            (Some(_), None) => Some(MtlsMode::Strict),
            (None, Some(_)) => Some(MtlsMode::Disable),
            (None, None) => None,
        }
    }

    /// The policy for a connection; `None`: close it.
    pub fn for_connection(&self, tls: bool) -> Option<&ConnectionPolicy> {
        if tls { self.tls.as_ref() } else { self.plaintext.as_ref() }
    }
}

impl Default for ServerPolicy {
    fn default() -> Self {
        Self::new(MtlsMode::Permissive, ConnectionPolicy::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Headers(Vec<(&'static str, &'static str)>);

    impl RequestAttributes for Headers {
        fn authority(&self) -> &str {
            ""
        }
        fn path(&self) -> &str {
            "/"
        }
        fn query(&self) -> Option<&str> {
            None
        }
        fn method(&self) -> &str {
            "GET"
        }
        fn for_each_header_value(&self, name: &str, f: &mut dyn FnMut(&str)) {
            self.0.iter().filter(|(n, _)| *n == name).for_each(|(_, v)| f(v));
        }
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    #[test]
    fn modes_follow_the_accepted_connections() {
        let p = ServerPolicy::default();
        assert_eq!(p.mtls(), Some(MtlsMode::Permissive));
        assert!(p.for_connection(true).is_some() && p.for_connection(false).is_some());
        let strict = ServerPolicy::new(MtlsMode::Strict, ConnectionPolicy::default());
        assert_eq!(strict.mtls(), Some(MtlsMode::Strict));
        assert!(strict.for_connection(false).is_none(), "plaintext refused");
        let off = ServerPolicy::new(MtlsMode::Disable, ConnectionPolicy::default());
        assert_eq!(off.mtls(), Some(MtlsMode::Disable));
        assert!(off.for_connection(true).is_none(), "TLS refused");
        let none = ServerPolicy { tls: None, plaintext: None, cert_provider: None };
        assert_eq!(none.mtls(), None);
        assert_eq!(p.for_connection(true).map(|c| c.path), Some(PathNormalization::default()));
    }

    #[test]
    fn remote_address_follows_envoy_xff_rules() {
        let direct = ip("10.0.0.1");
        let xff = Headers(vec![("x-forwarded-for", "1.1.1.1, 2.2.2.2"), ("x-forwarded-for", " 3.3.3.3 ")]);
        let none = Headers(vec![]);
        let bad = Headers(vec![("x-forwarded-for", "1.1.1.1,not-an-ip")]);
        let envoy_default = RemoteAddress::default();
        assert_eq!(envoy_default.resolve(direct, &xff), ip("3.3.3.3"), "last entry of all the values");
        assert_eq!(envoy_default.resolve(direct, &none), direct);
        assert_eq!(envoy_default.resolve(direct, &bad), direct, "unparseable entry: the peer");
        let hops =
            |use_remote_address, xff_num_trusted_hops| RemoteAddress { use_remote_address, xff_num_trusted_hops };
        assert_eq!(hops(false, 1).resolve(direct, &xff), ip("2.2.2.2"));
        assert_eq!(hops(false, 5).resolve(direct, &xff), direct, "not enough entries");
        assert_eq!(hops(true, 0).resolve(direct, &xff), direct, "the peer is the client");
        assert_eq!(hops(true, 1).resolve(direct, &xff), ip("3.3.3.3"));
        assert_eq!(hops(true, 2).resolve(direct, &xff), ip("2.2.2.2"));
        let v6 = Headers(vec![("x-forwarded-for", "2001:db8::1")]);
        assert_eq!(envoy_default.resolve(direct, &v6), ip("2001:db8::1"));
    }
}
