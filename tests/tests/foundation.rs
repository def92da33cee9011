//! The foundation: the XDP program built by `cargo xtask build` loads, attaches to a veth
//! in a fresh namespace, counts real frames, is inspectable with bpftool (named fields, from
//! BTF), and runs under BPF_PROG_TEST_RUN.
//!
//! These tests hold for any version of the program as long as it passes frames that are
//! not HSRP's (no virtual MAC, no VIP: the maps start empty) and counts each received frame
//! once in HSRP_STATS slot 0 (the whole-program counters).

use std::net::Ipv4Addr;

use aya::programs::{TestRun, TestRunOptions};
use hsrp_testkit::frames::{ipv4, udp, PROTO_UDP};
use hsrp_tests::xdp::XDP_PASS;
use hsrp_tests::{hsrpd_bin, require_root, require_tool, sh, unique, Netns};
use hsrp_user::dataplane::{Dataplane, LoadOptions};
use serde_json::Value;

const STATS_MAP: &str = "HSRP_STATS";

/// Two namespaces joined by a veth pair, the data plane loaded (by `hsrpd load`) on the
/// end in `a`, with no IPv6 and static neighbours, so the only frames on the wire are the
/// ones a test sends.
struct Loaded {
    a: Netns,
    b: Netns,
    if_a: String,
    load_output: String,
}

const IP_A: &str = "10.77.0.1";
const IP_B: &str = "10.77.0.2";
const MAC_A: &str = "02:77:00:00:00:01";
const MAC_B: &str = "02:77:00:00:00:02";

impl Loaded {
    fn new() -> Loaded {
        require_root();
        let a = Netns::new("fa").unwrap();
        let b = Netns::new("fb").unwrap();
        let if_a = unique("fva");
        let if_b = unique("fvb");
        // Created directly in the namespaces, down, so nothing is sent before we are ready.
        sh(&format!(
            "ip link add {if_a} netns {} address {MAC_A} type veth peer name {if_b} netns {} \
             address {MAC_B}",
            a.name, b.name
        ))
        .unwrap();
        for (ns, dev, ip, peer_ip, peer_mac) in [
            (&a, &if_a, IP_A, IP_B, MAC_B),
            (&b, &if_b, IP_B, IP_A, MAC_A),
        ] {
            ns.exec(&format!(
                "sysctl -qw net.ipv6.conf.{dev}.disable_ipv6=1 && \
                 ip addr add {ip}/24 dev {dev} && ip link set {dev} up && \
                 ip neigh replace {peer_ip} lladdr {peer_mac} dev {dev} nud permanent"
            ))
            .unwrap();
        }
        let load_output = a
            .exec(&format!("{} load --iface {if_a}", hsrpd_bin().display()))
            .unwrap();
        Loaded {
            a,
            b,
            if_a,
            load_output,
        }
    }

    /// `bpftool -j map dump` of the stats map, as JSON.
    fn stats_json(&self) -> Value {
        let out = self
            .a
            .exec(&format!(
                "bpftool -j map dump pinned /sys/fs/bpf/hsrpd/{STATS_MAP}"
            ))
            .unwrap();
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("bpftool JSON: {e}: {out}"))
    }
}

/// Sum over CPUs of every counter field of the stats entry with key 0, which counts the
/// whole program (each frame once, under its verdict), from the BTF-formatted values.
fn total_count(dump: &Value) -> u64 {
    fn sum(v: &Value) -> u64 {
        match v {
            Value::Number(n) => n.as_u64().unwrap_or(0),
            Value::Array(a) => a.iter().map(sum).sum(),
            Value::Object(o) => o.values().map(sum).sum(),
            _ => 0,
        }
    }
    let entries = dump.as_array().expect("a map dump is an array");
    let total = entries
        .iter()
        .find(|e| e.pointer("/formatted/key") == Some(&Value::from(0)))
        .unwrap_or_else(|| panic!("no BTF-formatted entry with key 0 in {dump}"));
    let values = total
        .pointer("/formatted/values")
        .and_then(Value::as_array)
        .unwrap_or_else(|| panic!("no per-CPU values in {total}"));
    values.iter().map(|cpu| sum(&cpu["value"])).sum()
}

#[test]
fn frames_across_a_veth_are_counted_in_the_stats_map() {
    let lab = Loaded::new();
    require_tool("bpftool");
    // veth gets generic mode on purpose (dataplane::attach_policy).
    assert!(
        lab.load_output.contains("generic mode"),
        "veth is attached in generic mode, got: {}",
        lab.load_output
    );
    let link = lab
        .a
        .exec(&format!("ip -d link show {}", lab.if_a))
        .unwrap();
    assert!(
        link.contains("xdpgeneric"),
        "not attached in generic mode: {link}"
    );

    assert_eq!(total_count(&lab.stats_json()), 0, "maps start empty");

    // Exactly N UDP datagrams from b to a (bash's /dev/udp: one write, one datagram).
    const N: u64 = 25;
    lab.b
        .exec(&format!(
            "bash -c 'for i in $(seq {N}); do echo hsrpd > /dev/udp/{IP_A}/9; done'"
        ))
        .unwrap();
    let counted = total_count(&lab.stats_json());
    assert_eq!(counted, N, "frames sent {N}, counted {counted}");
}

#[test]
fn bpftool_dump_of_the_pinned_stats_map_shows_field_names() {
    let lab = Loaded::new();
    require_tool("bpftool");
    let plain = lab
        .a
        .exec(&format!(
            "bpftool map dump pinned /sys/fs/bpf/hsrpd/{STATS_MAP}"
        ))
        .unwrap();
    // Without BTF bpftool prints hex ("value (CPU 00): 00 00 ..."); with it, JSON-like
    // objects whose keys are the struct's field names.
    assert!(!plain.contains("value (CPU"), "hex dump, no BTF: {plain}");
    let parsed: Value = serde_json::from_str(&plain)
        .unwrap_or_else(|e| panic!("not a BTF-formatted dump ({e}): {plain}"));
    let first = &parsed[0]["values"][0]["value"];
    let fields = first
        .as_object()
        .unwrap_or_else(|| panic!("value is not a struct with named fields: {plain}"));
    assert!(!fields.is_empty(), "{plain}");
    for name in fields.keys() {
        assert!(
            name.chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
            "field name {name:?} is not an identifier: {plain}"
        );
        assert!(
            plain.contains(&format!("\"{name}\":")),
            "{name} not printed"
        );
    }
    // Every map of the program is pinned by name and dumps with BTF.
    let pins = std::fs::read_dir(lab.a.bpffs().join("hsrpd")).unwrap();
    let names: Vec<String> = pins
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().any(|n| n == STATS_MAP), "pins: {names:?}");
    assert!(
        names.iter().any(|n| n == &format!("link_{}", lab.if_a)),
        "link not pinned: {names:?}"
    );
}

#[test]
fn unload_detaches_and_removes_the_pins() {
    let lab = Loaded::new();
    let bin = hsrpd_bin();
    // A second load on the same interface is refused, naming the way out.
    let again = lab
        .a
        .exec(&format!("{} load --iface {}", bin.display(), lab.if_a));
    let err = format!("{:#}", again.expect_err("second load must fail"));
    assert!(err.contains("already loaded"), "{err}");

    let out = lab
        .a
        .exec(&format!("{} unload --iface {}", bin.display(), lab.if_a))
        .unwrap();
    assert!(out.contains("detached"), "{out}");
    let link = lab
        .a
        .exec(&format!("ip -d link show {}", lab.if_a))
        .unwrap();
    assert!(!link.contains("prog/xdp"), "still attached: {link}");
    assert!(
        !lab.a.bpffs().join("hsrpd").exists(),
        "pin directory left behind"
    );
    // Unloading what is not loaded is an error that says so.
    let err = lab
        .a
        .exec(&format!("{} unload --iface {}", bin.display(), lab.if_a))
        .expect_err("nothing to unload");
    assert!(
        format!("{err:#}").contains("no data plane pinned"),
        "{err:#}"
    );
}

// ---- BPF_PROG_TEST_RUN -----------------------------------------------------------------

/// Ethernet + IPv4 + UDP to port 9 of an ordinary host (no virtual MAC, no VIP).
fn udp_frame() -> Vec<u8> {
    ipv4(
        [0x02, 0x77, 0, 0, 0, 0x01],
        [0x02, 0x77, 0, 0, 0, 0x02],
        Ipv4Addr::new(10, 77, 0, 2),
        Ipv4Addr::new(10, 77, 0, 1),
        64,
        PROTO_UDP,
        &udp(40000, 9, b"hsrpd foundation"),
    )
}

#[test]
fn test_run_passes_ordinary_and_truncated_frames_untouched() {
    require_root();
    let dp = Dataplane::load(&LoadOptions::unpinned()).expect("load the embedded object");
    let program = dp.program().unwrap();

    let full = udp_frame();
    // Ethertype IPv4 but only 6 bytes of IP header: the parser's bounds checks must hold.
    let truncated = full[..20].to_vec();
    for (what, frame) in [("IPv4/UDP", &full), ("truncated IPv4", &truncated)] {
        let mut out = vec![0u8; frame.len() + 256];
        let result = program
            .test_run(TestRunOptions {
                data_in: Some(frame),
                data_out: Some(&mut out),
                ..TestRunOptions::default()
            })
            .unwrap_or_else(|e| panic!("{what}: BPF_PROG_TEST_RUN: {e}"));
        assert_eq!(result.return_value, XDP_PASS, "{what}: verdict");
        let len = result.data_size_out as usize;
        assert_eq!(&out[..len], frame.as_slice(), "{what}: frame modified");
    }
}

#[test]
fn falls_back_to_generic_mode_when_the_driver_has_no_native_xdp() {
    require_root();
    let ns = Netns::new("fg").unwrap();
    let bin = hsrpd_bin();
    // Loopback has no native XDP support: the attach must fall back and say so.
    let out = ns
        .exec(&format!("{} load --iface lo", bin.display()))
        .unwrap();
    assert!(out.contains("generic mode"), "{out}");
    let link = ns.exec("ip -d link show lo").unwrap();
    assert!(link.contains("xdpgeneric"), "not in generic mode: {link}");
    ns.exec(&format!("{} unload --iface lo", bin.display()))
        .unwrap();
    let link = ns.exec("ip -d link show lo").unwrap();
    assert!(!link.contains("xdp"), "still attached: {link}");
}

#[test]
fn attach_to_a_missing_interface_names_it() {
    require_root();
    let mut dp = Dataplane::load(&LoadOptions::unpinned()).expect("load the embedded object");
    let err = dp.attach("hsrpt-none0").expect_err("no such interface");
    assert!(
        format!("{err:#}").contains("no interface named hsrpt-none0"),
        "{err:#}"
    );
}

#[test]
fn load_on_a_missing_interface_fails_before_touching_bpffs() {
    require_root();
    let ns = Netns::new("miss").unwrap();
    // A fresh bpffs instance: nothing may be pinned in it by a failed load.
    let out = ns
        .command(hsrpd_bin().to_str().unwrap())
        .args(["load", "--iface", "hsrpt-none0"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("no interface named hsrpt-none0"),
        "{stderr}"
    );
    // (maps.debug / progs.debug are the kernel's own preloaded entries.)
    let pins = ns.exec("ls -A /sys/fs/bpf").unwrap();
    assert!(!pins.contains("hsrpd"), "a failed load left pins: {pins}");
}

#[test]
fn a_second_interface_shares_the_pinned_maps() {
    let lab = Loaded::new();
    let bin = hsrpd_bin();
    let map_id = |lab: &Loaded| -> Value {
        let out = lab
            .a
            .exec(&format!(
                "bpftool -j map show pinned /sys/fs/bpf/hsrpd/{STATS_MAP}"
            ))
            .unwrap();
        serde_json::from_str::<Value>(&out).unwrap()["id"].clone()
    };
    let before = map_id(&lab);
    lab.a
        .exec(&format!("{} load --iface lo", bin.display()))
        .unwrap();
    assert_eq!(map_id(&lab), before, "second load replaced the maps");

    // The veth's program still counts into the pinned map.
    lab.b
        .exec(&format!(
            "bash -c 'for i in $(seq 7); do echo x > /dev/udp/{IP_A}/9; done'"
        ))
        .unwrap();
    assert_eq!(total_count(&lab.stats_json()), 7);

    // Unloading one interface keeps the maps for the other; the last one removes them.
    lab.a
        .exec(&format!("{} unload --iface lo", bin.display()))
        .unwrap();
    assert_eq!(map_id(&lab), before);
    lab.a
        .exec(&format!("{} unload --iface {}", bin.display(), lab.if_a))
        .unwrap();
    assert!(!lab.a.bpffs().join("hsrpd").exists(), "pins left behind");
}
