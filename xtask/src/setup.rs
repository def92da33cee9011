//! `cargo xtask setup`: the Debian packages the privileged tests and benchmarks drive.
//! Installs only what is missing (`apt-get update` once, first).

use std::process::Command;

use anyhow::{bail, Result};

use crate::util::{is_root, probe, run, say};

/// Package and what needs it, so a failure names the consequence.
pub const PACKAGES: &[(&str, &str)] = &[
    ("iproute2", "ip netns / ip link for every privileged test"),
    ("iputils-ping", "ping through the VIP in tests"),
    ("bpftool", "map dumps (tests, lab)"),
    ("tshark", "decoding captures in tests"),
    ("tcpdump", "captures in tests"),
    ("iperf3", "traffic in the lab and benchmarks"),
    ("python3-scapy", "crafted frames in tests"),
    (
        "python3-prometheus-client",
        "the reference parser of `hsrpd status --format prometheus`",
    ),
    ("nftables", "firewall scenarios in tests"),
    (
        "iptables",
        "iptables-nft and iptables-legacy rulesets in the firewall tests",
    ),
    ("ethtool", "turning veth offloads off for sane checksums"),
    ("keepalived", "the reference FHRP in the failover benchmark"),
    (
        "stress-ng",
        "the CPU hog of the load benchmark and the soak",
    ),
    (
        "frr",
        "bfdd, the reference BFD in the HSRP BFD peering interop test",
    ),
];

fn installed(pkg: &str) -> bool {
    probe(Command::new("dpkg-query").args(["-W", "-f=${Status}", pkg]))
        .is_some_and(|s| s.contains("install ok installed"))
}

pub fn setup() -> Result<()> {
    let missing: Vec<&str> = PACKAGES
        .iter()
        .map(|(p, _)| *p)
        .filter(|p| !installed(p))
        .collect();
    if missing.is_empty() {
        say("setup: all test packages are installed");
        return Ok(());
    }
    if !is_root() {
        bail!(
            "setup: missing packages {}; installing them needs root (run `{}`, or \
             `apt-get install {}`)",
            missing.join(", "),
            crate::util::sudo_hint("setup"),
            missing.join(" ")
        );
    }
    say(format!(
        "setup: installing missing packages: {}",
        missing.join(" ")
    ));
    run(Command::new("apt-get").args(["update", "-q"]))?;
    run(Command::new("apt-get")
        .args(["install", "-y", "-q", "--no-install-recommends"])
        .args(&missing)
        .env("DEBIAN_FRONTEND", "noninteractive"))?;
    let still: Vec<&str> = missing.into_iter().filter(|p| !installed(p)).collect();
    if !still.is_empty() {
        bail!(
            "setup: apt-get finished but these are still missing: {}",
            still.join(", ")
        );
    }
    Ok(())
}
