//! `hsrp-probe`: the traffic probe of the lab and the failover tests (see `probe.rs`).
//!
//! ```text
//! hsrp-probe send --to 10.0.2.2:9999 [--interval-us 1000] --count N
//! hsrp-probe recv --port 9999 [--iface IF] --timeout-ms T     # prints "ready" on stderr, JSON report on stdout
//! ```

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use hsrp_tests::probe;

const USAGE: &str = "usage:\n  hsrp-probe send --to ADDR:PORT [--interval-us US] --count N\n  \
                     hsrp-probe recv --port PORT [--iface IF] --timeout-ms MS";

fn main() -> ExitCode {
    match run(std::env::args().skip(1).collect()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hsrp-probe: error: {e:#}\n{USAGE}");
            ExitCode::FAILURE
        }
    }
}

/// The value after `--name`, if given.
fn opt<'a>(args: &'a [String], name: &str) -> Result<Option<&'a str>> {
    match args.iter().position(|a| a == name) {
        None => Ok(None),
        Some(i) => match args.get(i + 1) {
            Some(v) => Ok(Some(v)),
            None => bail!("{name} needs a value"),
        },
    }
}

fn num(args: &[String], name: &str, default: Option<u64>) -> Result<u64> {
    match opt(args, name)? {
        Some(v) => v
            .parse()
            .with_context(|| format!("{name} {v}: not a number")),
        None => default.with_context(|| format!("{name} is required")),
    }
}

fn run(args: Vec<String>) -> Result<()> {
    let Some(cmd) = args.first() else {
        bail!("no subcommand");
    };
    let known: &[&str] = match cmd.as_str() {
        "send" => &["--to", "--interval-us", "--count"],
        "recv" => &["--port", "--iface", "--timeout-ms"],
        other => bail!("unknown subcommand {other}"),
    };
    for a in args[1..].iter().step_by(2) {
        if !known.contains(&a.as_str()) {
            bail!("{cmd}: unknown option {a}");
        }
    }
    match cmd.as_str() {
        "send" => {
            let to = opt(&args, "--to")?
                .context("--to is required")?
                .parse()
                .context("--to: expected ADDR:PORT")?;
            let interval = Duration::from_micros(num(&args, "--interval-us", Some(1000))?);
            let count = num(&args, "--count", None)?;
            let sent = probe::send_stream(to, interval, count)?;
            println!("{{\"sent\":{sent}}}");
        }
        _ => {
            let port = u16::try_from(num(&args, "--port", None)?).context("--port: 0-65535")?;
            let timeout = Duration::from_millis(num(&args, "--timeout-ms", None)?);
            let report = probe::receive_stream(port, opt(&args, "--iface")?, timeout, || {
                eprintln!("ready")
            })?;
            println!("{}", serde_json::to_string(&report)?);
        }
    }
    Ok(())
}
