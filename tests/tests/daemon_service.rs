//! hsrpd under a service manager: `READY=1` on `NOTIFY_SOCKET` once its group runs,
//! `WATCHDOG=1` at half of `WATCHDOG_USEC`, `STOPPING=1` on SIGTERM (the systemd unit is
//! `Type=notify` with `WatchdogSec=`); and least privilege: after start-up the daemon's
//! threads hold exactly CAP_NET_ADMIN, CAP_NET_RAW and CAP_BPF, and an election, a
//! SIGHUP reload that adds a group and a graceful hand-over still work.

use std::fs;
use std::os::unix::net::UnixDatagram;
use std::process::Stdio;
use std::time::{Duration, Instant};

use hsrp_tests::lab::{router_config, wait_exit, wait_for, Lab, LabOptions, VIP};
use hsrp_user::proto::State;

const TIMERS: &str = "timers msec 50 msec 150";

fn recv(socket: &UnixDatagram) -> Option<String> {
    let mut buf = [0u8; 512];
    let n = socket.recv(&mut buf).ok()?;
    Some(String::from_utf8_lossy(&buf[..n]).into_owned())
}

#[test]
fn ready_then_watchdog_then_stopping_arrive_on_the_notify_socket() {
    let lab = Lab::new(LabOptions {
        routers: 1,
        ..LabOptions::default()
    })
    .expect("building the lab");
    let notify_path = lab.dir.join("notify.sock");
    let notify = UnixDatagram::bind(&notify_path).expect("binding the notify socket");
    notify
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();

    let r = lab.router(1);
    let config = lab.dir.join("r1.conf");
    fs::write(&config, router_config(2, &[(1, VIP, 150, true)], TIMERS)).unwrap();
    let socket = lab.socket(1);
    let log = lab.dir.join("r1.log");
    let log_file = fs::File::create(&log).unwrap();
    let mut cmd = r.ns.command(&lab.hsrpd.display().to_string());
    cmd.args(["run", "-c"])
        .arg(&config)
        .arg("--socket")
        .arg(&socket)
        .env("NOTIFY_SOCKET", &notify_path)
        // 400 ms: WATCHDOG=1 every 200 ms.
        .env("WATCHDOG_USEC", "400000")
        .env_remove("WATCHDOG_PID")
        .stdin(Stdio::null())
        .stdout(log_file.try_clone().unwrap())
        .stderr(log_file);
    let mut daemon = hsrp_tests::KillOnDrop(cmd.spawn().expect("spawning hsrpd"));

    let first = recv(&notify).unwrap_or_else(|| {
        panic!(
            "no notification within 10 s; log:\n{}",
            fs::read_to_string(&log).unwrap_or_default()
        )
    });
    assert_eq!(first, "READY=1\nSTATUS=running 1 group(s)");
    // Ready means serving: the status socket answers and the group exists.
    let snap = hsrp_user::control::query(&socket).expect("status after READY=1");
    assert_eq!(snap.groups.len(), 1);

    // 2 s at one ping per 200 ms is 10; at least 3 leaves room for a loaded machine
    // (the loop may be late, never silent), and nothing but WATCHDOG=1 may arrive.
    let window = Instant::now();
    let mut pings = 0;
    while window.elapsed() < Duration::from_secs(2) {
        let msg = recv(&notify).expect("a notification");
        assert_eq!(msg, "WATCHDOG=1");
        pings += 1;
    }
    assert!(pings >= 3, "{pings} watchdog pings in 2 s");

    // SAFETY: kill(2) on our own child.
    unsafe { libc::kill(daemon.0.id() as i32, libc::SIGTERM) };
    let stopping = loop {
        let msg = recv(&notify).expect("STOPPING=1 after SIGTERM");
        if msg != "WATCHDOG=1" {
            break msg;
        }
    };
    assert_eq!(stopping, "STOPPING=1\nSTATUS=stopping: handing over");
    let status = wait_exit(&mut daemon.0, Duration::from_secs(10)).unwrap();
    assert_eq!(
        status.code(),
        Some(0),
        "{}",
        fs::read_to_string(&log).unwrap()
    );
}

/// `CapEff` of every thread of `pid`.
fn thread_caps(pid: i32) -> Vec<(String, u64)> {
    let mut out = Vec::new();
    for task in fs::read_dir(format!("/proc/{pid}/task")).unwrap().flatten() {
        let status = fs::read_to_string(task.path().join("status")).unwrap_or_default();
        let name = status
            .lines()
            .find_map(|l| l.strip_prefix("Name:"))
            .unwrap_or("")
            .trim()
            .to_string();
        let eff = status
            .lines()
            .find_map(|l| l.strip_prefix("CapEff:"))
            .map(|v| u64::from_str_radix(v.trim(), 16).unwrap())
            .expect("a CapEff line");
        let bnd = status
            .lines()
            .find_map(|l| l.strip_prefix("CapBnd:"))
            .map(|v| u64::from_str_radix(v.trim(), 16).unwrap())
            .expect("a CapBnd line");
        out.push((format!("{name} eff"), eff));
        out.push((format!("{name} bnd"), bnd));
    }
    out
}

#[test]
fn after_start_the_daemon_keeps_exactly_net_admin_net_raw_bpf_and_still_works() {
    let (mut lab, _cap) = hsrp_tests::lab::elected_pair(TIMERS).expect("an elected pair");
    // The control socket: root and its group only.
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &fs::metadata(lab.socket(1)).unwrap().permissions(),
    );
    assert_eq!(mode & 0o777, 0o660);
    let snap = lab.status(1).unwrap();
    assert_eq!(snap.schema_version, 1);
    let runtime = hsrp_user::privileges::mask(hsrp_user::privileges::RUNTIME);
    assert_eq!(runtime, 0x0000_0080_0000_3000);
    for i in [1, 2] {
        let pid = lab.daemon(i).unwrap().pid();
        for (thread, caps) in thread_caps(pid) {
            // The XDP log thread dropped everything; every other thread holds the set.
            let want = if thread.starts_with("xdp-log") {
                0
            } else {
                runtime
            };
            assert_eq!(caps, want, "r{i} {thread}: {caps:#x}");
        }
    }

    // A reload that adds group 2 (new vMAC filter, VIP and map entries) works without the
    // start-up privileges.
    let vip2 = std::net::Ipv4Addr::new(10, 0, 0, 253);
    let config = router_config(2, &[(1, VIP, 150, true), (2, vip2, 150, true)], TIMERS);
    fs::write(&lab.daemon(1).unwrap().config, &config).unwrap();
    lab.signal(1, libc::SIGHUP).unwrap();
    let active2 = wait_for(Duration::from_secs(3), || {
        lab.status(1).is_ok_and(|s| {
            s.groups
                .iter()
                .any(|g| g.group == 2 && g.state == State::Active)
        })
    });
    assert!(
        active2.is_some(),
        "group 2 not Active after the reload:\n{}",
        lab.log(1)
    );

    // The metrics of a live daemon: r1 Active in group 1, hellos passed by the XDP filter.
    let out = std::process::Command::new(&lab.hsrpd)
        .args(["status", "--format", "prometheus", "--socket"])
        .arg(lab.socket(1))
        .output()
        .unwrap();
    assert!(out.status.success());
    let prom = String::from_utf8(out.stdout).unwrap();
    assert!(
        prom.contains(
            "hsrpd_group_state{interface=\"lan0\",group=\"1\",version=\"2\",state=\"Active\"} 1\n"
        ),
        "{prom}"
    );
    let passed: u64 = prom
        .lines()
        .find_map(|l| {
            l.strip_prefix("hsrpd_control_frames_total{interface=\"lan0\",verdict=\"passed\"} ")
        })
        .expect("the control filter counters")
        .parse()
        .unwrap();
    assert!(passed > 0, "{prom}");

    // Graceful stop of the Active: Resign, hand-over, maps cleared, XDP detached, exit 0,
    // all with the reduced set; r2 takes over.
    let status = lab
        .stop_hsrpd(1, libc::SIGTERM, Duration::from_secs(10))
        .expect("r1 stops");
    assert_eq!(status.code(), Some(0), "{}", lab.log(1));
    let took_over = wait_for(Duration::from_secs(3), || {
        hsrp_tests::lab::group_state(&lab, 2) == Some(State::Active)
    });
    assert!(took_over.is_some(), "r2 did not take over:\n{}", lab.log(2));
    assert!(
        !lab.log(1).contains("Operation not permitted"),
        "r1 hit a missing privilege:\n{}",
        lab.log(1)
    );
}
