//! Random hello loss between two real hsrpd routers, made without netem (this
//! kernel has none) by nftables `numgen random` in the LAN switch's bridge forward hook —
//! each copy of an HSRP frame crossing the bridge is dropped independently with p = 0.2.
//!
//! The arithmetic (r2 Standby, hearing r1's hellos; hsrpd jitters hello intervals down by up
//! to 20 %, so they are 80-100 % of `hello`): a spurious takeover needs the gap between two
//! hellos r2 receives to exceed `hold`, i.e. k consecutive losses with (k+1)·interval > hold.
//! Counted conservatively (every interval at its full length, and a gap equal to hold
//! counted as an expiry), that needs k >= hold/hello - 1 losses, probability 0.2^k after
//! each received hello.
//!
//! - hold = 3 x hello (the least IOS allows with msec timers): k >= 2, p = 0.04 (exactly:
//!   k = 3 always expires, k = 2 never does with jitter, p = 0.008). At Cisco's 3 s/10 s
//!   timers, 10 minutes are 200 hellos, 160 received: 1.3 spurious expiries expected
//!   (P(none) = 28 %), so "no transition in 10 minutes" cannot be promised at that ratio
//!   with 20 % independent loss.
//!   `hold_3x_hello_expires_as_predicted` measures the rate at 100/300 ms (90 s).
//! - hold = 10 x hello (100 ms / 1000 ms): k >= 9, p = 0.2^9 = 5.1e-7 per received hello.
//!   `hold_10x_hello_never_expires` runs HSRPT_LOSS_SECS (default 90 s, so the whole suite
//!   stays under its time budget; 600 s for a full 10 minutes) of real time — ~11
//!   hellos/s, ~8.9 received/s — and asserts zero state changes: expected spurious
//!   expiries 600 s x 8.9/s x 5.1e-7 = 0.0027 (0.0004 in 90 s), so a failure means a bug,
//!   not bad luck.

use std::time::{Duration, Instant};

use hsrp_tests::lab::{Lab, LabOptions};
use hsrp_tests::lab_traffic::{start_elected, Timers, GROUP};
use hsrp_tests::require_root;
use hsrp_user::control::GroupStatus;

const LOSS_PERCENT: u32 = 20;

/// Router `i`'s status of [`GROUP`].
fn group(lab: &Lab, i: usize) -> GroupStatus {
    lab.group(i, GROUP).expect("group 1 in status")
}

fn lab_with(timers: Timers) -> Lab {
    require_root();
    hsrp_tests::require_tool("nft");
    let mut lab = Lab::new(LabOptions::default()).expect("building the lab");
    start_elected(&mut lab, timers, "").unwrap();
    lab
}

fn start_loss(lab: &Lab) {
    let rules = format!(
        "table bridge hsrploss {{\n\
         \tchain lossy {{\n\
         \t\ttype filter hook forward priority 0;\n\
         \t\tudp dport 1985 numgen random mod 100 < {LOSS_PERCENT} counter drop\n\
         \t\tudp dport 1985 counter accept\n\
         \t}}\n\
         }}\n"
    );
    let file = lab.dir.join("hsrploss.nft");
    std::fs::write(&file, rules).expect("writing the nft rules");
    lab.lan
        .exec(&format!("nft -f {}", file.display()))
        .expect("nftables loss rules");
}

/// (dropped, passed) HSRP frames so far.
fn loss_counters(lab: &Lab) -> (u64, u64) {
    let json = lab
        .lan
        .exec("nft -j list table bridge hsrploss")
        .expect("nft list");
    let v: serde_json::Value = serde_json::from_str(&json).expect("nft json");
    let mut counts = Vec::new();
    for item in v["nftables"].as_array().into_iter().flatten() {
        if let Some(exprs) = item["rule"]["expr"].as_array() {
            for e in exprs {
                if let Some(p) = e["counter"]["packets"].as_u64() {
                    counts.push(p);
                }
            }
        }
    }
    assert_eq!(counts.len(), 2, "two counters in {json}");
    (counts[0], counts[1])
}

fn loss_secs() -> u64 {
    std::env::var("HSRPT_LOSS_SECS")
        .ok()
        .map(|s| s.parse().expect("HSRPT_LOSS_SECS: seconds"))
        .unwrap_or(90)
}

#[test]
fn hold_10x_hello_never_expires() {
    let timers = Timers::ms(100, 1000);
    let lab = lab_with(timers);
    let before = [group(&lab, 1), group(&lab, 2)];
    start_loss(&lab);
    let secs = loss_secs();
    let start = Instant::now();
    let mut polls = 0u64;
    // Poll the state every 250 ms: any change fails at once with the time it happened.
    while start.elapsed() < Duration::from_secs(secs) {
        std::thread::sleep(Duration::from_millis(250));
        polls += 1;
        for (i, b) in before.iter().enumerate() {
            let g = group(&lab, i + 1);
            assert_eq!(
                g.state_changes,
                b.state_changes,
                "r{} changed state after {:?}: {} ({:?})",
                i + 1,
                start.elapsed(),
                g.last_change_reason,
                loss_counters(&lab)
            );
        }
    }
    let (dropped, passed) = loss_counters(&lab);
    let share = dropped as f64 / (dropped + passed) as f64;
    let received_per_s = passed as f64 / 2.0 / secs as f64;
    let expected = secs as f64 * received_per_s * 0.2f64.powi(9);
    eprintln!(
        "hello loss {:.1} % ({dropped} of {} HSRP frames dropped) over {secs} s, timers {timers}: \
         0 state changes ({polls} polls); expected spurious expiries {expected:.4}",
        share * 100.0,
        dropped + passed
    );
    // ~9000+ frames: 3 sigma of the share is under 1.3 points.
    assert!((0.17..=0.23).contains(&share), "loss share {share}");
}

#[test]
fn hold_3x_hello_expires_as_predicted() {
    let timers = Timers::ms(100, 300);
    let lab = lab_with(timers);
    let before = group(&lab, 2).state_changes;
    start_loss(&lab);
    // 90 s: ~6.4 takeovers expected (k >= 3), P(none) = e^-6.4 = 0.2 %: too likely for a
    // suite that must never flake, so a window without any takeover is extended, 30 s at a
    // time, up to 270 s (P(none) = e^-19). The predictions below count the hellos of the
    // whole window, so the rate check holds whatever its length.
    let mut secs = 90;
    std::thread::sleep(Duration::from_secs(secs));
    while secs < 270 && group(&lab, 2).state_changes == before {
        std::thread::sleep(Duration::from_secs(30));
        secs += 30;
    }
    let (dropped, passed) = loss_counters(&lab);
    // Let the last takeover settle back (preempt) before reading the log.
    std::thread::sleep(Duration::from_secs(1));
    let changes = group(&lab, 2).state_changes - before;
    let log = lab.log(2);
    let takeovers = log.matches("-> Active").count();
    let received = passed as f64 / 2.0;
    let exact = received * 0.2f64.powi(3);
    let conservative = received * 0.2f64.powi(2);
    eprintln!(
        "hold = 3 x hello ({timers}), {LOSS_PERCENT} % loss for {secs} s: {dropped}/{} frames \
         dropped; r2 took over {takeovers} times ({changes} state changes); predicted \
         {exact:.1} (k >= 3) to {conservative:.1} (k >= 2)",
        dropped + passed
    );
    assert!(
        takeovers >= 1,
        "no expiry at all in {secs} s ({exact:.1} expected): is the loss applied?\n{log}"
    );
    // Far above the conservative model would mean hsrpd expires hold timers early.
    assert!(
        (takeovers as f64) <= 2.0 * conservative,
        "{takeovers} takeovers, predicted {exact:.1}-{conservative:.1}"
    );
}
