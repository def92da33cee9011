//! `cargo xtask bench bfd`: what HSRP BFD peering costs and whether it holds. One
//! `hsrp-lab bfd` process builds r1 and r2 joined by N links with one HSRP group each
//! (so N BFD sessions per router), measures each hsrpd's CPU (from /proc/PID/stat over a
//! window) first without BFD (the baseline, same groups) and then with BFD on every link,
//! and counts Up→Down transitions of the sessions over a few minutes while every peer
//! lives, optionally again with one core kept busy by `stress-ng --cpu 1`.
//!
//! Options (passed to `hsrp-lab bfd`): `--links N` (default 32), `--bfd 10x3`,
//! `--window-s S` (CPU window, default 10), `--minutes M` (stability, default 1),
//! `--stress`, `--realtime` (hsrpd `--realtime`: SCHED_FIFO, memory locked); `--release`
//! measures a release hsrpd (what users run) instead of the debug build.

use std::process::{Command, Stdio};

use anyhow::{bail, ensure, Context, Result};
use serde_json::Value;

use crate::bench_failover::load_average;
use crate::util::{is_root, say};

const OPTIONS: [&str; 7] = [
    "--links",
    "--bfd",
    "--window-s",
    "--minutes",
    "--stress",
    "--realtime",
    "--release",
];

pub fn run(args: &[String]) -> Result<()> {
    for a in args.iter().filter(|a| a.starts_with("--")) {
        if !OPTIONS.contains(&a.as_str()) {
            bail!("bench bfd: unknown option {a} ({})", OPTIONS.join(", "));
        }
    }
    ensure!(
        is_root(),
        "the benchmark needs root (network namespaces, XDP): `sudo -E cargo xtask bench bfd`"
    );
    crate::lab::build_lab_tools()?;
    let release = args.iter().any(|a| a == "--release");
    let mut c = Command::new(crate::lab::lab_binary());
    c.arg("bfd").args(args.iter().filter(|a| *a != "--release"));
    if release {
        say("building a release hsrpd (the one measured)");
        crate::util::run(crate::util::cargo(None).args([
            "build",
            "--release",
            "-p",
            "hsrp-user",
            "--bin",
            "hsrpd",
        ]))?;
        c.arg("--hsrpd")
            .arg(crate::util::target_dir().join("release/hsrpd"));
    }
    say(format!("load before: {}", load_average()));
    let out = c
        .stderr(Stdio::inherit())
        .output()
        .context("running hsrp-lab bfd")?;
    ensure!(out.status.success(), "hsrp-lab bfd failed ({})", out.status);
    let text = String::from_utf8_lossy(&out.stdout);
    let v: Value = serde_json::from_str(text.trim())
        .with_context(|| format!("hsrp-lab bfd printed {text:?}"))?;
    print_summary(&v);
    Ok(())
}

fn print_summary(v: &Value) {
    let pair = |k: &str, i: usize| v[k][i].as_f64().unwrap_or(f64::NAN);
    println!(
        "\n{} links, one HSRP group and one BFD session each, BFD {}, CPU over {} s \
         (% of one core):",
        v["links"],
        v["bfd"].as_str().unwrap_or("?"),
        v["window_s"]
    );
    println!(
        "{:<6} {:>10} {:>10} {:>10}",
        "router", "no BFD", "BFD", "added"
    );
    for (i, r) in ["r1", "r2"].iter().enumerate() {
        println!(
            "{r:<6} {:>10.2} {:>10.2} {:>10.2}",
            pair("cpu_percent_baseline", i),
            pair("cpu_percent_bfd", i),
            pair("cpu_percent_added", i)
        );
    }
    println!("\nstability (Up->Down transitions while every peer lives):");
    for s in v["stability"].as_array().into_iter().flatten() {
        println!(
            "  {:<18} {} min: r1 {}, r2 {} (detection expiries {}, {}; deferred after a \
             stall {}, {}; HSRP state changes {}, {}); fewest Up at once {}; load {} -> {}",
            s["what"].as_str().unwrap_or("?"),
            s["minutes"],
            s["down_transitions"][0],
            s["down_transitions"][1],
            s["detection_expiries"][0],
            s["detection_expiries"][1],
            s["detections_deferred"][0],
            s["detections_deferred"][1],
            s["hsrp_state_changes"][0],
            s["hsrp_state_changes"][1],
            s["fewest_up"],
            s["load_before"].as_str().unwrap_or("?"),
            s["load_after"].as_str().unwrap_or("?"),
        );
        // Formatted once, by `StallReport::summary` in hsrp-lab.
        println!(
            "  {:<18} {}",
            "",
            s["machine"]["summary"]
                .as_str()
                .unwrap_or("machine probe: not reported")
        );
    }
}
