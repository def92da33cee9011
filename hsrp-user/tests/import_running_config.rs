//! `hsrpd import` on full running-configs kept in `tests/import/`: each `NAME.ios` with its
//! interface map `NAME.map` gives exactly `NAME.conf` and the report `NAME.report`
//! (golden files; `HSRPD_BLESS=1` rewrites them, to be reviewed like code). Around the
//! golden files: the output is accepted by hsrpd's parser, every command line of the
//! original is either kept or dropped with a reason (never both, never neither), no key
//! appears in a report, and the design's three examples come out as the configurations
//! `docs/examples` describe.

use std::collections::BTreeSet;
use std::path::PathBuf;

use hsrp_user::config::{self, Config};
use hsrp_user::import::{self, Import, InterfaceMap};

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/import")
}

fn read(name: &str) -> String {
    let path = dir().join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Imports fixture `name`, checks the invariants and the golden files, returns the result.
fn run(name: &str) -> Import {
    let text = read(&format!("{name}.ios"));
    let map = InterfaceMap::parse_file(&read(&format!("{name}.map")), "map")
        .unwrap_or_else(|e| panic!("{name}.map: {e:?}"));
    let r = import::import(&text, &map, &format!("{name}.ios"))
        .unwrap_or_else(|e| panic!("{name}: {e}: {:?}", e.dropped));
    let report = import::report(&r.dropped, &r.notes, &r.interfaces);
    golden(&format!("{name}.conf"), &r.config);
    golden(&format!("{name}.report"), &report);

    if let Err(e) = config::parse(&r.config, name) {
        panic!("{name}: hsrpd refuses the import:\n{e}\n{}", r.config);
    }
    // Every command line is accounted for exactly once.
    let commands: BTreeSet<usize> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty() && !l.trim().starts_with('!'))
        .map(|(i, _)| i + 1)
        .collect();
    let dropped: Vec<usize> = r.dropped.iter().map(|d| d.line).collect();
    let dropped_set: BTreeSet<usize> = dropped.iter().copied().collect();
    assert_eq!(
        dropped.len(),
        dropped_set.len(),
        "{name}: a line dropped twice"
    );
    let kept: BTreeSet<usize> = r.kept.iter().copied().collect();
    assert!(
        kept.is_disjoint(&dropped_set),
        "{name}: kept and dropped: {:?}",
        kept.intersection(&dropped_set)
    );
    let accounted: BTreeSet<usize> = kept.union(&dropped_set).copied().collect();
    assert_eq!(
        accounted, commands,
        "{name}: lines neither kept nor dropped"
    );
    assert!(r.dropped.iter().all(|d| !d.reason.is_empty()));
    r
}

fn golden(name: &str, actual: &str) {
    let path = dir().join(name);
    if std::env::var_os("HSRPD_BLESS").is_some() {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = read(name);
    assert!(
        expected == actual,
        "{name} differs (HSRPD_BLESS=1 rewrites it):\n--- expected\n{expected}\n--- actual\n{actual}"
    );
}

/// The reason a line was dropped for, by its line number.
fn reason(r: &Import, line: usize) -> &str {
    r.dropped
        .iter()
        .find(|d| d.line == line)
        .map(|d| d.reason.as_str())
        .unwrap_or_else(|| panic!("line {line} was not dropped"))
}

fn line_of(name: &str, needle: &str) -> usize {
    read(&format!("{name}.ios"))
        .lines()
        .position(|l| l.trim() == needle)
        .unwrap_or_else(|| panic!("{needle:?} not in {name}.ios"))
        + 1
}

#[test]
fn campus_distribution_switch() {
    let r = run("campus-dist");
    let c = config::parse(&r.config, "campus").unwrap();
    let names: Vec<&str> = c.interfaces.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, ["vlan10", "vlan20", "vlan30", "vlan40", "vlan60"]);
    let groups: Vec<u16> = c.groups().map(|(_, g)| g.group).collect();
    assert_eq!(groups, [10, 20, 300, 301, 40, 60]);
    // Group 60 stays, with the default timers, once its msec timers are refused.
    let vl60 = c.groups().find(|(_, g)| g.group == 60).unwrap().1;
    assert_eq!((vl60.timers, vl60.tracks.len()), (None, 1));
    // The key chain's type 7 keys decoded; the unused OSPF chain is not copied.
    assert_eq!(c.key_chains.keys().collect::<Vec<_>>(), ["HSRP-KEYS"]);
    let keys: Vec<Option<Vec<u8>>> = c.key_chains["HSRP-KEYS"]
        .keys
        .values()
        .map(|k| k.key_string.clone())
        .collect();
    assert_eq!(
        keys,
        [Some(b"Hsrp2026key".to_vec()), Some(b"Hsrp2027key".to_vec())]
    );
    let vl20 = c.groups().find(|(_, g)| g.group == 20).unwrap().1;
    assert_eq!(
        vl20.auth,
        hsrp_user::proto::Auth::Md5 {
            key: b"V0ice-md5".to_vec(),
            key_id: 0
        }
    );
    // Old-style interface tracking became a track object on the mapped uplink.
    let vl40 = c.groups().find(|(_, g)| g.group == 40).unwrap().1;
    assert_eq!(vl40.tracks.len(), 1);
    let object = vl40.tracks[0].object;
    assert_eq!(
        c.tracks[&object].kind,
        config::TrackKind::Interface {
            name: "uplink2".into()
        }
    );
    // What hsrpd lacks is dropped with a reason that says so.
    let n = |s| line_of("campus-dist", s);
    assert_eq!(
        reason(&r, n("track 12 ip sla 1 reachability")),
        "IP SLA tracking is not implemented by hsrpd"
    );
    assert!(reason(&r, n("standby 20 track 12 decrement 30")).starts_with("hsrpd refuses it: "));
    assert!(reason(&r, n("standby delay minimum 30 reload 60")).contains("not implemented"));
    assert!(reason(&r, n("standby 60 timers msec 100 msec 250")).contains("at least 3 x hello"));
    assert!(reason(&r, n("delay down 5 up 10")).contains("not implemented"));
    assert_eq!(
        reason(&r, n("interface Vlan99")),
        "no HSRP group on this interface"
    );
    assert_eq!(
        reason(&r, n("router ospf 1")),
        "routing protocols are not hsrpd's (run a routing daemon alongside)"
    );
    // A banner's text lines go with it, even the unindented ones.
    let banner = n("banner motd ^C");
    assert_eq!(reason(&r, banner + 1), "its block was dropped");
}

#[test]
fn branch_router_with_subinterfaces() {
    let r = run("branch-router");
    let c = config::parse(&r.config, "branch").unwrap();
    let names: Vec<&str> = c.interfaces.iter().map(|i| i.name.as_str()).collect();
    // .100 and .200 named from the parent's map and the 802.1Q tag; .300 mapped by name.
    assert_eq!(names, ["lan0.100", "lan0.200", "guest"]);
    let n = |s| line_of("branch-router", s);
    assert!(reason(&r, n("interface GigabitEthernet0/0/2"))
        .contains("not in the interface map (add --map GigabitEthernet0/0/2=LINUX-NAME)"));
    assert!(reason(&r, n("standby mac-refresh 20")).contains("not implemented"));
    assert!(reason(&r, n("encapsulation dot1Q 100"))
        .contains("ip link add link lan0 name lan0.100 type vlan id 100"));
    // `standby 2 track GigabitEthernet0/0/0 30` reuses track 1 (the same interface).
    let g2 = c.groups().find(|(_, g)| g.group == 2).unwrap().1;
    assert_eq!(
        g2.tracks
            .iter()
            .map(|t| (t.object, t.action))
            .collect::<Vec<_>>(),
        [(1, config::TrackAction::Decrement(30))]
    );
    assert_eq!(c.tracks.len(), 1);
    let g1 = c.groups().find(|(_, g)| g.group == 1).unwrap().1;
    assert_eq!(
        g1.auth,
        hsrp_user::proto::Auth::Md5 {
            key: b"Br4nch-md5".to_vec(),
            key_id: 0
        }
    );
}

#[test]
fn ipv6_groups() {
    let r = run("ipv6-core");
    let c = config::parse(&r.config, "v6").unwrap();
    let groups: Vec<(&str, u16, config::Family)> = c
        .groups()
        .map(|(i, g)| (i.name.as_str(), g.group, g.family))
        .collect();
    use config::Family::{Ipv4, Ipv6};
    assert_eq!(
        groups,
        [
            ("br0.110", 110, Ipv4),
            ("br0.110", 1110, Ipv6),
            ("br0.120", 120, Ipv6),
            ("br0.140", 140, Ipv4)
        ]
    );
    let n = |s| line_of("ipv6-core", s);
    // A v1 interface cannot carry IPv6 groups, one group one family: hsrpd's own reasons.
    assert!(reason(&r, n("standby 130 ipv6 autoconfig")).starts_with("hsrpd refuses it: "));
    assert!(reason(&r, n("standby 140 ipv6 2001:DB8:140::1/64")).contains("IPv4 group"));
    assert_eq!(
        reason(&r, n("track 21 ip route 10.0.0.0 255.0.0.0 reachability")),
        "no HSRP group of the result tracks this object"
    );
}

/// Parsed, with the line numbers (which differ by construction) zeroed.
fn meaning(mut c: Config) -> Config {
    c.source.clear();
    c.text.clear();
    for i in &mut c.interfaces {
        i.line = 0;
        i.addresses.iter_mut().for_each(|a| a.line = 0);
        for g in &mut i.groups {
            g.line = 0;
            g.vip_lines.iter_mut().for_each(|v| v.1 = 0);
            g.tracks.iter_mut().for_each(|t| t.line = 0);
        }
    }
    c.tracks.values_mut().for_each(|t| t.line = 0);
    c
}

#[test]
fn the_design_examples_import_to_docs_examples() {
    for name in ["basic", "load-balancing", "tracking"] {
        let r = run(&format!("example-{name}"));
        let ours = meaning(config::parse(&r.config, name).unwrap());
        let docs = std::fs::read_to_string(
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("../docs/examples/{name}.conf")),
        )
        .unwrap();
        let docs = meaning(config::parse(&docs, name).unwrap());
        assert_eq!(ours, docs, "{name}");
    }
}

#[test]
fn reports_never_show_keys() {
    for name in ["campus-dist", "branch-router", "ipv6-core"] {
        let report = read(&format!("{name}.report"));
        for secret in [
            "Hsrp2026key",
            "V0ice-md5",
            "0256174B0D4B2424550F",
            "131116110A0F17012E3D",
            "N0tPublic",
            "Br4nchVPN",
            "083758574429510401",
            "$9$",
            "$1$",
            "097B470F10535A1A181E14",
        ] {
            assert!(!report.contains(secret), "{name}.report shows {secret}");
        }
    }
}

#[test]
fn the_command_line() {
    use std::os::unix::fs::PermissionsExt;
    use std::process::Command;
    let hsrpd = env!("CARGO_BIN_EXE_hsrpd");
    let input = dir().join("example-basic.ios");
    let ok = Command::new(hsrpd)
        .arg("import")
        .arg(&input)
        .args(["--map", "Gi0/0=eth0"])
        .output()
        .unwrap();
    assert_eq!(ok.status.code(), Some(0));
    assert_eq!(
        String::from_utf8(ok.stdout).unwrap(),
        read("example-basic.conf")
    );
    let stderr = String::from_utf8(ok.stderr).unwrap();
    assert!(
        stderr.ends_with("hsrpd import: 1 interface(s), 1 group(s) imported; 37 line(s) dropped\n"),
        "{stderr}"
    );

    // -o: the file may hold keys, so only its owner reads it; the report to a file.
    let tmp = std::env::temp_dir().join(format!("hsrpd-import-cli-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let out = tmp.join("out.conf");
    let rep = tmp.join("report.txt");
    let st = Command::new(hsrpd)
        .arg("import")
        .arg(dir().join("branch-router.ios"))
        .arg("--map-file")
        .arg(dir().join("branch-router.map"))
        .arg("-o")
        .arg(&out)
        .arg("--report")
        .arg(&rep)
        .status()
        .unwrap();
    assert!(st.success());
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        read("branch-router.conf")
    );
    assert_eq!(
        std::fs::metadata(&out).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert!(std::fs::read_to_string(&rep)
        .unwrap()
        .starts_with(&read("branch-router.report")));
    let _ = std::fs::remove_dir_all(&tmp);

    // No map: nothing importable, exit 1, and the report says why.
    let none = Command::new(hsrpd)
        .arg("import")
        .arg(&input)
        .output()
        .unwrap();
    assert_eq!(none.status.code(), Some(1));
    assert!(none.stdout.is_empty());
    let stderr = String::from_utf8(none.stderr).unwrap();
    assert!(stderr.contains("GigabitEthernet0/0 is not in the interface map (add --map GigabitEthernet0/0=LINUX-NAME)"), "{stderr}");
    assert!(
        stderr.contains("hsrpd import: nothing to import"),
        "{stderr}"
    );

    // A bad map entry: exit 1 before anything is read.
    let bad = Command::new(hsrpd)
        .args(["import", "/nonexistent", "--map", "Gi0/0=eth/0"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(1));
    assert_eq!(
        String::from_utf8(bad.stderr).unwrap(),
        "hsrpd import: map entry `Gi0/0=eth/0`: `eth/0` is not a Linux interface name (use the name `ip link` shows: at most 15 characters, no '/' or ':')\n"
    );
}
