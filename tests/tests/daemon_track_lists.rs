//! Tracked objects beyond a single interface or route, with real hsrpd processes: a boolean
//! list of an interface's line protocol and its `ip routing` state with a down delay, and
//! the old `standby G track IF D` form.

use std::time::{Duration, Instant};

use hsrp_tests::lab::{router_config, wait_for, Lab, LabOptions, VIP};
use hsrp_user::proto::State;

fn expect(lab: &Lab, r1: (State, u8), r2: State, what: &str) -> Duration {
    lab.expect_roles(Duration::from_secs(6), r1, r2, what)
}

#[test]
fn a_boolean_list_with_a_down_delay_and_an_interface_track_drive_preemption() {
    let mut lab = Lab::new(LabOptions::default()).expect("building the lab");
    let r1 = &lab.router(1).ns;
    r1.exec(
        "ip link add trk0 type veth peer name trk1 && ip link set trk0 up && ip link set trk1 up \
         && ip addr add 10.50.0.1/24 dev trk0 && sysctl -qw net.ipv4.conf.trk0.forwarding=1 \
         && ip link add trk8 type veth peer name trk9 && ip link set trk8 up && ip link set trk9 up",
    )
    .unwrap();
    let timers = "timers msec 50 msec 150";
    let cfg1 = format!(
        "track 1 interface trk0 line-protocol\ntrack 2 interface trk0 ip routing\n\
         track 10 list boolean and\n object 1\n object 2\n delay down 2\n{}",
        router_config(
            2,
            &[(1, VIP, 150, true)],
            &format!("{timers}\ntrack 10 decrement 60\ntrack trk8 70")
        )
    );
    lab.start_hsrpd(1, &cfg1).unwrap();
    lab.start_hsrpd(2, &router_config(2, &[(1, VIP, 100, true)], timers))
        .unwrap();
    expect(
        &lab,
        (State::Active, 150),
        State::Standby,
        "initial election",
    );

    // Forwarding off on trk0: `ip routing` goes down, the AND list follows after its 2 s
    // down delay; 150 - 60 = 90 < 100 and r2 preempts.
    let r1 = &lab.router(1).ns;
    let off = Instant::now();
    r1.exec("sysctl -qw net.ipv4.conf.trk0.forwarding=0")
        .unwrap();
    // The status shows the list's change waiting for its delay.
    let pending = wait_for(Duration::from_secs(3), || {
        lab.status(1).is_ok_and(|s| {
            s.tracks
                .iter()
                .any(|t| t.object == 10 && t.pending.as_ref().is_some_and(|p| !p.up))
        })
    });
    assert!(
        pending.is_some(),
        "no pending change shown: {:?}",
        lab.status(1).map(|s| s.tracks)
    );
    expect(&lab, (State::Standby, 90), State::Active, "ip routing down");
    let took = off.elapsed();
    println!(
        "forwarding off -> r2 Active: {} ms (delay down 2 s)",
        took.as_millis()
    );
    // The list's delay holds the change back for 2 s whatever the machine's speed.
    assert!(
        took >= Duration::from_secs(2),
        "the down delay was not applied: {took:?}"
    );
    let log1 = lab.log(1);
    assert!(log1.contains("track 2 is now down"), "{log1}");
    assert!(log1.contains("track 10 is now down"), "{log1}");
    // `hsrpd status --track`, as an operator runs it.
    let show = r1
        .exec(&format!(
            "{} status --track --socket {}",
            lab.hsrpd.display(),
            lab.socket(1).display()
        ))
        .unwrap();
    println!("{show}");
    assert!(
        show.contains(
            "Track 10\n  List boolean and\n  State is Down\n    1 change, last change 00:00:0"
        ),
        "{show}"
    );
    assert!(
        show.contains(
            "  Delay up 0 secs, down 2 secs\n  Tracked by:\n    HSRP lan0 1 (decrement 60)\n"
        ),
        "{show}"
    );
    assert!(
        show.contains("Track 2\n  Interface trk0 ip routing\n  State is Down\n"),
        "{show}"
    );
    assert!(
        show.contains("Track 1001\n  Interface trk8 line-protocol (from `standby G track IF`)\n  State is Up\n"),
        "{show}"
    );

    // Forwarding back on: no up delay, r1 preempts back.
    r1.exec("sysctl -qw net.ipv4.conf.trk0.forwarding=1")
        .unwrap();
    expect(&lab, (State::Active, 150), State::Standby, "ip routing up");

    // A flap shorter than the down delay changes nothing: the link goes down and comes
    // back within 300 ms.
    let before = lab.status(1).unwrap().groups[0].state_changes;
    r1.exec("ip link set trk0 down && sleep 0.3 && ip link set trk0 up")
        .unwrap();
    std::thread::sleep(Duration::from_millis(2500));
    let after = lab.status(1).unwrap().groups[0].clone();
    assert_eq!((after.state, after.priority), (State::Active, 150));
    assert_eq!(
        after.state_changes, before,
        "a short flap never reached the group"
    );

    // `standby 1 track trk8 70`: the link down lowers 150 to 80.
    r1.exec("ip link set trk8 down").unwrap();
    expect(&lab, (State::Standby, 80), State::Active, "trk8 down");
    r1.exec("ip link set trk8 up").unwrap();
    expect(&lab, (State::Active, 150), State::Standby, "trk8 up");
}
