//! `cargo xtask test`: every test, in order — setup, build, unit and host tests, then the
//! privileged tests (network namespaces, real frames) one at a time — and a summary.
//! Later stages still run when an earlier test stage fails, and every test binary runs
//! (`--no-fail-fast`), so one run shows everything; the exit status is non-zero if
//! anything failed.

use std::time::{Duration, Instant};

use anyhow::{bail, Result};

use crate::util::{cargo, is_root, run, say};

struct Stage {
    name: &'static str,
    result: Result<()>,
    took: Duration,
}

fn stage(name: &'static str, f: impl FnOnce() -> Result<()>) -> Stage {
    say(format!("== {name}"));
    let started = Instant::now();
    let result = f();
    Stage {
        name,
        result,
        took: started.elapsed(),
    }
}

pub fn test(extra: &[String]) -> Result<()> {
    let mut stages = vec![stage("setup (test packages)", crate::setup::setup)];
    if stages[0].result.is_ok() {
        stages.push(stage(
            "build (toolchain, XDP object, hsrpd)",
            crate::build::build,
        ));
    }
    if stages.iter().all(|s| s.result.is_ok()) {
        stages.push(stage("unit and host tests", || {
            run(cargo(None)
                .args([
                    "test",
                    "--no-fail-fast",
                    "--workspace",
                    "--exclude",
                    "hsrp-tests",
                ])
                .args(extra_filter(extra)))
        }));
        stages.push(stage("fuzz smoke (cargo fuzz, 60 s)", crate::fuzz::smoke));
        stages.push(stage("privileged tests (tests/, one at a time)", || {
            if !is_root() {
                bail!(
                    "the privileged tests need root (network namespaces, XDP): run `{}`",
                    crate::util::sudo_hint("test")
                );
            }
            let mut cmd = cargo(None);
            cmd.args([
                "test",
                "--no-fail-fast",
                "-p",
                "hsrp-tests",
                "--",
                "--test-threads=1",
            ])
            .args(extra);
            crate::test_times::run_timed(cmd).map(drop)
        }));
    }
    summarize(&stages)
}

/// Arguments after `--` go to the test binaries (e.g. a name filter).
fn extra_filter(extra: &[String]) -> Vec<String> {
    if extra.is_empty() {
        Vec::new()
    } else {
        std::iter::once("--".to_string())
            .chain(extra.iter().cloned())
            .collect()
    }
}

fn summarize(stages: &[Stage]) -> Result<()> {
    say("== summary");
    for s in stages {
        let verdict = match &s.result {
            Ok(()) => "ok    ".to_string(),
            Err(e) => format!("FAILED: {e:#}"),
        };
        eprintln!("  {:<45} {:>7.1}s  {verdict}", s.name, s.took.as_secs_f64());
    }
    let failed = stages.iter().filter(|s| s.result.is_err()).count();
    if failed > 0 {
        bail!("{failed} stage(s) failed");
    }
    say("all tests passed");
    Ok(())
}
