//! Crashes and restarts of real hsrpd routers, with a probe stream host → VIP → server measuring
//! what a user would feel (HSRPv2 group 1, 100/300 ms timers).
//!
//! - SIGKILL of the only router leaves no zombie gateway: XDP detached, no ARP answers for
//!   the VIP, nothing forwarded, no address left behind; its next start clears the maps
//!   the killed run pinned.
//! - Killing and restarting the Standby (SIGKILL) and the Listen router (SIGTERM) loses no
//!   packet and never changes the Active.
//! - Without preempt, the old Active coming back stays Standby: the new Active keeps the
//!   group and the traffic, losing nothing.

use std::time::Duration;

use hsrp_tests::lab::{router_config, wait_for, Lab, VIP};
use hsrp_tests::lab_traffic::{failover_lab_of, router_macs, Stream, Timers, GROUP, VMAC};
use hsrp_tests::probe::Report;
use hsrp_tests::require_root;
use hsrp_user::proto::State;

const TIMERS: Timers = Timers::ms(100, 300);

fn state(lab: &Lab, i: usize) -> Option<State> {
    lab.group(i, GROUP).map(|g| g.state)
}

fn lab(routers: usize) -> Lab {
    require_root();
    failover_lab_of(routers).expect("building the lab")
}

fn config(prio: u8, preempt: bool) -> String {
    router_config(2, &[(GROUP, VIP, prio, preempt)], &TIMERS.ios())
}

fn wait_state(lab: &Lab, i: usize, want: State, limit: Duration) {
    lab.wait_group_state(i, GROUP, want, limit);
}

fn resolve_vip(lab: &Lab) -> Option<String> {
    let host = lab.host.as_ref().unwrap();
    host.exec("ip neigh flush dev hlan0").unwrap();
    host.exec(&format!(
        "python3 -c \"import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\
         .sendto(b'who', ('{VIP}', 9))\""
    ))
    .unwrap();
    std::thread::sleep(Duration::from_millis(1200));
    let n = host
        .exec(&format!("ip neigh show {VIP} dev hlan0"))
        .unwrap();
    n.split_whitespace()
        .skip_while(|w| *w != "lladdr")
        .nth(1)
        .map(str::to_string)
}

fn deliverers(lab: &Lab, r: &Report) -> Vec<String> {
    let macs = router_macs(lab).unwrap();
    r.segments
        .iter()
        .map(|s| macs.get(&s.via).cloned().unwrap_or_else(|| s.via.clone()))
        .collect()
}

#[test]
fn sigkill_leaves_no_zombie_gateway_and_restart_clears_the_maps() {
    let mut lab = lab(1);
    lab.start_hsrpd(1, &config(110, true)).unwrap();
    wait_state(&lab, 1, State::Active, Duration::from_secs(3));
    // The checks below can fail: while hsrpd runs, they see the gateway.
    let r1 = &lab.router(1).ns;
    assert!(
        r1.exec("ip link show lan0").unwrap().contains("xdp"),
        "XDP attached"
    );
    assert_eq!(
        resolve_vip(&lab).as_deref(),
        Some("00:00:0c:9f:f0:01"),
        "ARP answered with the vMAC while Active"
    );
    let live = Stream::start(&lab, Duration::from_millis(1), 300)
        .unwrap()
        .finish()
        .unwrap();
    assert_eq!(live.lost, 0, "{}", live.summary());
    let addrs_running = r1.exec("ip -o addr show dev lan0").unwrap();

    lab.stop_hsrpd(1, libc::SIGKILL, Duration::from_secs(5))
        .unwrap();
    let r1 = &lab.router(1).ns;
    let link = r1.exec("ip link show lan0").unwrap();
    assert!(
        !link.contains("xdp"),
        "XDP still attached after SIGKILL:\n{link}"
    );
    let addrs = r1.exec("ip -o addr show dev lan0").unwrap();
    assert!(
        !addrs.contains(&format!("{VIP}/")),
        "VIP left on lan0:\n{addrs}"
    );
    // The host still has the vMAC in its neighbour cache: frames go to it and must die.
    let dead = Stream::start(&lab, Duration::from_millis(1), 300)
        .unwrap()
        .finish()
        .unwrap();
    let replies = resolve_vip(&lab);
    eprintln!(
        "after SIGKILL: VIP resolves to {replies:?}; 300 probe packets sent to the cached vMAC, \
         server received {} ({}); lan0 addresses while \
         running:\n{addrs_running}after:\n{addrs}",
        dead.received,
        dead.summary()
    );
    assert_eq!(replies, None, "ARP for the VIP answered by a dead router");
    assert_eq!(
        dead.received,
        0,
        "a dead router forwarded: {}",
        dead.summary()
    );

    // The killed run's pinned maps say group 1's vMAC is Active. A new run with another
    // group must start from empty maps: no entry for group 1 at all.
    let other = router_config(
        2,
        &[(2, "10.0.0.9".parse().unwrap(), 110, true)],
        &TIMERS.ios(),
    );
    lab.start_hsrpd(1, &other).unwrap();
    wait_for(Duration::from_secs(3), || {
        lab.status(1)
            .is_ok_and(|s| s.groups.iter().any(|g| g.state == State::Active))
    })
    .expect("group 2 Active");
    assert_eq!(
        lab.vmac_active(1, VMAC).unwrap(),
        None,
        "stale group 1 entry"
    );
    let mut vmac2 = VMAC;
    vmac2[5] = 2;
    assert_eq!(lab.vmac_active(1, vmac2).unwrap(), Some(true));
}

#[test]
fn restarting_standby_and_listen_never_disturbs_the_active() {
    let mut lab = lab(3);
    lab.start_hsrpd(1, &config(110, true)).unwrap();
    wait_state(&lab, 1, State::Active, Duration::from_secs(3));
    lab.start_hsrpd(2, &config(100, true)).unwrap();
    wait_state(&lab, 2, State::Standby, Duration::from_secs(3));
    lab.start_hsrpd(3, &config(90, true)).unwrap();
    wait_state(&lab, 3, State::Listen, Duration::from_secs(3));
    let r1_before = lab.group(1, GROUP).unwrap().state_changes;

    // 1 packet/ms for 7 s: SIGKILL + restart of the Standby at 1 s, SIGTERM + restart of
    // the Listen router once the group has settled again.
    let s = Stream::start(&lab, Duration::from_millis(1), 7000).unwrap();
    std::thread::sleep(Duration::from_secs(1));
    lab.stop_hsrpd(2, libc::SIGKILL, Duration::from_secs(5))
        .unwrap();
    lab.start_hsrpd(2, &config(100, true)).unwrap();
    wait_state(&lab, 2, State::Standby, Duration::from_secs(3));
    let listen = (1..=3).find(|&i| state(&lab, i) == Some(State::Listen));
    let listen = listen.expect("a Listen router after the Standby's restart");
    lab.stop_hsrpd(listen, libc::SIGTERM, Duration::from_secs(5))
        .unwrap();
    lab.start_hsrpd(listen, &config(if listen == 3 { 90 } else { 100 }, true))
        .unwrap();
    wait_state(&lab, listen, State::Listen, Duration::from_secs(3));
    let r = s.finish().unwrap();
    let r1 = lab.group(1, GROUP).unwrap();
    eprintln!(
        "Standby r2 SIGKILL+restart, Listen r{listen} SIGTERM+restart: {}; r1 state changes \
         {r1_before} -> {}",
        r.summary(),
        r1.state_changes
    );
    assert_eq!(r1.state, State::Active);
    assert_eq!(r1.state_changes, r1_before, "{}", r1.last_change_reason);
    assert_eq!(r.lost, 0, "{}", r.summary());
    assert_eq!(r.duplicates, 0, "{}", r.summary());
    assert_eq!(deliverers(&lab, &r), vec!["r1"]);
}

#[test]
fn old_active_restarted_without_preempt_leaves_the_new_active_alone() {
    let mut lab = lab(2);
    lab.start_hsrpd(1, &config(110, false)).unwrap();
    wait_state(&lab, 1, State::Active, Duration::from_secs(3));
    lab.start_hsrpd(2, &config(100, false)).unwrap();
    wait_state(&lab, 2, State::Standby, Duration::from_secs(3));
    lab.stop_hsrpd(1, libc::SIGKILL, Duration::from_secs(5))
        .unwrap();
    wait_state(&lab, 2, State::Active, Duration::from_secs(2));
    let r2_before = lab.group(2, GROUP).unwrap().state_changes;

    let s = Stream::start(&lab, Duration::from_millis(1), 4000).unwrap();
    std::thread::sleep(Duration::from_millis(500));
    lab.start_hsrpd(1, &config(110, false)).unwrap();
    wait_state(&lab, 1, State::Standby, Duration::from_secs(3));
    let r = s.finish().unwrap();
    let r2 = lab.group(2, GROUP).unwrap();
    eprintln!(
        "old Active r1 (110, no preempt) back: r1 {:?}, r2 {:?}, r2 state changes {r2_before} -> \
         {}; {}",
        state(&lab, 1),
        r2.state,
        r2.state_changes,
        r.summary()
    );
    assert_eq!(r2.state, State::Active);
    assert_eq!(r2.state_changes, r2_before);
    assert_eq!(r.lost, 0, "{}", r.summary());
    assert_eq!(deliverers(&lab, &r), vec!["r2"]);
}
