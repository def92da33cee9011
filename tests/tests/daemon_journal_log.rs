//! A running daemon's log as journald gets it: with `JOURNAL_STREAM` naming its stderr
//! (what systemd sets for `StandardError=journal`), every line, the sentinel's included,
//! starts with its sd-daemon priority prefix and carries no timestamp of its own; state
//! changes are `<5>` (notice) with interface, group, old -> new state and reason, warnings
//! `<4>`, errors `<3>`, the rest `<6>`. The same daemon logging to a plain file keeps its
//! timestamps and has no prefixes.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::process::Stdio;
use std::time::Duration;

use hsrp_tests::lab::{router_config, wait_exit, wait_for, Lab, LabOptions, VIP};
use hsrp_user::proto::State;

const TIMERS: &str = "timers msec 100 msec 300";

/// Whether `line` holds an ISO 8601 date-time (`YYYY-MM-DDT`), as env_logger writes one.
fn has_timestamp(line: &str) -> bool {
    let b = line.as_bytes();
    b.windows(11).any(|w| {
        w.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b'T',
            _ => c.is_ascii_digit(),
        })
    })
}

#[test]
fn under_journald_lines_carry_priorities_and_no_timestamp() {
    let mut lab = Lab::new(LabOptions {
        routers: 2,
        ..LabOptions::default()
    })
    .expect("building the lab");
    let r = lab.router(1);
    let config = lab.dir.join("r1-journal.conf");
    let cfg = |priority: u16| {
        router_config(2, &[(1, VIP, 150, true)], TIMERS)
            .replace("priority 150", &format!("priority {priority}"))
            + " standby 1 authentication text alpha\n"
    };
    fs::write(&config, cfg(150)).unwrap();
    let socket = lab.dir.join("r1-journal.sock");
    let log = lab.dir.join("r1-journal.log");
    let log_file = fs::File::create(&log).unwrap();
    let meta = log_file.metadata().unwrap();
    let mut cmd = r.ns.command(&lab.hsrpd.display().to_string());
    cmd.args(["run", "-c"])
        .arg(&config)
        .arg("--socket")
        .arg(&socket)
        .env("JOURNAL_STREAM", format!("{}:{}", meta.dev(), meta.ino()))
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(log_file.try_clone().unwrap())
        .stderr(log_file);
    let mut daemon = hsrp_tests::KillOnDrop(cmd.spawn().expect("spawning hsrpd"));
    let read_log = || fs::read_to_string(&log).unwrap_or_default();
    let group = || {
        hsrp_user::control::query(&socket)
            .ok()
            .and_then(|s| s.groups.first().map(|g| g.state))
    };
    wait_for(Duration::from_secs(10), || group() == Some(State::Active))
        .unwrap_or_else(|| panic!("r1 never Active:\n{}", read_log()));

    // r2 signs with another key: r1 warns about its messages.
    lab.start_hsrpd(
        2,
        &(router_config(2, &[(1, VIP, 100, true)], TIMERS)
            + " standby 1 authentication text beta\n"),
    )
    .unwrap();
    wait_for(Duration::from_secs(5), || {
        read_log().contains("<4>lan0 grp 1: message from")
    })
    .unwrap_or_else(|| panic!("no authentication warning:\n{}", read_log()));
    // A reload of a broken file: errors.
    fs::write(&config, cfg(300)).unwrap();
    // SAFETY: kill(2) on our own child.
    unsafe { libc::kill(daemon.0.id() as i32, libc::SIGHUP) };
    wait_for(Duration::from_secs(5), || {
        read_log().contains("failed: the running")
    })
    .unwrap_or_else(|| panic!("no reload error:\n{}", read_log()));
    // SAFETY: as above.
    unsafe { libc::kill(daemon.0.id() as i32, libc::SIGTERM) };
    let status = wait_exit(&mut daemon.0, Duration::from_secs(10)).unwrap();
    assert_eq!(status.code(), Some(0), "{}", read_log());

    let text = read_log();
    let lines: Vec<&str> = text.lines().filter(|l| !l.is_empty()).collect();
    assert!(lines.len() >= 8, "{text}");
    for line in &lines {
        let prio = line
            .strip_prefix('<')
            .and_then(|l| l.split_once('>'))
            .map(|(p, _)| p);
        assert!(
            matches!(prio, Some("3" | "4" | "5" | "6")),
            "line without a priority prefix (or at debug): {line:?}\n{text}"
        );
        assert!(!has_timestamp(line), "second timestamp: {line:?}");
    }
    let has = |want: &str| lines.iter().any(|l| l.starts_with(want));
    // State changes: notice, with interface, group, old -> new state and the reason.
    for want in [
        "<5>lan0 grp 1: Init -> Listen: interface up",
        "<5>lan0 grp 1: Listen -> Speak: active timer expired",
        "<5>lan0 grp 1: Speak -> Standby: standby timer expired",
        "<5>lan0 grp 1: Standby -> Active: no Active router known",
        "<6>running: 1 interface(s), 1 group(s)",
        "<6>SIGHUP: reloading",
        "<4>lan0 grp 1: message from 10.0.0.3 ignored: ",
        "<6>SIGTERM: stopping",
    ] {
        assert!(has(want), "no line starting {want:?}:\n{text}");
    }
    let errors: Vec<&&str> = lines.iter().filter(|l| l.starts_with("<3>")).collect();
    assert!(
        errors
            .iter()
            .any(|l| l.contains("standby 1 priority 300: priority must be 1-255")),
        "{text}"
    );
    assert!(
        errors
            .iter()
            .any(|l| l.contains("failed: the running configuration stays in effect")),
        "{text}"
    );
    // No key in any line.
    assert!(!text.contains("alpha") && !text.contains("beta"), "{text}");

    // The other daemon logs to a plain file: timestamps, no prefixes.
    let plain = lab.log(2);
    assert!(plain.lines().any(has_timestamp), "{plain}");
    assert!(!plain.lines().any(|l| l.starts_with('<')), "{plain}");
}
