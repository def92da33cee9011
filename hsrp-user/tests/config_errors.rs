//! Hostile input, configuration half: a table of broken configurations, each with the exact
//! error lines expected (`FILE:LINE: TEXT: reason`), and the checks against the system with
//! a fabricated view of the kernel's interfaces.

use std::net::IpAddr;

use hsrp_user::config::{self, SystemView};

/// (what is wrong, config text, expected error lines). Every config has a valid
/// interface block around the mistake so the only errors are the ones listed.
const BROKEN: &[(&str, &str, &[&str])] = &[
    (
        "fast-path with a bad value",
        "fast-path maybe\ninterface eth0\n standby 1 ip 10.0.0.1\n",
        &["b.conf:1: fast-path maybe: fast-path maybe: expected on, off or auto"],
    ),
    (
        "fast-path without a value",
        "fast-path\ninterface eth0\n standby 1 ip 10.0.0.1\n",
        &["b.conf:1: fast-path: incomplete command: fast-path on|off|auto"],
    ),
    (
        "fast-path twice",
        "fast-path on\nfast-path off\ninterface eth0\n standby 1 ip 10.0.0.1\n",
        &["b.conf:2: fast-path off: fast-path is already set on line 1"],
    ),
    (
        "fast-path with trailing words",
        "fast-path on now\ninterface eth0\n standby 1 ip 10.0.0.1\n",
        &["b.conf:1: fast-path on now: unexpected `now`"],
    ),
    (
        "unknown top-level command",
        "hostname r1\ninterface eth0\n standby 1 ip 10.0.0.1\n",
        &["b.conf:1: hostname r1: unknown command `hostname` (expected interface, track, key chain, ip sla, fast-path or hsrpd)"],
    ),
    (
        "real-time priority out of range",
        "hsrpd realtime priority 100\ninterface eth0\n standby 1 ip 10.0.0.1\n",
        &["b.conf:1: hsrpd realtime priority 100: real-time priority `100` is not a number from 1 to 99"],
    ),
    (
        "real-time priority zero",
        "hsrpd realtime priority 0\ninterface eth0\n standby 1 ip 10.0.0.1\n",
        &["b.conf:1: hsrpd realtime priority 0: real-time priority `0` is not a number from 1 to 99"],
    ),
    (
        "real-time without a priority",
        "hsrpd realtime\ninterface eth0\n standby 1 ip 10.0.0.1\n",
        &["b.conf:1: hsrpd realtime: incomplete command: hsrpd realtime priority N (N = 1-99)"],
    ),
    (
        "real-time with a trailing word",
        "hsrpd realtime priority 20 memlock\ninterface eth0\n standby 1 ip 10.0.0.1\n",
        &["b.conf:1: hsrpd realtime priority 20 memlock: unexpected `memlock`"],
    ),
    (
        "unknown daemon setting",
        "hsrpd turbo\ninterface eth0\n standby 1 ip 10.0.0.1\n",
        &["b.conf:1: hsrpd turbo: unknown hsrpd command `turbo` (expected notify or realtime)"],
    ),
    (
        "two different real-time priorities",
        "hsrpd realtime priority 20\nhsrpd realtime priority 30\ninterface eth0\n standby 1 ip 10.0.0.1\n",
        &["b.conf:2: hsrpd realtime priority 30: hsrpd realtime priority already set to a different value at line 1"],
    ),
    (
        "unknown interface command",
        "interface eth0\n shutdown\n standby 1 ip 10.0.0.1\n",
        &["b.conf:2: shutdown: unknown interface command `shutdown` (expected ip address, standby or description)"],
    ),
    (
        "unknown ip sub-command",
        "interface eth0\n ip helper-address 10.0.0.9\n standby 1 ip 10.0.0.1\n",
        &["b.conf:2: ip helper-address 10.0.0.9: unknown interface command `ip helper-address` (expected ip address, standby or description)"],
    ),
    (
        "unknown standby command",
        "interface eth0\n standby 1 ip 10.0.0.1\n standby 1 bogus 5\n",
        &["b.conf:3: standby 1 bogus 5: unknown standby command `bogus` (expected ip, ipv6, priority, preempt, timers, track, authentication, name, mac-address or follow)"],
    ),
    (
        "priority out of range",
        "interface eth0\n standby 1 ip 10.0.0.1\n standby 1 priority 300\n",
        &["b.conf:3: standby 1 priority 300: priority must be 1-255"],
    ),
    (
        "priority zero",
        "interface eth0\n standby 1 ip 10.0.0.1\n standby 1 priority 0\n",
        &["b.conf:3: standby 1 priority 0: priority must be 1-255"],
    ),
    (
        "priority not a number",
        "interface eth0\n standby 1 ip 10.0.0.1\n standby 1 priority high\n",
        &["b.conf:3: standby 1 priority high: priority must be 1-255"],
    ),
    (
        "group above 4095",
        "interface eth0\n standby version 2\n standby 4096 ip 10.0.0.1\n",
        &["b.conf:3: standby 4096 ip 10.0.0.1: group must be 0-4095"],
    ),
    (
        "v1 group above 255",
        "interface eth0\n standby 300 ip 10.0.0.1\n",
        &["b.conf:2: standby 300 ip 10.0.0.1: group 300 needs `standby version 2` (version 1 groups are 0-255)"],
    ),
    (
        "bad version",
        "interface eth0\n standby version 3\n standby 1 ip 10.0.0.1\n",
        &["b.conf:2: standby version 3: standby version must be 1 or 2"],
    ),
    (
        "hold equal to hello",
        "interface eth0\n standby 1 ip 10.0.0.1\n standby 1 timers 3 3\n",
        &["b.conf:3: standby 1 timers 3 3: hold time must be greater than hello time"],
    ),
    (
        "hold below hello",
        "interface eth0\n standby 1 ip 10.0.0.1\n standby 1 timers 5 2\n",
        &["b.conf:3: standby 1 timers 5 2: hold time must be greater than hello time"],
    ),
    (
        "msec hold below 3 x hello",
        "interface eth0\n standby version 2\n standby 1 ip 10.0.0.1\n standby 1 timers msec 250 msec 500\n",
        &["b.conf:4: standby 1 timers msec 250 msec 500: with msec timers the hold time must be at least 3 x hello time (750 ms)"],
    ),
    (
        "msec hello below 15",
        "interface eth0\n standby 1 ip 10.0.0.1\n standby 1 timers msec 10 msec 100\n",
        &["b.conf:3: standby 1 timers msec 10 msec 100: hello time must be 15-999 ms"],
    ),
    (
        "msec hold above 3000",
        "interface eth0\n standby 1 ip 10.0.0.1\n standby 1 timers msec 100 msec 4000\n",
        &["b.conf:3: standby 1 timers msec 100 msec 4000: hold time must be 50-3000 ms"],
    ),
    (
        "hello seconds out of range",
        "interface eth0\n standby 1 ip 10.0.0.1\n standby 1 timers 0 10\n",
        &["b.conf:3: standby 1 timers 0 10: hello time must be 1-254 s"],
    ),
    (
        "timers incomplete",
        "interface eth0\n standby 1 ip 10.0.0.1\n standby 1 timers msec 100\n",
        &["b.conf:3: standby 1 timers msec 100: incomplete command: standby G timers [msec] HELLO [msec] HOLD"],
    ),
    (
        "duplicate VIP across groups",
        "interface eth0\n standby 1 ip 10.0.0.1\n standby 2 ip 10.0.0.1\n",
        &["b.conf:3: standby 2 ip 10.0.0.1: virtual IP 10.0.0.1 is already used by eth0 group 1 (line 2)"],
    ),
    (
        "duplicate VIP across interfaces",
        "interface eth0\n standby 1 ip 10.0.0.1\ninterface eth1\n standby 1 ip 10.0.0.1 secondary\n",
        &["b.conf:4: standby 1 ip 10.0.0.1 secondary: virtual IP 10.0.0.1 is already used by eth0 group 1 (line 2)"],
    ),
    (
        "v1 group with IPv6",
        "interface eth0\n standby 1 ipv6 autoconfig\n",
        &["b.conf:2: standby 1 ipv6 autoconfig: IPv6 groups need `standby version 2`"],
    ),
    (
        "IPv4 and IPv6 in one group",
        "interface eth0\n standby version 2\n standby 1 ip 10.0.0.1\n standby 1 ipv6 autoconfig\n",
        &["b.conf:4: standby 1 ipv6 autoconfig: group 1 is an IPv4 group (line 3); use another group number for IPv6"],
    ),
    (
        "IPv6 global VIP without link-local",
        "interface eth0\n standby version 2\n standby 1 ipv6 2001:db8::1/64\n",
        &["b.conf:3: standby 1 ipv6 2001:db8::1/64: an IPv6 group needs a virtual link-local address: add `standby 1 ipv6 autoconfig`"],
    ),
    (
        "IPv6 global VIP without prefix length",
        "interface eth0\n standby version 2\n standby 1 ipv6 autoconfig\n standby 1 ipv6 2001:db8::1\n",
        &["b.conf:4: standby 1 ipv6 2001:db8::1: global IPv6 virtual address needs a prefix length (2001:db8::1/64)"],
    ),
    (
        "bad IPv4 VIP",
        "interface eth0\n standby 1 ip 10.0.0.300\n",
        &["b.conf:2: standby 1 ip 10.0.0.300: `10.0.0.300` is not an IPv4 address"],
    ),
    (
        "multicast VIP",
        "interface eth0\n standby 1 ip 224.0.0.2\n",
        &["b.conf:2: standby 1 ip 224.0.0.2: 224.0.0.2 cannot be a virtual address"],
    ),
    (
        "VIP outside the interface's subnet",
        "interface eth0\n ip address 192.168.1.1 255.255.255.0\n standby 1 ip 10.0.0.1\n",
        &["b.conf:3: standby 1 ip 10.0.0.1: virtual IP 10.0.0.1 is not in a subnet of eth0 (192.168.1.1/24)"],
    ),
    (
        "VIP equal to the interface address",
        "interface eth0\n ip address 192.168.1.1 255.255.255.0\n standby 1 ip 192.168.1.1\n",
        &["b.conf:3: standby 1 ip 192.168.1.1: virtual IP 192.168.1.1 is the interface's own address (line 2)"],
    ),
    (
        "non-contiguous netmask",
        "interface eth0\n ip address 192.168.1.1 255.0.255.0\n standby 1 ip 192.168.1.254\n",
        &["b.conf:2: ip address 192.168.1.1 255.0.255.0: netmask 255.0.255.0 is not contiguous"],
    ),
    (
        "IOS interface name",
        "interface GigabitEthernet0/0\n standby 1 ip 10.0.0.1\ninterface eth0\n standby 2 ip 10.0.0.2\n",
        &["b.conf:1: interface GigabitEthernet0/0: `GigabitEthernet0/0` is not a Linux interface name (use the name `ip link` shows: at most 15 characters, no '/' or ':')"],
    ),
    (
        "track object not defined",
        "interface eth0\n standby 1 ip 10.0.0.1\n standby 1 track 5 decrement 20\n",
        &["b.conf:3: standby 1 track 5 decrement 20: track object 5 is not defined (add a top-level `track 5 interface IF line-protocol` or `track 5 ip route PREFIX reachability`)"],
    ),
    (
        "decrement out of range",
        "track 1 interface eth1 line-protocol\ninterface eth0\n standby 1 ip 10.0.0.1\n standby 1 track 1 decrement 256\n",
        &["b.conf:4: standby 1 track 1 decrement 256: decrement must be 1-255"],
    ),
    (
        "unsupported track type",
        "track 1 interface eth1 ipv6 routing\ninterface eth0\n standby 1 ip 10.0.0.1\n standby 1 track 1\n",
        &["b.conf:1: track 1 interface eth1 ipv6 routing: unsupported track type `ipv6 routing` (expected line-protocol or ip routing)"],
    ),
    (
        "track route with host bits",
        "track 2 ip route 10.1.2.3/8 reachability\ninterface eth0\n standby 1 ip 10.0.0.1\n",
        &["b.conf:1: track 2 ip route 10.1.2.3/8 reachability: prefix 10.1.2.3/8 has host bits set (did you mean 10.0.0.0/8?)"],
    ),
    (
        "track redefined differently",
        "track 1 interface eth1 line-protocol\ntrack 1 interface eth2 line-protocol\ninterface eth0\n standby 1 ip 10.0.0.1\n",
        &["b.conf:2: track 1 interface eth2 line-protocol: track 1 already defined differently at line 1"],
    ),
    (
        "key chain not defined",
        "interface eth0\n standby 1 ip 10.0.0.1\n standby 1 authentication md5 key-chain NOPE\n",
        &["b.conf:3: standby 1 authentication md5 key-chain NOPE: key chain NOPE is not defined"],
    ),
    (
        "key chain without key-string",
        "key chain K\n key 1\ninterface eth0\n standby 1 ip 10.0.0.1\n standby 1 authentication md5 key-chain K\n",
        &["b.conf:5: standby 1 authentication md5 key-chain K: key chain K has no key with a key-string"],
    ),
    (
        "key-string before key",
        "key chain K\n key-string abc\ninterface eth0\n standby 1 ip 10.0.0.1\n",
        &["b.conf:2: key-string <redacted>: `key-string` must follow a `key N` line"],
    ),
    (
        "encrypted key-string",
        "interface eth0\n standby 1 ip 10.0.0.1\n standby 1 authentication md5 key-string 7 0822455D0A16\n",
        &["b.conf:3: standby 1 authentication md5 key-string 7 <redacted>: encrypted (type 7) key-strings are not supported; give the key in clear text"],
    ),
    (
        "text authentication too long",
        "interface eth0\n standby 1 ip 10.0.0.1\n standby 1 authentication text verylongpassword\n",
        &["b.conf:3: standby 1 authentication text <redacted>: text authentication string must be 1-8 characters (got 16)"],
    ),
    (
        "md5 without key",
        "interface eth0\n standby 1 ip 10.0.0.1\n standby 1 authentication md5\n",
        &["b.conf:3: standby 1 authentication md5: incomplete command: authentication {text STRING | md5 key-string KEY | md5 key-chain NAME}"],
    ),
    (
        "conflicting priorities for one group",
        "interface eth0\n standby 1 ip 10.0.0.1\n standby 1 priority 150\n standby 1 priority 90\n",
        &["b.conf:4: standby 1 priority 90: priority already set to a different value at line 3"],
    ),
    (
        "two primary VIPs for one group",
        "interface eth0\n standby 1 ip 10.0.0.1\n standby 1 ip 10.0.0.2\n",
        &["b.conf:3: standby 1 ip 10.0.0.2: virtual IP already set to a different value at line 2"],
    ),
    (
        "group without any address",
        "interface eth0\n standby 1 priority 120\n standby 2 ip 10.0.0.2\n",
        &["b.conf:2: standby 1 priority 120: group 1 has no virtual address (add `standby 1 ip A.B.C.D` or `standby 1 ipv6 autoconfig`)"],
    ),
    (
        "follow names no group",
        "interface eth0\n standby 1 ip 10.0.0.1\n standby 1 follow MASTER\n",
        &["b.conf:3: standby 1 follow MASTER: no group is named MASTER"],
    ),
    (
        "priority, preempt or track on a following group",
        "track 1 interface eth1 line-protocol\ninterface eth0\n standby 1 ip 10.0.0.1\n standby 1 name M\n standby 2 ip 10.0.0.2\n standby 2 follow M\n standby 2 priority 120\n standby 2 preempt\n standby 2 track 1\n",
        &[
            "b.conf:7: standby 2 priority 120: group 2 follows group M, which decides its state: `standby 2 priority` has no effect on a following group (configure it on M)",
            "b.conf:8: standby 2 preempt: group 2 follows group M, which decides its state: `standby 2 preempt` has no effect on a following group (configure it on M)",
            "b.conf:9: standby 2 track 1: group 2 follows group M, which decides its state: `standby 2 track` has no effect on a following group (configure it on M)",
        ],
    ),
    (
        "mac-refresh out of range",
        "interface eth0\n standby mac-refresh 256\n standby 1 ip 10.0.0.1\n",
        &["b.conf:2: standby mac-refresh 256: mac-refresh interval must be 0-255"],
    ),
    (
        "duplicate group name",
        "interface eth0\n standby 1 ip 10.0.0.1\n standby 1 name A\n standby 2 ip 10.0.0.2\n standby 2 name A\n",
        &["b.conf:5: standby 2 name A: group name A is already used by eth0 group 1 (line 3)"],
    ),
    (
        "multicast mac-address",
        "interface eth0\n standby 1 ip 10.0.0.1\n standby 1 mac-address 0100.5e00.0001\n",
        &["b.conf:3: standby 1 mac-address 0100.5e00.0001: 0100.5e00.0001 is a multicast MAC address"],
    ),
    (
        "mac-address with use-bia",
        "interface eth0\n standby use-bia\n standby 1 ip 10.0.0.1\n standby 1 mac-address 0200.0000.0001\n",
        &["b.conf:4: standby 1 mac-address 0200.0000.0001: mac-address conflicts with `standby use-bia` (line 2)"],
    ),
    (
        "mac-address equal to another group's virtual MAC",
        "interface eth0\n standby 1 ip 10.0.0.1\n standby 2 ip 10.0.0.2\n standby 2 mac-address 0000.0c07.ac01\n",
        &["b.conf:4: standby 2 mac-address 0000.0c07.ac01: virtual MAC 00:00:0c:07:ac:01 is already used by group 1 on eth0"],
    ),
    (
        "preempt delay out of range",
        "interface eth0\n standby 1 ip 10.0.0.1\n standby 1 preempt delay minimum 4000\n",
        &["b.conf:3: standby 1 preempt delay minimum 4000: preempt delay minimum must be 0-3600"],
    ),
    (
        "trailing garbage",
        "interface eth0\n standby 1 ip 10.0.0.1 primary\n",
        &["b.conf:2: standby 1 ip 10.0.0.1 primary: unexpected `primary`"],
    ),
    (
        "standby outside an interface",
        "standby 1 ip 10.0.0.1\ninterface eth0\n standby 2 ip 10.0.0.2\n",
        &["b.conf:1: standby 1 ip 10.0.0.1: `standby` belongs inside an `interface` block (indent it)"],
    ),
    (
        "indented line before any block",
        " standby 1 ip 10.0.0.1\ninterface eth0\n standby 2 ip 10.0.0.2\n",
        &["b.conf:1: standby 1 ip 10.0.0.1: indented line outside any block (`interface` or `key chain`)"],
    ),
    (
        "empty file",
        "! nothing here\n",
        &["b.conf: no standby group configured (expected `interface IF` with `standby G ip A.B.C.D`)"],
    ),
];

#[test]
fn every_broken_config_gives_exactly_its_error_lines() {
    assert!(BROKEN.len() >= 30, "the table needs at least 30 cases");
    let mut failures = Vec::new();
    for (what, text, expected) in BROKEN {
        match config::parse(text, "b.conf") {
            Ok(_) => failures.push(format!("{what}: parsed without error")),
            Err(e) => {
                let got = e.lines();
                if got != *expected {
                    failures.push(format!("{what}:\n  expected {expected:#?}\n  got {got:#?}"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn realtime_priority_is_read_and_off_by_default() {
    let on = config::parse(
        "! comment\nhsrpd realtime priority 20\ninterface eth0\n standby 1 ip 10.0.0.1\n",
        "rt.conf",
    )
    .unwrap();
    assert_eq!(on.realtime, Some(20));
    // Keywords are case-insensitive like the rest of the file; repeating the same value
    // is harmless.
    let again = config::parse(
        "HSRPD Realtime Priority 99\nhsrpd realtime priority 99\ninterface eth0\n standby 1 ip 10.0.0.1\n",
        "rt.conf",
    )
    .unwrap();
    assert_eq!(again.realtime, Some(99));
    let off = config::parse("interface eth0\n standby 1 ip 10.0.0.1\n", "rt.conf").unwrap();
    assert_eq!(off.realtime, None);
}

#[test]
fn all_errors_are_reported_not_only_the_first() {
    let text = "\
interface eth0
 standby 1 ip 10.0.0.1
 standby 1 priority 300
 standby 1 timers 5 5
bogus line
interface eth1
 standby 2 ip 10.0.0.1
";
    let e = config::parse(text, "m.conf").unwrap_err();
    assert_eq!(
        e.lines(),
        vec![
            "m.conf:3: standby 1 priority 300: priority must be 1-255",
            "m.conf:4: standby 1 timers 5 5: hold time must be greater than hello time",
            "m.conf:5: bogus line: unknown command `bogus` (expected interface, track, key chain, ip sla, fast-path or hsrpd)",
            "m.conf:7: standby 2 ip 10.0.0.1: virtual IP 10.0.0.1 is already used by eth0 group 1 (line 2)",
        ]
    );
}

fn system(ifaces: &[(&str, &[&str])]) -> SystemView {
    let mut v = SystemView::default();
    for (name, addrs) in ifaces {
        let list = addrs
            .iter()
            .map(|a| {
                let (ip, len) = a.split_once('/').unwrap();
                (ip.parse::<IpAddr>().unwrap(), len.parse::<u8>().unwrap())
            })
            .collect();
        v.interfaces.insert(name.to_string(), list);
    }
    v
}

/// (what is wrong, config, the system, expected error lines).
#[allow(clippy::type_complexity)]
const SYSTEM: &[(&str, &str, &[(&str, &[&str])], &[&str])] = &[
    (
        "unknown interface",
        "interface nosuch0\n standby 1 ip 10.0.0.1\n",
        &[("eth0", &["10.0.0.2/24"])],
        &["s.conf:1: interface nosuch0: interface nosuch0 does not exist"],
    ),
    (
        "ip address not on the interface",
        "interface eth0\n ip address 10.0.0.3 255.255.255.0\n standby 1 ip 10.0.0.1\n",
        &[("eth0", &["10.0.0.2/24", "fe80::1/64"])],
        &["s.conf:2: ip address 10.0.0.3 255.255.255.0: eth0 has no address 10.0.0.3/24 (kernel has: 10.0.0.2/24)"],
    ),
    (
        "ip address with another mask",
        "interface eth0\n ip address 10.0.0.2 255.255.0.0\n standby 1 ip 10.0.0.1\n",
        &[("eth0", &["10.0.0.2/24"])],
        &["s.conf:2: ip address 10.0.0.2 255.255.0.0: eth0 has no address 10.0.0.2/16 (kernel has: 10.0.0.2/24)"],
    ),
    (
        "kernel owns the VIP",
        "interface eth0\n standby 1 ip 10.0.0.1\n",
        &[("eth0", &["10.0.0.2/24", "10.0.0.1/24"])],
        &["s.conf:2: standby 1 ip 10.0.0.1: virtual IP 10.0.0.1 is an address of eth0 in the kernel; remove it (hsrpd answers for it itself)"],
    ),
    (
        "VIP outside the kernel's subnets",
        "interface eth0\n standby 1 ip 10.9.0.1\n",
        &[("eth0", &["10.0.0.2/24"])],
        &["s.conf:2: standby 1 ip 10.9.0.1: virtual IP 10.9.0.1 is not in a subnet of eth0 in the kernel"],
    ),
    (
        "no IPv4 address to send hellos from",
        "interface eth0\n standby 1 ip 10.0.0.1\n",
        &[("eth0", &["fe80::1/64"])],
        &["s.conf:2: standby 1 ip 10.0.0.1: eth0 has no IPv4 address to send hellos from"],
    ),
    (
        "tracked interface missing",
        "track 1 interface wan9 line-protocol\ninterface eth0\n standby 1 ip 10.0.0.1\n standby 1 track 1\n",
        &[("eth0", &["10.0.0.2/24"])],
        &["s.conf:1: track 1 interface wan9 line-protocol: interface wan9 does not exist"],
    ),
];

#[test]
fn system_mismatches_give_exactly_their_error_lines() {
    let mut failures = Vec::new();
    for (what, text, sys, expected) in SYSTEM {
        let cfg = config::parse(text, "s.conf").unwrap_or_else(|e| panic!("{what}: {e}"));
        match config::validate_against_system(&cfg, &system(sys)) {
            Ok(()) => failures.push(format!("{what}: accepted")),
            Err(e) if e.lines() != *expected => failures.push(format!(
                "{what}:\n  expected {expected:#?}\n  got {:#?}",
                e.lines()
            )),
            Err(_) => {}
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn matching_system_is_accepted() {
    let text = "track 1 interface eth1 line-protocol\ninterface eth0\n ip address 10.0.0.2 255.255.255.0\n standby 1 ip 10.0.0.1\n standby 1 track 1\n";
    let cfg = config::parse(text, "ok.conf").unwrap();
    let sys = system(&[("eth0", &["10.0.0.2/24", "fe80::2/64"]), ("eth1", &[])]);
    config::validate_against_system(&cfg, &sys).unwrap();
}
