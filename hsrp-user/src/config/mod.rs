//! The IOS-syntax configuration (docs/configuration.md): parsed by a pure parser that
//! knows nothing about the system, then checked against the running system, read-only.
//!
//! - `parse`: pass 1, the line grammar (every bad line reported);
//! - `resolve`: pass 2, whole-file checks and key-chain resolution;
//! - `system`: pass 3, interfaces and addresses against the kernel;
//! - `operator`: hsrpd's own `hsrpd ...` lines (notify program);
//! - `bfd`: the BFD lines (`bfd interval`, `standby bfd`);
//! - `model`: the resulting plain data; `error`: `FILE:LINE: TEXT: reason` messages;
//! - `advice`: warnings of `hsrpd check` about the system around a valid file.

mod advice;
mod bfd;
mod error;
pub mod lifetime;
mod model;
pub mod operator;
mod parse;
mod resolve;
mod system;
pub(crate) mod values;

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;

pub use crate::net::SystemView;
pub use advice::{warnings, SystemFacts};
pub use error::{redact_secrets, ConfigError, Diagnostic};
pub use model::*;
pub use system::validate_against_system;

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

/// Reads and parses a file, whole-file rules included, reading nothing from the system.
pub fn load_offline(path: &Path) -> Result<Config, LoadError> {
    let source = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|err| LoadError::Read {
        path: source.clone(),
        err,
    })?;
    parse(&text, &source).map_err(LoadError::Invalid)
}

impl SystemFacts {
    /// The facts of the current network namespace for `config`'s interfaces.
    pub fn read(config: &Config) -> SystemFacts {
        SystemFacts {
            ipv4_forwarding: crate::net::ipv4_forwarding().ok(),
            ipv6_forwarding: crate::net::ipv6_forwarding().ok(),
            rp_filter: config
                .interfaces
                .iter()
                .map(|i| (i.name.clone(), crate::net::rp_filter(&i.name).ok()))
                .collect(),
            xdp_object: crate::dataplane::loader::embedded_object().is_ok(),
        }
    }
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
    let system = SystemView::read()
        .context("getifaddrs")
        .map_err(LoadError::System)?;
    validate_against_system(&config, &system).map_err(LoadError::Invalid)?;
    if let Some(notify) = &config.operator.notify {
        operator::check_program(notify).map_err(|reason| {
            LoadError::Invalid(ConfigError {
                source: source.clone(),
                diagnostics: vec![Diagnostic {
                    line: Some(notify.line),
                    text: config
                        .text
                        .lines()
                        .nth(notify.line - 1)
                        .unwrap_or("")
                        .trim()
                        .into(),
                    reason,
                }],
            })
        })?;
    }
    Ok(config)
}

/// Entry point of `hsrpd check`: exit 0 and a summary on stdout when the file is valid;
/// exit 78 (EX_CONFIG) with one `FILE:LINE: TEXT: reason` line per problem on stderr when
/// it is not, or cannot be read. Online, warnings about the system around a valid file
/// (`advice`) go to stderr as `hsrpd: warning: ...` and leave the exit status 0.
/// `offline`: the file alone (syntax and whole-file rules), nothing read from the system.
pub fn check(path: &Path) -> anyhow::Result<ExitCode> {
    check_with(path, false)
}

/// [`check`], optionally offline.
pub fn check_with(path: &Path, offline: bool) -> anyhow::Result<ExitCode> {
    let loaded = if offline {
        load_offline(path)
    } else {
        load(path)
    };
    match loaded {
        Ok(config) => {
            let groups = config.groups().count();
            if !offline {
                let p = crate::logging::error_prefix();
                for w in warnings(&config, &SystemFacts::read(&config)) {
                    eprintln!("{p}hsrpd: warning: {w}");
                }
            }
            println!(
                "{}: OK{}: {} interface(s), {} group(s), {} track object(s), {} key chain(s)",
                config.source,
                if offline { " (offline)" } else { "" },
                config.interfaces.len(),
                groups,
                config.tracks.len(),
                config.key_chains.len()
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(LoadError::Invalid(e)) => {
            let p = crate::logging::error_prefix();
            for line in e.lines() {
                eprintln!("{p}{line}");
            }
            eprintln!("{p}hsrpd: {} error(s) in {}", e.diagnostics.len(), e.source);
            Ok(ExitCode::from(crate::manual::exit::CONFIG))
        }
        Err(e @ LoadError::Read { .. }) => {
            eprintln!("{}hsrpd: error: check: {e}", crate::logging::error_prefix());
            Ok(ExitCode::from(crate::manual::exit::CONFIG))
        }
        Err(e) => Err(e).context("check"),
    }
}
