//! `hsrpd load` / `hsrpd unload`.
use std::process::ExitCode;

pub fn load(_iface: &str) -> anyhow::Result<ExitCode> {
    anyhow::bail!("load: not implemented yet")
}

pub fn unload(_iface: &str) -> anyhow::Result<ExitCode> {
    anyhow::bail!("unload: not implemented yet")
}
