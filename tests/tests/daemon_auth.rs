//! MD5 authentication between real hsrpd processes: matching keys elect normally; a
//! router with a wrong key is ignored (its messages are counted as failures and change
//! nothing), as Cisco routers do.

use std::time::Duration;

use hsrp_tests::lab::{router_config, wait_for, Lab, LabOptions, VIP};
use hsrp_user::control::GroupStatus;
use hsrp_user::proto::State;

fn g(lab: &Lab, i: usize) -> GroupStatus {
    lab.status(i).unwrap().groups[0].clone()
}

#[test]
fn md5_matching_keys_elect_and_a_wrong_key_is_ignored() {
    let mut lab = Lab::new(LabOptions {
        routers: 3,
        ..LabOptions::default()
    })
    .expect("building the lab");
    let good = "timers msec 50 msec 150\nauthentication md5 key-string s3cret";
    let bad = "timers msec 50 msec 150\nauthentication md5 key-string wrong";
    lab.start_hsrpd(1, &router_config(2, &[(1, VIP, 150, true)], good))
        .unwrap();
    lab.start_hsrpd(2, &router_config(2, &[(1, VIP, 100, true)], good))
        .unwrap();
    wait_for(Duration::from_secs(3), || {
        lab.status(1)
            .is_ok_and(|s| s.groups[0].state == State::Active)
            && lab
                .status(2)
                .is_ok_and(|s| s.groups[0].state == State::Standby)
    })
    .unwrap_or_else(|| panic!("no election:\n{}\n{}", lab.log(1), lab.log(2)));
    let before1 = g(&lab, 1);
    let before2 = g(&lab, 2);
    assert_eq!(before1.auth_failures, 0);
    assert_eq!(before1.authentication, "md5 key-string");

    // r3: highest priority, preempt, wrong key.
    lab.start_hsrpd(3, &router_config(2, &[(1, VIP, 200, true)], bad))
        .unwrap();
    std::thread::sleep(Duration::from_millis(800));
    let after1 = g(&lab, 1);
    let after2 = g(&lab, 2);
    assert_eq!(after1.state, State::Active, "r1 deposed by a wrong key");
    assert_eq!(after2.state, State::Standby);
    assert_eq!(after1.state_changes, before1.state_changes, "{after1:?}");
    assert_eq!(after2.state_changes, before2.state_changes, "{after2:?}");
    // r3 hellos every 50 ms for 800 ms: both count them.
    assert!(after1.auth_failures >= 5, "{after1:?}");
    assert!(after2.auth_failures >= 5, "{after2:?}");
    let r3_ip = lab.router(3).lan_ip;
    assert_ne!(after2.active.as_ref().unwrap().address, Some(r3_ip.into()));
    let log1 = lab.log(1);
    assert!(
        log1.contains(&format!("message from {r3_ip} ignored")),
        "{log1}"
    );
    // And r3, hearing nobody it can authenticate, is Active on its own (Cisco's outcome).
    assert_eq!(g(&lab, 3).state, State::Active);
    assert!(g(&lab, 3).auth_failures > 0);
}
