//! `hsrpd decode FILE [--key KEY]` (in progress)

use std::path::Path;
use std::process::ExitCode;

/// Entry point of `hsrpd decode`.
pub fn main(_file: &Path, _key: Option<&str>) -> anyhow::Result<ExitCode> {
    anyhow::bail!("decode: not implemented yet")
}
