//! Small helpers shared by the xtask commands: where the workspace is, running a command
//! while saying what it is, and asking whether we are root.

use std::ffi::OsStr;
use std::path::PathBuf;
use std::process::Command;

use anyhow::{bail, Context, Result};

/// Prints a progress line. Every step xtask takes says what it is doing.
pub fn say(msg: impl AsRef<str>) {
    eprintln!("xtask: {}", msg.as_ref());
}

/// The workspace root (xtask lives one level below it).
pub fn workspace_root() -> PathBuf {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    here.parent().map(PathBuf::from).unwrap_or(here)
}

/// Where the cargo commands of [`cargo`] put what they build: `$CARGO_TARGET_DIR` when set
/// (a relative one from the workspace root, their working directory), else `target/` there.
pub fn target_dir() -> PathBuf {
    let root = workspace_root();
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => root.join(dir),
        None => root.join("target"),
    }
}

/// The directory `cargo install` puts binaries in (`$CARGO_HOME/bin`, default `~/.cargo/bin`).
pub fn cargo_bin_dir() -> Option<PathBuf> {
    if let Some(home) = std::env::var_os("CARGO_HOME") {
        return Some(PathBuf::from(home).join("bin"));
    }
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo").join("bin"))
}

/// PATH with `$CARGO_HOME/bin` appended when missing, so a freshly installed `bpf-linker`
/// is found by rustc even when the caller's PATH lacks it.
pub fn path_with_cargo_bin() -> std::ffi::OsString {
    let current = std::env::var_os("PATH").unwrap_or_default();
    let mut dirs: Vec<PathBuf> = std::env::split_paths(&current).collect();
    if let Some(bin) = cargo_bin_dir() {
        if !dirs.contains(&bin) {
            dirs.push(bin);
        }
    }
    std::env::join_paths(dirs).unwrap_or(current)
}

/// A `cargo` command for the given toolchain (`None`: the default one), cleaned of the
/// variables the outer `cargo run` sets for us, so the inner cargo picks its own rustc.
pub fn cargo(toolchain: Option<&str>) -> Command {
    let mut c = Command::new("cargo");
    if let Some(tc) = toolchain {
        c.arg(format!("+{tc}"));
    }
    for var in [
        "RUSTC",
        "RUSTDOC",
        "CARGO",
        "RUSTUP_TOOLCHAIN",
        "RUSTC_WORKSPACE_WRAPPER",
    ] {
        c.env_remove(var);
    }
    c.env("PATH", path_with_cargo_bin());
    c.current_dir(workspace_root());
    c
}

/// Renders a command line for progress messages.
pub fn show(cmd: &Command) -> String {
    let mut parts = vec![cmd.get_program().to_string_lossy().into_owned()];
    parts.extend(cmd.get_args().map(quote));
    parts.join(" ")
}

fn quote(arg: &OsStr) -> String {
    let s = arg.to_string_lossy();
    if s.is_empty() || s.contains([' ', '"', '\'', '$']) {
        format!("'{}'", s.replace('\'', r"'\''"))
    } else {
        s.into_owned()
    }
}

/// Runs a command with inherited stdio, failing with the command line when it fails.
pub fn run(cmd: &mut Command) -> Result<()> {
    let line = show(cmd);
    say(format!("$ {line}"));
    let status = cmd
        .status()
        .with_context(|| format!("cannot start `{line}`"))?;
    if !status.success() {
        bail!("`{line}` failed ({status})");
    }
    Ok(())
}

/// Runs a command and returns its stdout, or `None` if it cannot start or fails. For probes
/// ("is this installed?") where failure is an answer, not an error.
pub fn probe(cmd: &mut Command) -> Option<String> {
    let out = cmd.output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// How to run `cargo xtask ARGS` as root on a stock Debian: sudo's `secure_path` drops
/// `~/.cargo/bin` from PATH (so `sudo -E cargo` is "command not found") and sudo sets HOME
/// to root's (so rustup would look for toolchains in /root). The caller's shell expands
/// `$PATH` and `$HOME` before sudo runs.
pub fn sudo_hint(args: &str) -> String {
    format!(
        "sudo env \"PATH=$PATH\" \"RUSTUP_HOME=${{RUSTUP_HOME:-$HOME/.rustup}}\" \
         \"CARGO_HOME=${{CARGO_HOME:-$HOME/.cargo}}\" cargo xtask {args}"
    )
}

pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}
