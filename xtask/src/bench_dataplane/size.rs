//! The size of hsrpd's program as the kernel sees it: the instructions after the
//! verifier's rewrites (inlined map lookups, relocated subprograms) and the instructions
//! the verifier processed (every path it walked). Printed with each run, so a change's
//! before/after is one `--objects` run per build.

use std::path::Path;

use anyhow::{Context, Result};
use aya::Ebpf;

use super::objects::load_prog;
use crate::util::say;

/// Loads `object`'s `hsrp` program (maps created, nothing attached) and prints its size.
pub fn program_size(object: &Path) -> Result<()> {
    let mut ebpf =
        Ebpf::load_file(object).with_context(|| format!("loading {}", object.display()))?;
    let info = load_prog(&mut ebpf, "hsrp")?.info()?;
    let xlated = info.size_translated().unwrap_or(0);
    let verified = info.verified_instruction_count().unwrap_or(0);
    let jited = info.size_jitted();
    say(format!(
        "program size of {}: {} instructions after the verifier ({xlated} bytes, \
         {jited} bytes of machine code), {verified} instructions processed by the verifier",
        object.display(),
        xlated / 8,
    ));
    Ok(())
}
