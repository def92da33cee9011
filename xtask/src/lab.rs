//! `cargo xtask lab [--keep]`: the one-command demo. Builds hsrpd and the lab tools
//! (`hsrp-lab`, `hsrp-probe` from the tests crate, which owns the topology shared with the
//! failover tests), then runs `hsrp-lab demo`: host — bridge — r1, r2 (hsrpd) — uplink —
//! server, a probe stream through the VIP, the Active killed, the outage measured at the
//! server, the map flip shown with bpftool, r1 restored, everything torn down.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{ensure, Result};

use crate::util::{cargo, is_root, run, say, target_dir};

/// Builds what the lab runs: the XDP object and hsrpd, then the lab tools.
pub fn build_lab_tools() -> Result<()> {
    crate::build::build()?;
    say("building the lab tools (hsrp-lab, hsrp-probe)");
    run(cargo(None).args(["build", "-p", "hsrp-tests", "--bins"]))
}

pub fn lab_binary() -> PathBuf {
    target_dir().join("debug/hsrp-lab")
}

pub fn lab(keep: bool) -> Result<()> {
    ensure!(
        is_root(),
        "the lab needs root (network namespaces, XDP): run `{}`",
        crate::util::sudo_hint("lab")
    );
    // A fresh machine: the Debian tools the demo drives (bpftool for the map dump, ...).
    crate::setup::setup()?;
    build_lab_tools()?;
    let mut c = Command::new(lab_binary());
    c.arg("demo");
    if keep {
        c.arg("--keep");
    }
    run(&mut c)
}

/// `cargo xtask bench flood`: the control-plane flood row (`hsrp-lab flood`), whose rates
/// are this machine's figures; `tests/hostile_flood.rs` asserts the guarantees.
pub fn flood(args: &[String]) -> Result<()> {
    ensure!(
        is_root(),
        "the benchmark needs root (network namespaces, XDP): run `sudo -E cargo xtask bench flood`"
    );
    crate::setup::setup()?;
    build_lab_tools()?;
    run(Command::new(lab_binary()).arg("flood").args(args))
}

/// `cargo xtask soak`: the chaos soak (`hsrp-lab soak`, see `hsrp_tests::soak`).
pub fn soak(minutes: u64, seed: Option<u64>) -> Result<()> {
    ensure!(
        is_root(),
        "the soak needs root (network namespaces, XDP): run `sudo -E cargo xtask soak`"
    );
    ensure!(minutes > 0, "--minutes must be at least 1");
    crate::setup::setup()?;
    build_lab_tools()?;
    let mut c = Command::new(lab_binary());
    c.args(["soak", "--minutes", &minutes.to_string()]);
    if let Some(s) = seed {
        c.args(["--seed", &s.to_string()]);
    }
    run(&mut c)
}

/// `cargo xtask bench churn`: memory and descriptor bounds under churn (`hsrp-lab churn`,
/// see `hsrp_tests::lab_churn`), on a release hsrpd.
pub fn churn(args: &[String]) -> Result<()> {
    ensure!(
        is_root(),
        "the benchmark needs root (network namespaces, XDP): run `sudo -E cargo xtask bench churn`"
    );
    crate::setup::setup()?;
    build_lab_tools()?;
    say("building a release hsrpd (the one measured)");
    run(cargo(None).args(["build", "--release", "-p", "hsrp-user", "--bin", "hsrpd"]))?;
    let hsrpd = target_dir().join("release/hsrpd");
    run(Command::new(lab_binary())
        .arg("churn")
        .args(args)
        .arg("--hsrpd")
        .arg(&hsrpd))
}
