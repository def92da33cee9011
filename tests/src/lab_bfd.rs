//! The BFD cost and stability benchmark (`cargo xtask bench bfd`, run by `hsrp-lab bfd`):
//! r1 and r2 joined by N point-to-point links (`b1`..`bN`, one veth pair each, subnet
//! 10.100.K.0/24), one HSRPv2 group per link (r1 Active, r2 Standby), so each router runs
//! one BFD session per link: N sessions, each to a peer on its own interface, as HSRP BFD
//! peering does on a router with N VLANs.

use std::time::Duration;

use anyhow::{ensure, Context, Result};

use crate::lab::{self, Lab};
use crate::lab_traffic::Bfd;

/// Interface `k` (1-based) of the benchmark, in both routers.
pub fn link_name(k: usize) -> String {
    format!("b{k}")
}

/// Adds the N links between r1 and r2 of a two-router lab, addressed 10.100.K.2/24 (r1)
/// and 10.100.K.3/24 (r2).
pub fn prepare_bfd_lab(lab: &Lab, links: usize) -> Result<()> {
    ensure!(
        (1..=250).contains(&links),
        "{links} links: 1 to 250 (one /24 each)"
    );
    for k in 1..=links {
        let name = link_name(k);
        lab::veth_between(&lab.router(1).ns, &name, &lab.router(2).ns, &name)?;
        for i in [1, 2] {
            lab.router(i)
                .ns
                .exec(&format!("ip addr add 10.100.{k}.{}/24 dev {name}", 1 + i))?;
        }
    }
    Ok(())
}

/// Router `i`'s configuration: group K on link K (HSRPv2, VIP 10.100.K.1, r1 priority 110
/// with preempt, r2 100, HSRP timers `hello`/`hold` in seconds), and `bfd interval` on
/// every link when `bfd` is set.
pub fn bfd_bench_config(i: usize, links: usize, bfd: Option<Bfd>, hello: u32, hold: u32) -> String {
    let prio = if i == 1 { 110 } else { 100 };
    let mut c = String::new();
    for k in 1..=links {
        c.push_str(&format!("interface {}\n", link_name(k)));
        if let Some(b) = bfd {
            c.push_str(&format!(
                " bfd interval {ms} min_rx {ms} multiplier {}\n",
                b.multiplier,
                ms = b.interval_ms
            ));
        }
        c.push_str(&format!(
            " standby version 2\n standby {k} ip 10.100.{k}.1\n standby {k} priority {prio}\n \
             standby {k} preempt\n standby {k} timers {hello} {hold}\n"
        ));
    }
    c
}

/// What router `i`'s BFD sessions report: how many are Up both ways, and the daemon's
/// totals of Up→Down transitions, detection-time expiries and deferrals since it started (ended
/// sessions included, so a flap that ended and restarted a session still counts); and the
/// sum of its groups' HSRP state changes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BfdTally {
    pub sessions: usize,
    pub up: usize,
    pub sessions_started: u64,
    pub down_transitions: u64,
    pub detection_expiries: u64,
    /// Detection times deferred because the daemon itself had been stalled.
    pub detections_deferred: u64,
    pub state_changes: u64,
}

pub fn bfd_tally(lab: &Lab, i: usize) -> Result<BfdTally> {
    let s = lab.status(i).with_context(|| format!("status of r{i}"))?;
    Ok(BfdTally {
        sessions: s.bfd.len(),
        up: s
            .bfd
            .iter()
            .filter(|b| b.state == "Up" && b.remote_state == "Up")
            .count(),
        sessions_started: s.bfd_totals.sessions_started,
        down_transitions: s.bfd_totals.down_transitions,
        detection_expiries: s.bfd_totals.detection_expiries,
        detections_deferred: s.bfd_totals.detections_deferred,
        state_changes: s.groups.iter().map(|g| g.state_changes).sum(),
    })
}

/// Waits until both routers have `n` sessions Up both ways.
pub fn wait_bfd_sessions_up(lab: &Lab, n: usize, limit: Duration) -> Result<()> {
    lab::wait_for(limit, || {
        [1, 2]
            .iter()
            .all(|&i| bfd_tally(lab, i).is_ok_and(|t| t.up == n))
    })
    .map(|_| ())
    .with_context(|| {
        format!(
            "{n} BFD sessions not Up on both routers within {limit:?}: r1 {:?}, r2 {:?}",
            bfd_tally(lab, 1),
            bfd_tally(lab, 2)
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bench_config_is_accepted_with_one_bfd_interface_per_group() {
        let b = Bfd {
            interval_ms: 10,
            multiplier: 3,
        };
        let cfg = hsrp_user::config::parse(&bfd_bench_config(1, 32, Some(b), 3, 10), "b.conf")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(cfg.groups().count(), 32);
        let off = hsrp_user::config::parse(&bfd_bench_config(2, 3, None, 3, 10), "b.conf")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(off.groups().count(), 3);
    }
}
