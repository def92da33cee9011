//! Following groups (`standby G follow NAME`) with real hsrpd processes: 100 groups on each
//! router follow one master group. One takeover of the master flips all of them (state and
//! the vMAC entry in the data plane), the followers send nothing but their MAC refresh
//! hellos, and the preempting master takes them all back.

use std::time::Duration;

use hsrp_tests::lab::{wait_for, Lab, LabOptions, ROUTER_LAN_IF, VIP};
use hsrp_tests::lab_scale::read_hellos;
use hsrp_user::control::Snapshot;
use hsrp_user::proto::State;

const FOLLOWERS: u16 = 100;
const MAC_REFRESH_S: u16 = 1;

/// Group 1 (MASTER, msec timers, preempt) and groups 2..=101 following it, each with its
/// own VIP 10.0.0.(8+g).
fn config(priority: u8) -> String {
    let mut c = format!(
        "interface {ROUTER_LAN_IF}\n standby version 2\n standby mac-refresh {MAC_REFRESH_S}\n \
         standby 1 ip {VIP}\n standby 1 name MASTER\n standby 1 priority {priority}\n \
         standby 1 preempt\n standby 1 timers msec 100 msec 300\n"
    );
    for g in 2..=FOLLOWERS + 1 {
        c.push_str(&format!(
            " standby {g} ip 10.0.0.{}\n standby {g} follow MASTER\n",
            8 + g
        ));
    }
    c
}

fn count(s: &Snapshot, want: State) -> usize {
    s.groups.iter().filter(|g| g.state == want).count()
}

fn vmac(g: u16) -> [u8; 6] {
    [0, 0, 0x0c, 0x9f, 0xf0 | (g >> 8) as u8, g as u8]
}

/// The vMACs router `i`'s data plane forwards for (one dump of HSRP_VMAC), sorted.
fn active_vmacs(lab: &Lab, i: usize) -> Vec<[u8; 6]> {
    let mut out: Vec<[u8; 6]> = lab
        .vmac_entries(i)
        .unwrap()
        .iter()
        .filter(|e| e["value"]["active"].as_u64() == Some(1))
        .map(|e| {
            let mac: Vec<u8> = e["mac"]
                .as_array()
                .expect("mac")
                .iter()
                .map(|b| b.as_u64().expect("byte") as u8)
                .collect();
            mac.try_into().expect("6 bytes")
        })
        .collect();
    out.sort();
    out
}

/// How long after the master the last follower changed state, from one status snapshot
/// (each group reports seconds since its last change), and a check that every follower's
/// last change was the master's doing.
fn follower_lag(s: &Snapshot) -> Duration {
    let master = s.groups.iter().find(|g| g.group == 1).expect("group 1");
    let mut lag = 0.0f64;
    for g in s.groups.iter().filter(|g| g.group != 1) {
        assert!(
            g.last_change_reason.contains("following group MASTER"),
            "group {}: {}",
            g.group,
            g.last_change_reason
        );
        lag = lag.max(master.last_change_s - g.last_change_s);
    }
    Duration::from_secs_f64(lag.max(0.0))
}

fn wait_roles(lab: &Lab, active: usize, other: usize, what: &str) {
    let n = FOLLOWERS as usize + 1;
    let ok = wait_for(Duration::from_secs(10), || {
        lab.status(active).is_ok_and(|s| count(&s, State::Active) == n)
            // A killed daemon counts as none.
            && lab.status(other).map_or(true, |s| count(&s, State::Active) == 0)
    });
    assert!(
        ok.is_some(),
        "{what}: r{active} should be Active for all {n} groups\nr1:\n{}\nr2:\n{}",
        lab.log(1),
        lab.log(2)
    );
}

#[test]
fn one_takeover_flips_a_hundred_followers() {
    let mut lab = Lab::new(LabOptions::default()).expect("building the lab");
    lab.start_hsrpd(1, &config(150)).unwrap();
    lab.start_hsrpd(2, &config(100)).unwrap();
    wait_roles(&lab, 1, 2, "initial election");
    let standby = wait_for(Duration::from_secs(5), || {
        lab.status(2)
            .is_ok_and(|s| count(&s, State::Standby) == FOLLOWERS as usize + 1)
    });
    assert!(
        standby.is_some(),
        "r2's followers mirror its Standby master:\n{}",
        lab.log(2)
    );

    // Followers are silent but for r1's refresh hellos, once a second each.
    let cap = lab.capture("follow").unwrap();
    std::thread::sleep(Duration::from_millis(3500));
    let hellos = read_hellos(&cap.stop().unwrap()).unwrap();
    let follower_hellos: Vec<_> = hellos.iter().filter(|h| h.group != 1).collect();
    let r1_ip = lab.router(1).lan_ip;
    assert!(
        follower_hellos
            .iter()
            .all(|h| h.from == std::net::IpAddr::V4(r1_ip) && h.state == State::Active),
        "only the Active follower refreshes"
    );
    // 3.5 s at one refresh per second: 3 or 4 per follower, never the 35 a 100 ms hello
    // would give.
    for g in 2..=FOLLOWERS + 1 {
        let n = follower_hellos.iter().filter(|h| h.group == g).count();
        assert!(
            (3..=4).contains(&n),
            "group {g}: {n} refresh hellos in 3.5 s"
        );
    }
    assert!(hellos.iter().filter(|h| h.group == 1).count() > 40);

    // r1 dies without a word: r2's master takes over on its hold time, the followers with it.
    lab.stop_hsrpd(1, libc::SIGKILL, Duration::from_secs(5))
        .unwrap();
    wait_roles(&lab, 2, 1, "r1 killed");
    let lag = follower_lag(&lab.status(2).unwrap());
    println!(
        "takeover by r2: last of {FOLLOWERS} followers Active {:.3} ms after its master",
        lag.as_secs_f64() * 1e3
    );
    // The followers are fed in the same pass of the event loop as the master: no timer and
    // no message stands between them. 1 s is far above that pass even for a debug build on
    // a loaded machine, and far below what a follower running an election of its own would
    // take after the master (a hold time at least, 10 s by default).
    assert!(lag < Duration::from_secs(1), "lag {lag:?}");
    assert_eq!(
        active_vmacs(&lab, 2),
        (1..=FOLLOWERS + 1).map(vmac).collect::<Vec<_>>()
    );

    // r1 comes back and preempts: all 101 groups move back together.
    lab.start_hsrpd(1, &config(150)).unwrap();
    wait_roles(&lab, 1, 2, "r1 back, preempting");
    let lag = follower_lag(&lab.status(1).unwrap());
    println!(
        "preemption by r1: last of {FOLLOWERS} followers Active {:.3} ms after its master",
        lag.as_secs_f64() * 1e3
    );
    assert!(lag < Duration::from_secs(1), "lag {lag:?}");
    assert_eq!(
        active_vmacs(&lab, 1),
        (1..=FOLLOWERS + 1).map(vmac).collect::<Vec<_>>()
    );
    assert_eq!(active_vmacs(&lab, 2), Vec::<[u8; 6]>::new());
}
