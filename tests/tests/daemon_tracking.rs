//! Preemption driven by tracking, with real hsrpd processes: a tracked interface going
//! down on the Active lowers its priority so the preempt-enabled peer takes over, and
//! coming back restores the original Active. A tracked route does the same.

use std::time::Duration;

use hsrp_tests::lab::{router_config, wait_for, Lab, LabOptions, VIP};
use hsrp_user::proto::State;

fn expect(lab: &Lab, r1: (State, u8), r2: State, what: &str) -> Duration {
    lab.expect_roles(Duration::from_secs(3), r1, r2, what)
}

#[test]
fn tracked_interface_down_hands_over_and_up_takes_back() {
    let mut lab = Lab::new(LabOptions::default()).expect("building the lab");
    let r1 = &lab.router(1).ns;
    r1.exec(
        "ip link add trk0 type veth peer name trk1 && ip link set trk0 up && ip link set trk1 up",
    )
    .unwrap();
    let timers = "timers msec 50 msec 150";
    let cfg1 = format!(
        "track 1 interface trk0 line-protocol\ntrack 2 ip route 10.9.0.0/16 reachability\n{}",
        router_config(
            2,
            &[(1, VIP, 150, true)],
            &format!("{timers}\ntrack 1 decrement 60\ntrack 2 decrement 70")
        )
    );
    r1.exec("ip route add 10.9.0.0/16 via 10.0.0.200 dev lan0")
        .unwrap();
    lab.start_hsrpd(1, &cfg1).unwrap();
    lab.start_hsrpd(2, &router_config(2, &[(1, VIP, 100, true)], timers))
        .unwrap();
    expect(
        &lab,
        (State::Active, 150),
        State::Standby,
        "initial election",
    );

    // Interface down: 150 - 60 = 90 < 100, r2 preempts.
    let r1 = &lab.router(1).ns;
    r1.exec("ip link set trk0 down").unwrap();
    let took = expect(&lab, (State::Standby, 90), State::Active, "track 1 down");
    println!(
        "tracked link down -> r2 Active, r1 Standby: {} ms",
        took.as_millis()
    );
    let log1 = lab.log(1);
    assert!(log1.contains("track 1 is now down"), "{log1}");
    let log2 = lab.log(2);
    assert!(
        log2.contains("lan0 grp 1: Standby -> Active: preempting"),
        "{log2}"
    );

    // Back up: 150 again, r1 preempts back.
    r1.exec("ip link set trk0 up").unwrap();
    expect(&lab, (State::Active, 150), State::Standby, "track 1 up");

    // The route goes away: 150 - 70 = 80, r2 takes over; the route comes back.
    r1.exec("ip route del 10.9.0.0/16").unwrap();
    expect(&lab, (State::Standby, 80), State::Active, "track 2 down");
    r1.exec("ip route add 10.9.0.0/16 via 10.0.0.200 dev lan0")
        .unwrap();
    expect(&lab, (State::Active, 150), State::Standby, "track 2 up");
}

#[test]
fn a_tracked_object_already_down_at_start_counts() {
    let mut lab = Lab::new(LabOptions::default()).expect("building the lab");
    let r1 = &lab.router(1).ns;
    r1.exec("ip link add trk0 type veth peer name trk1")
        .unwrap(); // left down
    let timers = "timers msec 50 msec 150";
    let cfg1 = format!(
        "track 1 interface trk0 line-protocol\n{}",
        router_config(
            2,
            &[(1, VIP, 150, true)],
            &format!("{timers}\ntrack 1 decrement 60")
        )
    );
    lab.start_hsrpd(2, &router_config(2, &[(1, VIP, 100, true)], timers))
        .unwrap();
    lab.start_hsrpd(1, &cfg1).unwrap();
    wait_for(Duration::from_secs(3), || {
        lab.first_group(1) == Some((State::Standby, 90))
            && lab.first_group(2).map(|g| g.0) == Some(State::Active)
    })
    .unwrap_or_else(|| panic!("r1 {:?}\n{}", lab.first_group(1), lab.log(1)));
}
