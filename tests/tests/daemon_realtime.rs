//! Real-time mode (`hsrpd realtime priority N`, `hsrpd run --realtime[=N]`): the kernel's
//! view of the daemon's threads, read back with sched_getscheduler(2)/sched_getparam(2)
//! and /proc: the timer thread (the process's main thread) SCHED_FIFO at the priority
//! asked for, with SCHED_RESET_ON_FORK; every other thread (the `hsrpd-aux` slow-work
//! thread among them) and the sentinel process at normal priority; memory locked and
//! bounded; a SIGHUP turning it off and on again; and a clear refusal when the kernel does
//! not permit it.

use std::fs;
use std::process::Stdio;
use std::time::Duration;

use hsrp_tests::lab::{group_state, router_config, wait_exit, wait_for, Lab, LabOptions, VIP};
use hsrp_user::proto::State;

const TIMERS: &str = "timers msec 50 msec 150";

fn config(realtime: Option<u8>) -> String {
    let head = realtime
        .map(|p| format!("hsrpd realtime priority {p}\n"))
        .unwrap_or_default();
    head + &router_config(2, &[(1, VIP, 150, true)], TIMERS)
}

/// (policy without flags, SCHED_RESET_ON_FORK set, priority) of thread `tid`.
fn sched(tid: i32) -> (i32, bool, i32) {
    // SAFETY: plain system calls on a thread id; `param` is written by the kernel.
    unsafe {
        let policy = libc::sched_getscheduler(tid);
        assert!(
            policy >= 0,
            "sched_getscheduler({tid}): {}",
            std::io::Error::last_os_error()
        );
        let mut param = libc::sched_param { sched_priority: 0 };
        assert_eq!(
            libc::sched_getparam(tid, &mut param),
            0,
            "sched_getparam({tid})"
        );
        (
            policy & !libc::SCHED_RESET_ON_FORK,
            policy & libc::SCHED_RESET_ON_FORK != 0,
            param.sched_priority,
        )
    }
}

/// (tid, comm) of every thread of `pid`.
fn threads(pid: i32) -> Vec<(i32, String)> {
    let mut out = Vec::new();
    for t in fs::read_dir(format!("/proc/{pid}/task")).unwrap().flatten() {
        let tid: i32 = t.file_name().to_string_lossy().parse().unwrap();
        let comm = fs::read_to_string(t.path().join("comm")).unwrap_or_default();
        out.push((tid, comm.trim().to_string()));
    }
    out
}

/// `VmLck` of `pid` in KiB.
fn locked_kib(pid: i32) -> u64 {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmLck:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmLck in /proc/PID/status")
}

/// Asserts the timer thread of `pid` runs SCHED_FIFO at `priority` and nothing else of
/// the daemon is real-time.
fn assert_realtime(pid: i32, priority: i32) {
    let (policy, reset, prio) = sched(pid);
    assert_eq!(
        (policy, prio),
        (libc::SCHED_FIFO, priority),
        "timer thread {pid}"
    );
    assert!(reset, "SCHED_RESET_ON_FORK not set on the timer thread");
    let all = threads(pid);
    assert!(
        all.iter().any(|(_, comm)| comm == "hsrpd-aux"),
        "no hsrpd-aux thread among {all:?}"
    );
    for (tid, comm) in all.iter().filter(|(tid, _)| *tid != pid) {
        assert_eq!(
            sched(*tid).0,
            libc::SCHED_OTHER,
            "thread {tid} ({comm}) is real-time"
        );
    }
    for child in hsrp_tests::children(pid) {
        assert_eq!(
            sched(child).0,
            libc::SCHED_OTHER,
            "child {child} is real-time"
        );
    }
    let kib = locked_kib(pid);
    // Locked: at least something; bounded: the debug build's whole footprint (text,
    // heap, a few small stacks) is tens of MiB; 256 MiB means something grew unbounded.
    assert!(kib > 1024, "VmLck {kib} kB: memory not locked");
    assert!(
        kib < 256 * 1024,
        "VmLck {kib} kB: locked memory not bounded"
    );
}

fn assert_normal(pid: i32) {
    assert_eq!(sched(pid).0, libc::SCHED_OTHER, "timer thread {pid}");
    assert_eq!(locked_kib(pid), 0, "memory still locked");
}

#[test]
fn config_line_makes_the_timer_thread_fifo_and_sighup_follows_it() {
    let mut lab = Lab::new(LabOptions {
        routers: 1,
        ..Default::default()
    })
    .unwrap();
    lab.start_hsrpd(1, &config(Some(30))).unwrap();
    let pid = lab.daemon(1).unwrap().pid();
    // The hello path works: alone on the LAN, the group becomes Active (3 hold times
    // plus start-up; 10 s is far beyond it on any machine).
    assert!(
        wait_for(Duration::from_secs(10), || group_state(&lab, 1)
            == Some(State::Active))
        .is_some(),
        "r1 never became Active; log:\n{}",
        lab.log(1)
    );
    assert_realtime(pid, 30);
    assert!(
        lab.log(1).contains("SCHED_FIFO priority 30"),
        "{}",
        lab.log(1)
    );

    // SIGHUP without the line: back to normal, memory unlocked.
    let cfg = lab.daemon(1).unwrap().config.clone();
    fs::write(&cfg, config(None)).unwrap();
    lab.signal(1, libc::SIGHUP).unwrap();
    // Both changes awaited: the thread leaves SCHED_FIFO before munlockall returns, and
    // unlocking ~100 MiB on a loaded machine takes a while.
    let back = wait_for(Duration::from_secs(10), || {
        sched(pid).0 == libc::SCHED_OTHER && locked_kib(pid) == 0
    });
    assert!(back.is_some(), "still real-time; log:\n{}", lab.log(1));
    assert_normal(pid);

    // And on again at another priority.
    fs::write(&cfg, config(Some(40))).unwrap();
    lab.signal(1, libc::SIGHUP).unwrap();
    let on = wait_for(Duration::from_secs(10), || sched(pid).2 == 40);
    assert!(on.is_some(), "not real-time again; log:\n{}", lab.log(1));
    assert_realtime(pid, 40);
    assert_eq!(group_state(&lab, 1), Some(State::Active));
    let status = lab
        .stop_hsrpd(1, libc::SIGTERM, Duration::from_secs(10))
        .unwrap();
    assert!(status.success(), "{status}; log:\n{}", lab.log(1));
}

#[test]
fn command_line_priority_wins_over_the_configuration() {
    let mut lab = Lab::new(LabOptions {
        routers: 2,
        ..Default::default()
    })
    .unwrap();
    lab.hsrpd_args = vec!["--realtime=45".into()];
    lab.start_hsrpd(1, &config(Some(30))).unwrap();
    assert_realtime(lab.daemon(1).unwrap().pid(), 45);
    // Without a value: the default priority (20), the configuration saying nothing.
    lab.hsrpd_args = vec!["--realtime".into()];
    let cfg2 = router_config(2, &[(1, VIP, 100, true)], TIMERS);
    lab.start_hsrpd(2, &cfg2).unwrap();
    assert_realtime(lab.daemon(2).unwrap().pid(), 20);
    // Both real-time, they elect normally: r1 (150) Active, r2 Standby.
    let elected = wait_for(Duration::from_secs(10), || {
        group_state(&lab, 1) == Some(State::Active) && group_state(&lab, 2) == Some(State::Standby)
    });
    assert!(
        elected.is_some(),
        "r1 {:?} r2 {:?}",
        group_state(&lab, 1),
        group_state(&lab, 2)
    );
}

#[test]
fn refused_with_a_clear_error_when_the_kernel_does_not_permit_it() {
    let lab = Lab::new(LabOptions {
        routers: 1,
        ..Default::default()
    })
    .unwrap();
    let r = lab.router(1);
    let cfg = lab.dir.join("rt.conf");
    let socket = lab.dir.join("rt.sock");
    let log = lab.dir.join("rt.log");
    // Root without CAP_SYS_NICE (dropped from the bounding set, so the exec'd hsrpd does
    // not get it back) and RLIMIT_RTPRIO 0: SCHED_FIFO is EPERM.
    let wrapped = format!(
        "prlimit --rtprio=0 setpriv --inh-caps=-sys_nice --bounding-set=-sys_nice -- {}",
        lab.hsrpd.display()
    );
    let spawn = |config: &str| {
        fs::write(&cfg, config).unwrap();
        let out = fs::File::create(&log).unwrap();
        r.ns.command(&wrapped)
            .args(["run", "-c"])
            .arg(&cfg)
            .arg("--socket")
            .arg(&socket)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap()
    };

    // At start: refused, exit 1, the reason and the way out named.
    let mut child = spawn(&config(Some(30)));
    let status = wait_exit(&mut child, Duration::from_secs(20)).unwrap();
    let text = fs::read_to_string(&log).unwrap();
    assert_eq!(status.code(), Some(1), "{status}; log:\n{text}");
    assert!(
        text.contains("real-time priority 30: SCHED_FIFO is not permitted")
            && text.contains("CAP_SYS_NICE"),
        "log:\n{text}"
    );
    // It stopped cleanly: the XDP program is gone from the interface.
    let link = r.ns.exec("ip -d link show lan0").unwrap();
    assert!(!link.contains("prog/xdp"), "XDP left attached:\n{link}");

    // At a reload: refused as a whole, the daemon keeps running as it was.
    let mut child = spawn(&config(None));
    let up = wait_for(Duration::from_secs(10), || {
        hsrp_user::control::query(&socket).is_ok()
    });
    assert!(up.is_some(), "log:\n{}", fs::read_to_string(&log).unwrap());
    let pid = child.id() as i32;
    let mut cfg_text = config(Some(30));
    // A change that must not be applied: the reload is all or nothing.
    cfg_text = cfg_text.replace("priority 150", "priority 99");
    fs::write(&cfg, cfg_text).unwrap();
    // SAFETY: kill(2) on our own child.
    unsafe { libc::kill(pid, libc::SIGHUP) };
    let refused = wait_for(Duration::from_secs(10), || {
        fs::read_to_string(&log)
            .unwrap_or_default()
            .contains("refused: real-time priority 30")
    });
    assert!(
        refused.is_some(),
        "log:\n{}",
        fs::read_to_string(&log).unwrap()
    );
    assert_normal(pid);
    let snap = hsrp_user::control::query(&socket).unwrap();
    let json = serde_json::to_string(&snap).unwrap();
    assert!(json.contains("\"priority\":150"), "{json}");
    // SAFETY: kill(2) on our own child.
    unsafe { libc::kill(pid, libc::SIGTERM) };
    let status = wait_exit(&mut child, Duration::from_secs(10)).unwrap();
    assert!(status.success(), "{status}");
}
