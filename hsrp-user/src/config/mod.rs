//! The IOS-syntax configuration (docs/configuration.md): parsed by a pure parser that
//! knows nothing about the system, then checked against the running system, read-only.
//!
//! - `parse`: pass 1, the line grammar (every bad line reported);
//! - `resolve`: pass 2, whole-file checks and key-chain resolution;
//! - `system`: pass 3, interfaces and addresses against the kernel;
//! - `bfd`: the BFD lines (`bfd interval`, `standby bfd`), refused until peering runs;
//! - `model`: the resulting plain data; `error`: `FILE:LINE: TEXT: reason` messages.

mod bfd;
mod error;
mod model;
mod parse;
mod resolve;
mod system;
mod values;

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;

pub use error::{ConfigError, Diagnostic};
pub use model::*;
pub use system::{validate_against_system, SystemView};

/// Parses a configuration file's text. `source` names the file in messages. Pure: the
/// same text always gives the same result, whatever the machine.
pub fn parse(text: &str, source: &str) -> Result<Config, ConfigError> {
    let mut diags = error::Diagnostics::new(text);
    let drafts = parse::read(text, &mut diags);
    let config = resolve::resolve(drafts, source, text, &mut diags);
    diags.finish(source).map(|()| config)
}

/// Why a configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read {path}: {err}")]
    Read { path: String, err: std::io::Error },
    #[error("cannot read the system's interfaces: {0:#}")]
    System(anyhow::Error),
    #[error("{0}")]
    Invalid(ConfigError),
}

/// Reads, parses and checks a file against the current network namespace: what
/// `hsrpd check` and `hsrpd run` (and its SIGHUP reload) do.
pub fn load(path: &Path) -> Result<Config, LoadError> {
    let source = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|err| LoadError::Read {
        path: source.clone(),
        err,
    })?;
    let config = parse(&text, &source).map_err(LoadError::Invalid)?;
    let system = SystemView::read().map_err(LoadError::System)?;
    validate_against_system(&config, &system).map_err(LoadError::Invalid)?;
    Ok(config)
}

/// Entry point of `hsrpd check`: exit 0 and a summary on stdout when the file is valid;
/// exit 1 with one `FILE:LINE: TEXT: reason` line per problem on stderr otherwise.
pub fn check(path: &Path) -> anyhow::Result<ExitCode> {
    match load(path) {
        Ok(config) => {
            let groups = config.groups().count();
            println!(
                "{}: OK: {} interface(s), {} group(s), {} track object(s), {} key chain(s)",
                config.source,
                config.interfaces.len(),
                groups,
                config.tracks.len(),
                config.key_chains.len()
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(LoadError::Invalid(e)) => {
            for line in e.lines() {
                eprintln!("{line}");
            }
            eprintln!("hsrpd: {} error(s) in {}", e.diagnostics.len(), e.source);
            Ok(ExitCode::FAILURE)
        }
        Err(e) => Err(e).context("check"),
    }
}
