//! Failover between real hsrpd processes, msec timers 50/150: SIGKILL of the Active (its
//! sentinel resigns for it; the Standby takes over within hold + hello, flips its map
//! entry, announces the VIP with gratuitous ARPs), and SIGTERM (Resign on the wire, Standby Active within 20 ms, the
//! stopped daemon leaves no map pin or XDP program behind). Every frame hsrpd sent
//! dissects cleanly in tshark.

use std::time::Duration;

use hsrp_tests::lab::{
    epoch_now, group_state, router_config, tshark_fields, tshark_problems, wait_for, Lab,
    LabOptions, VIP,
};
use hsrp_user::proto::State;

const TIMERS: &str = "timers msec 50 msec 150";
const VMAC: [u8; 6] = [0x00, 0x00, 0x0c, 0x9f, 0xf0, 0x01];
const HELLO_MS: u64 = 50;
const HOLD_MS: u64 = 150;

/// r1 (priority 150) Active and r2 (100) Standby, with a capture running from the start,
/// and a few hellos in steady state.
fn elected_pair() -> (Lab, hsrp_tests::lab::Capture) {
    let pair = hsrp_tests::lab::elected_pair(TIMERS).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    pair
}

fn assert_clean_capture(pcap: &std::path::Path) {
    let problems = tshark_problems(pcap).unwrap();
    assert!(problems.is_empty(), "tshark flags frames: {problems:#?}");
    // Everything on this LAN came from hsrpd: HSRP, ARP, or IPv6 neighbour discovery of
    // the veths themselves; every HSRP frame is dissected as such.
    let hsrp = tshark_fields(pcap, "hsrp", &["frame.number"]).unwrap();
    let udp1985 = tshark_fields(pcap, "udp.port == 1985", &["frame.number"]).unwrap();
    assert!(hsrp.len() > 10, "only {} HSRP frames captured", hsrp.len());
    assert_eq!(
        hsrp.len(),
        udp1985.len(),
        "some port-1985 frames were not dissected as HSRP"
    );
}

#[test]
fn sigkill_of_the_active_standby_takes_over_within_hold_plus_hello() {
    let (mut lab, cap) = elected_pair();
    assert_eq!(lab.vmac_active(2, VMAC).unwrap(), Some(false));
    let killed_at = epoch_now();
    lab.stop_hsrpd(1, libc::SIGKILL, Duration::from_secs(2))
        .unwrap();
    let took = wait_for(Duration::from_secs(2), || {
        group_state(&lab, 2) == Some(State::Active)
    })
    .unwrap_or_else(|| panic!("r2 never became Active:\n{}", lab.log(2)));
    println!(
        "SIGKILL -> r2 Active (status poll): {} ms",
        took.as_millis()
    );
    assert!(
        took <= Duration::from_millis(HOLD_MS + HELLO_MS),
        "takeover took {took:?} > hold + hello; r2 log:\n{}",
        lab.log(2)
    );
    // The flip: r2's vMAC entry is active in the kernel.
    assert_eq!(lab.vmac_active(2, VMAC).unwrap(), Some(true));
    let log2 = lab.log(2);
    // r1's sentinel resigned for the dead daemon (`daemon_sentinel` tests it closely).
    let r1 = lab.router(1).lan_ip;
    assert!(
        log2.contains(&format!(
            "lan0 grp 1: Standby -> Active: Active {r1} resigned"
        )),
        "{log2}"
    );

    let pcap = cap.stop().unwrap();
    // Gratuitous ARPs from r2 after the kill: ARP replies from the vMAC for the VIP, to
    // broadcast and to 01:00:0c:cd:cd:cd.
    let garps = tshark_fields(
        &pcap,
        &format!(
            "arp.opcode == 2 && eth.src == 00:00:0c:9f:f0:01 && arp.src.proto_ipv4 == {VIP} \
             && arp.dst.proto_ipv4 == {VIP} && frame.time_epoch > {killed_at}"
        ),
        &["eth.dst"],
    )
    .unwrap();
    assert!(garps.iter().any(|d| d == "ff:ff:ff:ff:ff:ff"), "{garps:?}");
    assert!(garps.iter().any(|d| d == "01:00:0c:cd:cd:cd"), "{garps:?}");
    // The new Active's hellos come from the vMAC.
    let r2 = lab.router(2).lan_ip;
    let active_hellos = tshark_fields(
        &pcap,
        &format!("ip.src == {r2} && hsrp2.state == 6 && hsrp2.opcode == 0 && eth.src == 00:00:0c:9f:f0:01"),
        &["frame.number"],
    )
    .unwrap();
    assert!(!active_hellos.is_empty());
    assert_clean_capture(&pcap);
}

#[test]
fn sigterm_of_the_active_resigns_and_the_standby_takes_over_at_once() {
    let (mut lab, cap) = elected_pair();
    let status = lab
        .stop_hsrpd(1, libc::SIGTERM, Duration::from_secs(3))
        .unwrap();
    assert!(status.success(), "hsrpd exited with {status}");
    wait_for(Duration::from_secs(1), || {
        group_state(&lab, 2) == Some(State::Active)
    })
    .unwrap_or_else(|| panic!("r2 never became Active:\n{}", lab.log(2)));
    let pcap = cap.stop().unwrap();

    let r1 = lab.router(1).lan_ip;
    let r2 = lab.router(2).lan_ip;
    let resign = tshark_fields(
        &pcap,
        &format!("ip.src == {r1} && hsrp2.opcode == 2"),
        &["frame.time_epoch", "hsrp2.state", "eth.src"],
    )
    .unwrap();
    assert_eq!(resign.len(), 1, "expected one Resign from r1: {resign:?}");
    let fields: Vec<&str> = resign[0].split('|').collect();
    let t_resign: f64 = fields[0].parse().unwrap();
    assert_eq!(fields[1], "6", "Resign is sent in state Active");
    let taken = tshark_fields(
        &pcap,
        &format!("ip.src == {r2} && hsrp2.state == 6 && frame.time_epoch >= {t_resign}"),
        &["frame.time_epoch"],
    )
    .unwrap();
    let t_active: f64 = taken
        .first()
        .expect("no Active hello from r2")
        .parse()
        .unwrap();
    let gap_ms = (t_active - t_resign) * 1000.0;
    println!("Resign -> r2 Active hello on the wire: {gap_ms:.3} ms");
    // The Resign makes r2 take over at once (no timer): what it may take is the
    // scheduling slack, far under the 100-150 ms a hold-timer takeover would take.
    let slack_ms = hsrp_tests::SCHEDULING_SLACK.as_secs_f64() * 1000.0;
    assert!(
        gap_ms <= slack_ms,
        "r2 took {gap_ms:.3} ms after the Resign"
    );

    // The stopped daemon cleaned up after itself: no pins, no XDP on its interface.
    let r1ns = &lab.router(1).ns;
    let pins = r1ns
        .exec("ls -A /sys/fs/bpf/hsrpd 2>/dev/null || true")
        .unwrap();
    assert!(pins.trim().is_empty(), "pins left behind: {pins}");
    let link = r1ns.exec("ip -d link show lan0").unwrap();
    assert!(!link.contains("prog/xdp"), "XDP still attached: {link}");
    let log1 = lab.log(1);
    assert!(log1.contains("Active -> Init: shutdown"), "{log1}");
    assert_clean_capture(&pcap);
}

#[test]
fn a_restart_after_a_crash_cleans_the_leftover_pins() {
    let mut lab = Lab::new(LabOptions {
        routers: 1,
        ..LabOptions::default()
    })
    .unwrap();
    let cfg = router_config(2, &[(1, VIP, 100, false)], TIMERS);
    lab.start_hsrpd(1, &cfg).unwrap();
    wait_for(Duration::from_secs(2), || {
        group_state(&lab, 1) == Some(State::Active)
    })
    .unwrap();
    lab.stop_hsrpd(1, libc::SIGKILL, Duration::from_secs(2))
        .unwrap();
    // SIGKILL leaves the map pins (the XDP link died with the process).
    let pins = lab.router(1).ns.exec("ls /sys/fs/bpf/hsrpd").unwrap();
    assert!(pins.contains("HSRP_VMAC"), "{pins}");
    lab.start_hsrpd(1, &cfg).unwrap();
    let log = lab.log(1);
    assert!(log.contains("removing leftover pinned maps"), "{log}");
    // Fresh maps: the group starts not Active, then wins again.
    wait_for(Duration::from_secs(2), || {
        group_state(&lab, 1) == Some(State::Active)
    })
    .unwrap();
    assert_eq!(lab.vmac_active(1, VMAC).unwrap(), Some(true));
}

/// The new Active announces the VIP again about 3 s after the takeover (as IOS does), so a
/// host that missed the first gratuitous ARP still moves to the new port: two bursts, each
/// to broadcast and to 01:00:0c:cd:cd:cd, 3 s apart, and no third.
#[test]
fn gratuitous_arp_is_repeated_about_3_s_after_takeover() {
    let (mut lab, cap) = elected_pair();
    let killed_at = epoch_now();
    lab.stop_hsrpd(1, libc::SIGKILL, Duration::from_secs(2))
        .unwrap();
    wait_for(Duration::from_secs(2), || {
        group_state(&lab, 2) == Some(State::Active)
    })
    .unwrap_or_else(|| panic!("r2 never became Active:\n{}", lab.log(2)));
    // Past the repeat (3 s) with room, short of a second repeat.
    std::thread::sleep(Duration::from_millis(4000));
    let pcap = cap.stop().unwrap();
    let garps = tshark_fields(
        &pcap,
        &format!(
            "arp.opcode == 2 && eth.src == 00:00:0c:9f:f0:01 && arp.src.proto_ipv4 == {VIP} \
             && arp.dst.proto_ipv4 == {VIP} && frame.time_epoch > {killed_at}"
        ),
        &["frame.time_epoch", "eth.dst"],
    )
    .unwrap();
    let frames: Vec<(f64, String)> = garps
        .iter()
        .map(|l| {
            let (t, dst) = l.split_once('|').unwrap();
            (t.parse().unwrap(), dst.to_string())
        })
        .collect();
    // Bursts: frames less than 100 ms apart belong together.
    let mut bursts: Vec<Vec<&(f64, String)>> = Vec::new();
    for f in &frames {
        match bursts.last_mut() {
            Some(b) if f.0 - b[b.len() - 1].0 < 0.1 => b.push(f),
            _ => bursts.push(vec![f]),
        }
    }
    assert_eq!(bursts.len(), 2, "two announcements expected: {frames:?}");
    for b in &bursts {
        let dsts: Vec<&str> = b.iter().map(|f| f.1.as_str()).collect();
        assert!(dsts.contains(&"ff:ff:ff:ff:ff:ff"), "{frames:?}");
        assert!(dsts.contains(&"01:00:0c:cd:cd:cd"), "{frames:?}");
    }
    let first = bursts[0][0].0;
    let gap = bursts[1][0].0 - first;
    println!(
        "takeover GARP {:.0} ms after the kill, repeated {gap:.3} s later",
        (first - killed_at) * 1000.0
    );
    assert!(
        first - killed_at <= (HOLD_MS + HELLO_MS) as f64 / 1000.0 + 0.05,
        "first GARP {:.3} s after the kill",
        first - killed_at
    );
    assert!(
        (2.9..=3.3).contains(&gap),
        "repeat {gap:.3} s after the first"
    );
}
