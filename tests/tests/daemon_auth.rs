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
    // r3 hellos every 50 ms: wait until both have rejected and counted five of them (a
    // priority-200 Coup with the right key would have deposed r1 at the first), however
    // long a loaded machine takes to get there.
    wait_for(Duration::from_secs(5), || {
        g(&lab, 1).auth_failures >= 5 && g(&lab, 2).auth_failures >= 5
    })
    .unwrap_or_else(|| panic!("r3's hellos not counted:\n{}\n{}", lab.log(1), lab.log(2)));
    let after1 = g(&lab, 1);
    let after2 = g(&lab, 2);
    assert_eq!(after1.state, State::Active, "r1 deposed by a wrong key");
    assert_eq!(after2.state, State::Standby);
    assert_eq!(after1.state_changes, before1.state_changes, "{after1:?}");
    assert_eq!(after2.state_changes, before2.state_changes, "{after2:?}");
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

/// `authentication md5 key-chain`: a receiver accepts a message signed with any key of its
/// chain, not only the one it sends with (key rollover). r1's chain has keys 1 (alpha)
/// and 2 (beta) and sends with key 1; r2's chain has only key 2 (beta). r2 cannot
/// authenticate r1 (counted failures, so the keys really differ on the wire) and is Active
/// on its own; r1 authenticates r2's hellos with its key 2 and becomes its Standby.
#[test]
fn md5_key_chain_accepts_every_key_of_the_chain() {
    let mut lab = Lab::new(LabOptions::default()).expect("building the lab");
    let chain = |keys: &[(u32, &str)]| {
        let mut c = String::from("key chain lab\n");
        for (id, k) in keys {
            c.push_str(&format!(" key {id}\n  key-string {k}\n"));
        }
        c
    };
    let extra = "timers msec 50 msec 150\nauthentication md5 key-chain lab";
    let r1 =
        chain(&[(1, "alpha"), (2, "beta")]) + &router_config(2, &[(1, VIP, 100, false)], extra);
    let r2 = chain(&[(2, "beta")]) + &router_config(2, &[(1, VIP, 150, true)], extra);
    lab.start_hsrpd(1, &r1).unwrap();
    lab.start_hsrpd(2, &r2).unwrap();
    let r2_ip = std::net::IpAddr::from(lab.router(2).lan_ip);
    wait_for(Duration::from_secs(3), || {
        lab.status(1).is_ok_and(|s| {
            s.groups[0].state == State::Standby
                && s.groups[0].active.as_ref().and_then(|a| a.address) == Some(r2_ip)
        }) && lab
            .status(2)
            .is_ok_and(|s| s.groups[0].state == State::Active)
    })
    .unwrap_or_else(|| {
        panic!(
            "r1 not Standby under r2:\n{:?}\n{:?}\nr1:\n{}\nr2:\n{}",
            lab.status(1).map(|s| s.groups[0].clone()),
            lab.status(2).map(|s| s.groups[0].clone()),
            lab.log(1),
            lab.log(2)
        )
    });
    wait_for(Duration::from_secs(5), || g(&lab, 2).auth_failures >= 3)
        .unwrap_or_else(|| panic!("r2 counted no failures:\n{}", lab.log(2)));
    let s1 = g(&lab, 1);
    let s2 = g(&lab, 2);
    assert_eq!(s1.auth_failures, 0, "r1 accepts key 2 of its chain: {s1:?}");
    assert_eq!(s1.authentication, "md5 key-chain lab");
    assert!(
        s2.auth_failures >= 3,
        "r2 (key 2 only) rejects r1's key-1 hellos: {s2:?}"
    );
    assert_eq!(s1.state, State::Standby);
    assert_eq!(s2.state, State::Active);
}
