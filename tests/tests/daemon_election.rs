//! Real hsrpd processes on a bridged LAN: election by priority, agreement of both status
//! sockets, two groups with opposite priorities (load balancing), a second instance on
//! the same interface refused, and a Standby woken late that does not take over.

use std::time::Duration;

use hsrp_tests::lab::{router_config, Lab, LabOptions};
use hsrp_user::control::Snapshot;
use hsrp_user::proto::State;

const TIMERS: &str = "timers msec 50 msec 150";

fn two_routers() -> Lab {
    Lab::new(LabOptions {
        routers: 2,
        ..LabOptions::default()
    })
    .expect("building the lab")
}

#[test]
fn election_follows_priority_and_both_status_sockets_agree() {
    let mut lab = two_routers();
    let vip = hsrp_tests::lab::VIP;
    lab.start_hsrpd(1, &router_config(2, &[(1, vip, 150, true)], TIMERS))
        .unwrap();
    lab.start_hsrpd(2, &router_config(2, &[(1, vip, 100, true)], TIMERS))
        .unwrap();
    lab.wait_group_state(1, 1, State::Active, Duration::from_secs(3));
    lab.wait_group_state(2, 1, State::Standby, Duration::from_secs(3));

    let r1_ip = lab.router(1).lan_ip;
    let r2_ip = lab.router(2).lan_ip;
    let s1 = lab.status(1).unwrap();
    let s2 = lab.status(2).unwrap();
    let g1 = &s1.groups[0];
    let g2 = &s2.groups[0];
    // r1 sees itself Active and r2 Standby; r2 sees r1 Active and itself Standby.
    assert_eq!(g1.active.as_ref().unwrap().address, None);
    assert_eq!(
        g1.standby.as_ref().unwrap().address,
        Some(r2_ip.into()),
        "{g1:?}"
    );
    assert_eq!(g2.active.as_ref().unwrap().address, Some(r1_ip.into()));
    assert_eq!(g2.active.as_ref().unwrap().priority, 150);
    assert_eq!(g2.standby.as_ref().unwrap().address, None);
    assert_eq!(g1.virtual_mac, "0000.0c9f.f001");
    assert_eq!(g1.hello_ms, 50);
    assert_eq!(g1.hold_ms, 150);
    assert_eq!(s1.interfaces[0].name, "lan0");
    assert!(s1.interfaces[0].up);

    // The CLI prints the same thing as the library query.
    let bin = hsrp_tests::hsrpd_bin();
    let out = std::process::Command::new(&bin)
        .args(["status", "--json", "--socket"])
        .arg(lab.socket(2))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cli: Snapshot = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(cli.groups[0].state, State::Standby);
    assert_eq!(
        cli.groups[0].active.as_ref().unwrap().address,
        Some(r1_ip.into())
    );
    let brief = std::process::Command::new(&bin)
        .args(["status", "--socket"])
        .arg(lab.socket(1))
        .output()
        .unwrap();
    let brief = String::from_utf8_lossy(&brief.stdout);
    assert!(
        brief.contains("lan0") && brief.contains("Active") && brief.contains("local"),
        "{brief}"
    );

    // The data plane agrees: r1's vMAC entry is active, r2's is not.
    let vmac = [0x00, 0x00, 0x0c, 0x9f, 0xf0, 0x01];
    assert_eq!(lab.vmac_active(1, vmac).unwrap(), Some(true));
    assert_eq!(lab.vmac_active(2, vmac).unwrap(), Some(false));

    // The log says why each state was entered.
    let log1 = lab.log(1);
    assert!(log1.contains("lan0 grp 1: Standby -> Active:"), "{log1}");
}

#[test]
fn two_groups_with_opposite_priorities_balance_the_load() {
    let mut lab = two_routers();
    let vip1 = hsrp_tests::lab::VIP;
    let vip2 = std::net::Ipv4Addr::new(10, 0, 0, 254);
    lab.start_hsrpd(
        1,
        &router_config(2, &[(1, vip1, 150, true), (2, vip2, 100, true)], TIMERS),
    )
    .unwrap();
    lab.start_hsrpd(
        2,
        &router_config(2, &[(1, vip1, 100, true), (2, vip2, 150, true)], TIMERS),
    )
    .unwrap();
    lab.wait_group_state(1, 1, State::Active, Duration::from_secs(3));
    lab.wait_group_state(2, 2, State::Active, Duration::from_secs(3));
    lab.wait_group_state(1, 2, State::Standby, Duration::from_secs(3));
    lab.wait_group_state(2, 1, State::Standby, Duration::from_secs(3));
}

#[test]
fn a_second_instance_on_the_same_interface_refuses_to_start() {
    let mut lab = two_routers();
    let cfg = router_config(2, &[(1, hsrp_tests::lab::VIP, 100, false)], TIMERS);
    lab.start_hsrpd(1, &cfg).unwrap();
    // Same interface, another status socket: the XDP attachment gives it away.
    let r = lab.router(1);
    let cfg_path = lab.dir.join("second.conf");
    std::fs::write(&cfg_path, &cfg).unwrap();
    let other_socket = lab.dir.join("second.sock");
    let out =
        r.ns.command(&hsrp_tests::hsrpd_bin().display().to_string())
            .args(["run", "-c"])
            .arg(&cfg_path)
            .arg("--socket")
            .arg(&other_socket)
            .output()
            .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("already attached") && err.contains("another hsrpd"),
        "{err}"
    );
    // Same socket: the answering status socket gives it away.
    let out =
        r.ns.command(&hsrp_tests::hsrpd_bin().display().to_string())
            .args(["run", "-c"])
            .arg(&cfg_path)
            .arg("--socket")
            .arg(lab.socket(1))
            .output()
            .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("already running"), "{err}");
    // And the first one is unharmed.
    assert!(lab.status(1).is_ok());
}

#[test]
fn hsrp_v1_elects_and_its_frames_dissect_cleanly() {
    let mut lab = two_routers();
    let cap = lab.capture("v1").unwrap();
    let vip = hsrp_tests::lab::VIP;
    // v1 carries whole seconds: the shortest sensible timers.
    lab.start_hsrpd(1, &router_config(1, &[(1, vip, 110, false)], "timers 1 3"))
        .unwrap();
    lab.start_hsrpd(2, &router_config(1, &[(1, vip, 100, false)], "timers 1 3"))
        .unwrap();
    lab.wait_group_state(1, 1, State::Active, Duration::from_secs(10));
    lab.wait_group_state(2, 1, State::Standby, Duration::from_secs(10));
    let s = lab.status(2).unwrap();
    assert_eq!(s.groups[0].version, 1);
    assert_eq!(s.groups[0].virtual_mac, "0000.0c07.ac01");
    let pcap = cap.stop().unwrap();
    let problems = hsrp_tests::lab::tshark_problems(&pcap).unwrap();
    assert!(problems.is_empty(), "{problems:#?}");
    // Hellos from the Active come from the v1 vMAC with state 16; the interfaces
    // advertised themselves (opcode 3).
    let r1 = lab.router(1).lan_ip;
    let hellos = hsrp_tests::lab::tshark_fields(
        &pcap,
        &format!("ip.src == {r1} && hsrp.opcode == 0 && hsrp.state == 16"),
        &["eth.src", "hsrp.virt_ip", "hsrp.auth_data"],
    )
    .unwrap();
    assert!(!hellos.is_empty());
    assert!(
        hellos
            .iter()
            .all(|h| h == &format!("00:00:0c:07:ac:01|{vip}|cisco")),
        "{hellos:?}"
    );
    let adverts = hsrp_tests::lab::tshark_fields(&pcap, "hsrp.opcode == 3", &["ip.src"]).unwrap();
    assert!(!adverts.is_empty(), "no v1 Advertise seen");
}

/// A Standby whose loop runs late (here: stopped for twice the hold time, as a starved host
/// would leave it) judges the Active by the hellos that arrived meanwhile and wait in its
/// socket, not by when it got to look: no takeover, no state change on either router.
#[test]
fn late_standby_reads_waiting_hellos_before_judging_the_active() {
    let mut lab = two_routers();
    let vip = hsrp_tests::lab::VIP;
    let timers = "timers msec 100 msec 300";
    lab.start_hsrpd(1, &router_config(2, &[(1, vip, 150, true)], timers))
        .unwrap();
    lab.start_hsrpd(2, &router_config(2, &[(1, vip, 100, true)], timers))
        .unwrap();
    lab.wait_group_state(1, 1, State::Active, Duration::from_secs(10));
    lab.wait_group_state(2, 1, State::Standby, Duration::from_secs(10));
    let changes = |i: usize| lab.status(i).expect("status").groups[0].state_changes;
    let before = (changes(1), changes(2));
    for round in 0..10 {
        lab.signal(2, libc::SIGSTOP).unwrap();
        std::thread::sleep(Duration::from_millis(600));
        lab.signal(2, libc::SIGCONT).unwrap();
        // Long enough for r2 to catch up, and for a takeover to show.
        std::thread::sleep(Duration::from_millis(400));
        assert_eq!(
            (changes(1), changes(2)),
            before,
            "round {round}: r2 took the hellos waiting in its socket for silence:\n{}",
            lab.log(2)
        );
    }
    assert_eq!(lab.group(2, 1).map(|g| g.state), Some(State::Standby));
}
