//! SIGHUP reload of a running hsrpd: a broken file changes nothing (error logged with
//! file and line), a valid one is applied live.

use std::time::Duration;

use hsrp_tests::lab::{router_config, wait_for, Lab, LabOptions, VIP};
use hsrp_user::proto::State;

#[test]
fn reload_with_a_broken_file_keeps_running_and_a_good_one_applies() {
    let mut lab = Lab::new(LabOptions {
        routers: 1,
        ..LabOptions::default()
    })
    .expect("building the lab");
    let timers = "timers msec 50 msec 150";
    lab.start_hsrpd(1, &router_config(2, &[(1, VIP, 150, true)], timers))
        .unwrap();
    wait_for(Duration::from_secs(3), || {
        lab.status(1)
            .is_ok_and(|s| s.groups[0].state == State::Active)
    })
    .unwrap();
    let before = lab.status(1).unwrap().groups[0].clone();
    let path = lab.daemon(1).unwrap().config.clone();

    // Line 3 is wrong.
    std::fs::write(
        &path,
        "interface lan0\n standby version 2\n standby 1 priority banana\n standby 1 ip 10.0.0.1\n",
    )
    .unwrap();
    lab.signal(1, libc::SIGHUP).unwrap();
    let logged = wait_for(Duration::from_secs(2), || {
        lab.log(1).contains("the running configuration stays")
    });
    let log = lab.log(1);
    assert!(logged.is_some(), "{log}");
    assert!(
        log.contains(&format!("{}:3:", path.display())),
        "the error names file and line: {log}"
    );
    let after = lab.status(1).unwrap().groups[0].clone();
    assert_eq!(after.state, before.state);
    assert_eq!(after.priority, 150);
    assert_eq!(after.state_changes, before.state_changes);

    // A valid change is applied without a restart.
    std::fs::write(&path, router_config(2, &[(1, VIP, 120, true)], timers)).unwrap();
    lab.signal(1, libc::SIGHUP).unwrap();
    wait_for(Duration::from_secs(2), || {
        lab.status(1).is_ok_and(|s| s.groups[0].priority == 120)
    })
    .unwrap_or_else(|| panic!("{}", lab.log(1)));
    let s = lab.status(1).unwrap();
    assert_eq!(s.groups[0].state, State::Active);
    assert_eq!(s.groups[0].state_changes, before.state_changes);
}
