//! The tracking grammar: lists (boolean, threshold), delays, `interface IF ip routing`, the
//! old `standby G track IF [D]`, and the exact errors of their mistakes.

use hsrp_user::config::{self, TrackAction, TrackKind, IMPLICIT_TRACK_BASE};

const GOOD: &str = "\
track 1 interface eth1 line-protocol
 delay up 10 down 2
track 2 interface eth2 ip routing
track 3 ip route 10.9.0.0/16 reachability
track 10 list boolean and
 object 1
 object 2 not
 delay down 5
track 11 list threshold weight
 object 1 weight 30
 object 2
 object 3 weight 20
 threshold weight up 40 down 10
track 12 list threshold percentage
 object 1
 object 3
 threshold percentage down 49 up 51
interface eth0
 standby 1 ip 10.0.0.1
 standby 1 track 10 decrement 30
 standby 1 track eth3
 standby 1 track eth4 25
 standby 2 ip 10.0.0.2
 standby 2 track eth3 decrement 15
";

#[test]
fn lists_delays_and_interface_tracks_parse() {
    let c = config::parse(GOOD, "t.conf").unwrap_or_else(|e| panic!("{e}"));
    let t = &c.tracks;
    assert_eq!((t[&1].delay_up_s, t[&1].delay_down_s), (10, 2));
    assert_eq!(
        t[&2].kind,
        TrackKind::IpRouting {
            name: "eth2".into()
        }
    );
    assert_eq!(
        t[&10].kind,
        TrackKind::ListBoolean {
            and: true,
            members: vec![(1, false), (2, true)]
        }
    );
    assert_eq!((t[&10].delay_up_s, t[&10].delay_down_s), (0, 5));
    assert_eq!(
        t[&11].kind,
        TrackKind::ListThreshold {
            percentage: false,
            members: vec![(1, 30), (2, 10), (3, 20)],
            thresholds: Some((40, 10))
        }
    );
    assert_eq!(
        t[&12].kind,
        TrackKind::ListThreshold {
            percentage: true,
            members: vec![(1, 10), (3, 10)],
            thresholds: Some((51, 49))
        }
    );
    // `standby G track IF [D]`: one implicit line-protocol object per interface.
    let eth3 = IMPLICIT_TRACK_BASE;
    let eth4 = IMPLICIT_TRACK_BASE + 1;
    assert_eq!(
        t[&eth3].kind,
        TrackKind::Interface {
            name: "eth3".into()
        }
    );
    assert_eq!(
        t[&eth4].kind,
        TrackKind::Interface {
            name: "eth4".into()
        }
    );
    let g1: Vec<(u32, TrackAction)> = c.interfaces[0].groups[0]
        .tracks
        .iter()
        .map(|t| (t.object, t.action))
        .collect();
    assert_eq!(
        g1,
        vec![
            (10, TrackAction::Decrement(30)),
            (eth3, TrackAction::Decrement(10)),
            (eth4, TrackAction::Decrement(25))
        ]
    );
    let g2 = &c.interfaces[0].groups[1].tracks;
    assert_eq!(
        (g2[0].object, g2[0].action),
        (eth3, TrackAction::Decrement(15))
    );
}

#[test]
fn scripts_and_files_parse() {
    let c = config::parse(
        "track 1 script /usr/local/bin/check-uplink interval 5 rise 3 fall 2 timeout 4\n\
         track 2 script /bin/true interval 2\n\
         track 3 file /run/hsrpd/maintenance\n\
         track 4 file /run/x interval 3\n\
         interface eth0\n standby 1 ip 10.0.0.1\n standby 1 track 1\n",
        "t.conf",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        c.tracks[&1].kind,
        TrackKind::Script {
            path: "/usr/local/bin/check-uplink".into(),
            interval_s: 5,
            rise: 3,
            fall: 2,
            timeout_s: 4
        }
    );
    assert_eq!(
        c.tracks[&2].kind,
        TrackKind::Script {
            path: "/bin/true".into(),
            interval_s: 2,
            rise: 1,
            fall: 1,
            timeout_s: 2
        }
    );
    assert_eq!(
        c.tracks[&3].kind,
        TrackKind::File {
            path: "/run/hsrpd/maintenance".into(),
            interval_s: 1
        }
    );
    assert_eq!(
        c.tracks[&4].kind,
        TrackKind::File {
            path: "/run/x".into(),
            interval_s: 3
        }
    );
}

#[test]
fn ip_sla_parses() {
    use hsrp_user::config::SlaSource;
    let c = config::parse(
        "ip sla 5\n icmp-echo 10.1.0.100 source-interface up0\n frequency 2\n timeout 800\n threshold 300\n\
         ip sla schedule 5 life forever start-time now\n\
         ip sla 6\n icmp-echo 10.1.0.101 source-ip 10.1.0.2\n\
         ip sla schedule 6 life forever start-time now\n\
         track 7 ip sla 5 reachability\ntrack 8 ip sla 6\n\
         interface eth0\n standby 1 ip 10.0.0.1\n standby 1 track 7\n",
        "t.conf",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let op = &c.ip_slas[&5];
    assert_eq!(op.target, Some("10.1.0.100".parse().unwrap()));
    assert_eq!(op.source, SlaSource::Interface("up0".into()));
    assert_eq!(
        (op.frequency_s, op.timeout_ms, op.threshold_ms),
        (2, 800, 300)
    );
    assert_eq!(op.scheduled, Some(6));
    let op6 = &c.ip_slas[&6];
    assert_eq!(op6.source, SlaSource::Address("10.1.0.2".parse().unwrap()));
    assert_eq!(
        (op6.frequency_s, op6.timeout_ms, op6.threshold_ms),
        (60, 5000, 5000),
        "IOS defaults"
    );
    assert_eq!(
        c.tracks[&7].kind,
        TrackKind::IpSla {
            operation: 5,
            reachability: true
        }
    );
    assert_eq!(
        c.tracks[&8].kind,
        TrackKind::IpSla {
            operation: 6,
            reachability: false
        }
    );
}

#[test]
fn standby_delay_parses_with_ios_defaults() {
    let c = config::parse(
        "interface eth0\n standby delay minimum 30 reload 60\n standby 1 ip 10.0.0.1\n\
         interface eth1\n standby delay minimum 3\n standby 2 ip 10.0.1.1\n\
         interface eth2\n standby 3 ip 10.0.2.1\n",
        "t.conf",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.interfaces[0].init_delay_s, Some((30, 60)));
    assert_eq!(c.interfaces[1].init_delay_s, Some((3, 5)));
    assert_eq!(c.interfaces[2].init_delay_s, None);
}

/// (what is wrong, text, expected error lines).
const BROKEN: &[(&str, &str, &[&str])] = &[
    (
        "undefined member",
        "track 10 list boolean or\n object 7\ninterface eth0\n standby 1 ip 10.0.0.1\n",
        &["b.conf:1: track 10 list boolean or: track 10: member object 7 is not defined"],
    ),
    (
        "list member of itself through another list",
        "track 10 list boolean or\n object 11\ntrack 11 list boolean and\n object 10\ninterface eth0\n standby 1 ip 10.0.0.1\n",
        &[
            "b.conf:1: track 10 list boolean or: track 10 is a member of itself through its lists",
            "b.conf:3: track 11 list boolean and: track 11 is a member of itself through its lists",
        ],
    ),
    (
        "list without members",
        "track 10 list boolean and\ninterface eth0\n standby 1 ip 10.0.0.1\n",
        &["b.conf:1: track 10 list boolean and: track 10 is a list without members (add ` object M` lines)"],
    ),
    (
        "threshold list without thresholds",
        "track 1 interface eth1 line-protocol\ntrack 10 list threshold weight\n object 1\ninterface eth0\n standby 1 ip 10.0.0.1\n",
        &["b.conf:2: track 10 list threshold weight: track 10 needs its thresholds (add ` threshold weight up U down D`)"],
    ),
    (
        "down not below up",
        "track 1 interface eth1 line-protocol\ntrack 10 list threshold weight\n object 1\n threshold weight up 10 down 10\ninterface eth0\n standby 1 ip 10.0.0.1\n",
        &["b.conf:4: threshold weight up 10 down 10: threshold down (10) must be below threshold up (10)"],
    ),
    (
        "weight in a percentage list",
        "track 1 interface eth1 line-protocol\ntrack 10 list threshold percentage\n object 1 weight 5\n threshold percentage up 50 down 0\ninterface eth0\n standby 1 ip 10.0.0.1\n",
        &["b.conf:3: object 1 weight 5: a percentage list counts objects: `weight` applies to `list threshold weight` only"],
    ),
    (
        "object under a non-list",
        "track 1 interface eth1 line-protocol\n object 2\ninterface eth0\n standby 1 ip 10.0.0.1\n",
        &["b.conf:2: object 2: `object` lines belong to `track N list ...` objects"],
    ),
    (
        "delay out of range",
        "track 1 interface eth1 line-protocol\n delay up 500\ninterface eth0\n standby 1 ip 10.0.0.1\n",
        &["b.conf:2: delay up 500: delay up must be 0-180"],
    ),
    (
        "unknown sub-command",
        "track 1 interface eth1 line-protocol\n bogus\ninterface eth0\n standby 1 ip 10.0.0.1\n",
        &["b.conf:2: bogus: unknown track sub-command `bogus` (expected object, threshold or delay)"],
    ),
    (
        "script without interval",
        "track 1 script /bin/true\ninterface eth0\n standby 1 ip 10.0.0.1\n",
        &["b.conf:1: track 1 script /bin/true: incomplete command: track N script PATH interval S [rise R] [fall F] [timeout T]"],
    ),
    (
        "relative script path",
        "track 1 script check.sh interval 1\ninterface eth0\n standby 1 ip 10.0.0.1\n",
        &["b.conf:1: track 1 script check.sh interval 1: `check.sh` is not an absolute path"],
    ),
    (
        "script timeout above its interval",
        "track 1 script /bin/true interval 2 timeout 5\ninterface eth0\n standby 1 ip 10.0.0.1\n",
        &["b.conf:1: track 1 script /bin/true interval 2 timeout 5: timeout (5 s) must not exceed the interval (2 s): one run at a time"],
    ),
    (
        "file weight is refused",
        "track 1 file /run/x weight\ninterface eth0\n standby 1 ip 10.0.0.1\n",
        &["b.conf:1: track 1 file /run/x weight: `track N file PATH weight` is not implemented: a file object is up or down; weigh objects with a `track M list threshold weight` list"],
    ),
    (
        "preempt delay sync is refused",
        "interface eth0\n standby 1 ip 10.0.0.1\n standby 1 preempt delay minimum 5 sync 10\n",
        &["b.conf:3: standby 1 preempt delay minimum 5 sync 10: `preempt delay sync` is not implemented: hsrpd has no IP redundancy clients to wait for (remove `sync S`; `minimum` and `reload` work)"],
    ),
    (
        "standby delay out of range",
        "interface eth0\n standby delay minimum 5 reload 20000\n standby 1 ip 10.0.0.1\n",
        &["b.conf:2: standby delay minimum 5 reload 20000: delay reload must be 0-10000"],
    ),
    (
        "ip sla never scheduled",
        "ip sla 5\n icmp-echo 10.1.0.100\n frequency 1\n timeout 500\n threshold 400\ninterface eth0\n standby 1 ip 10.0.0.1\n",
        &["b.conf:1: ip sla 5: ip sla 5 is never scheduled (add `ip sla schedule 5 life forever start-time now`)"],
    ),
    (
        "ip sla schedule other than forever/now",
        "ip sla 5\n icmp-echo 10.1.0.100\nip sla schedule 5 life 3600 start-time now\ninterface eth0\n standby 1 ip 10.0.0.1\n",
        &[
            "b.conf:1: ip sla 5: ip sla 5 is never scheduled (add `ip sla schedule 5 life forever start-time now`)",
            "b.conf:3: ip sla schedule 5 life 3600 start-time now: only `ip sla schedule N life forever start-time now` is implemented (other lives and start times are not)",
        ],
    ),
    (
        "other ip sla operation types",
        "ip sla 5\n udp-jitter 10.1.0.100 5000\nip sla schedule 5 life forever start-time now\ninterface eth0\n standby 1 ip 10.0.0.1\n",
        &[
            "b.conf:1: ip sla 5: ip sla 5 has no operation (add ` icmp-echo A.B.C.D`; other types are not implemented)",
            "b.conf:2: udp-jitter 10.1.0.100 5000: unknown ip sla command `udp-jitter` (expected icmp-echo, frequency, timeout or threshold; other operation types are not implemented)",
        ],
    ),
    (
        "threshold above timeout",
        "ip sla 5\n icmp-echo 10.1.0.100\n frequency 1\n timeout 500\n threshold 600\nip sla schedule 5 life forever start-time now\ninterface eth0\n standby 1 ip 10.0.0.1\n",
        &["b.conf:1: ip sla 5: ip sla 5: threshold 600 ms exceeds the timeout of 500 ms"],
    ),
    (
        "timeout above the frequency",
        "ip sla 5\n icmp-echo 10.1.0.100\n frequency 1\n timeout 1500\n threshold 100\nip sla schedule 5 life forever start-time now\ninterface eth0\n standby 1 ip 10.0.0.1\n",
        &["b.conf:1: ip sla 5: ip sla 5: timeout 1500 ms exceeds the frequency of 1 s"],
    ),
    (
        "track of an undefined operation",
        "track 7 ip sla 9\ninterface eth0\n standby 1 ip 10.0.0.1\n standby 1 track 7\n",
        &["b.conf:1: track 7 ip sla 9: track 7: ip sla 9 is not defined"],
    ),
    (
        "interface track with a bad decrement",
        "interface eth0\n standby 1 ip 10.0.0.1\n standby 1 track eth1 300\n",
        &["b.conf:3: standby 1 track eth1 300: decrement must be 1-255"],
    ),
];

#[test]
fn tracking_mistakes_give_exactly_their_errors() {
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
