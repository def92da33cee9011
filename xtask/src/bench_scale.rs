//! `cargo xtask bench scale`: the control-plane scale row of docs/lab.md — many HSRPv2 groups
//! on one interface of two routers (r1 Active for all, r2 Standby) at fast hellos, and what
//! they cost hsrpd: CPU (% of one core), RSS, and how far hello intervals stray from the
//! configured hello time (beyond the daemon's 20 % downward jitter), plus the daemon's own
//! timer lateness. The measuring is `hsrp-lab scale` (tests crate, see
//! `hsrp_tests::lab_scale` for the method); this builds a release hsrpd (what users run),
//! runs it and prints the row against the targets.
//!
//! Options: `--groups N` (1000), `--hello-ms H` (100), `--hold-ms D` (300), `--window-s S`
//! (10), `--napi threaded|softirq` (threaded: the veths' receive work runs in kernel
//! threads, not in the sending hsrpd; see the module above).

use std::process::{Command, Stdio};

use anyhow::{bail, ensure, Context, Result};
use serde_json::Value;

use crate::util::{cargo, is_root, run, say, target_dir};

/// The targets for 1000 groups at 100 ms hellos (docs/lab.md, scale).
const CPU_TARGET_PERCENT: f64 = 10.0;
const RSS_TARGET_MIB: f64 = 50.0;
const ERROR_TARGET_MS: f64 = 5.0;

const OPTIONS: [(&str, &str); 5] = [
    ("--groups", "1000"),
    ("--hello-ms", "100"),
    ("--hold-ms", "300"),
    ("--window-s", "10"),
    ("--napi", "threaded"),
];

pub fn run_bench(args: &[String]) -> Result<()> {
    let mut values: Vec<(&str, String)> =
        OPTIONS.iter().map(|(k, v)| (*k, v.to_string())).collect();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let Some(slot) = values.iter_mut().find(|(k, _)| *k == a.as_str()) else {
            bail!(
                "bench scale: unknown option {a} ({})",
                OPTIONS.map(|(k, _)| k).join(", ")
            );
        };
        slot.1 = it
            .next()
            .with_context(|| format!("{a} needs a value"))?
            .clone();
    }
    ensure!(
        is_root(),
        "the benchmark needs root (network namespaces, XDP): `{}`",
        crate::util::sudo_hint("bench scale")
    );
    crate::lab::build_lab_tools()?;
    say("building a release hsrpd (the one measured)");
    run(cargo(None).args(["build", "--release", "-p", "hsrp-user", "--bin", "hsrpd"]))?;
    let hsrpd = target_dir().join("release/hsrpd");
    let mut c = Command::new(crate::lab::lab_binary());
    c.arg("scale");
    for (k, v) in &values {
        c.args([*k, v.as_str()]);
    }
    c.arg("--hsrpd").arg(&hsrpd).stdout(Stdio::piped());
    let out = c.output().context("running hsrp-lab scale")?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        bail!("hsrp-lab scale failed ({})", out.status);
    }
    let line = text
        .lines()
        .rfind(|l| l.starts_with('{'))
        .with_context(|| format!("hsrp-lab scale printed no result: {text:?}"))?;
    let v: Value = serde_json::from_str(line).with_context(|| format!("result {line:?}"))?;
    print_row(&v)
}

/// The row and the verdict against the targets.
fn print_row(v: &Value) -> Result<()> {
    let f = |k: &str| v[k].as_f64().with_context(|| format!("no {k} in {v}"));
    let routers = v["routers"]
        .as_array()
        .with_context(|| format!("no routers in {v}"))?;
    let mut cpu_max: f64 = 0.0;
    let mut rss_max: f64 = 0.0;
    println!(
        "\ncontrol-plane scale: {} HSRPv2 groups on one interface, hello {} ms / hold {} ms, \
         two routers, {} s windows (NAPI {})",
        v["groups"],
        v["hello_ms"],
        v["hold_ms"],
        v["window_s"],
        v["napi"].as_str().unwrap_or("?")
    );
    for (r, lateness) in routers.iter().zip(
        v["daemon_lateness"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|l| l.as_str().unwrap_or("?")),
    ) {
        let cpu = r["cpu_percent"].as_f64().context("cpu_percent")?;
        let rss = r["rss_mib"].as_f64().context("rss_mib")?;
        cpu_max = cpu_max.max(cpu);
        rss_max = rss_max.max(rss);
        println!(
            "  {}: CPU {cpu:5.1} % of one core   RSS {rss:6.1} MiB   {lateness}",
            r["router"].as_str().unwrap_or("?")
        );
    }
    let p99 = f("err_p99_ms")?;
    println!(
        "  hellos: {} in {} intervals from {} (router, group) streams; outside the 80-100 % \
         jitter range: {}; error beyond it p50 {:.2} / p99 {p99:.2} / max {:.2} ms; state \
         changes seen {}",
        v["hellos"],
        v["intervals"],
        v["streams"],
        v["outside_jitter_range"],
        f("err_p50_ms")?,
        f("err_max_ms")?,
        v["state_changes_seen"]
    );
    let verdict = |ok: bool| if ok { "ok" } else { "MISSED" };
    println!(
        "  targets: CPU < {CPU_TARGET_PERCENT} %: {}; RSS < {RSS_TARGET_MIB} MB: {}; p99 hello \
         error < {ERROR_TARGET_MS} ms: {}",
        verdict(cpu_max < CPU_TARGET_PERCENT),
        verdict(rss_max * 1.048_576 < RSS_TARGET_MIB),
        verdict(p99 < ERROR_TARGET_MS)
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_result_line_prints_and_a_broken_one_names_the_field() {
        let v: Value = serde_json::from_str(
            r#"{"groups":1000,"hello_ms":100,"hold_ms":300,"window_s":10,"napi":"threaded",
                "routers":[{"router":"r1","cpu_percent":5.5,"rss_mib":11.3}],
                "daemon_lateness":["timer lateness ..."],"hellos":10,"intervals":8,
                "streams":2,"outside_jitter_range":1,"err_p50_ms":0.0,"err_p99_ms":0.6,
                "err_max_ms":3.5,"state_changes_seen":0}"#,
        )
        .unwrap();
        print_row(&v).unwrap();
        let bad: Value = serde_json::from_str(r#"{"routers":[]}"#).unwrap();
        let e = print_row(&bad).unwrap_err().to_string();
        assert!(e.contains("err_p99_ms"), "{e}");
    }
}
