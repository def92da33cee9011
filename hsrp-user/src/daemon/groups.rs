//! From the configuration to the state machines: one `fsm::GroupConfig` per configured
//! group, the address each group speaks from, and the keys a receiver accepts.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use anyhow::{bail, Result};

use crate::config::{self, Config, Family, GroupSpec, InterfaceConfig};
use crate::fsm::{self, GroupConfig};
use crate::net::InterfaceInfo;
use crate::proto::{Auth, MacAddr, Version};

/// Identifies a group across reloads: interface, group number and address family (v2
/// runs an IPv4 and an IPv6 group with the same number independently).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GroupKey {
    pub iface: String,
    pub group: u16,
    pub ipv6: bool,
}

/// The prefix of the group's log lines: `lan0 grp 1`.
impl std::fmt::Display for GroupKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} grp {}", self.iface, self.group)
    }
}

impl GroupKey {
    pub fn of(iface: &InterfaceConfig, spec: &GroupSpec) -> GroupKey {
        GroupKey {
            iface: iface.name.clone(),
            group: spec.group,
            ipv6: spec.family == Family::Ipv6,
        }
    }
}

/// The state machine's view of a configured group. `if_mac` is the interface MAC, used as
/// the virtual MAC with `standby use-bia`.
pub fn group_config(iface: &InterfaceConfig, spec: &GroupSpec, if_mac: MacAddr) -> GroupConfig {
    let vip = match spec.family {
        Family::Ipv4 => spec.vip.map(IpAddr::V4),
        Family::Ipv6 => spec.virtual_link_local().map(IpAddr::V6),
    };
    let mac = if iface.use_bia {
        Some(if_mac)
    } else {
        spec.mac
    };
    GroupConfig {
        group: spec.group,
        version: iface.version,
        vip,
        priority: spec.priority,
        preempt: spec.preempt.map(|p| fsm::Preempt {
            delay_minimum: Duration::from_secs(p.minimum_s.into()),
            delay_reload: Duration::from_secs(p.reload_s.into()),
            delay_sync: Duration::from_secs(p.sync_s.into()),
        }),
        timers: spec
            .timers
            .map(|t| fsm::Timers::from_millis(t.hello_ms.into(), t.hold_ms.into())),
        tracks: spec
            .tracks
            .iter()
            .map(|t| fsm::Track {
                object: t.object,
                action: t.action,
            })
            .collect(),
        auth: spec.auth.clone(),
        mac,
        name: spec.name.clone(),
        ra_lifetime_s: spec.ra_lifetime_s(),
        init_delay: iface.init_delay_s.map(|(minimum, reload)| fsm::InitDelay {
            minimum: Duration::from_secs(minimum.into()),
            reload: Duration::from_secs(reload.into()),
        }),
        follow: spec.follow.as_ref().map(|master| fsm::Follow {
            master: master.clone(),
            mac_refresh: iface
                .mac_refresh_s
                .map_or(Some(fsm::config::DEFAULT_MAC_REFRESH), |s| {
                    (s > 0).then(|| Duration::from_secs(s.into()))
                }),
        }),
    }
}

/// The address a group speaks from: IPv6 groups the interface link-local; IPv4 groups the
/// kernel address in the VIP's subnet (the configured `ip address` if it names one), else
/// the first IPv4 address of the interface.
pub fn local_ip(iface: &InterfaceConfig, spec: &GroupSpec, info: &InterfaceInfo) -> Result<IpAddr> {
    if spec.family == Family::Ipv6 {
        return match info.ipv6_link_local {
            Some(ll) => Ok(IpAddr::V6(ll)),
            None => bail!(
                "{}: group {} is an IPv6 group but the interface has no usable link-local address",
                iface.name,
                spec.group
            ),
        };
    }
    let in_subnet = |a: Ipv4Addr, len: u8| {
        spec.vip
            .is_some_and(|vip| config::ipv4_prefix_contains(a, len, vip))
    };
    let configured = iface
        .addresses
        .iter()
        .filter(|a| !a.secondary)
        .map(|a| a.addr)
        .find(|a| info.ipv4.iter().any(|k| k.addr == *a));
    let pick = info
        .ipv4
        .iter()
        .find(|a| in_subnet(a.addr, a.prefix_len) && Some(a.addr) == configured)
        .or_else(|| info.ipv4.iter().find(|a| in_subnet(a.addr, a.prefix_len)))
        .map(|a| a.addr)
        .or(configured)
        .or_else(|| info.ipv4.first().map(|a| a.addr));
    match pick {
        Some(a) => Ok(IpAddr::V4(a)),
        None => bail!(
            "{}: group {} needs an IPv4 address on the interface to speak from, and it has none",
            iface.name,
            spec.group
        ),
    }
}

/// Floor of the per-source control budget: a flood from one source is dropped in XDP
/// beyond it (tests/tests/hostile_flood.rs). 2000/s covers a neighbour with 4096 v2 groups at 3 s.
pub const CONTROL_RATE_FLOOR_PPS: u32 = 2000;
pub const CONTROL_BURST_FLOOR: u32 = 500;

/// The per-source budget for HSRP control frames (pps, burst) that this configuration
/// needs: a neighbour running the same groups sends each one's hellos at up to 1/0.8 of
/// the hello rate (downward jitter); twice that leaves room for Coups, Resigns and the
/// interface announcements, and a burst of two frames per group covers every group
/// changing state at once. Never below the floors, so small configurations keep the flood
/// protection as tight as it was.
pub fn control_budget(config: &Config) -> (u32, u32) {
    let default_hello_ms = fsm::config::DEFAULT_HELLO.as_millis() as f64;
    let mut pps = 0.0;
    let mut groups = 0u32;
    for (_, spec) in config.groups() {
        let hello_ms = spec
            .timers
            .map_or(default_hello_ms, |t| f64::from(t.hello_ms).max(1.0));
        pps += 1000.0 / (0.8 * hello_ms);
        groups += 1;
    }
    let pps = (2.0 * pps).ceil().min(f64::from(u32::MAX)) as u32;
    (
        pps.max(CONTROL_RATE_FLOOR_PPS),
        groups.saturating_mul(2).max(CONTROL_BURST_FLOOR),
    )
}

/// Every authentication a received message of this group may carry: the configured one,
/// and with `md5 key-chain` every key of the chain (key rollover).
pub fn accepted_auths(config: &Config, spec: &GroupSpec) -> Vec<Auth> {
    let mut out = vec![spec.auth.clone()];
    if let Some(chain) = spec
        .key_chain
        .as_ref()
        .and_then(|n| config.key_chains.get(n))
    {
        for (id, key) in &chain.keys {
            if let Some(k) = &key.key_string {
                let auth = Auth::Md5 {
                    key: k.clone(),
                    key_id: *id,
                };
                if !out.contains(&auth) {
                    out.push(auth);
                }
            }
        }
    }
    out
}

/// What `show standby` prints for the authentication of a group.
pub fn auth_label(spec: &GroupSpec) -> String {
    match (&spec.auth, &spec.key_chain) {
        (Auth::Md5 { .. }, Some(chain)) => format!("md5 key-chain {chain}"),
        (Auth::Md5 { .. }, None) => "md5 key-string".into(),
        (Auth::Text(_), _) => "text".into(),
        (Auth::DefaultText, _) => "text \"cisco\" (default)".into(),
        (Auth::None, _) => "none".into(),
    }
}

/// Cisco's dotted MAC notation (`0000.0c9f.f001`), as `show standby` prints it.
pub fn cisco_mac(mac: MacAddr) -> String {
    let m = mac.0;
    format!(
        "{:02x}{:02x}.{:02x}{:02x}.{:02x}{:02x}",
        m[0], m[1], m[2], m[3], m[4], m[5]
    )
}

/// The version as the status shows it.
pub fn version_number(v: Version) -> u8 {
    match v {
        Version::V1 => 1,
        Version::V2 => 2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::IfAddr;

    fn info(addrs: &[(&str, u8)]) -> InterfaceInfo {
        InterfaceInfo {
            name: "eth0".into(),
            ifindex: 2,
            mac: MacAddr([2, 0, 0, 0, 0, 1]),
            mtu: 1500,
            admin_up: true,
            oper_up: true,
            carrier: true,
            ipv4: addrs
                .iter()
                .map(|(a, l)| IfAddr {
                    addr: a.parse().unwrap(),
                    prefix_len: *l,
                })
                .collect(),
            ipv6_link_local: Some("fe80::1".parse().unwrap()),
            ipv6_global: vec![],
        }
    }

    fn load(text: &str) -> Config {
        config::parse(text, "t.conf").unwrap()
    }

    #[test]
    fn maps_the_seed_example_onto_the_state_machine() {
        let cfg = load(
            "interface eth0\n ip address 192.168.1.1 255.255.255.0\n standby version 2\n \
             standby 1 ip 192.168.1.254\n standby 1 priority 150\n standby 1 preempt\n \
             standby 1 timers msec 250 msec 750\n standby 1 track 1 decrement 60\n\
             track 1 interface eth1 line-protocol\n",
        );
        let (i, g) = cfg.groups().next().unwrap();
        let gc = group_config(i, g, MacAddr::default());
        assert_eq!(gc.version, Version::V2);
        assert_eq!(gc.vip, Some("192.168.1.254".parse().unwrap()));
        assert_eq!(gc.priority, 150);
        assert!(gc.preempt.is_some());
        assert_eq!(gc.timers, Some(fsm::Timers::from_millis(250, 750)));
        assert_eq!(
            gc.tracks,
            vec![fsm::Track {
                object: 1,
                action: fsm::TrackAction::Decrement(60)
            }]
        );
        assert_eq!(gc.virtual_mac(false), MacAddr([0, 0, 0x0c, 0x9f, 0xf0, 1]));
        let ip = local_ip(i, g, &info(&[("10.0.0.1", 24), ("192.168.1.1", 24)])).unwrap();
        assert_eq!(ip, "192.168.1.1".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn the_control_budget_grows_with_many_fast_groups_and_never_drops_below_the_floor() {
        let one =
            load("interface eth0\n standby 1 ip 10.0.0.254\n standby 1 timers msec 100 msec 300\n");
        assert_eq!(
            control_budget(&one),
            (CONTROL_RATE_FLOOR_PPS, CONTROL_BURST_FLOOR)
        );
        let mut text = String::from("interface eth0\n standby version 2\n");
        for g in 1..=1000 {
            text.push_str(&format!(
                " standby {g} ip 10.2.{}.{}\n standby {g} timers msec 100 msec 300\n",
                g / 250,
                1 + g % 250
            ));
        }
        // 1000 groups x 12.5 hellos/s x 2.
        assert_eq!(control_budget(&load(&text)), (25_000, 2000));
    }

    #[test]
    fn use_bia_makes_the_interface_mac_the_virtual_mac() {
        let cfg = load("interface eth0\n standby use-bia\n standby 1 ip 10.0.0.254\n");
        let (i, g) = cfg.groups().next().unwrap();
        let mac = MacAddr([2, 1, 2, 3, 4, 5]);
        assert_eq!(group_config(i, g, mac).virtual_mac(false), mac);
    }

    /// `use-bia` on an IPv6 group: the vMAC is each router's own interface MAC, but the
    /// virtual link-local hosts take as their router stays the one derived from the
    /// group's protocol vMAC (0005.73a0.0XXX), the same on every router of the group.
    /// Derived from the BIA instead it would differ per router, and every takeover would
    /// change the default router's address (hosts would keep the dead one until its RA
    /// lifetime ran out); the unsolicited NA (override) moves the same address to the new
    /// Active's MAC.
    #[test]
    fn use_bia_ipv6_groups_share_the_virtual_link_local_whatever_their_mac() {
        let cfg = load(
            "interface eth0\n standby version 2\n standby use-bia\n standby 1 ipv6 autoconfig\n",
        );
        let (i, g) = cfg.groups().next().unwrap();
        let shared: IpAddr = "fe80::5:73ff:fea0:1".parse().unwrap();
        let protocol_vmac = crate::wire::vmac(Version::V2, true, 1);
        assert_eq!(
            IpAddr::V6(crate::wire::virtual_link_local(protocol_vmac)),
            shared
        );
        for bia in [MacAddr([2, 1, 2, 3, 4, 5]), MacAddr([2, 9, 8, 7, 6, 5])] {
            let gc = group_config(i, g, bia);
            assert_eq!(
                gc.virtual_mac(true),
                bia,
                "the vMAC installed and sent from"
            );
            assert_eq!(gc.vip, Some(shared), "the router address hosts use");
        }
        // What the data plane answers for (the VIP map) is that same address.
        assert!(g.virtual_ips().contains(&shared));
        assert_eq!(IpAddr::V6(super::super::ra::ra_source(g, None)), shared);
    }

    #[test]
    fn no_ipv4_address_is_a_clear_error() {
        let cfg = load("interface eth0\n standby 1 ip 10.0.0.254\n");
        let (i, g) = cfg.groups().next().unwrap();
        let err = local_ip(i, g, &info(&[])).unwrap_err().to_string();
        assert!(err.contains("eth0") && err.contains("group 1"), "{err}");
        assert_eq!(
            cisco_mac(MacAddr([0, 0, 0x0c, 0x9f, 0xf0, 1])),
            "0000.0c9f.f001"
        );
    }
}
