//! `cargo xtask fuzz` and the fuzz stage of `cargo xtask test`: run the libFuzzer targets
//! in `hsrp-user/fuzz` (docs/fuzzing.md) for a bounded time each.
//!
//! The smoke run inside `cargo xtask test` gives every target an equal share of
//! [`SMOKE_BUDGET`] (60 s in all, build time not counted), starting from the committed seeds
//! (`fuzz/seeds/T`: real Cisco payloads, the example and broken configs) plus whatever corpus
//! earlier runs left in the git-ignored `fuzz/corpus/T`. cargo-fuzz is installed when it is
//! missing: a fuzz stage that silently did nothing would look like a pass.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::thread::sleep;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::bootstrap::NIGHTLY;
use crate::util::{cargo, probe, run, say, show, workspace_root};

/// Every target, with the dictionary it runs with (relative to the fuzz crate).
pub const TARGETS: &[(&str, Option<&str>)] = &[
    ("parse_payload", Some("dicts/hsrp.dict")),
    ("payload_v1", Some("dicts/hsrp.dict")),
    ("payload_v2", Some("dicts/hsrp.dict")),
    ("signed_message", None),
    ("parse_config", Some("dicts/config.dict")),
    ("bfd_session", None),
];

/// Total fuzzing time of the smoke run in `cargo xtask test`.
pub const SMOKE_BUDGET: Duration = Duration::from_secs(60);

/// The cargo-fuzz release installed when none is found (the one the project was fuzzed with).
const CARGO_FUZZ_VERSION: &str = "0.13.2";

/// The fuzz targets never load XDP: they build without the object (hsrp-user/build.rs).
const ALLOW_NO_XDP: (&str, &str) = ("HSRP_ALLOW_NO_XDP", "1");

/// libFuzzer stops itself after `-max_total_time`, counted from its own start; `cargo
/// fuzz run` first checks the build and libFuzzer loads the corpus, which on a loaded
/// machine takes a while. Past twice the fuzzing time plus this, we kill it (a hung target
/// must fail the stage, not hang `cargo xtask test`).
const OVERRUN_GRACE: Duration = Duration::from_secs(30);

fn fuzz_dir() -> PathBuf {
    workspace_root().join("hsrp-user").join("fuzz")
}

/// The stage of `cargo xtask test`: all targets, 60 s of fuzzing in all.
pub fn smoke() -> Result<()> {
    let per_target = SMOKE_BUDGET / TARGETS.len() as u32;
    let names: Vec<&str> = TARGETS.iter().map(|(t, _)| *t).collect();
    // A fixed seed: the smoke run is part of the test suite, so it explores the same inputs
    // each time (a red CI is reproducible); `cargo xtask fuzz` explores anew each run.
    run_targets(&names, per_target, Some(SMOKE_SEED))
}

/// libFuzzer `-seed` of the smoke run.
const SMOKE_SEED: u32 = 1985;

/// `cargo xtask fuzz [--seconds S] [TARGET...]`: the named targets (all when empty), one
/// after the other, `per_target` each.
pub fn fuzz(targets: &[&str], per_target: Duration) -> Result<()> {
    run_targets(targets, per_target, None)
}

fn run_targets(targets: &[&str], per_target: Duration, seed: Option<u32>) -> Result<()> {
    ensure_cargo_fuzz()?;
    let dir = fuzz_dir();
    let chosen: Vec<(&str, Option<&str>)> = if targets.is_empty() {
        TARGETS.to_vec()
    } else {
        targets
            .iter()
            .map(|t| {
                TARGETS
                    .iter()
                    .find(|(name, _)| name == t)
                    .copied()
                    .with_context(|| {
                        let known: Vec<&str> = TARGETS.iter().map(|(n, _)| *n).collect();
                        format!("unknown fuzz target `{t}` (known: {})", known.join(", "))
                    })
            })
            .collect::<Result<_>>()?
    };
    // One build for all targets, so the time budget below is spent fuzzing.
    run(cargo(Some(NIGHTLY))
        .args(["fuzz", "build"])
        .env(ALLOW_NO_XDP.0, ALLOW_NO_XDP.1)
        .current_dir(&dir))?;
    let mut failed = Vec::new();
    for (target, dict) in chosen {
        if let Err(e) = run_target(&dir, target, dict, per_target, seed) {
            say(format!("fuzz target {target} FAILED: {e:#}"));
            failed.push(target);
        }
    }
    if !failed.is_empty() {
        bail!(
            "fuzz target(s) {} found a problem: the input is in hsrp-user/fuzz/artifacts/<target>/ \
             (replay: cd hsrp-user/fuzz && cargo +nightly fuzz run <target> <file>)",
            failed.join(", ")
        );
    }
    Ok(())
}

fn run_target(
    dir: &Path,
    target: &str,
    dict: Option<&str>,
    time: Duration,
    seed: Option<u32>,
) -> Result<()> {
    let corpus = dir.join("corpus").join(target);
    let seeds = dir.join("seeds").join(target);
    std::fs::create_dir_all(&corpus)
        .with_context(|| format!("cannot create {}", corpus.display()))?;
    if !seeds.is_dir() {
        bail!("the seeds of {target} are missing: {}", seeds.display());
    }
    let mut cmd = cargo(Some(NIGHTLY));
    cmd.current_dir(dir)
        .env(ALLOW_NO_XDP.0, ALLOW_NO_XDP.1)
        .args(["fuzz", "run", target])
        .arg(&corpus)
        .arg(&seeds)
        .arg("--")
        .arg(format!("-max_total_time={}", time.as_secs().max(1)))
        .arg("-print_final_stats=1");
    if let Some(d) = dict {
        cmd.arg(format!("-dict={d}"));
    }
    if let Some(seed) = seed {
        cmd.arg(format!("-seed={seed}"));
    }
    say(format!("$ {}", show(&cmd)));
    let started = Instant::now();
    let mut child = cmd
        .stdin(Stdio::null())
        .spawn()
        .with_context(|| format!("cannot start cargo fuzz run {target}"))?;
    let limit = time * 2 + OVERRUN_GRACE;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            bail!("{target} still running after {limit:?}: killed (a hang is a finding)");
        }
        sleep(Duration::from_millis(200));
    };
    if !status.success() {
        bail!("libFuzzer exited with {status}");
    }
    say(format!(
        "fuzz target {target}: no finding in {:.1}s",
        started.elapsed().as_secs_f64()
    ));
    Ok(())
}

/// cargo-fuzz must be there; install it (from crates.io, pinned) when it is not.
fn ensure_cargo_fuzz() -> Result<()> {
    let have = || probe(cargo(None).args(["fuzz", "--version"])).is_some();
    if have() {
        return Ok(());
    }
    say(format!(
        "cargo-fuzz is missing: installing cargo-fuzz {CARGO_FUZZ_VERSION} (needed by the fuzz stage)"
    ));
    run(cargo(None).args([
        "install",
        "--locked",
        "cargo-fuzz",
        "--version",
        CARGO_FUZZ_VERSION,
    ]))?;
    if !have() {
        bail!("`cargo fuzz --version` still fails after installing cargo-fuzz");
    }
    Ok(())
}
