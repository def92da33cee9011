//! Runtime control of real daemons over the control socket: maintenance of the Active
//! with traffic flowing (not one packet lost, either way), the temporary priority, forced
//! track objects, `hsrpd reload` with its result, and commands refused to non-root.

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::process::Command;
use std::time::Duration;

use hsrp_tests::hsrpd_bin;
use hsrp_tests::lab::{router_config, wait_for, Lab, LabOptions, VIP};
use hsrp_tests::lab_traffic::{
    failover_lab, hsrpd_config, router_macs, wait_hsrpd_roles, Stream, Timers, VMAC,
};
use hsrp_tests::probe::Report;
use hsrp_user::proto::State;

const TIMERS: Timers = Timers::ms(50, 150);

fn hsrpd(lab: &Lab, i: usize, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(hsrpd_bin())
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

fn control(lab: &Lab, i: usize, args: &[&str]) -> (i32, String, String) {
    let mut all = vec!["control"];
    all.extend_from_slice(args);
    hsrpd(lab, i, &all)
}

fn deliverers(lab: &Lab, r: &Report) -> Vec<String> {
    let macs = router_macs(lab).unwrap();
    r.segments
        .iter()
        .map(|s| {
            macs.get(&s.via)
                .cloned()
                .unwrap_or_else(|| format!("unknown {}", s.via))
        })
        .collect()
}

fn stream_with(lab: &Lab, inject: impl FnOnce()) -> Report {
    let s = Stream::start(lab, Duration::from_millis(1), 3000).expect("probe stream");
    std::thread::sleep(Duration::from_millis(800));
    inject();
    let r = s.finish().expect("probe report");
    eprintln!("{}", r.summary());
    r
}

fn assert_lossless(lab: &Lab, r: &Report, who: &[&str]) {
    assert!(r.end_marker_seen, "{r:?}");
    assert_eq!(r.duplicates, 0, "{}", r.summary());
    assert_eq!(deliverers(lab, r), who, "{:?}", r.segments);
    assert_eq!(
        r.lost,
        0,
        "{}\nr1 log:\n{}\nr2 log:\n{}",
        r.summary(),
        lab.log(1),
        lab.log(2)
    );
}

#[test]
fn maintenance_of_the_active_loses_no_packet_and_release_takes_it_back() {
    let mut lab = failover_lab().expect("building the lab");
    for i in [1, 2] {
        lab.start_hsrpd(i, &hsrpd_config(i, TIMERS)).unwrap();
    }
    wait_hsrpd_roles(&lab, 1, 2, Duration::from_secs(5)).unwrap();

    let mut said = String::new();
    let r = stream_with(&lab, || {
        let (code, out, err) = control(&lab, 1, &["resign", "all"]);
        assert_eq!(code, 0, "{err}");
        said = out;
    });
    assert_eq!(
        said.trim(),
        format!(
            "lan0 grp 1: Active -> Init (maintenance until `release` or a restart), handing over to {}",
            lab.router(2).lan_ip
        )
    );
    assert_lossless(&lab, &r, &["r1", "r2"]);
    assert_eq!(lab.vmac_active(2, VMAC).unwrap(), Some(true));
    let handed = format!(
        "lan0 grp 1: handed over to {}; data plane inactive",
        lab.router(2).lan_ip
    );
    wait_for(Duration::from_secs(2), || lab.log(1).contains(&handed))
        .unwrap_or_else(|| panic!("{handed:?} not in r1's log:\n{}", lab.log(1)));
    assert_eq!(
        lab.vmac_active(1, VMAC).unwrap(),
        Some(false),
        "r1 stopped forwarding"
    );
    // r1 has the higher priority and preempt, yet stays out: 1 s = 20 hellos of r2.
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(lab.first_group(1).map(|g| g.0), Some(State::Initial));
    assert_eq!(lab.first_group(2).map(|g| g.0), Some(State::Active));
    let (code, out, _) = control(&lab, 1, &["resign", "1"]);
    assert_eq!(
        (code, out.trim()),
        (0, "lan0 grp 1: already in maintenance")
    );
    // `hsrpd status` says so, in JSON, the brief table and the detail.
    let st = lab.status(1).unwrap();
    assert!(st.groups[0].maintenance, "{:?}", st.groups[0]);
    assert_eq!(st.groups[0].temporary_priority, None);
    let (code, out, _) = hsrpd(&lab, 1, &["status"]);
    assert_eq!(code, 0);
    assert!(
        out.lines()
            .any(|l| l.starts_with("lan0") && l.ends_with("  (maintenance)")),
        "{out}"
    );
    let (_, out, _) = hsrpd(&lab, 1, &["status", "--detail"]);
    assert!(
        out.contains("  State is Init\n  Maintenance (resigned by operator)"),
        "{out}"
    );

    // Release: r1 comes back and preempts (a Coup, announced before it): nothing lost.
    let r = stream_with(&lab, || {
        let (code, out, err) = control(&lab, 1, &["release", "lan0", "1"]);
        assert_eq!(code, 0, "{err}");
        assert!(out.starts_with("lan0 grp 1: released"), "{out}");
    });
    wait_hsrpd_roles(&lab, 1, 2, Duration::from_secs(3)).unwrap();
    assert_lossless(&lab, &r, &["r2", "r1"]);
}

/// Router 1's configuration: group 1 at `priority`, tracking trk0 (decrement 60).
fn r1_config(priority: u16) -> String {
    format!(
        "track 1 interface trk0 line-protocol\n{}",
        router_config(
            2,
            &[(1, VIP, 150, true)],
            "timers msec 50 msec 150\ntrack 1 decrement 60"
        )
        .replace("priority 150", &format!("priority {priority}"))
    )
}

/// r1 (150, tracking trk0, which is up) Active and r2 (100) Standby.
fn tracked_pair() -> Lab {
    let mut lab = Lab::new(LabOptions::default()).expect("building the lab");
    lab.router(1)
        .ns
        .exec("ip link add trk0 type veth peer name trk1 && ip link set trk0 up && ip link set trk1 up")
        .unwrap();
    lab.start_hsrpd(
        2,
        &router_config(2, &[(1, VIP, 100, true)], "timers msec 50 msec 150"),
    )
    .unwrap();
    lab.start_hsrpd(1, &r1_config(150)).unwrap();
    expect(&lab, (State::Active, 150), State::Standby, "elected");
    lab
}

fn expect(lab: &Lab, r1: (State, u8), r2: State, what: &str) {
    lab.expect_roles(Duration::from_secs(3), r1, r2, what);
}

#[test]
fn a_temporary_priority_holds_until_default_and_status_shows_it() {
    let lab = tracked_pair();
    // Temporary priority: below r2, r2 preempts; `default` restores 150 and r1 preempts back.
    let (code, out, err) = control(&lab, 1, &["priority", "1", "90"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out.trim(),
        "lan0 grp 1: priority 90 (set to 90 until `priority ... default` or a restart; configured 150)"
    );
    expect(&lab, (State::Standby, 90), State::Active, "priority 90");
    let st = lab.status(1).unwrap();
    assert_eq!(
        (st.groups[0].temporary_priority, st.groups[0].maintenance),
        (Some(90), false)
    );
    let (_, out, _) = hsrpd(&lab, 1, &["status", "--detail"]);
    assert!(
        out.contains("  Priority 90 (temporary; configured 150)\n"),
        "{out}"
    );
    let (_, out, _) = hsrpd(&lab, 1, &["status", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["groups"][0]["temporary_priority"], 90, "{out}");
    assert_eq!(control(&lab, 1, &["priority", "lan0", "1", "default"]).0, 0);
    expect(
        &lab,
        (State::Active, 150),
        State::Standby,
        "priority default",
    );
    assert_eq!(lab.status(1).unwrap().groups[0].temporary_priority, None);
}

#[test]
fn a_forced_track_counts_like_a_real_one_until_auto() {
    let lab = tracked_pair();
    // Forced track: down counts like a real down (150 - 60); the real link flapping
    // changes nothing while forced; auto goes back to the real state (up).
    let (code, out, _) = control(&lab, 1, &["track", "1", "down"]);
    assert_eq!(
        (code, out.trim()),
        (
            0,
            "track 1: forced down until `track 1 auto`; 1 group(s) track it"
        )
    );
    expect(
        &lab,
        (State::Standby, 90),
        State::Active,
        "track forced down",
    );
    let r1 = &lab.router(1).ns;
    r1.exec("ip link set trk0 down").unwrap();
    r1.exec("ip link set trk0 up").unwrap();
    wait_for(Duration::from_secs(2), || {
        lab.log(1)
            .contains("track 1 is now up (ignored: forced down by the operator)")
    })
    .unwrap_or_else(|| panic!("{}", lab.log(1)));
    assert_eq!(lab.first_group(1), Some((State::Standby, 90)));
    let (code, out, _) = control(&lab, 1, &["track", "1", "auto"]);
    assert_eq!(
        (code, out.trim()),
        (
            0,
            "track 1: back to its real state (up); 1 group(s) track it"
        )
    );
    expect(&lab, (State::Active, 150), State::Standby, "track auto");
}

#[test]
fn commands_for_what_is_not_configured_are_refused_with_the_reason() {
    let lab = tracked_pair();
    // Refusals say why and change nothing.
    let (code, _, err) = control(&lab, 1, &["track", "9", "up"]);
    assert_eq!((code, err.trim()), (1, "track object 9 is not configured"));
    let (code, _, err) = control(&lab, 1, &["resign", "7"]);
    assert_eq!((code, err.trim()), (1, "no group 7 is configured"));

    assert_eq!(lab.first_group(1), Some((State::Active, 150)));
}

#[test]
fn reload_refuses_a_broken_file_with_exit_78_and_applies_a_good_one() {
    let lab = tracked_pair();
    // hsrpd reload: a broken file is refused with its errors, exit 78 (EX_CONFIG, as
    // `hsrpd check` and `hsrpd run`), nothing changes.
    let config = lab.daemon(1).unwrap().config.clone();
    std::fs::write(&config, r1_config(300)).unwrap();
    let (code, out, err) = hsrpd(&lab, 1, &["reload"]);
    assert_eq!(code, 78, "{out}");
    assert!(
        err.contains("standby 1 priority 300: priority must be 1-255"),
        "{err}"
    );
    assert!(
        err.contains("the running configuration stays in effect"),
        "{err}"
    );
    assert_eq!(lab.first_group(1), Some((State::Active, 150)));
    std::fs::write(&config, r1_config(160)).unwrap();
    let (code, out, err) = hsrpd(&lab, 1, &["reload"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out.trim(),
        format!("reloaded {}: 1 group(s)", config.display())
    );
    assert_eq!(lab.first_group(1), Some((State::Active, 160)));
}

#[test]
fn control_commands_are_refused_to_non_root_even_on_an_open_socket() {
    let lab = tracked_pair();
    // Not root: refused by the daemon (SO_PEERCRED), even with the socket opened to all.
    let socket = lab.socket(1);
    std::fs::set_permissions(&socket, std::fs::Permissions::from_mode(0o666)).unwrap();
    let out = Command::new(hsrpd_bin())
        .args(["control", "resign", "all", "--socket"])
        .arg(&socket)
        .uid(65534)
        .gid(65534)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "permission denied: control commands need root (uid 0); you are uid 65534"
    );
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(lab.first_group(1), Some((State::Active, 150)));
}
