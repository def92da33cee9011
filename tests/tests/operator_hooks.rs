//! The notify program and the events stream with real daemons: every state change runs
//! the operator's program with its arguments and environment, in order even when changes
//! come faster than the program runs, and `hsrpd events` streams the same changes; a
//! program that hangs is killed at its timeout while the daemon's hellos go on.

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hsrp_tests::hsrpd_bin;
use hsrp_tests::lab::{group_state, router_config, wait_for, Lab, LabOptions, VIP};
use hsrp_user::proto::State;

const TIMERS: &str = "timers msec 50 msec 150";

fn write_script(path: &Path, body: &str) {
    std::fs::write(path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// `hsrpd control ARGS` against router `i`: (exit code, stdout, stderr).
fn control(lab: &Lab, i: usize, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(hsrpd_bin())
        .arg("control")
        .args(args)
        .arg("--socket")
        .arg(lab.socket(i))
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `hsrpd events` on router `i`, its lines collected by a thread; returns once the
/// daemon acknowledged the subscription.
struct Events {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Events {
    fn start(lab: &Lab, i: usize) -> Events {
        let mut child = Command::new(hsrpd_bin())
            .arg("events")
            .arg("--socket")
            .arg(lab.socket(i))
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let l = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                l.lock().unwrap().push(line);
            }
        });
        let ev = Events { child, lines };
        wait_for(Duration::from_secs(5), || !ev.lines().is_empty()).expect("subscribed");
        assert_eq!(ev.lines()[0], r#"{"event":"subscribed"}"#);
        ev
    }

    fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }

    /// The `state` events: (seq, from, to).
    fn states(&self) -> Vec<(u64, String, String)> {
        self.lines()
            .iter()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|v| v["event"] == "state")
            .map(|v| {
                (
                    v["seq"].as_u64().unwrap(),
                    v["from"].as_str().unwrap().to_string(),
                    v["to"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    }
}

impl Drop for Events {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The lines of `path` once it has stopped growing for 500 ms (at most 15 s).
fn settled_lines(path: &Path) -> Vec<String> {
    let read = || std::fs::read_to_string(path).unwrap_or_default();
    let mut last = read();
    let mut stable_since = std::time::Instant::now();
    let start = std::time::Instant::now();
    while start.elapsed() < Duration::from_secs(15) {
        std::thread::sleep(Duration::from_millis(50));
        let now = read();
        if now != last {
            last = now;
            stable_since = std::time::Instant::now();
        } else if stable_since.elapsed() >= Duration::from_millis(500) {
            break;
        }
    }
    last.lines().map(str::to_string).collect()
}

#[test]
fn notify_runs_every_change_in_order_and_events_stream_the_same() {
    let mut lab = Lab::new(LabOptions::default()).expect("building the lab");
    let out = lab.dir.join("hook.out");
    let hook = lab.dir.join("hook.sh");
    // Slower than the changes below come (20 ms a run): they queue, and must stay in order.
    write_script(
        &hook,
        &format!(
            "sleep 0.02\necho \"$HSRPD_SEQ|$1|$2|$3|$4|$5|$6|$HSRPD_INTERFACE|$HSRPD_GROUP|$HSRPD_FAMILY|$HSRPD_VERSION|$HSRPD_OLD_STATE|$HSRPD_NEW_STATE|$HSRPD_VIPS|$HSRPD_VMAC|$HSRPD_NAME|$#\" >> {}",
            out.display()
        ),
    );
    let cfg1 = format!(
        "hsrpd notify {} timeout 5\n{}",
        hook.display(),
        router_config(2, &[(1, VIP, 150, true)], &format!("{TIMERS}\nname GW"))
    );
    lab.start_hsrpd(2, &router_config(2, &[(1, VIP, 100, true)], TIMERS))
        .unwrap();
    lab.start_hsrpd(1, &cfg1).unwrap();
    let roles = |a: State, b: State| {
        wait_for(Duration::from_secs(5), || {
            group_state(&lab, 1) == Some(a) && group_state(&lab, 2) == Some(b)
        })
        .unwrap_or_else(|| panic!("want r1 {a}, r2 {b}:\n{}\n{}", lab.log(1), lab.log(2)))
    };
    roles(State::Active, State::Standby);
    let events = Events::start(&lab, 1);

    // Rapid changes: r1 drops below r2 and comes back, five times, without waiting.
    for _ in 0..5 {
        assert_eq!(control(&lab, 1, &["priority", "1", "50"]).0, 0);
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(control(&lab, 1, &["priority", "1", "default"]).0, 0);
        std::thread::sleep(Duration::from_millis(60));
    }
    roles(State::Active, State::Standby);
    let lines = settled_lines(&out);
    let fields: Vec<Vec<&str>> = lines.iter().map(|l| l.split('|').collect()).collect();
    assert!(fields.len() >= 6, "too few changes:\n{}", lines.join("\n"));
    let mut prev_to = "Init";
    for (k, f) in fields.iter().enumerate() {
        assert_eq!(f.len(), 17, "{}", lines[k]);
        // In order, none lost: seq counts up from 0, each change starts where the last ended.
        assert_eq!(f[0], k.to_string(), "{}", lines.join("\n"));
        assert_eq!(f[3], prev_to, "line {k}: {}", lines.join("\n"));
        prev_to = f[4];
        // Arguments: IFACE GROUP OLD NEW REASON VIPS; the environment says the same.
        assert_eq!((f[1], f[2], f[6]), ("lan0", "1", "10.0.0.1"));
        assert_eq!(f[16], "6", "six arguments");
        assert!(!f[5].is_empty(), "a reason");
        assert_eq!(
            &f[7..16],
            [
                "lan0",
                "1",
                "ipv4",
                "2",
                f[3],
                f[4],
                "10.0.0.1",
                "00:00:0c:9f:f0:01",
                "GW"
            ]
        );
    }
    assert_eq!(prev_to, "Active", "ends Active:\n{}", lines.join("\n"));
    let actives = fields.iter().filter(|f| f[4] == "Active").count();
    assert!(
        actives >= 3,
        "the rapid changes were seen:\n{}",
        lines.join("\n")
    );

    // The events stream saw the same changes (from its subscription on), same numbers.
    let seen = events.states();
    assert!(!seen.is_empty(), "{:?}", events.lines());
    for (seq, from, to) in &seen {
        let f = &fields[*seq as usize];
        assert_eq!((f[3], f[4]), (from.as_str(), to.as_str()), "seq {seq}");
    }
    let seqs: Vec<u64> = seen.iter().map(|s| s.0).collect();
    let first = seqs[0];
    assert_eq!(seqs, (first..fields.len() as u64).collect::<Vec<_>>());
    let controls = events
        .lines()
        .iter()
        .filter(|l| {
            l.contains(r#""event":"control""#) && l.contains(r#""command":"priority 1 50""#)
        })
        .count();
    assert_eq!(controls, 5, "the commands are in the stream too");
}

#[test]
fn a_hung_notify_program_is_killed_at_its_timeout_and_hellos_go_on() {
    let mut lab = Lab::new(LabOptions::default()).expect("building the lab");
    let out = lab.dir.join("hook.out");
    let hook = lab.dir.join("hook.sh");
    // Becoming Active hangs the program for 30 s; every other change returns at once.
    write_script(
        &hook,
        &format!(
            "if [ \"$4\" = Active ]; then echo hang >> {0}; sleep 30; fi\necho \"$3 $4\" >> {0}",
            out.display()
        ),
    );
    let cfg1 = format!(
        "hsrpd notify {} timeout 1\n{}",
        hook.display(),
        router_config(2, &[(1, VIP, 150, true)], TIMERS)
    );
    lab.start_hsrpd(2, &router_config(2, &[(1, VIP, 100, true)], TIMERS))
        .unwrap();
    lab.start_hsrpd(1, &cfg1).unwrap();
    wait_for(Duration::from_secs(5), || {
        group_state(&lab, 1) == Some(State::Active) && group_state(&lab, 2) == Some(State::Standby)
    })
    .expect("elected");
    wait_for(Duration::from_secs(3), || {
        std::fs::read_to_string(&out)
            .unwrap_or_default()
            .contains("hang")
    })
    .expect("the program runs");
    // For 2.5 s the program hangs and is killed; r1's hellos (every 50 ms, hold 150 ms)
    // must go on all along, or r2 would take over: sample r2 every 20 ms.
    let start = std::time::Instant::now();
    let mut samples = 0;
    while start.elapsed() < Duration::from_millis(2500) {
        assert_eq!(
            group_state(&lab, 2),
            Some(State::Standby),
            "r2 log:\n{}",
            lab.log(2)
        );
        assert_eq!(group_state(&lab, 1), Some(State::Active));
        samples += 1;
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(samples > 20);
    let log1 = lab.log(1);
    assert!(
        log1.lines().any(|l| l.contains("lan0 grp 1: notify ")
            && l.contains(" -> Active: ")
            && l.contains("killed after 1 s (its timeout)")),
        "{log1}"
    );
    // The queue goes on after the kill: a later change runs the program.
    let (code, stdout, stderr) = control(&lab, 1, &["resign", "1"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("Active -> Init (maintenance)"), "{stdout}");
    wait_for(Duration::from_secs(3), || {
        std::fs::read_to_string(&out)
            .unwrap_or_default()
            .contains("Active Init")
    })
    .unwrap_or_else(|| panic!("{}", std::fs::read_to_string(&out).unwrap_or_default()));
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(
        !text.lines().any(|l| l.ends_with(" Active")),
        "the hung run was cut short: {text}"
    );
}
