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
    report_free_disk();
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

/// What a whole run writes (target/ and the fuzz crate's target/, from clean), measured.
const DISK_NEEDED_GIB: f64 = 6.0;

/// A full disk shows up as linker bus errors and half-written rlibs deep in some stage; a
/// line up front says what the run needs and what the machine has.
fn report_free_disk() {
    let Some(free) = free_disk_gib() else { return };
    if free < DISK_NEEDED_GIB {
        say(format!(
            "warning: {free:.1} GiB free under the workspace, a run from clean writes about \
             {DISK_NEEDED_GIB} GiB: stages may fail with `No space left on device`"
        ));
    } else {
        say(format!("{free:.1} GiB free under the workspace"));
    }
}

fn free_disk_gib() -> Option<f64> {
    let path = std::ffi::CString::new(
        crate::util::workspace_root()
            .into_os_string()
            .into_encoded_bytes(),
    )
    .ok()?;
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `path` is NUL-terminated and `st` is a valid out-parameter.
    if unsafe { libc::statvfs(path.as_ptr(), &mut st) } != 0 {
        return None;
    }
    Some(st.f_bavail as f64 * st.f_frsize as f64 / (1u64 << 30) as f64)
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
