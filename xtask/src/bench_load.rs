//! `cargo xtask bench load`: hellos on time under load — hsrpd (default and `--realtime`)
//! and keepalived (default and with its real-time options) at the 50/150 and 15/50 ms timer
//! pairs, on an idle machine (the baseline, in the same run), with every core saturated by
//! a CPU hog and with a forwarding flood through the Active router; hello interval error
//! p50/p99/max on the wire and false takeovers per row. The measuring is `hsrp-lab load`
//! (tests crate, `hsrp_tests::lab_load`); this installs what it drives, builds a release
//! hsrpd (what users run) and runs it.
//!
//! Options (passed through): `--seconds S` per row (60) or `--minutes M` (the 10-minute
//! figure: `--minutes 10`), `--timers 50/150,15/50`, `--loads idle,cpu,softirq`,
//! `--impls hsrpd,hsrpd-rt,keepalived,keepalived-rt`.

use std::process::Command;

use anyhow::{ensure, Result};

use crate::util::{cargo, is_root, run, say, target_dir};

pub fn run_bench(args: &[String]) -> Result<()> {
    ensure!(
        is_root(),
        "the benchmark needs root (network namespaces, XDP, real-time scheduling): \
         `sudo -E cargo xtask bench load`"
    );
    crate::setup::setup()?;
    crate::lab::build_lab_tools()?;
    say("building a release hsrpd (the one measured)");
    run(cargo(None).args(["build", "--release", "-p", "hsrp-user", "--bin", "hsrpd"]))?;
    let hsrpd = target_dir().join("release/hsrpd");
    run(Command::new(crate::lab::lab_binary())
        .arg("load")
        .args(args)
        .arg("--hsrpd")
        .arg(&hsrpd))
}
