//! `hsrpd import`: the files around the pure import (reading the running-config and the
//! map, writing the configuration and the report).

use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};

use super::{import, report, InterfaceMap};

/// What `hsrpd import` was asked to do.
pub struct Options {
    /// The running-config; `-` reads standard input.
    pub input: PathBuf,
    /// `IOS=LINUX` entries.
    pub maps: Vec<String>,
    pub map_file: Option<PathBuf>,
    /// Where the configuration goes (standard output when absent).
    pub output: Option<PathBuf>,
    /// Where the report goes (standard error when absent).
    pub report: Option<PathBuf>,
}

/// Exit 0 when a configuration was written (dropped lines are normal and reported);
/// exit 1 when the map is bad or no HSRP group could be imported.
pub fn main(opts: &Options) -> Result<ExitCode> {
    let mut map = match &opts.map_file {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the map file {}", path.display()))?;
            match InterfaceMap::parse_file(&text, &path.display().to_string()) {
                Ok(m) => m,
                Err(errors) => {
                    for e in errors {
                        eprintln!("{e}");
                    }
                    return Ok(ExitCode::FAILURE);
                }
            }
        }
        None => InterfaceMap::new(),
    };
    let mut bad_map = false;
    for entry in &opts.maps {
        if let Err(e) = map.add(entry) {
            eprintln!("hsrpd import: {e}");
            bad_map = true;
        }
    }
    if bad_map {
        return Ok(ExitCode::FAILURE);
    }
    let (text, source) = if opts.input == Path::new("-") {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("reading the running-config from standard input")?;
        (text, "stdin".to_string())
    } else {
        let text = std::fs::read_to_string(&opts.input)
            .with_context(|| format!("cannot read {}", opts.input.display()))?;
        let name = opts
            .input
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| opts.input.display().to_string());
        (text, name)
    };
    match import(&text, &map, &source) {
        Ok(r) => {
            match &opts.output {
                // The configuration may hold keys: readable by its owner only.
                Some(path) => write_private(path, r.config.as_bytes())?,
                None => std::io::stdout().write_all(r.config.as_bytes())?,
            }
            let mut rep = report(&r.dropped, &r.notes, &r.interfaces);
            let groups = crate::config::parse(&r.config, &source)
                .map(|c| c.groups().count())
                .unwrap_or(0);
            rep += &format!(
                "hsrpd import: {} interface(s), {groups} group(s) imported; {} line(s) dropped\n",
                r.interfaces.len(),
                r.dropped.len()
            );
            emit_report(opts.report.as_deref(), &rep)?;
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            let mut rep = report(&e.dropped, &e.notes, &[]);
            rep += &format!("hsrpd import: {e}\n");
            emit_report(opts.report.as_deref(), &rep)?;
            Ok(ExitCode::FAILURE)
        }
    }
}

fn emit_report(path: Option<&Path>, text: &str) -> Result<()> {
    match path {
        Some(p) => std::fs::write(p, text).with_context(|| format!("writing {}", p.display())),
        None => {
            eprint!("{text}");
            Ok(())
        }
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    f.write_all(bytes)
        .with_context(|| format!("writing {}", path.display()))
}
