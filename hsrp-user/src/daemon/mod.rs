//! The daemon: thin I/O around the state machines (in progress).
use std::path::Path;
use std::process::ExitCode;

/// Entry point of `hsrpd run`.
pub fn run(_config: &Path, _socket: &Path) -> anyhow::Result<ExitCode> {
    anyhow::bail!("run: not implemented yet")
}
