//! [`IpPrefix`]: an IPv4 or IPv6 network prefix ("10.1.0.0/16", "2001:db8::/32"), the
//! argument of `track N ip route PREFIX reachability` and the key of route events.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use super::NetError;

/// A network prefix with its host bits cleared (so it compares equal to the kernel's route
/// for it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct IpPrefix {
    addr: IpAddr,
    len: u8,
}

impl IpPrefix {
    /// The prefix `addr/len`, host bits of `addr` cleared; `None` if `len` is longer than
    /// the address (32 or 128).
    pub fn new(addr: IpAddr, len: u8) -> Option<Self> {
        let addr = match addr {
            IpAddr::V4(a) if len <= 32 => {
                let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
                IpAddr::V4(Ipv4Addr::from(u32::from(a) & mask))
            }
            IpAddr::V6(a) if len <= 128 => {
                let mask = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
                IpAddr::V6(Ipv6Addr::from(u128::from(a) & mask))
            }
            _ => return None,
        };
        Some(IpPrefix { addr, len })
    }

    /// The network address (host bits zero).
    pub fn addr(&self) -> IpAddr {
        self.addr
    }

    /// The prefix length in bits.
    pub fn prefix_len(&self) -> u8 {
        self.len
    }

    /// True for the default route (`/0`).
    pub fn is_default(&self) -> bool {
        self.len == 0
    }

    /// True if `other` lies inside this prefix (same family, at least as long, same bits).
    pub fn contains(&self, other: &IpPrefix) -> bool {
        other.len >= self.len && IpPrefix::new(other.addr, self.len).is_some_and(|cut| cut == *self)
    }
}

impl fmt::Display for IpPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

impl FromStr for IpPrefix {
    type Err = NetError;

    /// Parses "ADDR/LEN". Host bits set in ADDR are cleared (IOS does the same).
    fn from_str(text: &str) -> Result<Self, NetError> {
        let bad = |reason| NetError::BadPrefix {
            text: text.to_owned(),
            reason,
        };
        let (addr, len) = text.split_once('/').ok_or_else(|| bad("missing /LEN"))?;
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| bad("not an IP address before '/'"))?;
        let len: u8 = len
            .parse()
            .map_err(|_| bad("prefix length is not a number"))?;
        IpPrefix::new(addr, len).ok_or_else(|| bad("prefix length longer than the address"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> IpPrefix {
        s.parse().unwrap()
    }

    #[test]
    fn parse_and_display() {
        assert_eq!(p("10.1.2.3/16").to_string(), "10.1.0.0/16");
        assert_eq!(p("0.0.0.0/0").to_string(), "0.0.0.0/0");
        assert_eq!(p("192.0.2.1/32").to_string(), "192.0.2.1/32");
        assert_eq!(p("2001:db8:1::5/48").to_string(), "2001:db8:1::/48");
        assert_eq!(p("::/0").to_string(), "::/0");
        assert!(p("::/0").is_default());
    }

    #[test]
    fn parse_errors_say_why() {
        for (text, reason) in [
            ("10.0.0.0", "missing /LEN"),
            ("10.0.0/8", "not an IP address before '/'"),
            ("10.0.0.0/x", "prefix length is not a number"),
            ("10.0.0.0/33", "prefix length longer than the address"),
            ("::/129", "prefix length longer than the address"),
        ] {
            match text.parse::<IpPrefix>() {
                Err(NetError::BadPrefix { text: t, reason: r }) => {
                    assert_eq!((t.as_str(), r), (text, reason))
                }
                other => panic!("{text}: {other:?}"),
            }
        }
    }

    #[test]
    fn containment() {
        assert!(p("10.0.0.0/8").contains(&p("10.1.0.0/16")));
        assert!(p("10.0.0.0/8").contains(&p("10.0.0.0/8")));
        assert!(!p("10.1.0.0/16").contains(&p("10.0.0.0/8")));
        assert!(!p("10.0.0.0/8").contains(&p("11.0.0.0/16")));
        assert!(p("0.0.0.0/0").contains(&p("203.0.113.0/24")));
        assert!(!p("0.0.0.0/0").contains(&p("::/0")));
    }
}
