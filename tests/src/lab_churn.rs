//! Memory and descriptor bounds under churn (`hsrp-lab churn`, behind `cargo xtask bench
//! churn`, and a short run in `tests/daemon_churn_bounds.rs`): two routers with many
//! HSRPv2 groups (preempt on both), and cycles of churn that touch every group:
//!
//! 1. SIGHUP r2 with priority 120: every group preempts to r2;
//! 2. SIGHUP r2 back to 100: every group preempts back to r1;
//! 3. SIGHUP r1 without the upper half of the groups (removed: resigned, data plane
//!    entries gone), then with them again (new groups, new entries, preempt back).
//!
//! After each complete cycle (same configuration, same roles as at the start) the RSS and
//! open descriptors of both daemons are sampled. The bound: what they hold after N minutes
//! equals what they held after the first minute, descriptors exactly, RSS within
//! [`RSS_TOLERANCE`].

use std::time::{Duration, Instant};

use anyhow::{ensure, Context, Result};

use crate::lab::{Lab, LabOptions, ROUTER_LAN_IF};
use crate::lab_scale::{prepare_scale_lab, router_scale_ip, scale_vip};
use crate::soak::{resources, Resources};
use hsrp_user::proto::State;

/// Allowed RSS difference between the first minute and the end (allocator caches settle
/// in the first cycles; a leak of even 100 bytes per group per cycle exceeds it in minutes).
pub const RSS_TOLERANCE: f64 = 0.05;
/// Timers of the churn groups: the churn is the reloads, not the hello rate.
pub const HELLO_MS: u32 = 500;
pub const HOLD_MS: u32 = 1500;

/// Router `i`'s configuration: groups `1..=groups` at `prio`, preempt.
pub fn churn_config(i: usize, groups: u16, prio: u8) -> String {
    let mut c = format!(
        "interface {ROUTER_LAN_IF}\n ip address {} 255.255.0.0\n standby version 2\n",
        router_scale_ip(i)
    );
    for g in 1..=groups {
        c.push_str(&format!(
            " standby {g} ip {}\n standby {g} priority {prio}\n standby {g} preempt\n \
             standby {g} timers msec {HELLO_MS} msec {HOLD_MS}\n",
            scale_vip(g)
        ));
    }
    c
}

/// One sample after a complete cycle.
#[derive(Clone, Debug)]
pub struct Sample {
    pub at: Duration,
    pub cycles: u32,
    pub routers: Vec<Resources>,
}

/// What a churn run measured: the first sample at or after one minute, and the last.
#[derive(Clone, Debug)]
pub struct ChurnReport {
    pub groups: u16,
    pub samples: Vec<Sample>,
}

impl ChurnReport {
    /// The first sample at or after `at`.
    pub fn first_after(&self, at: Duration) -> Option<&Sample> {
        self.samples.iter().find(|s| s.at >= at)
    }

    /// Differences beyond the bound between the sample after one minute and the last one.
    pub fn violations(&self, baseline_at: Duration) -> Vec<String> {
        let (Some(base), Some(last)) = (self.first_after(baseline_at), self.samples.last()) else {
            return vec!["no samples".into()];
        };
        let mut v = Vec::new();
        if last.at <= base.at {
            v.push(format!(
                "no sample after the baseline at {:?} (last at {:?})",
                base.at, last.at
            ));
        }
        for (i, (b, l)) in base.routers.iter().zip(&last.routers).enumerate() {
            if b.fds != l.fds || b.bpf_maps != l.bpf_maps || b.pins != l.pins {
                v.push(format!(
                    "r{}: descriptors/maps/pins {}/{}/{} after {:?}, {}/{}/{} after {:?}",
                    i + 1,
                    b.fds,
                    b.bpf_maps,
                    b.pins,
                    base.at,
                    l.fds,
                    l.bpf_maps,
                    l.pins,
                    last.at
                ));
            }
            let grew = l.rss_kib as f64 / b.rss_kib.max(1) as f64 - 1.0;
            if grew.abs() > RSS_TOLERANCE {
                v.push(format!(
                    "r{}: RSS {} KiB after {:?}, {} KiB after {:?} ({:+.1} %)",
                    i + 1,
                    b.rss_kib,
                    base.at,
                    l.rss_kib,
                    last.at,
                    grew * 100.0
                ));
            }
        }
        v
    }

    pub fn summary(&self, baseline_at: Duration) -> String {
        let mut s = format!("churn: {} groups per router\n", self.groups);
        for x in &self.samples {
            s += &format!("  {:>6.0} s, {:>3} cycles:", x.at.as_secs_f64(), x.cycles);
            for (i, r) in x.routers.iter().enumerate() {
                s += &format!(
                    "  r{} RSS {:.1} MiB, {} fds, {} maps, {} pins",
                    i + 1,
                    r.rss_kib as f64 / 1024.0,
                    r.fds,
                    r.bpf_maps,
                    r.pins
                );
            }
            s += "\n";
        }
        let v = self.violations(baseline_at);
        if v.is_empty() {
            s += &format!(
                "  bound held: descriptors equal, RSS within {:.0} % of the sample after {:?}\n",
                RSS_TOLERANCE * 100.0,
                baseline_at
            );
        }
        for x in v {
            s += &format!("  VIOLATION: {x}\n");
        }
        s
    }
}

fn count_state(lab: &Lab, i: usize, want: State) -> usize {
    lab.status(i)
        .map(|s| s.groups.iter().filter(|g| g.state == want).count())
        .unwrap_or(0)
}

fn wait_counts(lab: &Lab, what: &str, limit: Duration, ok: impl Fn(&Lab) -> bool) -> Result<()> {
    ensure!(
        crate::lab::wait_for(limit, || ok(lab)).is_some(),
        "{what} not reached within {limit:?}: r1 Active {}, r2 Active {}",
        count_state(lab, 1, State::Active),
        count_state(lab, 2, State::Active)
    );
    Ok(())
}

fn reload(lab: &Lab, i: usize, text: &str) -> Result<()> {
    let cfg = lab.daemon(i).context("no daemon")?.config.clone();
    std::fs::write(&cfg, text)?;
    lab.signal(i, libc::SIGHUP)
}

/// Runs churn cycles for `duration` with `groups` groups, sampling after each cycle.
pub fn run(
    groups: u16,
    duration: Duration,
    hsrpd: Option<&std::path::Path>,
) -> Result<ChurnReport> {
    ensure!((2..=4000).contains(&groups), "groups {groups}: 2 to 4000");
    let mut lab = Lab::new(LabOptions {
        xdp_on_switch: true,
        ..LabOptions::default()
    })?;
    if let Some(p) = hsrpd {
        lab.hsrpd = p.to_path_buf();
    }
    prepare_scale_lab(&lab)?;
    let n = usize::from(groups);
    let settle = Duration::from_secs(60);
    lab.start_hsrpd(1, &churn_config(1, groups, 110))?;
    lab.start_hsrpd(2, &churn_config(2, groups, 100))?;
    let r1_all = |lab: &Lab| {
        count_state(lab, 1, State::Active) == n && count_state(lab, 2, State::Standby) == n
    };
    wait_counts(&lab, "r1 Active for all", settle, r1_all)?;
    let start = Instant::now();
    let mut samples = Vec::new();
    let mut cycles = 0;
    // Bounded: each cycle waits on bounded conditions.
    while start.elapsed() < duration {
        reload(&lab, 2, &churn_config(2, groups, 120))?;
        wait_counts(&lab, "r2 Active for all", settle, |lab| {
            count_state(lab, 2, State::Active) == n
        })?;
        reload(&lab, 2, &churn_config(2, groups, 100))?;
        wait_counts(&lab, "r1 Active for all again", settle, r1_all)?;
        reload(&lab, 1, &churn_config(1, groups / 2, 110))?;
        wait_counts(&lab, "r1 with half the groups", settle, |lab| {
            lab.status(1).map(|s| s.groups.len()).unwrap_or(0) == n / 2
                && count_state(lab, 2, State::Active) == n - n / 2
        })?;
        reload(&lab, 1, &churn_config(1, groups, 110))?;
        wait_counts(&lab, "r1 Active for all after re-adding", settle, r1_all)?;
        cycles += 1;
        let routers = [1, 2]
            .map(|i| resources(&lab, i))
            .into_iter()
            .collect::<Result<Vec<_>>>()?;
        let s = Sample {
            at: start.elapsed(),
            cycles,
            routers,
        };
        eprintln!(
            "churn: {:.0} s, {cycles} cycles: r1 {:?} r2 {:?}",
            s.at.as_secs_f64(),
            s.routers[0],
            s.routers[1]
        );
        samples.push(s);
    }
    Ok(ChurnReport { groups, samples })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(at: u64, fds: usize, rss: u64) -> Sample {
        Sample {
            at: Duration::from_secs(at),
            cycles: 1,
            routers: vec![Resources {
                fds,
                bpf_maps: 11,
                pins: 13,
                rss_kib: rss,
            }],
        }
    }

    #[test]
    fn the_bound_compares_the_first_minute_with_the_end() {
        let base = Duration::from_secs(60);
        let ok = ChurnReport {
            groups: 10,
            samples: vec![
                sample(30, 40, 9000),
                sample(61, 36, 10_000),
                sample(300, 36, 10_300),
            ],
        };
        assert!(ok.violations(base).is_empty(), "{:?}", ok.violations(base));
        let leak = ChurnReport {
            groups: 10,
            samples: vec![sample(61, 36, 10_000), sample(300, 37, 11_000)],
        };
        let v = leak.violations(base);
        assert_eq!(v.len(), 2, "{v:?}");
        assert!(v[1].contains("+10.0 %"), "{v:?}");
        let short = ChurnReport {
            groups: 10,
            samples: vec![sample(30, 36, 10_000)],
        };
        assert!(!short.violations(base).is_empty());
    }

    #[test]
    fn churn_configurations_parse_with_preempt() {
        let c = churn_config(2, 20, 120);
        let cfg = hsrp_user::config::parse(&c, "churn.conf").unwrap();
        assert_eq!(cfg.groups().count(), 20);
        assert!(c.contains(" standby 20 preempt\n"));
    }
}
