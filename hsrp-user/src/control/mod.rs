//! The status socket and `hsrpd status` (in progress).
use std::process::ExitCode;

/// Entry point of `hsrpd status`.
pub fn status(_detail: bool, _json: bool) -> anyhow::Result<ExitCode> {
    anyhow::bail!("status: not implemented yet")
}
