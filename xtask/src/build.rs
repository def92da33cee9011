//! `cargo xtask build`: the XDP object (nightly, `bpfel-unknown-none`, build-std core, with
//! BTF), then the host `hsrpd`, which embeds that object (see hsrp-user/build.rs). Cargo's
//! own fingerprints make a second run a no-op.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Result;

use crate::bootstrap::{ensure_toolchain, NIGHTLY};
use crate::util::{cargo, run, say, target_dir, workspace_root};

pub const BPF_TARGET: &str = "bpfel-unknown-none";

/// Where the XDP object lands; hsrp-user/build.rs reads the same default path, so xtask
/// does not need to set HSRP_EBPF_OBJECT (setting it would make plain `cargo` runs by
/// others, which leave it unset, re-run hsrp-user's build script every time).
pub fn ebpf_object() -> PathBuf {
    workspace_root()
        .join("target/bpf")
        .join(BPF_TARGET)
        .join("release/hsrp")
}

pub fn hsrpd_binary() -> PathBuf {
    target_dir().join("debug/hsrpd")
}

/// The cargo command that builds one binary of hsrp-ebpf for the BPF target, with BTF
/// (`hsrp`, the data plane; `hsrp-bench`, the benchmark harness).
pub fn ebpf_build_command(bin: &str) -> std::process::Command {
    let mut c = cargo(Some(NIGHTLY));
    c.args([
        "build",
        "-p",
        "hsrp-ebpf",
        "--bin",
        bin,
        "--target",
        BPF_TARGET,
    ])
    .args(["-Z", "build-std=core", "--release", "--target-dir"])
    .arg(workspace_root().join("target/bpf"))
    .env(
        "CARGO_TARGET_BPFEL_UNKNOWN_NONE_RUSTFLAGS",
        "-C debuginfo=2 -C link-arg=--btf",
    );
    c
}

pub fn build_ebpf() -> Result<()> {
    let mut c = ebpf_build_command("hsrp");
    run(&mut c)?;
    crate::elf::require_btf(&ebpf_object())
}

pub fn build_host() -> Result<()> {
    run(cargo(None).args(["build", "-p", "hsrp-user", "--bin", "hsrpd"]))
}

/// Toolchain bootstrap, XDP object, host binary.
pub fn build() -> Result<()> {
    let started = Instant::now();
    ensure_toolchain()?;
    say("building the XDP object");
    build_ebpf()?;
    say(format!("XDP object: {}", ebpf_object().display()));
    say("building hsrpd");
    build_host()?;
    say(format!(
        "built {} in {:.1}s",
        hsrpd_binary().display(),
        started.elapsed().as_secs_f64()
    ));
    Ok(())
}
