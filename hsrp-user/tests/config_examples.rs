//! The three configuration examples in docs/examples parse to exactly the
//! structure they describe, with Cisco's defaults everywhere else; plus the rest of the
//! grammar (IPv6, auth, key chains, follow, route tracking) on a fuller file.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use hsrp_user::config::{
    self, Config, Family, GroupSpec, GroupTrack, IfAddress, InterfaceConfig, Ipv6LinkLocal,
    Ipv6Prefix, PreemptSecs, TimersMs, TrackAction, TrackKind, TrackSpec,
};
use hsrp_user::proto::{Auth, MacAddr, Version};

fn example(name: &str) -> Config {
    let path = format!("{}/../docs/examples/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    config::parse(&text, name).unwrap_or_else(|e| panic!("{name} must parse:\n{e}"))
}

fn eth0(line: usize, groups: Vec<GroupSpec>) -> InterfaceConfig {
    InterfaceConfig {
        name: "eth0".into(),
        line,
        addresses: vec![IfAddress {
            addr: Ipv4Addr::new(192, 168, 1, 1),
            prefix_len: 24,
            secondary: false,
            line: line + 1,
        }],
        version: Version::V2,
        use_bia: false,
        mac_refresh_s: None,
        init_delay_s: None,
        groups,
        bfd: None,
    }
}

/// A v4 group as the examples write it: VIP, priority, preempt.
fn group(n: u16, line: usize, vip: [u8; 4], priority: u8) -> GroupSpec {
    let vip = Ipv4Addr::from(vip);
    let mut g = GroupSpec::new(n, line, Family::Ipv4);
    g.vip = Some(vip);
    g.vip_lines = vec![(IpAddr::V4(vip), line)];
    g.priority = priority;
    g.preempt = Some(PreemptSecs::default());
    g
}

#[test]
fn basic_example_parses_to_one_v2_group_with_msec_timers() {
    let c = example("basic.conf");
    let mut g = group(1, 5, [192, 168, 1, 254], 150);
    g.timers = Some(TimersMs {
        hello_ms: 250,
        hold_ms: 750,
        msec: true,
    });
    assert_eq!(c.interfaces, vec![eth0(2, vec![g])]);
    assert!(c.tracks.is_empty());
    assert!(c.key_chains.is_empty());
    let g = &c.interfaces[0].groups[0];
    assert_eq!((g.hello_ms(), g.hold_ms()), (250, 750));
    assert_eq!(g.auth, Auth::DefaultText, "Cisco default: text \"cisco\"");
    assert_eq!(
        g.virtual_mac(Version::V2),
        MacAddr([0, 0, 0x0c, 0x9f, 0xf0, 0x01])
    );
}

#[test]
fn tracking_example_parses_with_track_object_and_decrement_60() {
    let c = example("tracking.conf");
    let mut g = group(1, 8, [192, 168, 1, 254], 150);
    g.tracks = vec![GroupTrack {
        object: 1,
        action: TrackAction::Decrement(60),
        line: 11,
    }];
    assert_eq!(c.interfaces, vec![eth0(5, vec![g])]);
    let expected: BTreeMap<u32, TrackSpec> = [(
        1,
        TrackSpec {
            id: 1,
            line: 3,
            kind: TrackKind::Interface {
                name: "eth1".into(),
            },
            delay_up_s: 0,
            delay_down_s: 0,
        },
    )]
    .into();
    assert_eq!(c.tracks, expected);
    // Timers not configured: defaults, learnable from the Active.
    let g = &c.interfaces[0].groups[0];
    assert_eq!(g.timers, None);
    assert_eq!((g.hello_ms(), g.hold_ms()), (3000, 10000));
}

#[test]
fn load_balancing_example_parses_to_two_groups_with_opposite_roles() {
    let c = example("load-balancing.conf");
    let g1 = group(1, 7, [192, 168, 1, 254], 150);
    let g2 = group(2, 10, [192, 168, 1, 253], 100);
    assert_eq!(c.interfaces, vec![eth0(4, vec![g1, g2])]);
    let macs: Vec<MacAddr> = c.groups().map(|(i, g)| g.virtual_mac(i.version)).collect();
    assert_eq!(
        macs,
        vec![
            MacAddr([0, 0, 0x0c, 0x9f, 0xf0, 0x01]),
            MacAddr([0, 0, 0x0c, 0x9f, 0xf0, 0x02])
        ]
    );
}

#[test]
fn defaults_are_ciscos() {
    let c = config::parse("interface eth0\n standby ip 10.0.0.1\n", "t.conf").unwrap();
    let ifc = &c.interfaces[0];
    assert_eq!(ifc.version, Version::V1);
    assert!(!ifc.use_bia);
    let g = &ifc.groups[0];
    assert_eq!(g.group, 0, "no group number means group 0");
    assert_eq!(g.priority, 100);
    assert_eq!(g.preempt, None);
    assert_eq!((g.hello_ms(), g.hold_ms()), (3000, 10000));
    assert_eq!(g.auth.text(), Some(&b"cisco"[..]));
    assert_eq!(
        g.virtual_mac(Version::V1),
        MacAddr([0, 0, 0x0c, 0x07, 0xac, 0x00])
    );
}

const FULL: &str = "\
! every form of the grammar
# hash comments too
key chain HSRP-KEYS
 key 7
  key-string later-key
 key 3
  key-string first key with spaces
!
track 10 interface eth1 line-protocol
track 11 ip route 10.20.0.0/16 reachability
track 12 ip route 10.30.0.0 255.255.0.0 reachability
track 13 ipv6 route 2001:db8:99::/48 reachability

interface eth0
 description LAN side
 ip address 192.168.1.2 255.255.255.0
 ip address 192.168.2.2 255.255.255.0 secondary
 standby version 2
 standby use-bia
 standby mac-refresh 30
 standby 300 ip 192.168.1.254
 standby 300 ip 192.168.2.254 secondary
 standby 300 priority 120
 standby 300 preempt delay minimum 30 reload 60
 standby 300 timers 1 4
 standby 300 track 10 shutdown
 standby 300 track 11
 standby 300 track 12 decrement 25
 standby 300 authentication md5 key-chain HSRP-KEYS
 standby 300 name LAN-V4
 standby 301 ip 192.168.1.253
 standby 301 follow LAN-V4
 standby 301 authentication md5 key-string 0 s3cret timeout 30
 standby 6 ipv6 autoconfig
 standby 6 ipv6 2001:db8:1::1/64
 standby 6 track 13 decrement 5
 standby 6 authentication text secret8
interface eth1
 standby 2 ip
 standby 2 authentication legacy
 standby 2 preempt delay 15
interface eth2
 standby version 2
 STANDBY 4 IPV6 FE80::1
 standby 4 mac-address 0200.5e00.0004
 standby 4 timers msec 100 1
";

#[test]
fn full_grammar_parses() {
    let c = config::parse(FULL, "full.conf").unwrap_or_else(|e| panic!("{e}"));
    // Key chains resolve to the lowest-numbered key, the key string keeping its spaces.
    assert_eq!(c.key_chains["HSRP-KEYS"].keys.len(), 2);
    let eth0 = &c.interfaces[0];
    assert_eq!(eth0.name, "eth0");
    assert!(eth0.use_bia);
    assert_eq!(eth0.addresses.len(), 2);
    assert!(eth0.addresses[1].secondary);
    let g300 = &eth0.groups[0];
    assert_eq!(g300.group, 300);
    assert_eq!(g300.secondary_vips, vec![Ipv4Addr::new(192, 168, 2, 254)]);
    assert_eq!(
        g300.auth,
        Auth::Md5 {
            key: b"first key with spaces".to_vec(),
            key_id: 3
        }
    );
    assert_eq!(g300.key_chain.as_deref(), Some("HSRP-KEYS"));
    assert_eq!(
        g300.preempt,
        Some(PreemptSecs {
            minimum_s: 30,
            reload_s: 60,
            sync_s: 0
        })
    );
    assert_eq!(
        g300.timers,
        Some(TimersMs {
            hello_ms: 1000,
            hold_ms: 4000,
            msec: false
        })
    );
    let actions: Vec<(u32, TrackAction)> =
        g300.tracks.iter().map(|t| (t.object, t.action)).collect();
    assert_eq!(
        actions,
        vec![
            (10, TrackAction::Shutdown),
            (11, TrackAction::Decrement(10)),
            (12, TrackAction::Decrement(25))
        ]
    );
    assert_eq!(g300.name.as_deref(), Some("LAN-V4"));
    let g301 = &eth0.groups[1];
    assert_eq!(g301.follow.as_deref(), Some("LAN-V4"));
    assert_eq!(eth0.mac_refresh_s, Some(30));
    assert_eq!(g301.key_timeout_s, Some(30));
    assert_eq!(
        g301.auth,
        Auth::Md5 {
            key: b"s3cret".to_vec(),
            key_id: 0
        }
    );
    let g6 = &eth0.groups[2];
    assert_eq!(g6.family, Family::Ipv6);
    assert_eq!(g6.ipv6_link_local, Some(Ipv6LinkLocal::Autoconfig));
    // Group 6: vMAC 0005.73a0.0006, link-local with ff:fe inserted and no U/L flip.
    assert_eq!(
        g6.virtual_link_local(),
        Some("fe80::5:73ff:fea0:6".parse::<Ipv6Addr>().unwrap())
    );
    assert_eq!(
        g6.ipv6_vips,
        vec![Ipv6Prefix {
            addr: "2001:db8:1::1".parse().unwrap(),
            prefix_len: 64
        }]
    );
    assert_eq!(g6.auth, Auth::Text(b"secret8".to_vec()));

    let eth1 = &c.interfaces[1];
    assert_eq!(eth1.version, Version::V1);
    let g2 = &eth1.groups[0];
    assert_eq!(g2.vip, None, "bare `standby 2 ip` learns the VIP");
    assert_eq!(g2.auth, Auth::Text(b"legacy".to_vec()));
    assert_eq!(g2.preempt.map(|p| p.minimum_s), Some(15));

    let g4 = &c.interfaces[2].groups[0];
    assert_eq!(
        g4.ipv6_link_local,
        Some(Ipv6LinkLocal::Explicit("fe80::1".parse().unwrap()))
    );
    assert_eq!(g4.virtual_mac(Version::V2), MacAddr([2, 0, 0x5e, 0, 0, 4]));
    assert_eq!(
        g4.timers,
        Some(TimersMs {
            hello_ms: 100,
            hold_ms: 1000,
            msec: true
        })
    );

    assert_eq!(
        c.tracks[&12].kind,
        TrackKind::Route {
            prefix: "10.30.0.0".parse().unwrap(),
            prefix_len: 16
        }
    );
    assert_eq!(
        c.tracks[&13].kind,
        TrackKind::Route {
            prefix: "2001:db8:99::".parse().unwrap(),
            prefix_len: 48
        }
    );
}

#[test]
fn repeated_interface_blocks_merge_and_identical_repeats_are_harmless() {
    let text = "interface eth0\n standby 1 ip 10.0.0.1\n standby 1 priority 110\ninterface eth1\n standby 1 ip 10.1.0.1\ninterface eth0\n standby 1 priority 110\n standby 1 preempt\n";
    let c = config::parse(text, "t.conf").unwrap();
    assert_eq!(c.interfaces.len(), 2);
    let g = &c.interfaces[0].groups[0];
    assert_eq!((g.priority, g.preempt.is_some()), (110, true));
}

#[test]
fn crlf_line_endings_and_tabs_are_accepted() {
    let c = config::parse("interface eth0\r\n\tstandby 1 ip 10.0.0.1\r\n", "t.conf").unwrap();
    assert_eq!(
        c.interfaces[0].groups[0].vip,
        Some(Ipv4Addr::new(10, 0, 0, 1))
    );
}
