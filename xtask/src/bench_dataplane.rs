//! `cargo xtask bench dataplane`: (a) ns/packet per verdict via BPF_PROG_TEST_RUN with a
//! large repeat count; (b) forwarding throughput through veths in ONE run, same generator
//! and sink for every row: hsrpd's program vs kernel forwarding vs a minimal fib lookup +
//! redirect vs redirect only; and under a stateful nftables ruleset (`policy drop`,
//! `ct state established,related accept` first), kernel forwarding vs hsrpd's
//! accepted-flow path (the generator's flow in `HSRP_FLOWS`), next to hsrpd without rules.
//!
//! (a) The program rewrites frames in place and test_run repeats on the same buffer, so
//! each repetition first restores the frame (`bench_restore_hsrp` in the hsrp-bench
//! object, which wraps the same `classify`); the restore-only time is subtracted.
//! (b) Generator: `bench_gen` run with BPF_PROG_TEST_RUN live frames on gen's veth,
//! XDP_TX into the router's port; sink: `bench_sink` (count, drop) on the far veth. The
//! generating thread is pinned to one CPU, so generator, router and sink share one core.
//! (b) also runs the cheap paths (not-Active drop, control drops) through the same
//! generator next to a parse-only program that drops the same frames. The rows are
//! interleaved over several rounds and each row keeps its best round, so a burst of load
//! from elsewhere on the shared machine hits every row alike instead of one.
//! Options: `--repeat N` (a, default 1000000), `--packets N` (b, default 2000000),
//! `--rounds N` (b, default 3), `--objects DIR` (measure DIR/hsrp and DIR/hsrp-bench
//! instead of building), `--hsrp-object PATH` (throughput rows of hsrpd with another
//! build of the program, everything else from this build: before/after comparisons in
//! the same harness), `--only a|b|size` (`size`: only the program's instruction counts,
//! which every run prints first).

mod frames;
mod netns;
mod objects;
mod size;
mod throughput;
mod verdicts;

use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;

use anyhow::{ensure, Context, Result};

use crate::build::{ebpf_object, BPF_TARGET};
use crate::util::{run as run_cmd, say, workspace_root};

const XDP_DROP: u32 = 1;
const XDP_PASS: u32 = 2;
const XDP_TX: u32 = 3;
const XDP_REDIRECT: u32 = 4;

const VMAC_A: [u8; 6] = [0x00, 0x00, 0x0c, 0x9f, 0xf0, 0x01];
const VMAC_B: [u8; 6] = [0x00, 0x00, 0x0c, 0x9f, 0xf0, 0x02];
const VIP4: Ipv4Addr = Ipv4Addr::new(10, 0, 1, 1);
const VIP6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 1);
const HOST_MAC: [u8; 6] = [0x02, 0, 0, 0, 1, 0x0a];
const HOST4: Ipv4Addr = Ipv4Addr::new(10, 0, 1, 10);
const HOST6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 0x10);
const SERVER4: Ipv4Addr = Ipv4Addr::new(10, 0, 2, 2);
const SERVER6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 2, 0, 0, 0, 0, 2);

pub fn run(args: &[String]) -> Result<()> {
    let repeat = opt(args, "--repeat", 1_000_000)?;
    let packets = opt(args, "--packets", 2_000_000)?;
    let rounds = opt(args, "--rounds", 3)?.max(1);
    ensure!(
        crate::util::is_root(),
        "the benchmark needs root (network namespaces, XDP)"
    );
    let mut objects = match args.iter().position(|a| a == "--objects") {
        Some(i) => {
            let dir = PathBuf::from(args.get(i + 1).context("--objects needs a directory")?);
            Objects {
                hsrp: dir.join("hsrp"),
                bench: dir.join("hsrp-bench"),
            }
        }
        None => {
            build_bench_object()?;
            Objects {
                hsrp: ebpf_object(),
                bench: bench_object(),
            }
        }
    };
    if let Some(i) = args.iter().position(|a| a == "--hsrp-object") {
        let path = args.get(i + 1).context("--hsrp-object needs a path")?;
        objects.hsrp = PathBuf::from(path);
    }
    for o in [&objects.hsrp, &objects.bench] {
        ensure!(o.is_file(), "no object {}", o.display());
    }
    say(format!(
        "objects: {} and {}",
        objects.hsrp.display(),
        objects.bench.display()
    ));
    let only = match args.iter().position(|a| a == "--only") {
        Some(i) => Some(
            args.get(i + 1)
                .map(String::as_str)
                .context("--only needs a or b")?,
        ),
        None => None,
    };
    ensure!(
        matches!(only, None | Some("a") | Some("b") | Some("size")),
        "--only takes `a` (per-verdict costs), `b` (throughput) or `size`"
    );
    size::program_size(&objects.hsrp)?;
    if only == Some("size") {
        return Ok(());
    }
    if only != Some("b") {
        verdicts::verdict_costs(repeat as u32, &objects)?;
    }
    if only != Some("a") {
        throughput::forwarding_throughput(packets as u32, rounds as u32, &objects)?;
    }
    Ok(())
}

fn opt(args: &[String], name: &str, default: u64) -> Result<u64> {
    match args.iter().position(|a| a == name) {
        None => Ok(default),
        Some(i) => args
            .get(i + 1)
            .with_context(|| format!("{name} needs a number"))?
            .parse()
            .with_context(|| format!("{name}: not a number")),
    }
}

/// The two objects a run measures (`--objects DIR` compares another build, e.g. before
/// and after a change, with the same harness).
struct Objects {
    hsrp: PathBuf,
    bench: PathBuf,
}

fn bench_object() -> PathBuf {
    workspace_root()
        .join("target/bpf")
        .join(BPF_TARGET)
        .join("release/hsrp-bench")
}

fn build_bench_object() -> Result<()> {
    say("building the benchmark object (hsrp-bench)");
    let mut c = crate::build::ebpf_build_command("hsrp-bench");
    run_cmd(&mut c)
}
