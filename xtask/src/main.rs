//! `cargo xtask`: the project's build-and-test driver (see README.md).
//!
//! - `build`: bootstrap the eBPF toolchain if needed, build the XDP object and `hsrpd`.
//! - `run -- ARGS`: build, then run `hsrpd ARGS`.
//! - `test`: every test (setup, build, unit/host tests, privileged tests) with a summary.
//! - `load` / `unload --iface IF`: the data plane alone (`hsrpd load` / `unload`).
//! - `dist`: release build, man pages, completions and the Debian package (target/dist).
//! - `setup`: install the Debian packages the tests use.
//! - `bench dataplane`: the XDP data-plane benchmark.
//! - `lab [--keep]`: the demo; `bench failover`: failover outage vs keepalived.
//! - `soak --minutes N [--seed S]`: the chaos soak (random faults, invariants).
//! - `bench load`: hellos on time with the CPUs busy, hsrpd (default, real-time) vs
//!   keepalived.
//! - `bench bfd`: CPU and stability of HSRP BFD peering with many sessions.

mod bench_bfd;
mod bench_dataplane;
mod bench_failover;
mod bench_load;
mod bench_scale;
mod bootstrap;
mod build;
mod dist;
mod elf;
mod fuzz;
mod lab;
mod mdroff;
mod setup;
mod test;
mod test_times;
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
    /// Release build, man pages, shell completions and the Debian package in target/dist/
    /// (prints the package's path).
    Dist,
    /// Build if needed, then attach the XDP data plane alone to IF and pin its maps
    /// (`hsrpd load`, root); prints the bpftool commands that read the maps.
    Load {
        #[arg(long)]
        iface: String,
    },
    /// Detach the data plane of `cargo xtask load` from IF (`hsrpd unload`, root).
    Unload {
        #[arg(long)]
        iface: String,
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
    /// The chaos soak (root): two hsrpd routers with traffic, random faults from a seeded
    /// RNG (the seed is printed), invariants checked; exit 1 if one broke.
    Soak {
        #[arg(long, default_value_t = 10)]
        minutes: u64,
        /// Replay the faults of an earlier run.
        #[arg(long)]
        seed: Option<u64>,
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
    /// Hellos on time under load (CPU hog, forwarding flood), hsrpd default/real-time vs
    /// keepalived: --seconds S | --minutes M, --timers 50/150,15/50, --loads, --impls
    Load {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Memory and descriptors of two daemons with 1000 groups after N minutes of churn vs
    /// after 1: --minutes N (5), --groups G (1000)
    Churn {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Control-plane flood: the generator's rate, XDP counts, hsrpd CPU vs idle: --seconds S
    Flood {
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
        Cmd::Dist => dist::dist().map(|_| ()),
        Cmd::Load { iface } => return load_unload("load", &iface),
        Cmd::Unload { iface } => return load_unload("unload", &iface),
        Cmd::Setup => setup::setup(),
        Cmd::Fuzz { seconds, targets } => fuzz::fuzz(
            &targets.iter().map(String::as_str).collect::<Vec<_>>(),
            std::time::Duration::from_secs(seconds),
        ),
        Cmd::Bench {
            which: Bench::Dataplane { args },
        } => build::build().and_then(|()| bench_dataplane::run(&args)),
        Cmd::Lab { keep } => lab::lab(keep),
        Cmd::Soak { minutes, seed } => lab::soak(minutes, seed),
        Cmd::Bench {
            which: Bench::Failover { args },
        } => bench_failover::run(&args),
        Cmd::Bench {
            which: Bench::Bfd { args },
        } => bench_bfd::run(&args),
        Cmd::Bench {
            which: Bench::Scale { args },
        } => bench_scale::run_bench(&args),
        Cmd::Bench {
            which: Bench::Load { args },
        } => bench_load::run_bench(&args),
        Cmd::Bench {
            which: Bench::Churn { args },
        } => lab::churn(&args),
        Cmd::Bench {
            which: Bench::Flood { args },
        } => lab::flood(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// `cargo xtask load|unload --iface IF`: refuses early without root (naming the command that
/// works under sudo), then `hsrpd load|unload --iface IF` after a build.
fn load_unload(verb: &str, iface: &str) -> ExitCode {
    if !util::is_root() {
        eprintln!(
            "xtask: error: attaching XDP needs root: `{}`",
            util::sudo_hint(&format!("{verb} --iface {iface}"))
        );
        return ExitCode::FAILURE;
    }
    let args = [verb.to_string(), "--iface".to_string(), iface.to_string()];
    let code = run_hsrpd(&args);
    if verb == "load" && code == ExitCode::SUCCESS {
        util::say(format!(
            "the data plane stays attached to {iface}; read the maps with the bpftool \
             commands above, detach with `cargo xtask unload --iface {iface}`"
        ));
    }
    code
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
