//! IP address ranges (`10.0.0.0/8`, `2001:db8::/32`), as Envoy's `CidrRange`.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use crate::ConfigError;

/// An IPv4 or IPv6 address range.
///
/// The address is stored with the bits past the prefix cleared, so `10.1.2.3/8` and
/// `10.0.0.0/8` are the same range (Envoy masks the same way). An IPv4 range also
/// contains the IPv4-mapped IPv6 form of its addresses (`::ffff:10.0.0.1`): a
/// dual-stack socket reports IPv4 peers that way, and an `ipBlocks` rule must not be
/// sidestepped by the socket family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cidr {
    addr: IpAddr,
    prefix_len: u8,
}

impl Cidr {
    /// The range of `ip` with `prefix_len` leading bits (at most 32 for IPv4, 128 for IPv6).
    pub fn new(ip: IpAddr, prefix_len: u32) -> Result<Self, ConfigError> {
        let max = match ip {
            IpAddr::V4(_) => 32,
            IpAddr::V6(_) => 128,
        };
        let Ok(len) = u8::try_from(prefix_len) else {
            return Err(ConfigError::new("prefix_len", format!("{prefix_len} is longer than {max} bits")));
        };
        if u32::from(len) > max {
            return Err(ConfigError::new("prefix_len", format!("{prefix_len} is longer than {max} bits for {ip}")));
        }
        Ok(Self { addr: mask(ip, len), prefix_len: len })
    }

    /// Parses `address/prefix_len`, or a bare address (a single-address range).
    pub fn parse(s: &str) -> Result<Self, ConfigError> {
        let (addr, len) = match s.split_once('/') {
            Some((a, l)) => {
                let len = l
                    .parse::<u32>()
                    .map_err(|_| ConfigError::new("", format!("{s:?}: prefix length {l:?} is not a number")))?;
                (a, Some(len))
            }
            None => (s, None),
        };
        let ip = IpAddr::from_str(addr)
            .map_err(|_| ConfigError::new("", format!("{s:?}: {addr:?} is not an IP address")))?;
        let len = len.unwrap_or(if ip.is_ipv4() { 32 } else { 128 });
        Self::new(ip, len).map_err(|e| ConfigError::new("", format!("{s:?}: {}", e.reason)))
    }

    /// The (masked) network address.
    pub fn addr(&self) -> IpAddr {
        self.addr
    }

    /// The prefix length in bits.
    pub fn prefix_len(&self) -> u8 {
        self.prefix_len
    }

    /// Whether `ip` is in the range.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        match (self.addr, ip) {
            (IpAddr::V4(_), IpAddr::V4(_)) | (IpAddr::V6(_), IpAddr::V6(_)) => mask(ip, self.prefix_len) == self.addr,
            _ => false,
        }
    }
}

fn mask(ip: IpAddr, len: u8) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => {
            let bits = u32::from(v4);
            let m = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
            IpAddr::V4((bits & m).into())
        }
        IpAddr::V6(v6) => {
            let bits = u128::from(v6);
            let m = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
            IpAddr::V6((bits & m).into())
        }
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix_len)
    }
}

impl FromStr for Cidr {
    type Err = ConfigError;

    fn from_str(s: &str) -> Result<Self, ConfigError> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    #[test]
    fn ipv4_ranges() {
        let c = Cidr::parse("10.0.0.0/8").expect("valid");
        assert!(c.contains(ip("10.255.1.2")));
        assert!(!c.contains(ip("11.0.0.0")));
        assert!(!c.contains(ip("::1")), "families never mix");
        assert!(c.contains(ip("::ffff:10.1.2.3")), "IPv4-mapped IPv6 is the IPv4 address");
        assert_eq!(Cidr::parse("10.1.2.3/8").expect("valid"), c, "host bits are masked");
        assert_eq!(c.to_string(), "10.0.0.0/8");
        let host = Cidr::parse("192.168.1.7").expect("bare address");
        assert_eq!(host.prefix_len(), 32);
        assert!(host.contains(ip("192.168.1.7")) && !host.contains(ip("192.168.1.8")));
        let all = Cidr::parse("0.0.0.0/0").expect("valid");
        assert!(all.contains(ip("1.2.3.4")) && !all.contains(ip("::")));
    }

    #[test]
    fn ipv6_ranges() {
        let c = Cidr::parse("2001:db8::/32").expect("valid");
        assert!(c.contains(ip("2001:db8:1::5")));
        assert!(!c.contains(ip("2001:db9::")));
        assert!(!c.contains(ip("10.0.0.1")));
        let all = Cidr::new(ip("::"), 0).expect("valid");
        assert!(all.contains(ip("::1")));
        let one = Cidr::new(ip("::1"), 128).expect("valid");
        assert!(one.contains(ip("::1")) && !one.contains(ip("::2")));
    }

    #[test]
    fn rejects_bad_input() {
        assert!(Cidr::new(ip("10.0.0.0"), 33).is_err());
        assert!(Cidr::new(ip("::"), 129).is_err());
        assert!(Cidr::new(ip("::"), u32::MAX).is_err());
        for bad in ["10.0.0.0/x", "10.0.0/8", "", "/8", "10.0.0.0/-1", "host/8"] {
            assert!(Cidr::parse(bad).is_err(), "{bad}");
        }
    }
}
