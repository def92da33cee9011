//! The eBPF toolchain bootstrap: the nightly's `rust-src` (for `-Z build-std=core`) and
//! `bpf-linker` 0.13 built against the LLVM inside the nightly toolchain, so the bitcode
//! rustc emits and the linker that reads it agree on the LLVM version. Each step checks
//! first and does nothing when the tool is already there.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::util::{cargo_bin_dir, path_with_cargo_bin, probe, run, say};

pub const NIGHTLY: &str = "nightly";
const BPF_LINKER_VERSION: &str = "0.13.0";

pub fn ensure_toolchain() -> Result<()> {
    ensure_nightly()?;
    ensure_rust_src()?;
    ensure_bpf_linker()
}

fn ensure_nightly() -> Result<()> {
    let list = probe(Command::new("rustup").args(["toolchain", "list"]))
        .context("`rustup toolchain list` failed: xtask needs rustup (https://rustup.rs)")?;
    if list.lines().any(|l| l.starts_with("nightly")) {
        return Ok(());
    }
    say("the nightly toolchain is missing (the XDP program is built with it): installing");
    run(Command::new("rustup").args(["toolchain", "install", NIGHTLY, "--profile", "minimal"]))
}

fn ensure_rust_src() -> Result<()> {
    let installed = probe(Command::new("rustup").args([
        "component",
        "list",
        "--toolchain",
        NIGHTLY,
        "--installed",
    ]))
    .unwrap_or_default();
    if installed.lines().any(|l| l.trim().starts_with("rust-src")) {
        return Ok(());
    }
    say("rust-src is missing from the nightly toolchain (needed by -Z build-std=core): adding it");
    run(Command::new("rustup").args(["component", "add", "rust-src", "--toolchain", NIGHTLY]))
}

/// `bpf-linker --version` answers "bpf-linker 0.13.x" when the right one is on PATH.
fn bpf_linker_ok() -> bool {
    let mut c = Command::new("bpf-linker");
    c.arg("--version").env("PATH", path_with_cargo_bin());
    probe(&mut c).is_some_and(|out| out.trim().starts_with("bpf-linker 0.13"))
}

fn ensure_bpf_linker() -> Result<()> {
    if bpf_linker_ok() {
        return Ok(());
    }
    say(format!(
        "bpf-linker {BPF_LINKER_VERSION} is missing: building it against the nightly's LLVM \
         (a few minutes, once)"
    ));
    let sysroot = nightly_sysroot()?;
    let lib = sysroot.join("lib");
    let (major, libllvm) = nightly_llvm(&lib)?;
    let feature = match major {
        21..=23 => format!("llvm-{major}"),
        _ => bail!(
            "the nightly toolchain ships LLVM {major}; bpf-linker {BPF_LINKER_VERSION} supports \
             LLVM 21 to 23: install a matching nightly (`rustup toolchain install nightly`)"
        ),
    };

    // bpf-linker's build looks for `$LLVM_PREFIX/lib/libLLVM.so`; the nightly ships it
    // under a versioned name, so give it a prefix holding just that symlink.
    let prefix = crate::util::workspace_root().join("target/xtask/llvm-prefix");
    let link = prefix.join("lib/libLLVM.so");
    std::fs::create_dir_all(prefix.join("lib"))
        .with_context(|| format!("create {}", prefix.display()))?;
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink(&libllvm, &link)
        .with_context(|| format!("symlink {} -> {}", link.display(), libllvm.display()))?;

    let mut c = Command::new("cargo");
    c.args([
        "install",
        "bpf-linker",
        "--version",
        BPF_LINKER_VERSION,
        "--no-default-features",
        "--features",
        &feature,
    ])
    .env("LLVM_PREFIX", &prefix)
    // At run time the linker finds the nightly's libLLVM through this rpath.
    .env(
        "RUSTFLAGS",
        format!("-C link-arg=-Wl,-rpath,{}", lib.display()),
    )
    .env_remove("RUSTUP_TOOLCHAIN")
    .env_remove("RUSTC")
    .env_remove("CARGO_TARGET_DIR");
    run(&mut c)?;

    if !bpf_linker_ok() {
        bail!(
            "bpf-linker was installed but `bpf-linker --version` still fails; is {} on PATH?",
            cargo_bin_dir().unwrap_or_default().display()
        );
    }
    say("bpf-linker installed");
    Ok(())
}

fn nightly_sysroot() -> Result<PathBuf> {
    let out = probe(Command::new("rustc").args([&format!("+{NIGHTLY}"), "--print", "sysroot"]))
        .context("`rustc +nightly --print sysroot` failed")?;
    Ok(PathBuf::from(out.trim()))
}

/// The LLVM major version of the nightly and its shared library
/// (`<sysroot>/lib/libLLVM.so.<major>.<minor>-rust-*`).
fn nightly_llvm(lib: &Path) -> Result<(u32, PathBuf)> {
    let entries = std::fs::read_dir(lib).with_context(|| format!("read {}", lib.display()))?;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix("libLLVM.so.") else {
            continue;
        };
        if !rest.contains("-rust-") {
            continue;
        }
        let major = rest
            .split('.')
            .next()
            .and_then(|m| m.parse::<u32>().ok())
            .with_context(|| format!("cannot read the LLVM version from {name}"))?;
        return Ok((major, entry.path()));
    }
    bail!(
        "no libLLVM.so.*-rust-* in {}: is the nightly toolchain complete?",
        lib.display()
    )
}
