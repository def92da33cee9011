//! Tracked scripts and files with real hsrpd processes: a script's exit status (and its
//! timeout: a hanging script is killed, counts as down, and never stalls the daemon) and a
//! file's contents move the priority, and the peer preempts.

use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use hsrp_tests::lab::{router_config, Lab, LabOptions, VIP};
use hsrp_user::proto::State;

fn expect(lab: &Lab, r1: (State, u8), r2: State, what: &str) {
    lab.expect_roles(Duration::from_secs(8), r1, r2, what);
}

#[test]
fn a_script_and_a_file_drive_preemption_and_a_hanging_script_is_killed() {
    let mut lab = Lab::new(LabOptions::default()).expect("building the lab");
    // The script: exit 0 while `ok` exists; hang while `hang` exists.
    let ok = lab.dir.join("ok");
    let hang = lab.dir.join("hang");
    let script = lab.dir.join("check.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nwhile [ -e {} ]; do sleep 0.1; done\ntest -e {}\n",
            hang.display(),
            ok.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(&ok, "").unwrap();
    let state_file = lab.dir.join("state");
    std::fs::write(&state_file, "up\n").unwrap();

    let timers = "timers msec 50 msec 150";
    let cfg1 = format!(
        "track 1 script {} interval 1 fall 2 timeout 1\ntrack 2 file {}\n{}",
        script.display(),
        state_file.display(),
        router_config(
            2,
            &[(1, VIP, 150, true)],
            &format!("{timers}\ntrack 1 decrement 60\ntrack 2 decrement 70")
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

    // The script fails (exit 1) twice in a row (fall 2): 150 - 60 = 90, r2 preempts.
    std::fs::remove_file(&ok).unwrap();
    expect(&lab, (State::Standby, 90), State::Active, "script failing");
    std::fs::write(&ok, "").unwrap();
    expect(&lab, (State::Active, 150), State::Standby, "script passing");

    // The script hangs: killed at its 1 s timeout, a failure each time. Meanwhile the
    // daemon answers its status socket at once.
    std::fs::write(&hang, "").unwrap();
    let mut slowest = Duration::ZERO;
    let mut most_runs = 0;
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(4) {
        let t = Instant::now();
        lab.status(1).expect("status while the script hangs");
        slowest = slowest.max(t.elapsed());
        // Runs of the script alive now (anchored: not the shell running pgrep). A run not
        // killed at its timeout would pile up with the next ones, one more per second.
        let runs = lab
            .router(1)
            .ns
            .exec(&format!("pgrep -f '^/bin/sh {}' || true", script.display()))
            .unwrap();
        most_runs = most_runs.max(runs.lines().filter(|l| !l.trim().is_empty()).count());
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(
        most_runs, 1,
        "one run at a time, each killed at its timeout"
    );
    println!(
        "slowest status answer while the script hung: {} ms",
        slowest.as_millis()
    );
    // A loop blocked on the script would not answer for the whole 1 s timeout.
    assert!(slowest < Duration::from_millis(900), "{slowest:?}");
    expect(&lab, (State::Standby, 90), State::Active, "script hanging");
    let log1 = lab.log(1);
    assert!(log1.contains("killed after the 1 s timeout"), "{log1}");
    std::fs::remove_file(&hang).unwrap();
    expect(
        &lab,
        (State::Active, 150),
        State::Standby,
        "script done hanging",
    );

    // The file says down: 150 - 70 = 80; then garbage (counted as down); then up.
    std::fs::write(&state_file, "down\n").unwrap();
    expect(&lab, (State::Standby, 80), State::Active, "file down");
    std::fs::write(&state_file, "1\n").unwrap();
    expect(&lab, (State::Active, 150), State::Standby, "file up");
    std::fs::write(&state_file, "maybe\n").unwrap();
    expect(&lab, (State::Standby, 80), State::Active, "file garbage");
    assert!(lab.log(1).contains("are not up/1 or down/0"));
    std::fs::write(&state_file, "UP").unwrap();
    expect(&lab, (State::Active, 150), State::Standby, "file up again");
}
