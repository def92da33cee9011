//! (in progress)

use std::path::Path;
use std::process::ExitCode;

/// Entry point of `hsrpd check`.
pub fn check(_path: &Path) -> anyhow::Result<ExitCode> {
    anyhow::bail!("check: not implemented yet")
}
