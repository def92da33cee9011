//! `hsrpd status --format prometheus`: the snapshot in the Prometheus text exposition
//! format (version 0.0.4), for node_exporter's textfile collector, e.g. from a timer:
//! `hsrpd status --format prometheus > /var/lib/prometheus/node-exporter/hsrpd.prom.$$ &&
//! mv ... hsrpd.prom`.
//!
//! Groups are labelled `interface`, `group`, `version`; interfaces `interface`. Counters
//! are `_total` and count since the daemon (or, for data-plane counters, the group)
//! started. Every family is written once, with its HELP and TYPE, its samples together.

use std::fmt::Write;

use super::snapshot::{GroupStatus, Snapshot};
use crate::proto::State;

/// Every state, so a group has one `hsrpd_group_state` series per state (1 for the one it
/// is in): a state change never makes a series disappear.
const STATES: [State; 7] = [
    State::Disabled,
    State::Initial,
    State::Learn,
    State::Listen,
    State::Speak,
    State::Standby,
    State::Active,
];

/// The text exposition of `snap`.
pub fn render(snap: &Snapshot) -> String {
    let mut out = Exposition::default();
    daemon_families(&mut out, snap);
    group_families(&mut out, snap);
    data_plane_families(&mut out, snap);
    interface_families(&mut out, snap);
    lateness_families(&mut out, snap);
    bfd(&mut out, snap);
    out.text
}

/// The daemon's own: up, uptime, the next-hop cache.
fn daemon_families(out: &mut Exposition, snap: &Snapshot) {
    out.family("hsrpd_up", "gauge", "1: the daemon answered.");
    out.sample("hsrpd_up", &[], 1.0);
    out.family(
        "hsrpd_uptime_seconds",
        "gauge",
        "Seconds since the daemon started.",
    );
    out.sample("hsrpd_uptime_seconds", &[], snap.uptime_s);
    out.family(
        "hsrpd_nexthop_cache_enabled",
        "gauge",
        "1 while the XDP next-hop cache is on.",
    );
    out.sample(
        "hsrpd_nexthop_cache_enabled",
        &[],
        f64::from(u8::from(snap.nexthop_cache == "on")),
    );
}

/// Per group: state, priorities, state changes, authentication failures.
fn group_families(out: &mut Exposition, snap: &Snapshot) {
    out.family(
        "hsrpd_group_state",
        "gauge",
        "HSRP state of the group: 1 for the state it is in, 0 for the others.",
    );
    for g in &snap.groups {
        for s in STATES {
            let mut labels = group_labels(g);
            labels.push(("state", s.name().to_string()));
            out.sample(
                "hsrpd_group_state",
                &labels,
                f64::from(u8::from(g.state == s)),
            );
        }
    }
    group_gauge(
        out,
        snap,
        "hsrpd_group_priority",
        "Current priority (after tracking).",
        |g| Some(f64::from(g.priority)),
    );
    group_gauge(
        out,
        snap,
        "hsrpd_group_configured_priority",
        "Configured priority.",
        |g| Some(f64::from(g.configured_priority)),
    );
    group_counter(
        out,
        snap,
        "hsrpd_group_state_changes_total",
        "State changes since the daemon started.",
        |g| Some(g.state_changes),
    );
    group_counter(
        out,
        snap,
        "hsrpd_group_auth_failures_total",
        "Messages for the group that failed authentication.",
        |g| Some(g.auth_failures),
    );
}

/// Per group, what XDP did with the frames to its virtual MAC and IPs.
fn data_plane_families(out: &mut Exposition, snap: &Snapshot) {
    let dp = |f: fn(&super::DataplaneCounters) -> u64| {
        move |g: &GroupStatus| g.dataplane.as_ref().map(f)
    };
    group_counter(
        out,
        snap,
        "hsrpd_group_forwarded_frames_total",
        "Frames to the virtual MAC forwarded by XDP.",
        dp(|c| c.forwarded),
    );
    group_counter(
        out,
        snap,
        "hsrpd_group_forwarded_from_cache_frames_total",
        "Of the forwarded frames, those served by the next-hop cache.",
        dp(|c| c.forwarded_from_cache),
    );
    group_counter(
        out,
        snap,
        "hsrpd_group_accepted_flow_frames_total",
        "Frames of established flows conntrack accepted let on to the fast path.",
        dp(|c| c.accepted_flow),
    );
    group_counter(
        out,
        snap,
        "hsrpd_group_slow_path_frames_total",
        "Frames to the virtual MAC handed to the kernel.",
        dp(|c| c.slow_path),
    );
    group_counter(
        out,
        snap,
        "hsrpd_group_not_active_dropped_frames_total",
        "Frames to the virtual MAC dropped while not Active.",
        dp(|c| c.dropped_not_active),
    );
    for (name, help, answered, dropped) in [
        (
            "hsrpd_group_arp_requests_total",
            "ARP requests for a virtual IP, by result.",
            (|c| c.arp_answered) as fn(&super::DataplaneCounters) -> u64,
            (|c| c.arp_dropped) as fn(&super::DataplaneCounters) -> u64,
        ),
        (
            "hsrpd_group_neighbor_solicitations_total",
            "Neighbour Solicitations for a virtual IP, by result.",
            |c| c.nd_answered,
            |c| c.nd_dropped,
        ),
    ] {
        out.family(name, "counter", help);
        for g in &snap.groups {
            if let Some(c) = &g.dataplane {
                for (result, value) in [("answered", answered(c)), ("dropped", dropped(c))] {
                    let mut labels = group_labels(g);
                    labels.push(("result", result.to_string()));
                    out.sample(name, &labels, value as f64);
                }
            }
        }
    }
    group_counter(
        out,
        snap,
        "hsrpd_group_echo_requests_answered_total",
        "ICMP/ICMPv6 echo requests to a virtual IP answered by XDP.",
        dp(|c| c.echo_answered),
    );
    group_counter(
        out,
        snap,
        "hsrpd_group_aborted_frames_total",
        "Frames to the virtual MAC the XDP program aborted (expected to stay 0).",
        dp(|c| c.aborted),
    );
}

/// Per interface: line protocol, XDP mode, the control-frame filter.
fn interface_families(out: &mut Exposition, snap: &Snapshot) {
    out.family(
        "hsrpd_interface_up",
        "gauge",
        "Line protocol of the interface.",
    );
    for i in &snap.interfaces {
        out.sample(
            "hsrpd_interface_up",
            &[("interface", i.name.clone())],
            f64::from(u8::from(i.up)),
        );
    }
    out.family(
        "hsrpd_interface_xdp_native",
        "gauge",
        "1: XDP attached in native (driver) mode, 0: generic mode.",
    );
    for i in &snap.interfaces {
        out.sample(
            "hsrpd_interface_xdp_native",
            &[("interface", i.name.clone())],
            f64::from(u8::from(i.xdp_mode == "native")),
        );
    }
    out.family(
        "hsrpd_control_frames_total",
        "counter",
        "HSRP control frames seen by the XDP filter, by verdict, summed over CPUs.",
    );
    for i in &snap.interfaces {
        if let Some(c) = &i.control {
            for (verdict, value) in [
                ("passed", c.passed),
                ("malformed", c.malformed),
                ("rate_limited", c.rate_limited),
            ] {
                out.sample(
                    "hsrpd_control_frames_total",
                    &[
                        ("interface", i.name.clone()),
                        ("verdict", verdict.to_string()),
                    ],
                    value as f64,
                );
            }
        }
    }
}

/// How late the group timers were served.
fn lateness_families(out: &mut Exposition, snap: &Snapshot) {
    if let Some(l) = &snap.timer_lateness {
        out.family(
            "hsrpd_timer_lateness_seconds",
            "gauge",
            "How late group timers (hellos above all) were served since start, by quantile.",
        );
        for (q, ms) in [("0.5", l.p50_ms), ("0.99", l.p99_ms), ("1", l.max_ms)] {
            out.sample(
                "hsrpd_timer_lateness_seconds",
                &[("quantile", q.to_string())],
                ms / 1000.0,
            );
        }
        out.family(
            "hsrpd_timer_wakeups_total",
            "counter",
            "Group timer wake-ups measured for the lateness.",
        );
        out.sample("hsrpd_timer_wakeups_total", &[], l.wakeups as f64);
    }
}

/// HSRP BFD peering, written only when the daemon runs or ran BFD (no empty families for
/// the many configurations without it).
fn bfd(out: &mut Exposition, snap: &Snapshot) {
    let (t, d) = (snap.bfd_totals, snap.bfd_dropped);
    if snap.bfd.is_empty() && t == Default::default() && d == Default::default() {
        return;
    }
    out.family(
        "hsrpd_bfd_session_up",
        "gauge",
        "1 while the BFD session to the peer is Up, 0 otherwise.",
    );
    for b in &snap.bfd {
        let peer = b.peer.map_or_else(String::new, |p| p.to_string());
        out.sample(
            "hsrpd_bfd_session_up",
            &[("interface", b.interface.clone()), ("peer", peer)],
            f64::from(u8::from(b.state == "Up")),
        );
    }
    for (name, help, value) in [
        (
            "hsrpd_bfd_sessions_started_total",
            "BFD sessions started since the daemon started.",
            t.sessions_started,
        ),
        (
            "hsrpd_bfd_sessions_ended_total",
            "BFD sessions ended (peer no longer Active or Standby, or peering off).",
            t.sessions_ended,
        ),
        (
            "hsrpd_bfd_detection_expiries_total",
            "BFD detection times that expired, ended sessions included.",
            t.detection_expiries,
        ),
        (
            "hsrpd_bfd_detections_deferred_total",
            "BFD detection times that ran out while the daemon was stalled, deferred to one \
             detection time after the stall.",
            t.detections_deferred,
        ),
    ] {
        out.family(name, "counter", help);
        out.sample(name, &[], value as f64);
    }
    out.family(
        "hsrpd_bfd_transitions_total",
        "counter",
        "BFD sessions entering or leaving Up, ended sessions included.",
    );
    for (direction, value) in [("up", t.up_transitions), ("down", t.down_transitions)] {
        out.sample(
            "hsrpd_bfd_transitions_total",
            &[("direction", direction.to_string())],
            value as f64,
        );
    }
    out.family(
        "hsrpd_bfd_dropped_packets_total",
        "counter",
        "BFD packets dropped before any session saw them, by reason.",
    );
    for (reason, value) in [
        ("bad_ttl", d.bad_ttl),
        ("malformed", d.malformed),
        ("authenticated", d.authenticated),
        ("unknown_discriminator", d.unknown_discriminator),
        ("no_session", d.no_session),
    ] {
        out.sample(
            "hsrpd_bfd_dropped_packets_total",
            &[("reason", reason.to_string())],
            value as f64,
        );
    }
}

fn group_labels(g: &GroupStatus) -> Vec<(&'static str, String)> {
    vec![
        ("interface", g.interface.clone()),
        ("group", g.group.to_string()),
        ("version", g.version.to_string()),
    ]
}

fn group_gauge(
    out: &mut Exposition,
    snap: &Snapshot,
    name: &str,
    help: &str,
    value: impl Fn(&GroupStatus) -> Option<f64>,
) {
    out.family(name, "gauge", help);
    for g in &snap.groups {
        if let Some(v) = value(g) {
            out.sample(name, &group_labels(g), v);
        }
    }
}

fn group_counter(
    out: &mut Exposition,
    snap: &Snapshot,
    name: &str,
    help: &str,
    value: impl Fn(&GroupStatus) -> Option<u64>,
) {
    out.family(name, "counter", help);
    for g in &snap.groups {
        if let Some(v) = value(g) {
            out.sample(name, &group_labels(g), v as f64);
        }
    }
}

#[derive(Default)]
struct Exposition {
    text: String,
}

impl Exposition {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.text, "# HELP {name} {}", escape_help(help));
        let _ = writeln!(self.text, "# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, String)], value: f64) {
        self.text.push_str(name);
        if !labels.is_empty() {
            self.text.push('{');
            for (n, (k, v)) in labels.iter().enumerate() {
                if n > 0 {
                    self.text.push(',');
                }
                let _ = write!(self.text, "{k}=\"{}\"", escape_label(v));
            }
            self.text.push('}');
        }
        let _ = writeln!(self.text, " {value}");
    }
}

/// Label values: backslash, double quote and line feed escaped.
fn escape_label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// HELP text: backslash and line feed escaped.
fn escape_help(v: &str) -> String {
    v.replace('\\', "\\\\").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bfd_families_only_with_bfd_and_with_ended_sessions_counted() {
        use super::super::snapshot::{BfdSessionStatus, BfdTotals};
        assert!(!render(&Snapshot::default()).contains("bfd"));
        let snap = Snapshot {
            bfd: vec![BfdSessionStatus {
                interface: "eth0".into(),
                peer: Some("192.168.1.3".parse().unwrap()),
                state: "Up".into(),
                ..Default::default()
            }],
            bfd_totals: BfdTotals {
                sessions_started: 2,
                sessions_ended: 1,
                up_transitions: 2,
                down_transitions: 1,
                detection_expiries: 1,
                detections_deferred: 3,
            },
            ..Default::default()
        };
        let text = render(&snap);
        for line in [
            "hsrpd_bfd_session_up{interface=\"eth0\",peer=\"192.168.1.3\"} 1\n",
            "hsrpd_bfd_sessions_started_total 2\n",
            "hsrpd_bfd_sessions_ended_total 1\n",
            "hsrpd_bfd_transitions_total{direction=\"down\"} 1\n",
            "hsrpd_bfd_detection_expiries_total 1\n",
            "hsrpd_bfd_detections_deferred_total 3\n",
            "hsrpd_bfd_dropped_packets_total{reason=\"bad_ttl\"} 0\n",
        ] {
            assert!(text.contains(line), "missing {line:?} in\n{text}");
        }
    }

    #[test]
    fn labels_are_escaped() {
        assert_eq!(escape_label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
        let mut e = Exposition::default();
        e.sample("m", &[("interface", "x\"y".into())], 1.5);
        assert_eq!(e.text, "m{interface=\"x\\\"y\"} 1.5\n");
    }
}
