//! Router Advertisements of IPv6 groups: the Active advertises the virtual router (source
//! = the virtual link-local, Ethernet source = the vMAC) so hosts take it as their default
//! gateway, and a failover is invisible to them (same router address, same MAC). When one
//! goes out is the state machine's decision (`fsm::ra`); this builds and sends it.
//!
//! Prefixes advertised: every global prefix of the interface (read afresh from netlink at
//! each RA, so addresses added later are announced) and the prefixes of the group's
//! `standby G ipv6 X::Y/L` addresses; on-link, autonomous when /64. The router lifetime is
//! `standby G ipv6 ra-lifetime S` (default 1800 s, as IOS).

use std::net::{IpAddr, Ipv6Addr};

use log::{debug, warn};

use super::Daemon;
use crate::fsm::{Event, RaAction};
use crate::wire::frame::ALL_NODES;
use crate::wire::rx;
use crate::wire::{self, PrefixInfo, RaRepr};

/// Room for an RA frame with [`wire::ra::MAX_PREFIXES`] prefixes.
const RA_FRAME_BUF: usize = 14 + 40 + wire::ra::HEADER_LEN + 16 + 16 * 32;

impl Daemon {
    /// Carries out what the state machine of group `gi` decided about its RAs.
    pub(super) async fn ra_action(&mut self, gi: usize, action: RaAction) {
        match action {
            RaAction::Advertise { lifetime_s } => self.send_ra(gi, lifetime_s, true).await,
            RaAction::Withdraw => self.send_ra(gi, 0, false).await,
            RaAction::Silence => {
                let g = &self.groups[gi];
                debug!(
                    "{}: RAs stop (another router is Active now; no final RA)",
                    g.key
                );
            }
        }
    }

    /// A valid Router Solicitation on interface `iface`: each IPv6 group Active there
    /// moves its next RA up; the loop's next wake-up sends it. Groups not Active (and
    /// IPv4 groups, which have no RAs) ignore it.
    pub(super) async fn on_solicitation(&mut self, iface: usize, rs: rx::Solicitation) {
        for k in 0..self.groups.ipv6().len() {
            let gi = self.groups.ipv6()[k];
            if self.groups[gi].iface != iface {
                continue;
            }
            self.feed(gi, Event::RouterSolicitation).await;
            let now = self.now();
            let g = &self.groups[gi];
            if let Some(at) = g.fsm.next_ra() {
                debug!(
                    "{}: Router Solicitation from {} ({}): RA in {} ms",
                    g.key,
                    rs.src_ip,
                    rs.src_mac,
                    at.saturating_since(now).as_millis()
                );
            }
        }
    }

    /// One RA of group `gi` with `lifetime_s` to all-nodes. `refresh`: read the interface's
    /// prefixes from netlink first (the final RA skips that: it must not wait).
    async fn send_ra(&mut self, gi: usize, lifetime_s: u16, refresh: bool) {
        let i = self.groups[gi].iface;
        if refresh {
            match self.netlink.interface_info(&self.ifaces[i].cfg.name).await {
                Ok(info) => {
                    // Only what the RA reads; the rest of `info` keeps its meaning.
                    self.ifaces[i].info.ipv6_global = info.ipv6_global;
                    self.ifaces[i].info.mtu = info.mtu;
                }
                Err(e) => debug!("{}: prefixes not refreshed: {e:#}", self.ifaces[i].cfg.name),
            }
        }
        let g = &self.groups[gi];
        let iface = &self.ifaces[i];
        let vmac = g.fsm.virtual_mac();
        let src = ra_source(&g.spec, g.fsm.vip());
        let globals = iface
            .info
            .ipv6_global
            .iter()
            .map(|a| (a.addr, a.prefix_len));
        let prefixes =
            prefixes(globals.chain(g.spec.ipv6_vips.iter().map(|p| (p.addr, p.prefix_len))));
        let ra = RaRepr::virtual_router(vmac, lifetime_s, Some(iface.info.mtu), prefixes);
        let mut buf = [0u8; RA_FRAME_BUF];
        match wire::router_advertisement(vmac, src, ALL_NODES, &ra, &mut buf) {
            Ok(n) => match iface.socket.send(&buf[..n]).await {
                Ok(_) => debug!(
                    "{}: RA from {src} lifetime {lifetime_s} s, {} prefix(es)",
                    g.key,
                    ra.prefixes.len()
                ),
                Err(e) => warn!("{}: sending an RA: {e}", g.key),
            },
            Err(e) => warn!("{}: cannot build an RA: {e}", g.key),
        }
    }
}

/// The RA's source: the group's virtual link-local (`vip`, as the state machine has it),
/// else the one derived from the group's protocol vMAC, never from the vMAC in use, which
/// with `use-bia` is this router's own (see `groups`).
pub fn ra_source(spec: &crate::config::GroupSpec, vip: Option<IpAddr>) -> Ipv6Addr {
    match vip {
        Some(IpAddr::V6(ll)) => ll,
        _ => wire::virtual_link_local(spec.virtual_mac(crate::proto::Version::V2)),
    }
}

/// The Prefix Information options for these addresses: one per distinct prefix, link-local
/// and multicast left out, at most [`wire::ra::MAX_PREFIXES`].
pub fn prefixes(addrs: impl Iterator<Item = (Ipv6Addr, u8)>) -> Vec<PrefixInfo> {
    let mut out: Vec<PrefixInfo> = Vec::new();
    for (addr, len) in addrs {
        let link_local = addr.segments()[0] & 0xffc0 == 0xfe80;
        if link_local || addr.is_multicast() || out.len() == wire::ra::MAX_PREFIXES {
            continue;
        }
        if let Some(p) = PrefixInfo::of_address(addr, len) {
            if !out.iter().any(|o| (o.prefix, o.len) == (p.prefix, p.len)) {
                out.push(p);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config;
    use crate::proto::MacAddr;

    #[test]
    fn prefixes_are_distinct_and_global() {
        let addrs = [
            ("2001:db8::2", 64),
            ("2001:db8::1", 64),
            ("fe80::1", 64),
            ("fd00:1::1", 48),
        ];
        let p = prefixes(addrs.iter().map(|(a, l)| (a.parse().unwrap(), *l)));
        let got: Vec<String> = p
            .iter()
            .map(|p| format!("{}/{}", p.prefix, p.len))
            .collect();
        assert_eq!(got, ["2001:db8::/64", "fd00:1::/48"]);
        assert!(p[0].autonomous && !p[1].autonomous);
        let many = (0..40u16).map(|i| (Ipv6Addr::new(0x2001, 0xdb8, i, 0, 0, 0, 0, 1), 64));
        assert_eq!(prefixes(many).len(), wire::ra::MAX_PREFIXES);
        // Sixteen prefixes fit the frame buffer.
        let ra = RaRepr::virtual_router(
            MacAddr::default(),
            1,
            Some(1500),
            prefixes((0..16u16).map(|i| (Ipv6Addr::new(0x2001, 0xdb8, i, 0, 0, 0, 0, 1), 64))),
        );
        let mut buf = [0u8; RA_FRAME_BUF];
        assert!(wire::router_advertisement(
            MacAddr::default(),
            Ipv6Addr::LOCALHOST,
            ALL_NODES,
            &ra,
            &mut buf
        )
        .is_ok());
    }

    #[test]
    fn ra_lifetime_is_configurable_per_ipv6_group() {
        let text = "interface eth0\n standby version 2\n standby 1 ipv6 autoconfig\n \
                    standby 1 ipv6 ra-lifetime 30\n standby 2 ipv6 autoconfig\n";
        let cfg = config::parse(text, "t.conf").unwrap();
        let groups: Vec<_> = cfg.groups().map(|(_, g)| g.ra_lifetime_s()).collect();
        assert_eq!(groups, [30, config::DEFAULT_RA_LIFETIME_S]);
        for (bad, want) in [
            (
                "standby 1 ipv6 ra-lifetime 5",
                "t.conf:4: standby 1 ipv6 ra-lifetime 5: RA lifetime must be 12-9000",
            ),
            ("standby 1 ipv6 ra-lifetime 9001", "9000"),
            ("standby 1 ipv6 ra-lifetime", "incomplete"),
            ("standby 1 ipv6 ra-lifetime 30 40", "unexpected `40`"),
        ] {
            let text =
                format!("interface eth0\n standby version 2\n standby 1 ipv6 autoconfig\n {bad}\n");
            let err = config::parse(&text, "t.conf").unwrap_err().to_string();
            assert!(err.contains(want), "{bad}: {err}");
        }
        let v4 = "interface eth0\n standby version 2\n standby 1 ip 10.0.0.1\n \
                  standby 1 ipv6 ra-lifetime 30\n";
        let err = config::parse(v4, "t.conf").unwrap_err().to_string();
        assert!(err.contains("IPv4 group"), "{err}");
    }
}
