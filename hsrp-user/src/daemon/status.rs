//! The snapshot `hsrpd status` prints, built from the state machines (and the data-plane
//! counters and next-hop cache state) on each request.

use std::time::Duration;

use super::groups::{auth_label, cisco_mac, version_number};
use super::table::GroupRt;
use super::Daemon;
use crate::control::{DataplaneCounters, GroupStatus, InterfaceStatus, PeerStatus, Snapshot};
use crate::fsm::{RouterInfo, Time};
use hsrp_ebpf::Counters;

fn peer(r: Option<RouterInfo>) -> Option<PeerStatus> {
    r.map(|r| match r {
        RouterInfo::Local => PeerStatus {
            address: None,
            priority: 0,
            expires_in_ms: None,
        },
        RouterInfo::Peer {
            ip,
            priority,
            expires_in,
        } => PeerStatus {
            address: Some(ip),
            priority,
            expires_in_ms: Some(millis(expires_in)),
        },
    })
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl Daemon {
    pub(super) fn snapshot(&self) -> Snapshot {
        let now = self.now();
        let bfd = self.bfd.status();
        Snapshot {
            schema_version: crate::control::snapshot::SCHEMA_VERSION,
            pid: std::process::id(),
            config: self.config.source.clone(),
            uptime_s: self.start.elapsed().as_secs_f64(),
            interfaces: self.interface_statuses(),
            groups: self
                .groups
                .iter()
                .map(|g| self.group_status(g, now))
                .collect(),
            nexthop_cache: match &self.dp.nexthop {
                Some(keeper) => keeper.status(),
                None => "off: disabled (--no-nexthop-cache)".into(),
            },
            timer_lateness: Some(timer_lateness(&self.lateness)),
            tracks: self.track_status(),
            forwarding: self
                .dp
                .fast_path
                .as_ref()
                .map(|k| k.status())
                .unwrap_or_default(),
            bfd: bfd.sessions,
            bfd_dropped: bfd.dropped,
            bfd_totals: bfd.totals,
        }
    }

    /// Each interface with its control-frame counters from the data plane.
    fn interface_statuses(&self) -> Vec<InterfaceStatus> {
        let stats = self.dp.maps.stats().ok();
        self.ifaces
            .iter()
            .map(|i| InterfaceStatus {
                name: i.cfg.name.clone(),
                ifindex: i.info.ifindex,
                xdp_mode: i.mode.as_str().to_string(),
                up: i.up,
                control: stats.as_ref().map(|s| {
                    let c = s.interface(i.info.ifindex).cloned().unwrap_or_default();
                    crate::control::ControlCounters {
                        passed: c.control_passed,
                        malformed: c.control_malformed,
                        rate_limited: c.control_rate_limited,
                    }
                }),
            })
            .collect()
    }

    /// One group as its state machine and the data plane's counters see it at `now`.
    fn group_status(&self, g: &GroupRt, now: Time) -> GroupStatus {
        let s = g.fsm.status(now);
        let local_priority = s.priority;
        let fill_local = |p: Option<PeerStatus>| {
            p.map(|mut p| {
                if p.address.is_none() {
                    p.priority = local_priority;
                }
                p
            })
        };
        let secondary_ips = g
            .spec
            .virtual_ips()
            .into_iter()
            .filter(|a| Some(*a) != s.vip)
            .collect();
        GroupStatus {
            interface: g.key.iface.clone(),
            group: g.key.group,
            version: version_number(s.version),
            state: s.state,
            state_changes: s.state_changes,
            last_change_s: s
                .last_change
                .map_or(0.0, |t| now.saturating_since(t).as_secs_f64()),
            last_change_reason: s.last_change_reason.unwrap_or_default(),
            virtual_ip: s.vip,
            secondary_ips,
            virtual_mac: cisco_mac(s.virtual_mac),
            priority: s.priority,
            configured_priority: s.configured_priority,
            preempt: s.preempt.is_some(),
            preempt_delay_s: s
                .preempt
                .map(|p| p.delay_minimum.as_secs() as u32)
                .filter(|s| *s > 0),
            hello_ms: millis(s.timers.hello) as u32,
            hold_ms: millis(s.timers.hold) as u32,
            timers_learned: s.timers_learned,
            next_hello_ms: s.next_hello.map(millis),
            authentication: auth_label(&g.spec),
            auth_failures: s.auth_failures,
            active: fill_local(peer(s.active)),
            standby: fill_local(peer(s.standby)),
            name: s.name,
            dataplane: self
                .dp
                .maps
                .group_counters(self.ifaces[g.iface].info.ifindex, g.vmac.0)
                .ok()
                .flatten()
                .map(|c| dataplane_counters(&c)),
            maintenance: g.fsm.in_maintenance(),
            temporary_priority: g.fsm.priority_override(),
        }
    }
}

/// How late the group timers were served, in milliseconds.
fn timer_lateness(l: &super::lateness::Lateness) -> crate::control::TimerLateness {
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    crate::control::TimerLateness {
        wakeups: l.count(),
        p50_ms: ms(l.quantile(0.5)),
        p99_ms: ms(l.quantile(0.99)),
        max_ms: ms(l.max()),
    }
}

fn dataplane_counters(c: &Counters) -> DataplaneCounters {
    DataplaneCounters {
        forwarded: c.forwarded,
        forwarded_from_cache: c.nh_cache_hit,
        accepted_flow: c.flow_hit,
        slow_path: c.slow_path,
        dropped_not_active: c.dropped_not_active,
        arp_answered: c.arp_answered,
        arp_dropped: c.arp_dropped,
        nd_answered: c.nd_answered,
        nd_dropped: c.nd_dropped,
        echo_answered: c.echo_answered,
        aborted: c.aborted,
    }
}
