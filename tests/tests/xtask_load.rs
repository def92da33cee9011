//! `cargo xtask load --iface IF` / `unload`: through the built xtask binary, inside a
//! namespace with its own bpffs. Load attaches the program, pins the maps and the link and
//! prints the bpftool commands; unload detaches and removes the link pin.

use std::process::Output;

use hsrp_tests::{require_root, workspace_root, Netns};

fn xtask(ns: &Netns, args: &[&str]) -> Output {
    let bin = workspace_root().join("target/debug/xtask");
    assert!(
        bin.exists(),
        "{} is missing: `cargo build -p xtask`",
        bin.display()
    );
    ns.command(bin.to_str().unwrap())
        .args(args)
        .output()
        .expect("running xtask")
}

#[test]
fn xtask_load_attaches_and_prints_bpftool_commands_and_unload_detaches() {
    require_root();
    let ns = Netns::new("xl").unwrap();
    ns.exec("ip link add v0 type veth peer name v1 && ip link set v0 up && ip link set v1 up")
        .unwrap();

    let out = xtask(&ns, &["load", "--iface", "v0"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("v0: XDP data plane attached in"),
        "{stdout}"
    );
    assert!(
        stdout.contains("  bpftool map dump pinned /sys/fs/bpf/hsrpd/HSRP_STATS\n"),
        "{stdout}"
    );
    assert!(stderr.contains("cargo xtask unload --iface v0"), "{stderr}");
    assert!(ns.bpffs().join("hsrpd/link_v0").exists());
    let link = ns.exec("ip -d link show v0").unwrap();
    assert!(link.contains("prog/xdp"), "{link}");

    let out = xtask(&ns, &["unload", "--iface", "v0"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!ns.bpffs().join("hsrpd/link_v0").exists());
    let link = ns.exec("ip -d link show v0").unwrap();
    assert!(!link.contains("prog/xdp"), "{link}");
}
