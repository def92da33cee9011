//! Two Actives after a partition heals.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use hsrp_user::fsm::{GroupConfig, Timers};
use hsrp_user::proto::{Opcode, State, Version};
use hsrp_user::sim::Sim;

fn ip(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(172, 16, 0, last))
}

fn run(version: Version, timers: Option<Timers>, seed: u64, delay: Duration) {
    let t = timers.unwrap_or(Timers::DEFAULT);
    let mut sim = Sim::new(seed);
    sim.set_delay(delay);
    for (last, prio) in [(1, 110), (2, 100), (3, 90)] {
        let mut c = GroupConfig::new(3, version);
        c.vip = Some(ip(254));
        c.priority = prio;
        c.timers = timers;
        let r = sim
            .add_router(&format!("r{last}"), ip(last), vec![c])
            .unwrap();
        sim.interface_up(r);
    }
    sim.run_for(t.hold * 6);
    assert_eq!(sim.actives(3), vec![0]);
    sim.partition(&[&[0], &[1, 2]]);
    sim.run_for(t.hold * 3);
    assert_eq!(sim.actives(3), vec![0, 1], "each side has its Active");
    // Heal at a seed-dependent point of the hello cycle.
    sim.run_for(t.hello.mul_f64((seed % 10) as f64 / 10.0));
    let healed = sim.now();
    let sent_before = sim.sent().len();
    sim.heal();
    let one = sim
        .run_until_cond(t.hello * 2, |s| s.actives(3).len() == 1)
        .expect("converged");
    assert!(
        one.saturating_since(healed) <= t.hello + delay,
        "{timers:?} seed {seed}: two Actives for {:?} after healing",
        one.saturating_since(healed)
    );
    assert_eq!(sim.actives(3), vec![0], "the higher one stays");
    let deposed = sim
        .transitions()
        .iter()
        .rev()
        .find(|t| t.router == 1 && t.from == State::Active)
        .unwrap();
    assert_eq!(deposed.to, State::Speak);
    assert!(
        !sim.sent()[sent_before..]
            .iter()
            .any(|s| s.msg.opcode == Opcode::Resign),
        "the deposed Active sends no Resign"
    );
    sim.run_for(t.hold * 4);
    assert_eq!(
        [sim.state(0, 0), sim.state(1, 0), sim.state(2, 0)],
        [State::Active, State::Standby, State::Listen]
    );
    assert!(sim.errors().is_empty(), "{:?}", sim.errors());
}

#[test]
fn two_actives_converge_within_one_hello_default_timers() {
    for seed in 0..10 {
        run(Version::V1, None, seed, Duration::ZERO);
        run(Version::V1, None, seed, Duration::from_millis(2));
    }
}

#[test]
fn two_actives_converge_within_one_hello_msec_timers() {
    for seed in 0..10 {
        run(
            Version::V2,
            Some(Timers::from_millis(50, 150)),
            seed,
            Duration::ZERO,
        );
    }
}
