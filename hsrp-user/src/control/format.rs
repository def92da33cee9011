//! Human output of `hsrpd status`, laid out like IOS's `show standby brief` and
//! `show standby` so that operators read it the way they read their Cisco routers.

use std::fmt::Write;

use super::snapshot::{DataplaneCounters, GroupStatus, PeerStatus, Snapshot};

/// `show standby brief`.
pub fn brief(snap: &Snapshot) -> String {
    let mut out = String::new();
    out.push_str("                     P indicates configured to preempt.\n");
    out.push_str("                     |\n");
    out.push_str("Interface   Grp  Pri P State   Active          Standby         Virtual IP\n");
    for g in &snap.groups {
        let vip = g
            .virtual_ip
            .map(|ip| ip.to_string())
            .unwrap_or_else(|| "unknown".into());
        let _ = writeln!(
            out,
            "{:<11} {:<4} {:<3} {} {:<7} {:<15} {:<15} {}{}",
            g.interface,
            g.group,
            g.priority,
            if g.preempt { "P" } else { " " },
            g.state.name(),
            peer_brief(g.active.as_ref()),
            peer_brief(g.standby.as_ref()),
            vip,
            operator_notes(g)
        );
    }
    data_plane_lines(&mut out, snap);
    out
}

/// What the operator changed at run time, after a brief line: `  (maintenance;
/// temporary priority, configured 110)`; empty when nothing.
fn operator_notes(g: &GroupStatus) -> String {
    let mut notes = Vec::new();
    if g.maintenance {
        notes.push("maintenance".to_string());
    }
    if g.temporary_priority.is_some() {
        notes.push(format!(
            "temporary priority, configured {}",
            g.configured_priority
        ));
    }
    if notes.is_empty() {
        String::new()
    } else {
        format!("  ({})", notes.join("; "))
    }
}

/// The priority line of `show standby`, saying when the priority is a temporary one.
fn priority_line(g: &GroupStatus) -> String {
    match g.temporary_priority {
        None => format!(
            "  Priority {} (configured {})",
            g.priority, g.configured_priority
        ),
        // Track decrements apply to the temporary priority too.
        Some(t) if t == g.priority => format!(
            "  Priority {} (temporary; configured {})",
            g.priority, g.configured_priority
        ),
        Some(t) => format!(
            "  Priority {} (temporary {t}; configured {})",
            g.priority, g.configured_priority
        ),
    }
}

/// The data plane's mode lines, shared by both layouts: how XDP is attached on each
/// interface and where forwarded frames go.
fn data_plane_lines(out: &mut String, snap: &Snapshot) {
    if !snap.interfaces.is_empty() {
        let modes: Vec<String> = snap
            .interfaces
            .iter()
            .map(|i| format!("{} {}", i.name, i.xdp_mode))
            .collect();
        let _ = writeln!(out, "XDP attach mode: {}", modes.join(", "));
    }
    if !snap.forwarding.is_empty() {
        let _ = writeln!(out, "XDP forwarding: {}", snap.forwarding);
    }
}

fn peer_brief(p: Option<&PeerStatus>) -> String {
    match p {
        None => "unknown".into(),
        Some(PeerStatus { address: None, .. }) => "local".into(),
        Some(PeerStatus {
            address: Some(a), ..
        }) => a.to_string(),
    }
}

/// `show standby`.
pub fn detail(snap: &Snapshot) -> String {
    let mut out = String::new();
    for g in &snap.groups {
        group_detail(&mut out, g);
    }
    if snap.groups.is_empty() {
        out.push_str("no groups configured\n");
    }
    if !snap.nexthop_cache.is_empty() {
        let _ = writeln!(out, "XDP next-hop cache: {}", snap.nexthop_cache);
    }
    data_plane_lines(&mut out, snap);
    bfd_detail(&mut out, snap);
    out
}

/// The BFD sessions of HSRP BFD peering, one line each plus counters.
fn bfd_detail(out: &mut String, snap: &Snapshot) {
    for b in &snap.bfd {
        let peer = b.peer.map_or_else(|| "?".into(), |p| p.to_string());
        let tx = b
            .tx_interval_ms
            .map_or_else(|| "off".into(), |t| format!("{t} ms"));
        let _ = writeln!(
            out,
            "BFD peer {peer} on {}: {} (remote {}), tx {tx}, detection {} ms, \
             discriminators {}/{}, last diag {} (remote {})",
            b.interface,
            b.state,
            b.remote_state,
            b.detection_time_ms,
            b.local_discriminator,
            b.remote_discriminator,
            b.local_diag,
            b.remote_diag
        );
        let _ = writeln!(
            out,
            "  {} sent, {} received ({} in XDP), {} up / {} down, {} detection expiries \
             ({} deferred after a stall), {} with a wrong discriminator",
            b.packets_sent,
            b.packets_received,
            b.packets_received_in_xdp,
            b.up_transitions,
            b.down_transitions,
            b.detection_expiries,
            b.detections_deferred,
            b.wrong_discriminator
        );
    }
    let d = snap.bfd_dropped;
    if !snap.bfd.is_empty() || d != Default::default() {
        let _ = writeln!(
            out,
            "BFD dropped: {} bad TTL, {} malformed, {} authenticated, \
             {} unknown discriminator, {} without session",
            d.bad_ttl, d.malformed, d.authenticated, d.unknown_discriminator, d.no_session
        );
    }
    let t = snap.bfd_totals;
    if t.sessions_started > 0 {
        let _ = writeln!(
            out,
            "BFD since start: {} sessions started, {} ended, {} up / {} down, \
             {} detection expiries ({} deferred after a stall)",
            t.sessions_started,
            t.sessions_ended,
            t.up_transitions,
            t.down_transitions,
            t.detection_expiries,
            t.detections_deferred
        );
    }
}

fn group_detail(out: &mut String, g: &GroupStatus) {
    let _ = writeln!(
        out,
        "{} - Group {} (version {})",
        g.interface, g.group, g.version
    );
    let _ = writeln!(out, "  State is {}", g.state.name());
    if g.maintenance {
        out.push_str(
            "  Maintenance (resigned by operator): `hsrpd control release` or a restart ends it\n",
        );
    }
    let _ = writeln!(
        out,
        "    {} state change{}, last state change {}",
        g.state_changes,
        if g.state_changes == 1 { "" } else { "s" },
        hms(g.last_change_s)
    );
    if !g.last_change_reason.is_empty() {
        let _ = writeln!(out, "    Reason: {}", g.last_change_reason);
    }
    match g.virtual_ip {
        Some(ip) => {
            let _ = writeln!(out, "  Virtual IP address is {ip}");
        }
        None => out.push_str("  Virtual IP address is unknown\n"),
    }
    for ip in &g.secondary_ips {
        let _ = writeln!(out, "    Secondary virtual IP address {ip}");
    }
    let _ = writeln!(out, "  Virtual MAC address is {}", g.virtual_mac);
    let _ = writeln!(
        out,
        "  Hello time {}, hold time {}{}",
        duration(g.hello_ms),
        duration(g.hold_ms),
        if g.timers_learned { " (learned)" } else { "" }
    );
    if let Some(ms) = g.next_hello_ms {
        let _ = writeln!(out, "    Next hello sent in {:.3} secs", ms as f64 / 1000.0);
    }
    let _ = writeln!(
        out,
        "  Authentication {}, {} failure{}",
        g.authentication,
        g.auth_failures,
        if g.auth_failures == 1 { "" } else { "s" }
    );
    match (g.preempt, g.preempt_delay_s) {
        (false, _) => out.push_str("  Preemption disabled\n"),
        (true, None) => out.push_str("  Preemption enabled\n"),
        (true, Some(s)) => {
            let _ = writeln!(out, "  Preemption enabled, delay min {s} secs");
        }
    }
    let _ = writeln!(out, "  Active router is {}", peer_detail(g.active.as_ref()));
    let _ = writeln!(
        out,
        "  Standby router is {}",
        peer_detail(g.standby.as_ref())
    );
    let _ = writeln!(out, "{}", priority_line(g));
    if let Some(name) = &g.name {
        let _ = writeln!(out, "  Group name is \"{name}\"");
    }
    if let Some(d) = &g.dataplane {
        data_plane_detail(out, d);
    }
}

/// What XDP did with the group's frames.
fn data_plane_detail(out: &mut String, d: &DataplaneCounters) {
    let _ = writeln!(
        out,
        "  Data plane: {} forwarded ({} from the next-hop cache), {} to the kernel, \
         {} dropped while not Active",
        d.forwarded, d.forwarded_from_cache, d.slow_path, d.dropped_not_active
    );
    let _ = writeln!(
        out,
        "    ARP {} answered, {} dropped; ND {} answered, {} dropped; echo {} answered",
        d.arp_answered, d.arp_dropped, d.nd_answered, d.nd_dropped, d.echo_answered
    );
    if d.accepted_flow != 0 {
        let _ = writeln!(
            out,
            "    {} frames of established flows let on to the fast path (accepted-flow path)",
            d.accepted_flow
        );
    }
    if d.aborted != 0 {
        let _ = writeln!(out, "    {} aborted by the XDP program", d.aborted);
    }
}

fn peer_detail(p: Option<&PeerStatus>) -> String {
    match p {
        None => "unknown".into(),
        Some(PeerStatus { address: None, .. }) => "local".into(),
        Some(PeerStatus {
            address: Some(a),
            priority,
            expires_in_ms,
        }) => match expires_in_ms {
            Some(ms) => format!(
                "{a}, priority {priority} (expires in {:.3} sec)",
                *ms as f64 / 1000.0
            ),
            None => format!("{a}, priority {priority}"),
        },
    }
}

/// IOS prints whole seconds as "3 sec" and sub-second or msec timers as "250 msec".
fn duration(ms: u32) -> String {
    if ms.is_multiple_of(1000) {
        format!("{} sec", ms / 1000)
    } else {
        format!("{ms} msec")
    }
}

fn hms(secs: f64) -> String {
    let s = secs.max(0.0) as u64;
    format!("{:02}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::State;

    fn group() -> GroupStatus {
        GroupStatus {
            interface: "eth0".into(),
            group: 1,
            version: 2,
            state: State::Active,
            state_changes: 2,
            last_change_s: 83.4,
            last_change_reason: "Standby -> Active: active timer expired (hold 750 ms)".into(),
            virtual_ip: Some("192.168.1.254".parse().unwrap()),
            secondary_ips: vec![],
            virtual_mac: "0000.0c9f.f001".into(),
            priority: 150,
            configured_priority: 150,
            preempt: true,
            preempt_delay_s: None,
            hello_ms: 250,
            hold_ms: 750,
            timers_learned: false,
            next_hello_ms: Some(112),
            authentication: "md5 key-string".into(),
            auth_failures: 1,
            active: Some(PeerStatus {
                address: None,
                priority: 150,
                expires_in_ms: None,
            }),
            standby: Some(PeerStatus {
                address: Some("192.168.1.3".parse().unwrap()),
                priority: 100,
                expires_in_ms: Some(600),
            }),
            name: None,
            dataplane: Some(DataplaneCounters {
                forwarded: 1000,
                forwarded_from_cache: 990,
                accepted_flow: 400,
                slow_path: 3,
                arp_answered: 2,
                ..Default::default()
            }),
            maintenance: false,
            temporary_priority: None,
        }
    }

    #[test]
    fn maintenance_and_a_temporary_priority_are_shown() {
        let mut g = group();
        g.state = State::Initial;
        g.active = None;
        g.standby = None;
        g.maintenance = true;
        g.configured_priority = 110;
        g.priority = 90;
        g.temporary_priority = Some(90);
        let mut tracked = g.clone();
        tracked.group = 2;
        tracked.maintenance = false;
        tracked.priority = 80; // a track decrement of 10 on top
        let snap = Snapshot {
            groups: vec![g, tracked],
            ..Default::default()
        };
        let text = brief(&snap);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[3],
            "eth0        1    90  P Init    unknown         unknown         192.168.1.254  \
             (maintenance; temporary priority, configured 110)"
        );
        assert_eq!(
            lines[4],
            "eth0        2    80  P Init    unknown         unknown         192.168.1.254  \
             (temporary priority, configured 110)"
        );
        let text = detail(&snap);
        let maint =
            "  Maintenance (resigned by operator): `hsrpd control release` or a restart ends it";
        assert_eq!(text.matches(maint).count(), 1, "{text}");
        let lines: Vec<&str> = text.lines().collect();
        let at = lines.iter().position(|l| *l == maint).unwrap();
        assert_eq!(lines[at - 1], "  State is Init");
        assert!(
            text.contains("  Priority 90 (temporary; configured 110)\n"),
            "{text}"
        );
        assert!(
            text.contains("  Priority 80 (temporary 90; configured 110)\n"),
            "{text}"
        );
        // Nothing of it when the operator changed nothing.
        let plain = Snapshot {
            groups: vec![group()],
            ..Default::default()
        };
        assert!(!brief(&plain).contains('('), "{}", brief(&plain));
        assert!(!detail(&plain).contains("aintenance"));
        assert!(!detail(&plain).contains("temporary"));
    }

    #[test]
    fn operator_fields_are_added_to_the_json_and_optional_when_read() {
        let mut g = group();
        g.maintenance = true;
        g.temporary_priority = Some(90);
        let v = serde_json::to_value(&g).unwrap();
        assert_eq!(v["maintenance"], true);
        assert_eq!(v["temporary_priority"], 90);
        // The fields that were there keep their names and meaning.
        assert_eq!(v["priority"], 150);
        assert_eq!(v["configured_priority"], 150);
        // A status from a daemon without these fields still reads.
        let mut old = v.as_object().unwrap().clone();
        old.remove("maintenance");
        old.remove("temporary_priority");
        let back: GroupStatus = serde_json::from_value(old.into()).unwrap();
        assert!(!back.maintenance);
        assert_eq!(back.temporary_priority, None);
    }

    #[test]
    fn brief_matches_ios_layout() {
        let snap = Snapshot {
            groups: vec![group()],
            ..Default::default()
        };
        let text = brief(&snap);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[2],
            "Interface   Grp  Pri P State   Active          Standby         Virtual IP"
        );
        assert_eq!(
            lines[3],
            "eth0        1    150 P Active  local           192.168.1.3     192.168.1.254"
        );
        // The "P" marker column lines up with the header's P.
        assert_eq!(lines[2].find(" P ").unwrap(), lines[3].find(" P ").unwrap());
    }

    #[test]
    fn detail_has_the_show_standby_facts() {
        let snap = Snapshot {
            groups: vec![group()],
            nexthop_cache: "off: a policy routing rule".into(),
            forwarding: "kernel path: netfilter sees forwarded traffic: nftables chain inet \
                         fw forward on ip forward"
                .into(),
            interfaces: vec![super::super::snapshot::InterfaceStatus {
                name: "eth0".into(),
                ifindex: 2,
                xdp_mode: "generic".into(),
                up: true,
                ..Default::default()
            }],
            ..Default::default()
        };
        let text = detail(&snap);
        for needle in [
            "eth0 - Group 1 (version 2)",
            "  State is Active",
            "    2 state changes, last state change 00:01:23",
            "  Virtual IP address is 192.168.1.254",
            "  Hello time 250 msec, hold time 750 msec",
            "    Next hello sent in 0.112 secs",
            "  Authentication md5 key-string, 1 failure",
            "  Preemption enabled",
            "  Active router is local",
            "  Standby router is 192.168.1.3, priority 100 (expires in 0.600 sec)",
            "  Priority 150 (configured 150)",
            "  Data plane: 1000 forwarded (990 from the next-hop cache), 3 to the kernel, \
             0 dropped while not Active",
            "    ARP 2 answered, 0 dropped; ND 0 answered, 0 dropped; echo 0 answered",
            "XDP next-hop cache: off: a policy routing rule",
            "XDP attach mode: eth0 generic",
            "XDP forwarding: kernel path: netfilter sees forwarded traffic: nftables chain \
             inet fw forward on ip forward",
        ] {
            assert!(text.contains(needle), "missing {needle:?} in\n{text}");
        }
    }

    #[test]
    fn whole_second_timers_print_as_sec() {
        assert_eq!(duration(3000), "3 sec");
        assert_eq!(duration(10_000), "10 sec");
        assert_eq!(duration(750), "750 msec");
    }

    #[test]
    fn detail_lists_bfd_sessions_and_drops() {
        use super::super::snapshot::{BfdDropCounters, BfdSessionStatus, BfdTotals};
        let snap = Snapshot {
            groups: vec![group()],
            bfd: vec![BfdSessionStatus {
                interface: "eth0".into(),
                peer: Some("192.168.1.3".parse().unwrap()),
                state: "Up".into(),
                remote_state: "Up".into(),
                local_diag: "None".into(),
                remote_diag: "None".into(),
                local_discriminator: 7,
                remote_discriminator: 9,
                source_port: 49200,
                tx_interval_ms: Some(50.0),
                detection_time_ms: 150.0,
                packets_sent: 10,
                packets_received: 11,
                packets_received_in_xdp: 8,
                up_transitions: 1,
                ..Default::default()
            }],
            bfd_dropped: BfdDropCounters {
                bad_ttl: 2,
                ..Default::default()
            },
            bfd_totals: BfdTotals {
                sessions_started: 3,
                sessions_ended: 2,
                up_transitions: 4,
                down_transitions: 3,
                detection_expiries: 1,
                detections_deferred: 2,
            },
            ..Default::default()
        };
        let text = detail(&snap);
        assert!(
            text.contains(
                "BFD peer 192.168.1.3 on eth0: Up (remote Up), tx 50 ms, detection 150 ms, \
                 discriminators 7/9, last diag None (remote None)\n"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "  10 sent, 11 received (8 in XDP), 1 up / 0 down, 0 detection expiries \
                 (0 deferred after a stall), 0 with a wrong discriminator\n"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "BFD dropped: 2 bad TTL, 0 malformed, 0 authenticated, 0 unknown \
                 discriminator, 0 without session\n"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "BFD since start: 3 sessions started, 2 ended, 4 up / 3 down, \
                 1 detection expiries (2 deferred after a stall)\n"
            ),
            "{text}"
        );
        // No BFD at all: no BFD lines.
        let none = detail(&Snapshot {
            groups: vec![group()],
            ..Default::default()
        });
        assert!(!none.contains("BFD"), "{none}");
    }
}
