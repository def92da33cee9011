//! HSRP BFD peering between two real hsrpd processes with calm HSRP timers (1 s / 3 s, so
//! the election does not take the 20 s of the default timers):
//! the Active and the Standby bring a BFD session Up (UDP 3784, source port 49152-65535,
//! TTL 255), forged BFD packets (wrong TTL, unknown discriminator, bad length) are dropped
//! and counted without touching the session, and when the Active freezes (SIGSTOP: no
//! Resign, no sentinel) the Standby takes over as soon as BFD notices, long before the
//! hold time.

use std::net::{SocketAddrV4, UdpSocket};
use std::time::Duration;

use anyhow::Result;
use hsrp_tests::lab::{group_state, router_config, tshark_fields, wait_for, Lab, LabOptions, VIP};
use hsrp_tests::rogue::Rogue;
use hsrp_user::control::{BfdDropCounters, Snapshot};
use hsrp_user::proto::State;
use hsrp_user::wire::bfd::{Diag, Repr, State as BfdState};

/// 50 ms x 3: a 150 ms detection time, robust on a loaded test machine.
const BFD: &str = " bfd interval 50 min_rx 50 multiplier 3\n";

fn bfd_state(lab: &Lab, i: usize) -> Option<String> {
    lab.status(i)
        .ok()
        .and_then(|s| s.bfd.first().map(|b| b.state.clone()))
}

fn status(lab: &Lab, i: usize) -> Snapshot {
    lab.status(i).expect("status")
}

/// An IPv6 group (virtual link-local from the vMAC), 1 s / 3 s timers, BFD.
fn v6_config(priority: u8) -> String {
    format!(
        "interface lan0\n standby version 2\n standby 1 ipv6 autoconfig\n \
         standby 1 priority {priority}\n standby 1 preempt\n standby 1 timers 1 3\n{BFD}"
    )
}

/// r1 (150) Active, r2 (100) Standby, 1 s / 3 s HSRP timers, BFD Up on both.
fn peered_pair() -> (Lab, hsrp_tests::lab::Capture) {
    peered_pair_with(|prio| {
        format!(
            "{}{BFD}",
            router_config(2, &[(1, VIP, prio, true)], "timers 1 3")
        )
    })
}

fn peered_pair_with(config: impl Fn(u8) -> String) -> (Lab, hsrp_tests::lab::Capture) {
    let mut lab = Lab::new(LabOptions::default()).expect("lab");
    let cap = lab.capture("lan").expect("capture");
    // IPv6 groups need the link-local out of duplicate address detection (about 1 s).
    for r in &lab.routers {
        let ready = wait_for(Duration::from_secs(5), || {
            r.ns.exec("ip -6 addr show dev lan0 scope link")
                .is_ok_and(|o| o.contains("fe80") && !o.contains("tentative"))
        });
        assert!(ready.is_some(), "{}: no usable link-local", r.name);
    }
    for (i, prio) in [(1, 150), (2, 100)] {
        lab.start_hsrpd(i, &config(prio)).expect("start hsrpd");
    }
    // Election takes two hold times (Listen -> Speak -> Standby -> Active: 6 s); BFD then
    // needs its slow start (1 s packets) and a Poll Sequence.
    let ok = wait_for(Duration::from_secs(20), || {
        group_state(&lab, 1) == Some(State::Active)
            && group_state(&lab, 2) == Some(State::Standby)
            && bfd_state(&lab, 1).as_deref() == Some("Up")
            && bfd_state(&lab, 2).as_deref() == Some("Up")
    });
    if ok.is_none() {
        panic!(
            "no election with BFD Up:\nr1:\n{}\nr2:\n{}",
            lab.log(1),
            lab.log(2)
        );
    }
    (lab, cap)
}

/// A UDP socket in the rogue's namespace, bound to its address and `port`, with `ttl`.
fn rogue_udp(rogue: &Rogue, port: u16, ttl: u32) -> Result<UdpSocket> {
    hsrp_testkit::netns::in_netns(&rogue.ns.name, || -> Result<UdpSocket> {
        let s = UdpSocket::bind(SocketAddrV4::new(rogue.ip, port))?;
        s.set_ttl(ttl)?;
        Ok(s)
    })?
}

#[test]
fn a_bfd_session_comes_up_negotiated_and_sends_from_the_link() {
    let (lab, cap) = peered_pair();
    let r1 = lab.router(1).lan_ip;
    let r2 = lab.router(2).lan_ip;
    let s1 = status(&lab, 1);
    let s2 = status(&lab, 2);
    let (b1, b2) = (&s1.bfd[0], &s2.bfd[0]);
    assert_eq!(b1.peer, Some(r2.into()));
    assert_eq!(b2.peer, Some(r1.into()));
    assert_eq!(b1.remote_discriminator, b2.local_discriminator);
    assert_eq!(b2.remote_discriminator, b1.local_discriminator);
    assert!(
        (49152..=65535).contains(&b1.source_port),
        "{}",
        b1.source_port
    );
    // Negotiated: 50 ms each way, 3 x 50 ms detection.
    assert_eq!(b1.tx_interval_ms, Some(50.0));
    assert_eq!(b1.detection_time_ms, 150.0);

    // Steady both ways: once the first plain packet after the Poll Sequence (which makes
    // the session steady) came through the socket, every packet is taken by the XDP
    // program and still counted for the session.
    let engaged = wait_for(Duration::from_secs(5), || {
        [1, 2]
            .iter()
            .all(|&i| status(&lab, i).bfd[0].packets_received_in_xdp > 0)
    });
    assert!(engaged.is_some(), "no packet taken in XDP");
    let before = [1, 2].map(|i| status(&lab, i).bfd[0].clone());
    // One second of Up: some 20 packets each way at 50 ms (37.5-50 ms with jitter); at
    // least 10 even if a slow host delays a few.
    std::thread::sleep(Duration::from_secs(1));
    for (i, before) in [(1, &before[0]), (2, &before[1])] {
        let now = status(&lab, i).bfd[0].clone();
        let rx = now.packets_received - before.packets_received;
        let in_xdp = now.packets_received_in_xdp - before.packets_received_in_xdp;
        assert!(
            rx >= 10 && in_xdp == rx,
            "r{i}: {rx} received, {in_xdp} in XDP"
        );
        assert_eq!((now.state.as_str(), now.down_transitions), ("Up", 0));
    }
    // On the wire (the capture sees both directions before any XDP program): BFD Control
    // packets from both routers, TTL 255, to port 3784, source port 49152-65535, dissected
    // without complaint.
    let pcap = cap.stop().unwrap();
    let lines = tshark_fields(
        &pcap,
        "bfd && ip.src != 10.0.0.66",
        &["ip.src", "ip.ttl", "udp.srcport", "udp.dstport", "bfd.sta"],
    )
    .unwrap();
    assert!(lines.len() > 20, "only {} BFD packets", lines.len());
    for l in &lines {
        let f: Vec<&str> = l.split('|').collect();
        assert!(f[0] == r1.to_string() || f[0] == r2.to_string(), "{l}");
        assert_eq!(f[1], "255", "{l}");
        let sport: u16 = f[2].parse().unwrap();
        assert!(sport >= 49152, "{l}");
        assert_eq!(f[3], "3784", "{l}");
    }
}

#[test]
fn forged_bfd_packets_are_dropped_and_counted_and_the_session_stays_up() {
    let (lab, _cap) = peered_pair();
    let r1 = lab.router(1).lan_ip;
    let b1 = status(&lab, 1).bfd[0].clone();
    // Forged packets from a rogue on the LAN: each dropped and counted, the session stays.
    let rogue = Rogue::join(&lab).expect("rogue");
    let forged = |your: u32, state: BfdState| Repr {
        diag: Diag::None,
        state,
        poll: false,
        final_: false,
        cpi: false,
        demand: false,
        detect_mult: 3,
        my_discriminator: 0xbad,
        your_discriminator: your,
        desired_min_tx: 50_000,
        required_min_rx: 50_000,
        required_min_echo_rx: 0,
    };
    let to_r1 = SocketAddrV4::new(r1, 3784);
    // Counted from here: r2's first packets may have reached r1 before r1 had a session
    // for r2 (each router learns the other from hellos at its own time), as no_session.
    let before = status(&lab, 1).bfd_dropped;
    let low_ttl = rogue_udp(&rogue, 49998, 64).unwrap();
    let ttl255 = rogue_udp(&rogue, 49999, 255).unwrap();
    // TTL 64: not from the link (RFC 5881 §5), even with the right discriminator.
    low_ttl
        .send_to(
            &forged(b1.local_discriminator, BfdState::AdminDown).to_bytes(),
            to_r1,
        )
        .unwrap();
    // TTL 255, the real session's discriminator, but not from its peer.
    ttl255
        .send_to(
            &forged(b1.local_discriminator, BfdState::Down).to_bytes(),
            to_r1,
        )
        .unwrap();
    // TTL 255, Length field beyond the datagram.
    let mut bad_len = forged(0, BfdState::Down).to_bytes();
    bad_len[3] = 30;
    ttl255.send_to(&bad_len, to_r1).unwrap();
    // TTL 255, Your Discriminator 0 from an address with no session.
    ttl255
        .send_to(&forged(0, BfdState::Down).to_bytes(), to_r1)
        .unwrap();
    let added = |d: BfdDropCounters| {
        (
            d.bad_ttl - before.bad_ttl,
            d.unknown_discriminator - before.unknown_discriminator,
            d.malformed - before.malformed,
            d.no_session - before.no_session,
            d.authenticated - before.authenticated,
        )
    };
    let counted = wait_for(Duration::from_secs(2), || {
        added(status(&lab, 1).bfd_dropped) == (1, 1, 1, 1, 0)
    });
    assert!(
        counted.is_some(),
        "drop counters before {before:?}, now {:?}",
        status(&lab, 1).bfd_dropped
    );
    let after = status(&lab, 1);
    assert_eq!(after.bfd[0].state, "Up");
    assert_eq!(after.bfd[0].down_transitions, 0);
    assert_eq!(after.groups[0].state, State::Active);
}

#[test]
fn a_frozen_active_is_lost_at_the_bfd_detection_time_and_peering_returns() {
    let (lab, _cap) = peered_pair();
    let r1 = lab.router(1).lan_ip;
    // Freeze the Active: no hello, no BFD, no Resign (the process is alive).
    let totals_before = status(&lab, 2).bfd_totals;
    lab.signal(1, libc::SIGSTOP).unwrap();
    let took = wait_for(Duration::from_secs(5), || {
        group_state(&lab, 2) == Some(State::Active)
    })
    .unwrap_or_else(|| panic!("r2 never became Active:\n{}", lab.log(2)));
    println!(
        "SIGSTOP of the Active -> r2 Active (status poll): {} ms",
        took.as_millis()
    );
    // Bound: 150 ms detection plus scheduling slack on a shared machine; the hold timer
    // alone would need at least 2 s (3 s hold, hellos every second), and the log line
    // below says which timer it was.
    assert!(took < Duration::from_secs(2), "took {took:?}");
    let log2 = lab.log(2);
    assert!(
        log2.contains(&format!(
            "Standby -> Active: BFD session to Active {r1} down"
        )),
        "{log2}"
    );
    // r2, now Active with no Standby, has no one left to peer with: the session to r1 is
    // gone (ended with an AdminDown).
    let gone = wait_for(Duration::from_secs(2), || status(&lab, 2).bfd.is_empty());
    assert!(gone.is_some(), "{:?}", status(&lab, 2).bfd);
    // The ended session's Down stays in the daemon's totals.
    let t = status(&lab, 2).bfd_totals;
    let b = totals_before;
    assert_eq!(
        (
            t.sessions_started - b.sessions_started,
            t.sessions_ended - b.sessions_ended,
            t.down_transitions - b.down_transitions,
            t.detection_expiries - b.detection_expiries,
        ),
        (0, 1, 1, 1),
        "before {b:?}, after {t:?}"
    );
    assert!(
        lab.log(2).contains(&format!("BFD peer {r1}: Up -> Down")),
        "{}",
        lab.log(2)
    );
    lab.signal(1, libc::SIGCONT).unwrap();
    // r1 wakes up, preempts back (priority 150), and the pair peers again.
    let again = wait_for(Duration::from_secs(20), || {
        group_state(&lab, 1) == Some(State::Active)
            && group_state(&lab, 2) == Some(State::Standby)
            && bfd_state(&lab, 1).as_deref() == Some("Up")
            && bfd_state(&lab, 2).as_deref() == Some("Up")
    });
    assert!(
        again.is_some(),
        "no peering after SIGCONT:\nr1:\n{}\nr2:\n{}",
        lab.log(1),
        lab.log(2)
    );
}

/// The same over IPv6: the session runs between the routers' link-local addresses (the
/// senders of their hellos), hop limit 255, and a frozen Active is lost as fast.
#[test]
fn bfd_over_ipv6_link_local() {
    let (lab, cap) = peered_pair_with(v6_config);
    let s1 = status(&lab, 1);
    let s2 = status(&lab, 2);
    let (b1, b2) = (&s1.bfd[0], &s2.bfd[0]);
    let p1 = b1.peer.expect("peer");
    let p2 = b2.peer.expect("peer");
    for p in [p1, p2] {
        match p {
            std::net::IpAddr::V6(a) => assert!(a.is_unicast_link_local(), "{a}"),
            other => panic!("IPv4 peer {other} in an IPv6 group"),
        }
    }
    assert_ne!(p1, p2);
    assert_eq!(b1.remote_discriminator, b2.local_discriminator);
    assert_eq!(b1.detection_time_ms, 150.0);
    // A second of steady state (about 20 packets each way at 50 ms) for the capture.
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(status(&lab, 2).bfd[0].state, "Up");
    // The steady packets over IPv6 link-local are taken in XDP too (a second at 50 ms).
    for i in [1, 2] {
        let b = &status(&lab, i).bfd[0];
        assert!(b.packets_received_in_xdp >= 5, "r{i}: {b:?}");
    }

    lab.signal(1, libc::SIGSTOP).unwrap();
    let took = wait_for(Duration::from_secs(5), || {
        group_state(&lab, 2) == Some(State::Active)
    })
    .unwrap_or_else(|| panic!("r2 never became Active:\n{}", lab.log(2)));
    println!(
        "IPv6: SIGSTOP of the Active -> r2 Active (status poll): {} ms",
        took.as_millis()
    );
    // As for IPv4: the hold timer alone would need at least 2 s.
    assert!(took < Duration::from_secs(2), "took {took:?}");
    assert!(
        lab.log(2).contains(&format!(
            "Standby -> Active: BFD session to Active {p2} down"
        )),
        "{}",
        lab.log(2)
    );
    lab.signal(1, libc::SIGCONT).unwrap();

    let pcap = cap.stop().unwrap();
    let lines = tshark_fields(
        &pcap,
        "bfd && ipv6",
        &["ipv6.src", "ipv6.hlim", "udp.srcport", "udp.dstport"],
    )
    .unwrap();
    assert!(lines.len() > 20, "only {} BFD packets", lines.len());
    for l in &lines {
        let f: Vec<&str> = l.split('|').collect();
        assert!(f[0].starts_with("fe80::"), "{l}");
        assert_eq!(f[1], "255", "{l}");
        assert!(f[2].parse::<u16>().unwrap() >= 49152, "{l}");
        assert_eq!(f[3], "3784", "{l}");
    }
}

/// Peering turned off by a reload (`no standby bfd`): r1 ends its session with an
/// AdminDown, which r2 honours (Down, remote AdminDown, no takeover, no detection expiry);
/// turned on again, the pair peers again.
#[test]
fn reload_turns_peering_off_with_admin_down_and_back_on() {
    let (lab, _cap) = peered_pair();
    let r1_conf = |extra: &str| {
        format!(
            "{}{BFD}{extra}",
            router_config(2, &[(1, VIP, 150, true)], "timers 1 3")
        )
    };
    let conf_path = lab.dir.join("r1.conf");
    std::fs::write(&conf_path, r1_conf(" no standby bfd\n")).unwrap();
    lab.signal(1, libc::SIGHUP).unwrap();
    let off = wait_for(Duration::from_secs(3), || {
        status(&lab, 1).bfd.is_empty()
            && status(&lab, 2)
                .bfd
                .first()
                .is_some_and(|b| b.state == "Down" && b.remote_state == "AdminDown")
    });
    assert!(
        off.is_some(),
        "r1 {:?}\nr2 {:?}\n{}",
        status(&lab, 1).bfd,
        status(&lab, 2).bfd,
        lab.log(1)
    );
    let b2 = &status(&lab, 2).bfd[0];
    assert_eq!(b2.local_diag, "NeighborSignaledDown");
    assert_eq!(b2.detection_expiries, 0);
    // HSRP carries on as before: nobody took over.
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(group_state(&lab, 1), Some(State::Active));
    assert_eq!(group_state(&lab, 2), Some(State::Standby));

    std::fs::write(&conf_path, r1_conf("")).unwrap();
    lab.signal(1, libc::SIGHUP).unwrap();
    let on = wait_for(Duration::from_secs(10), || {
        bfd_state(&lab, 1).as_deref() == Some("Up") && bfd_state(&lab, 2).as_deref() == Some("Up")
    });
    assert!(on.is_some(), "{}", lab.log(1));
    assert_eq!(group_state(&lab, 1), Some(State::Active));
}

/// A Standby whose loop runs late (here: stopped for 300 ms, as a starved host would leave
/// it) judges the Active's silence by what arrived, not by when it got to look: what
/// arrived meanwhile is taken into account before the overdue detection time is. Run
/// twice: with the steady packets counted in XDP (the counts are read first), and with
/// `fast-path off`, where every packet waits in the socket (the socket is read first).
/// The intervals are lopsided so only the Standby's judgement is tested: r2 detects r1
/// after 3 x 20 ms, r1 detects r2 only after 50 x 20 ms (r2's multiplier), longer than
/// the stop.
#[test]
fn late_standby_reads_waiting_packets_before_judging_silence() {
    late_standby_judges_what_arrived("");
    late_standby_judges_what_arrived("fast-path off\n");
}

fn late_standby_judges_what_arrived(global: &str) {
    let (lab, _cap) = peered_pair_with(|prio| {
        let mult = if prio == 150 { 3 } else { 50 };
        format!(
            "{global}{} bfd interval 20 min_rx 20 multiplier {mult}\n",
            router_config(2, &[(1, VIP, prio, true)], "timers 1 3")
        )
    });
    // Which path the Active's packets take on r2.
    std::thread::sleep(Duration::from_millis(300));
    let in_xdp = status(&lab, 2).bfd[0].packets_received_in_xdp;
    assert_eq!(in_xdp > 0, global.is_empty(), "{in_xdp} packets in XDP");
    let b2 = &status(&lab, 2).bfd[0];
    assert_eq!(b2.detection_time_ms, 60.0, "{b2:?}");
    let before = status(&lab, 2);
    for round in 0..5 {
        lab.signal(2, libc::SIGSTOP).unwrap();
        std::thread::sleep(Duration::from_millis(300));
        lab.signal(2, libc::SIGCONT).unwrap();
        // Long enough for r2 to catch up, and for a false Down to show.
        std::thread::sleep(Duration::from_millis(400));
        let now = status(&lab, 2);
        assert_eq!(
            (
                now.bfd_totals.down_transitions,
                now.bfd_totals.detection_expiries
            ),
            (
                before.bfd_totals.down_transitions,
                before.bfd_totals.detection_expiries
            ),
            "round {round}: r2 took the Active's queued packets for silence:\n{}",
            lab.log(2)
        );
    }
    assert_eq!(group_state(&lab, 1), Some(State::Active));
    assert_eq!(group_state(&lab, 2), Some(State::Standby));
    assert_eq!(
        status(&lab, 2).groups[0].state_changes,
        before.groups[0].state_changes
    );
}

/// Both daemons stopped at once for longer than the detection time (what a hypervisor
/// taking every vCPU, or a CPU hog starving both, does to a lab on one host): neither may
/// take the other's silence during its own stall for a failure. The detection times that
/// ran out in the stall wait one detection time from its end, in which the overdue packets
/// arrive; the deferrals are counted.
#[test]
fn a_stall_of_both_daemons_is_not_taken_for_silence() {
    let (lab, _cap) = peered_pair_with(|prio| {
        format!(
            "{} bfd interval 20 min_rx 20 multiplier 3\n",
            router_config(2, &[(1, VIP, prio, true)], "timers 1 3")
        )
    });
    let before = [status(&lab, 1), status(&lab, 2)];
    for round in 0..5 {
        for i in [1, 2] {
            lab.signal(i, libc::SIGSTOP).unwrap();
        }
        // 200 ms: over three 60 ms detection times, under the 3 s HSRP hold time.
        std::thread::sleep(Duration::from_millis(200));
        for i in [1, 2] {
            lab.signal(i, libc::SIGCONT).unwrap();
        }
        // Long enough for both to catch up, and for a false Down to show.
        std::thread::sleep(Duration::from_millis(400));
        for i in [1, 2] {
            let now = status(&lab, i);
            let b = &before[i - 1];
            assert_eq!(
                now.bfd_totals.down_transitions,
                b.bfd_totals.down_transitions,
                "round {round}: r{i} took a stall for the peer's silence:\n{}",
                lab.log(i)
            );
        }
    }
    let deferred: u64 = [1, 2]
        .map(|i| {
            status(&lab, i).bfd_totals.detections_deferred
                - before[i - 1].bfd_totals.detections_deferred
        })
        .iter()
        .sum();
    // Which daemon finds its detection time run out with nothing to read depends on which
    // runs first after SIGCONT (the other may find the first one's packet waiting); without
    // the deferral that one goes Down in the first round.
    assert!(deferred >= 1, "no deferral in 5 rounds");
    assert_eq!(group_state(&lab, 1), Some(State::Active));
    assert_eq!(group_state(&lab, 2), Some(State::Standby));
    for i in [1, 2] {
        assert_eq!(
            status(&lab, i).groups[0].state_changes,
            before[i - 1].groups[0].state_changes
        );
    }
}
