//! Forged HSRP messages from a rogue host on the LAN (yersinia-style), built
//! with the project's own codec (`hsrp_tests::rogue`), against two real hsrpd routers
//! (HSRPv2 group 1, r1 Active priority 110, r2 Standby 100, both preempt, 100/300 ms) with a
//! probe stream host → VIP → server running through the attack.
//!
//! - With MD5: Coup and Hello at priority 255, a Resign pretending to be the Active and
//!   Hellos with the Active's address as source change nothing — no state change on either
//!   router, every forged message counted as an authentication failure, not one probe
//!   packet lost or delivered by the wrong router.
//! - Without authentication (the Cisco default text "cisco"): a rogue at priority 255 takes
//!   the group with a Coup, as it would from Cisco routers; when it goes quiet the real
//!   routers take it back within the hold time. A Resign spoofed from the Active's address
//!   makes the Standby take over, and preemption restores the Active. docs/security.md.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use hsrp_tests::lab::{wait_for, Lab, VIP};
use hsrp_tests::lab_traffic::{failover_lab, router_macs, start_elected, Stream, Timers, GROUP};
use hsrp_tests::require_root;
use hsrp_tests::rogue::Rogue;
use hsrp_user::control::GroupStatus;
use hsrp_user::proto::{Auth, GroupMessage, MacAddr, Opcode, State, Version};

const TIMERS: Timers = Timers::ms(100, 300);
const KEY: &str = "lab-md5-key";
/// One forged round every 20 ms during the attack.
const ROUND: Duration = Duration::from_millis(20);
const ROUNDS: u32 = 100;

fn start_routers(md5: bool) -> Lab {
    require_root();
    let mut lab = failover_lab().expect("building the lab");
    let auth = if md5 {
        format!("authentication md5 key-string {KEY}")
    } else {
        String::new()
    };
    start_elected(&mut lab, TIMERS, &auth).unwrap();
    lab
}

/// Router `i`'s status of [`GROUP`].
fn group(lab: &Lab, i: usize) -> GroupStatus {
    lab.group(i, GROUP).expect("group 1 in status")
}

fn msg(opcode: Opcode, state: State, priority: u8, id: MacAddr) -> GroupMessage {
    GroupMessage {
        version: Version::V2,
        opcode,
        state,
        group: GROUP,
        priority,
        hello_ms: TIMERS.hello_ms,
        hold_ms: TIMERS.hold_ms,
        vip: Some(IpAddr::V4(VIP)),
        identifier: Some(id),
    }
}

/// The four forgeries, each under `auth`, as frames from the rogue's port. The spoofed ones
/// carry r1's IP address (and its MAC as the v2 identifier) but the rogue's own Ethernet
/// source: stealing the virtual MAC at layer 2 is a switch matter (port security), not
/// something any HSRP authentication can stop.
fn forgeries(lab: &Lab, rogue: &Rogue, auth: &Auth) -> Vec<Vec<u8>> {
    let r1_ip = IpAddr::V4(lab.router(1).lan_ip);
    let r1_mac = router_lan_mac(lab, 1);
    let own_ip = IpAddr::V4(rogue.ip);
    let f = |m: GroupMessage, ip| rogue.hsrp_frame(&m, auth, rogue.mac, ip).unwrap();
    vec![
        f(msg(Opcode::Coup, State::Speak, 255, rogue.mac), own_ip),
        f(msg(Opcode::Hello, State::Active, 255, rogue.mac), own_ip),
        f(msg(Opcode::Resign, State::Active, 110, r1_mac), r1_ip),
        f(msg(Opcode::Hello, State::Active, 1, r1_mac), r1_ip),
    ]
}

fn router_lan_mac(lab: &Lab, i: usize) -> MacAddr {
    MacAddr(lab.lan_mac(i).unwrap())
}

#[test]
fn md5_forged_coup_hello_resign_and_spoofed_active_change_nothing() {
    let lab = start_routers(true);
    let rogue = Rogue::join(&lab).expect("rogue host");
    let before = [group(&lab, 1), group(&lab, 2)];
    assert_eq!(before[0].authentication, "md5 key-string");

    // Every way a rogue without the key can sign: nothing, the default text, a wrong key.
    let mut frames = Vec::new();
    for auth in [
        Auth::None,
        Auth::DefaultText,
        Auth::Md5 {
            key: b"guessed-key".to_vec(),
            key_id: 0,
        },
    ] {
        frames.extend(forgeries(&lab, &rogue, &auth));
    }
    // 1 probe packet every 2 ms for 4 s; the attack runs from 0.5 s to 2.5 s.
    let stream = Stream::start(&lab, Duration::from_millis(2), 2000).expect("probe");
    std::thread::sleep(Duration::from_millis(500));
    let attack = Instant::now();
    let sent = rogue.send_paced(&frames, ROUNDS, ROUND).expect("forging");
    let attack_took = attack.elapsed();
    // Let the last frames be processed before reading counters.
    std::thread::sleep(Duration::from_millis(300));
    let after = [group(&lab, 1), group(&lab, 2)];
    let report = stream.finish().expect("probe report");

    let macs = router_macs(&lab).unwrap();
    eprintln!(
        "MD5 attack: {sent} forged frames ({} kinds x {ROUNDS} rounds) in {attack_took:?}; \
         auth failures r1 {} -> {}, r2 {} -> {}; state changes r1 {} -> {}, r2 {} -> {}; \
         probe: {}; delivered by {:?}",
        frames.len(),
        before[0].auth_failures,
        after[0].auth_failures,
        before[1].auth_failures,
        after[1].auth_failures,
        before[0].state_changes,
        after[0].state_changes,
        before[1].state_changes,
        after[1].state_changes,
        report.summary(),
        report
            .per_router
            .keys()
            .map(|m| macs.get(m).cloned().unwrap_or_else(|| m.clone()))
            .collect::<Vec<_>>()
    );
    for (i, (b, a)) in before.iter().zip(&after).enumerate() {
        assert_eq!(a.state_changes, b.state_changes, "r{}: {a:?}", i + 1);
        assert_eq!(a.state, b.state, "r{}", i + 1);
    }
    assert_eq!(after[0].state, State::Active);
    assert_eq!(after[1].state, State::Standby);
    assert_eq!(
        after[1].active.as_ref().and_then(|p| p.address),
        Some(IpAddr::V4(lab.router(1).lan_ip)),
        "r2's view of the Active"
    );
    // r2 hears every forged frame and fails each on authentication. r1 is also the spoofed
    // source of half of them, which it may drop as its own before checking them.
    let r2_failures = after[1].auth_failures - before[1].auth_failures;
    assert_eq!(r2_failures, sent, "r2 auth failures vs forged frames");
    let r1_failures = after[0].auth_failures - before[0].auth_failures;
    assert!(
        r1_failures >= sent / 2,
        "r1 counted {r1_failures} of {sent}"
    );
    // Traffic through the VIP: nothing lost, one router only.
    assert_eq!(report.lost, 0, "{}", report.summary());
    assert_eq!(report.duplicates, 0, "{}", report.summary());
    assert_eq!(report.router_changes(), 0, "{}", report.summary());
    let r1_uplink = macs
        .iter()
        .find(|(_, n)| n.as_str() == "r1")
        .map(|(m, _)| m.clone())
        .unwrap();
    assert_eq!(report.routers(), vec![r1_uplink.as_str()]);
}

#[test]
fn without_auth_a_priority_255_rogue_takes_over_as_on_cisco() {
    let lab = start_routers(false);
    let rogue = Rogue::join(&lab).expect("rogue host");
    let auth = Auth::DefaultText; // what unconfigured Cisco routers send and accept
    let own = IpAddr::V4(rogue.ip);
    let coup = rogue
        .hsrp_frame(
            &msg(Opcode::Coup, State::Speak, 255, rogue.mac),
            &auth,
            rogue.mac,
            own,
        )
        .unwrap();
    let hello = rogue
        .hsrp_frame(
            &msg(Opcode::Hello, State::Active, 255, rogue.mac),
            &auth,
            rogue.mac,
            own,
        )
        .unwrap();

    // Coup, then Hellos as the Active every 100 ms for 1.5 s (what yersinia does).
    rogue.send(&coup).unwrap();
    let taken = Instant::now();
    rogue
        .send_paced(std::slice::from_ref(&hello), 15, Duration::from_millis(100))
        .unwrap();
    let during = [group(&lab, 1), group(&lab, 2)];
    eprintln!(
        "no auth, rogue at 255: r1 {:?} (active seen {:?}), r2 {:?}",
        during[0].state,
        during[0].active.as_ref().and_then(|p| p.address),
        during[1].state
    );
    for (i, g) in during.iter().enumerate() {
        assert_ne!(g.state, State::Active, "r{} kept the group", i + 1);
        assert_eq!(
            g.active.as_ref().and_then(|p| p.address),
            Some(own),
            "r{} does not see the rogue as Active",
            i + 1
        );
    }
    // The highest real priority is the rogue's Standby.
    assert_eq!(during[0].state, State::Standby);
    // Rogue goes quiet: the real routers take the group back once its hold time passes.
    let silent = Instant::now();
    let back = wait_for(Duration::from_secs(3), || {
        group(&lab, 1).state == State::Active && group(&lab, 2).state == State::Standby
    });
    let back = back.unwrap_or_else(|| panic!("no recovery:\n{}\n{}", lab.log(1), lab.log(2)));
    eprintln!(
        "rogue held the group {:?}; recovery {back:?} after it went silent (hold {} ms)",
        silent - taken,
        TIMERS.hold_ms
    );
    // The rogue's last Hello came up to one hello before `silent`; r1 (its Standby) takes
    // over when the hold runs out, r2 (Listen) becomes Standby after a Speak phase of one
    // more hold; plus 200 ms of scheduling slack on a loaded 2-core machine.
    let bound = Duration::from_millis(u64::from(2 * TIMERS.hold_ms + TIMERS.hello_ms) + 200);
    assert!(back <= bound, "recovery took {back:?} (bound {bound:?})");

    // A Resign spoofed from r1's address: r2 believes the Active resigned and takes over
    // (RFC 2281), then r1's Hellos with its higher priority and preempt win it back.
    let r1_ip = IpAddr::V4(lab.router(1).lan_ip);
    let r1_mac = router_lan_mac(&lab, 1);
    let resign = rogue
        .hsrp_frame(
            &msg(Opcode::Resign, State::Active, 110, r1_mac),
            &auth,
            rogue.mac,
            r1_ip,
        )
        .unwrap();
    let r2_before = group(&lab, 2).state_changes;
    rogue.send(&resign).unwrap();
    let settled = wait_for(Duration::from_secs(3), || {
        let g2 = group(&lab, 2);
        g2.state_changes > r2_before
            && g2.state == State::Standby
            && group(&lab, 1).state == State::Active
    });
    let g2 = group(&lab, 2);
    eprintln!(
        "spoofed Resign: r2 state changes {r2_before} -> {} (last: {}), settled in {settled:?}",
        g2.state_changes, g2.last_change_reason
    );
    assert!(settled.is_some(), "r2 {g2:?}\n{}", lab.log(2));
}
