//! `cargo xtask`: the project's build-and-test driver (see README.md).
//!
//! - `build`: bootstrap the eBPF toolchain if needed, build the XDP object and `hsrpd`.
//! - `run -- ARGS`: build, then run `hsrpd ARGS`.
//! - `test`: every test (setup, build, unit/host tests, privileged tests) with a summary.
//! - `setup`: install the Debian packages the tests use.
//! - `bench dataplane`: the XDP data-plane benchmark.
//! - `lab [--keep]`: the demo; `bench failover`: failover outage vs keepalived.
//! - `bench bfd`: CPU and stability of HSRP BFD peering with many sessions.

mod bench_bfd;
mod bench_dataplane;
mod bench_failover;
mod bench_scale;
mod bootstrap;
mod build;
mod elf;
mod fuzz;
mod lab;
mod setup;
mod test;
mod util;

use std::process::{Command, ExitCode};

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "cargo xtask", about = "Build, run, test and benchmark hsrpd")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Build the XDP object and hsrpd (installs rust-src and bpf-linker when missing).
    Build,
    /// Build, then run `target/debug/hsrpd ARGS` (most subcommands need root).
    Run {
        /// Arguments for hsrpd, after `--`: `cargo xtask run -- run -c FILE`.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Run every test: setup, build, unit and host tests, privileged tests (root).
    Test {
        /// Passed to the test binaries (e.g. a test name filter).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Install the Debian packages the tests need (only the missing ones).
    Setup,
    /// Run the libFuzzer targets (all, or the named ones) for `--seconds` each.
    Fuzz {
        #[arg(long, default_value_t = 60)]
        seconds: u64,
        targets: Vec<String>,
    },
    /// The demo (root): hsrpd on two routers, traffic through the VIP, the Active killed,
    /// the outage measured; tears down unless --keep.
    Lab {
        /// Leave the lab running and print how to explore and tear it down.
        #[arg(long)]
        keep: bool,
    },
    /// Benchmarks.
    Bench {
        #[command(subcommand)]
        which: Bench,
    },
}

#[derive(Subcommand)]
enum Bench {
    /// XDP data plane: ns/packet per verdict and forwarding throughput vs the kernel.
    Dataplane {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Failover outage, hsrpd vs keepalived: --runs N --timers 50/150,.. --scenarios ..
    Failover {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// BFD cost and stability: N sessions at 10 ms, CPU vs no BFD, Up->Down transitions:
    /// --links 32 --bfd 10x3 --window-s 10 --minutes 1 [--stress]
    Bfd {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Control-plane scale: 1000 groups at 100 ms hellos, CPU, RSS, hello timing.
    Scale {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Cmd::Build => build::build(),
        Cmd::Run { args } => return run_hsrpd(&args),
        Cmd::Test { args } => test::test(&args),
        Cmd::Setup => setup::setup(),
        Cmd::Fuzz { seconds, targets } => fuzz::fuzz(
            &targets.iter().map(String::as_str).collect::<Vec<_>>(),
            std::time::Duration::from_secs(seconds),
        ),
        Cmd::Bench {
            which: Bench::Dataplane { args },
        } => build::build().and_then(|()| bench_dataplane::run(&args)),
        Cmd::Lab { keep } => lab::lab(keep),
        Cmd::Bench {
            which: Bench::Failover { args },
        } => bench_failover::run(&args),
        Cmd::Bench {
            which: Bench::Bfd { args },
        } => bench_bfd::run(&args),
        Cmd::Bench {
            which: Bench::Scale { args },
        } => bench_scale::run_bench(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Builds, then runs hsrpd with the given arguments, passing its exit status through.
fn run_hsrpd(args: &[String]) -> ExitCode {
    let go = || -> Result<ExitCode> {
        build::build()?;
        if !util::is_root() {
            util::say("warning: not root; hsrpd needs root to load XDP and open raw sockets");
        }
        let bin = build::hsrpd_binary();
        let mut c = Command::new(&bin);
        c.args(args);
        util::say(format!("$ {}", util::show(&c)));
        let status = c
            .status()
            .with_context(|| format!("cannot start {}", bin.display()))?;
        Ok(match status.code() {
            Some(0) => ExitCode::SUCCESS,
            Some(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
            None => ExitCode::FAILURE,
        })
    };
    go().unwrap_or_else(|e| {
        eprintln!("xtask: error: {e:#}");
        ExitCode::FAILURE
    })
}
