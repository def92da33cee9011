//! `cargo xtask bench failover`: how long traffic stops when the Active router fails,
//! hsrpd next to keepalived (VRRPv3, `advert_int` = the hello, with and without
//! `use_vmac`) in the same run and topology (the lab: host — bridge — r1, r2 — uplink —
//! server, a 1 packet/ms probe stream measured at the server).
//!
//! For each implementation and timer pair, one `hsrp-lab bench` process builds the lab and
//! repeats each failure scenario N times, printing one JSON object per run; this module
//! gathers them and prints min / median / p95 / max outage, packets lost and duplicated,
//! and the hsrpd / keepalived ratio of the medians.
//!
//! Options: `--runs N` (default 10), `--timers 1000/3000,100/300,50/150,15/50`,
//! `--bfd off,10x3,50x3` (BFD interval x multiplier between the routers, default off:
//! hsrpd's HSRP BFD peering, keepalived's own BFD tracked by its VRRP instance),
//! `--scenarios isolated,sigkill,link-down,sigterm`,
//! `--impls hsrpd,keepalived,keepalived-vmac`; `--from FILE` prints the table of runs saved
//! earlier (the JSON lines of `hsrp-lab bench`) without measuring.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use anyhow::{bail, ensure, Context, Result};
use serde_json::Value;

use crate::util::{is_root, say};

const DEFAULT_TIMERS: &str = "1000/3000,100/300,50/150,15/50";
const DEFAULT_SCENARIOS: &str = "isolated,sigkill,link-down,sigterm";
const DEFAULT_IMPLS: &str = "hsrpd,keepalived,keepalived-vmac";

/// One measured run.
#[derive(Clone, Debug, PartialEq)]
pub struct Run {
    pub imp: String,
    pub timers: String,
    /// "off" or INTERVALxMULTIPLIER.
    pub bfd: String,
    pub scenario: String,
    pub outage_ms: f64,
    pub lost: u64,
    pub duplicates: u64,
    pub router_changes: u64,
    /// Traffic flowed again before the stream ended (false: the outage is a lower bound).
    pub recovered: bool,
}

impl Run {
    fn from_json(v: &Value) -> Result<Run> {
        let s = |k: &str| {
            v[k].as_str()
                .map(str::to_owned)
                .with_context(|| format!("no {k} in {v}"))
        };
        let n = |k: &str| v[k].as_u64().with_context(|| format!("no {k} in {v}"));
        Ok(Run {
            imp: s("impl")?,
            timers: s("timers")?,
            // Runs saved before the BFD rows have no "bfd".
            bfd: v["bfd"].as_str().unwrap_or("off").to_owned(),
            scenario: s("scenario")?,
            outage_ms: v["outage_ms"]
                .as_f64()
                .with_context(|| format!("no outage_ms in {v}"))?,
            lost: n("lost")?,
            duplicates: n("duplicates")?,
            router_changes: n("router_changes")?,
            recovered: v["recovered"].as_bool().unwrap_or(true),
        })
    }
}

/// min, median, p95 (nearest rank), max of a non-empty sample.
pub fn stats(values: &[f64]) -> Option<[f64; 4]> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let rank = |p: f64| v[((p * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1];
    let median = if v.len() % 2 == 1 {
        v[v.len() / 2]
    } else {
        (v[v.len() / 2 - 1] + v[v.len() / 2]) / 2.0
    };
    Some([v[0], median, rank(0.95), v[v.len() - 1]])
}

fn opt<'a>(args: &'a [String], name: &str, default: &'a str) -> Result<&'a str> {
    match args.iter().position(|a| a == name) {
        None => Ok(default),
        Some(i) => args
            .get(i + 1)
            .map(String::as_str)
            .with_context(|| format!("{name} needs a value")),
    }
}

pub fn run(args: &[String]) -> Result<()> {
    for a in args.iter().step_by(2) {
        if ![
            "--runs",
            "--timers",
            "--bfd",
            "--scenarios",
            "--impls",
            "--from",
        ]
        .contains(&a.as_str())
        {
            bail!(
                "bench failover: unknown option {a} (--runs, --timers, --bfd, --scenarios, \
                 --impls, --from)"
            );
        }
    }
    if let Some(i) = args.iter().position(|a| a == "--from") {
        let file = args.get(i + 1).context("--from needs a file")?;
        let text = std::fs::read_to_string(file).with_context(|| format!("reading {file}"))?;
        let mut all = Vec::new();
        for (n, line) in text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            let v: Value = serde_json::from_str(line)
                .with_context(|| format!("{file}:{}: not JSON", n + 1))?;
            all.push(Run::from_json(&v).with_context(|| format!("{file}:{}", n + 1))?);
        }
        print_table(&all);
        return Ok(());
    }
    let runs: u32 = opt(args, "--runs", "10")?.parse().context("--runs")?;
    ensure!(runs >= 1, "--runs must be at least 1");
    let timers = opt(args, "--timers", DEFAULT_TIMERS)?;
    let scenarios = opt(args, "--scenarios", DEFAULT_SCENARIOS)?;
    let impls = opt(args, "--impls", DEFAULT_IMPLS)?;
    let bfds = opt(args, "--bfd", "off")?;
    ensure!(
        is_root(),
        "the benchmark needs root (network namespaces, XDP): `{}`",
        crate::util::sudo_hint("bench failover")
    );
    crate::lab::build_lab_tools()?;
    let mut all = Vec::new();
    say(format!("load before: {}", load_average()));
    for t in timers.split(',') {
        for bfd in bfds.split(',') {
            for imp in impls.split(',') {
                say(format!(
                    "== {imp}, timers {t} ms, BFD {bfd}, {runs} run(s) of {scenarios}"
                ));
                all.extend(run_series(imp, t, bfd, scenarios, runs)?);
            }
        }
    }
    say(format!("load after: {}", load_average()));
    print_table(&all);
    Ok(())
}

/// One `hsrp-lab bench` process: its JSON lines, its progress passed through.
/// The machine's load averages (1, 5, 15 min), to print next to the figures.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

fn run_series(imp: &str, timers: &str, bfd: &str, scenarios: &str, runs: u32) -> Result<Vec<Run>> {
    let mut child = Command::new(crate::lab::lab_binary())
        .args([
            "bench",
            "--impl",
            imp,
            "--timers",
            timers,
            "--scenario",
            scenarios,
            "--bfd",
            bfd,
        ])
        .args(["--runs", &runs.to_string()])
        .stdout(Stdio::piped())
        .spawn()
        .context("starting hsrp-lab bench")?;
    let mut out = Vec::new();
    let stdout = child.stdout.take().context("hsrp-lab stdout")?;
    for line in BufReader::new(stdout).lines() {
        let line = line?;
        let v: Value = serde_json::from_str(&line)
            .with_context(|| format!("hsrp-lab bench printed {line:?}"))?;
        out.push(Run::from_json(&v)?);
    }
    let status = child.wait()?;
    if !status.success() {
        bail!("hsrp-lab bench --impl {imp} --timers {timers} failed ({status})");
    }
    Ok(out)
}

/// (timers, bfd, scenario, implementation).
type RowKey = (String, String, String, String);

fn print_table(all: &[Run]) {
    // Rows in the order measured.
    let mut groups: Vec<(RowKey, Vec<&Run>)> = Vec::new();
    for r in all {
        let key = (
            r.timers.clone(),
            r.bfd.clone(),
            r.scenario.clone(),
            r.imp.clone(),
        );
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, v)) => v.push(r),
            None => groups.push((key, vec![r])),
        }
    }
    let mut medians: BTreeMap<RowKey, f64> = BTreeMap::new();
    println!(
        "\n{:<10} {:<5} {:<10} {:<16} {:>4} | {:>8} {:>8} {:>8} {:>8} ms | {:>9} {:>9} | {:>4} {:>7} {:>5}",
        "timers",
        "bfd",
        "scenario",
        "impl",
        "runs",
        "min",
        "median",
        "p95",
        "max",
        "lost med",
        "lost max",
        "dups",
        "changes",
        "unrec"
    );
    for ((t, b, s, i), runs) in &groups {
        let outages: Vec<f64> = runs.iter().map(|r| r.outage_ms).collect();
        let lost: Vec<f64> = runs.iter().map(|r| r.lost as f64).collect();
        let [mn, med, p95, mx] = stats(&outages).unwrap_or_default();
        let [_, lmed, _, lmax] = stats(&lost).unwrap_or_default();
        let dups: u64 = runs.iter().map(|r| r.duplicates).sum();
        let changes = runs.iter().map(|r| r.router_changes).max().unwrap_or(0);
        let unrecovered = runs.iter().filter(|r| !r.recovered).count();
        medians.insert((t.clone(), b.clone(), s.clone(), i.clone()), med);
        println!(
            "{t:<10} {b:<5} {s:<10} {i:<16} {:>4} | {mn:>8.1} {med:>8.1} {p95:>8.1} {mx:>8.1}    | \
             {lmed:>9.0} {lmax:>9.0} | {dups:>4} {changes:>7} {unrecovered:>5}",
            runs.len()
        );
    }
    println!(
        "\n(outage = longest gap at the server with a 1 packet/ms stream; `changes` = most \
         changes of the delivering router in one run: 1 is a clean failover, 0 means the \
         old router kept forwarding; `unrec` = runs where traffic had not resumed when the \
         stream ended, whose outage is a lower bound)"
    );
    println!("\nratio of median outages, hsrpd / keepalived (< 1: hsrpd is faster):");
    for ((t, b, s, i), med) in &medians {
        if i != "hsrpd" {
            continue;
        }
        for other in ["keepalived", "keepalived-vmac"] {
            if let Some(k) = medians.get(&(t.clone(), b.clone(), s.clone(), other.to_string())) {
                let ratio = if *k > 0.0 { med / k } else { f64::INFINITY };
                println!(
                    "  {t:<10} bfd {b:<5} {s:<10} vs {other:<16} {ratio:>6.2}  ({med:.1} / {k:.1} ms)"
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_are_min_median_nearest_rank_p95_max() {
        assert_eq!(stats(&[]), None);
        assert_eq!(stats(&[5.0]), Some([5.0; 4]));
        assert_eq!(stats(&[4.0, 1.0, 3.0, 2.0]), Some([1.0, 2.5, 4.0, 4.0]));
        let v: Vec<f64> = (1..=20).map(f64::from).collect();
        assert_eq!(stats(&v), Some([1.0, 10.5, 19.0, 20.0]));
    }

    #[test]
    fn run_lines_parse_and_bad_ones_name_the_field() {
        let v: Value = serde_json::from_str(
            r#"{"impl":"hsrpd","timers":"50ms/150ms","scenario":"isolated","outage_ms":120.5,
                "lost":119,"duplicates":0,"router_changes":1}"#,
        )
        .unwrap();
        let r = Run::from_json(&v).unwrap();
        assert_eq!((r.lost, r.router_changes, r.outage_ms), (119, 1, 120.5));
        assert_eq!(r.bfd, "off", "runs saved without a bfd field are BFD off");
        let v: Value = serde_json::from_str(
            r#"{"impl":"hsrpd","timers":"3s/10s","bfd":"10x3","scenario":"sigkill",
                "outage_ms":31.0,"lost":30,"duplicates":0,"router_changes":1}"#,
        )
        .unwrap();
        assert_eq!(Run::from_json(&v).unwrap().bfd, "10x3");
        let bad: Value = serde_json::from_str(r#"{"impl":"hsrpd"}"#).unwrap();
        let e = Run::from_json(&bad).unwrap_err().to_string();
        assert!(e.contains("timers"), "{e}");
    }
}
