//! The sentinel (`hsrpd sentinel`, spawned by `hsrpd run`): silent while the daemon lives,
//! holding no data-plane descriptor; on SIGKILL of the Active's daemon it sends the Resign
//! frames the daemon handed it (twice, from the interface MAC) so the Standby takes over at
//! once; on SIGTERM it sends nothing (the daemon resigned itself) and exits.

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use hsrp_tests::lab::{epoch_now, group_state, tshark_fields, wait_for, Capture, Lab};
use hsrp_user::proto::State;

const TIMERS: &str = "timers msec 50 msec 150";

/// r1 (priority 150) Active, r2 (100) Standby, a capture on the LAN from the start.
fn elected_pair() -> (Lab, Capture) {
    hsrp_tests::lab::elected_pair(TIMERS).unwrap()
}

/// The children of router `i`'s daemon that run `hsrpd sentinel` (a zombie has no
/// command line, so a dead one is not among them).
fn sentinels_of(lab: &Lab, i: usize) -> Vec<i32> {
    let daemon = lab.daemon(i).expect("daemon running").pid();
    hsrp_tests::children(daemon)
        .into_iter()
        .filter(|p| {
            let cmd = fs::read(format!("/proc/{p}/cmdline")).unwrap_or_default();
            let args: Vec<&[u8]> = cmd.split(|b| *b == 0).collect();
            args.len() >= 2 && args[1] == b"sentinel"
        })
        .collect()
}

/// Router `i`'s sentinel: the one child of its daemon, running `hsrpd sentinel`.
fn sentinel_of(lab: &Lab, i: usize) -> i32 {
    let daemon = lab.daemon(i).expect("daemon running").pid();
    let kids = hsrp_tests::children(daemon);
    let sentinels = sentinels_of(lab, i);
    assert_eq!(
        sentinels.len(),
        1,
        "r{i}'s hsrpd (pid {daemon}) has children {kids:?}, expected one sentinel"
    );
    sentinels[0]
}

/// What each descriptor of `pid` points to.
fn fd_targets(pid: i32) -> Vec<String> {
    let mut out = Vec::new();
    for e in fs::read_dir(format!("/proc/{pid}/fd")).unwrap().flatten() {
        if let Ok(t) = fs::read_link(e.path()) {
            out.push(format!(
                "{} -> {}",
                e.file_name().to_string_lossy(),
                t.display()
            ));
        }
    }
    out
}

/// Sentinel `sentinel` of r1 holds no BPF object and no socket, only its pipe, /dev/null
/// and what the daemon inherited itself. Looked at once it waits on its pipe: a sentinel
/// just spawned still has the dynamic loader's descriptors open (a shared library being
/// mapped).
fn assert_holds_no_data_plane_fd(lab: &Lab, sentinel: i32) {
    wait_for(Duration::from_secs(5), || reads_its_pipe(sentinel))
        .unwrap_or_else(|| panic!("sentinel {sentinel} never waited on its pipe"));
    let fds = fd_targets(sentinel);
    // stdin (the pipe), stdout (/dev/null), stderr (the log): nothing else, in particular
    // no BPF program, map or link and no socket.
    assert!(
        !fds.iter()
            .any(|f| f.contains("bpf") || f.contains("socket:")),
        "sentinel {sentinel} holds {fds:#?}"
    );
    assert!(
        fds[0].starts_with("0 -> pipe:"),
        "stdin is the pipe: {fds:#?}"
    );
    assert_eq!(fds[1], "1 -> /dev/null", "{fds:#?}");
    // Anything else was inherited from whoever started the daemon (the test harness leaks
    // a jobserver pipe): the daemon holds it too, under the same number.
    let daemon_fds = fd_targets(lab.daemon(1).unwrap().pid());
    for f in &fds[2..] {
        assert!(
            daemon_fds.contains(f),
            "sentinel fd {f} is not an inherited one: {fds:#?} / daemon {daemon_fds:#?}"
        );
    }
    // The daemon itself does hold the data plane (the check above is not vacuous).
    assert!(
        daemon_fds.iter().any(|f| f.contains("bpf")),
        "{daemon_fds:#?}"
    );
}

/// After r1's daemon was SIGKILLed: reaps it, and checks that r2 became Active on r1's
/// Resign and that `sentinel` sent it and ended.
fn r2_took_over_on_the_sentinels_resign(lab: &mut Lab, sentinel: i32) {
    lab.stop_hsrpd(1, libc::SIGKILL, Duration::from_secs(2))
        .unwrap();
    let r1 = lab.router(1).lan_ip;
    let log2 = lab.log(2);
    assert!(
        log2.contains(&format!(
            "lan0 grp 1: Standby -> Active: Active {r1} resigned"
        )),
        "{log2}"
    );
    wait_for(Duration::from_secs(2), || process_ended(sentinel))
        .unwrap_or_else(|| panic!("sentinel {sentinel} still runs"));
    let log1 = lab.log(1);
    assert!(
        log1.contains("hsrpd died: sent Resign for lan0 grp 1"),
        "{log1}"
    );
}

/// `pid` sleeps in a read of a pipe (the kernel function it waits in, `/proc/PID/wchan`).
fn reads_its_pipe(pid: i32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/wchan")).is_ok_and(|w| w.contains("pipe_read"))
}

/// Gone, or a zombie nobody reaped yet: either way it no longer runs.
fn process_ended(pid: i32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
    }
}

/// Resigns from `ip` in the capture: (epoch time, eth.src, state).
fn resigns(pcap: &Path, ip: std::net::Ipv4Addr) -> Vec<(f64, String, String)> {
    tshark_fields(
        pcap,
        &format!("ip.src == {ip} && hsrp2.opcode == 2"),
        &["frame.time_epoch", "eth.src", "hsrp2.state"],
    )
    .unwrap()
    .iter()
    .map(|l| {
        let f: Vec<&str> = l.split('|').collect();
        (f[0].parse().unwrap(), f[1].to_string(), f[2].to_string())
    })
    .collect()
}

fn lan_mac(lab: &Lab, i: usize) -> String {
    hsrp_tests::probe::mac_string(&lab.lan_mac(i).unwrap())
}

#[test]
fn sentinel_holds_no_data_plane_fd_and_is_silent_while_the_daemon_lives() {
    let (lab, cap) = elected_pair();
    let sentinel = sentinel_of(&lab, 1);
    assert_holds_no_data_plane_fd(&lab, sentinel);

    // One second of steady state: r1 sends hellos only (no Resign, nothing else from it).
    let from = epoch_now();
    std::thread::sleep(Duration::from_secs(1));
    let to = epoch_now();
    let pcap = cap.stop().unwrap();
    let r1 = lab.router(1).lan_ip;
    let mac = lan_mac(&lab, 1);
    let window = format!("frame.time_epoch >= {from} && frame.time_epoch <= {to}");
    let from_r1 = tshark_fields(
        &pcap,
        &format!("{window} && hsrp && (ip.src == {r1} || eth.src == {mac})"),
        &["hsrp2.opcode", "hsrp2.state", "frame.time_epoch"],
    )
    .unwrap();
    let (from_r1, times): (Vec<&str>, Vec<f64>) = from_r1
        .iter()
        .map(|l| {
            let (f, t) = l.rsplit_once('|').unwrap();
            (f, t.parse::<f64>().unwrap())
        })
        .unzip();
    // Besides HSRP, only the kernel's own neighbour discovery.
    let other = tshark_fields(
        &pcap,
        &format!("{window} && !hsrp && !arp && !icmpv6 && (ip.src == {r1} || eth.src == {mac})"),
        &["frame.protocols"],
    )
    .unwrap();
    assert!(other.is_empty(), "unexpected frames from r1: {other:?}");
    // Hellos keep coming: no silence as long as the hold time (150 ms; the Standby would
    // take over) anywhere in the window, edges included. A protocol bound, not a count of
    // periodic frames, so a loaded machine's late wake-ups do not matter below it.
    let edges = std::iter::once(from)
        .chain(times.iter().copied())
        .chain(std::iter::once(to))
        .collect::<Vec<f64>>();
    let longest = edges.windows(2).map(|w| w[1] - w[0]).fold(0.0, f64::max);
    assert!(
        longest < 0.150,
        "r1 silent for {:.1} ms in steady state: {times:?}",
        longest * 1000.0
    );
    assert!(
        from_r1.iter().all(|f| *f == "0|6"),
        "only Active hellos from r1 in steady state: {from_r1:?}"
    );
    assert!(resigns(&pcap, r1).is_empty());
    assert!(
        !process_ended(sentinel),
        "the sentinel lives with its daemon"
    );
}

#[test]
fn sigkill_of_the_active_sentinel_resigns_and_the_standby_takes_over_at_once() {
    let (mut lab, cap) = elected_pair();
    std::thread::sleep(Duration::from_millis(300));
    let sentinel = sentinel_of(&lab, 1);
    let killed_at = epoch_now();
    let t0 = Instant::now();
    // Not waiting for the process to be reaped: tearing down its data plane takes a while
    // under load, and the takeover does not wait for it.
    lab.signal(1, libc::SIGKILL).unwrap();
    // Status every 2 ms.
    let mut took = None;
    while t0.elapsed() < Duration::from_secs(2) {
        if group_state(&lab, 2) == Some(State::Active) {
            took = Some(t0.elapsed());
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    r2_took_over_on_the_sentinels_resign(&mut lab, sentinel);
    let r1 = lab.router(1).lan_ip;

    let pcap = cap.stop().unwrap();
    let rs = resigns(&pcap, r1);
    assert_eq!(rs.len(), 2, "the sentinel sends the Resign twice: {rs:?}");
    let mac = lan_mac(&lab, 1);
    for (t, src, state) in &rs {
        assert_eq!(src, &mac, "from r1's interface MAC");
        assert_eq!(state, "6", "Resign in state Active");
        assert!(*t >= killed_at, "no Resign before the kill: {rs:?}");
    }
    let after_ms = (rs[0].0 - killed_at) * 1000.0;
    let gap_ms = (rs[1].0 - rs[0].0) * 1000.0;
    println!("Resign on the wire {after_ms:.2} ms after the kill, repeated {gap_ms:.2} ms later");
    let r2 = lab.router(2).lan_ip;
    let hello = tshark_fields(
        &pcap,
        &format!(
            "ip.src == {r2} && hsrp2.opcode == 0 && hsrp2.state == 6 && frame.time_epoch >= {}",
            rs[0].0
        ),
        &["frame.time_epoch"],
    )
    .unwrap();
    let hello: f64 = hello
        .first()
        .expect("no Active hello from r2")
        .parse()
        .unwrap();
    println!(
        "Resign -> r2 Active hello on the wire: {:.2} ms",
        (hello - rs[0].0) * 1000.0
    );
    // Bounds well under the 100-150 ms a hold-timer takeover would take (hold 150 ms, last
    // hello 0-50 ms before the kill), with room for a loaded 2-core machine.
    assert!(hello - rs[0].0 <= 0.050, "r2 took {:.3} s", hello - rs[0].0);
    let took = took.unwrap_or_else(|| panic!("r2 never became Active:\n{}", lab.log(2)));
    println!(
        "SIGKILL -> r2 Active (status poll): {:.1} ms",
        took.as_secs_f64() * 1e3
    );
    // The same bound, plus the 2 ms status poll and the status round trip.
    assert!(
        took <= Duration::from_millis(75),
        "takeover took {took:?}; r1 log:\n{}\nr2 log:\n{}",
        lab.log(1),
        lab.log(2)
    );
    // The sentinel wakes on its pipe's end-of-file when the kernel closes the dead
    // daemon's descriptors: no timer, only scheduling slack.
    assert!(after_ms <= 50.0, "Resign {after_ms:.2} ms after the kill");
    assert!((0.5..=50.0).contains(&gap_ms), "repeat gap {gap_ms:.2} ms");
}

#[test]
fn a_lost_sentinel_is_replaced_and_the_replacement_resigns_for_the_active() {
    let (mut lab, _cap) = elected_pair();
    std::thread::sleep(Duration::from_millis(300));
    let first = sentinel_of(&lab, 1);
    // SAFETY: kill(2) on the sentinel of this test's own daemon.
    unsafe { libc::kill(first, libc::SIGKILL) };
    // The daemon looks every second and spawns a new one a second after it found the old
    // one gone: 2 s, bounded at 10 s for a loaded machine.
    let mut second = None;
    wait_for(Duration::from_secs(10), || {
        let s = sentinels_of(&lab, 1);
        second = (s.len() == 1 && s[0] != first).then(|| s[0]);
        second.is_some()
    });
    let second = second.unwrap_or_else(|| panic!("no new sentinel:\n{}", lab.log(1)));
    assert_holds_no_data_plane_fd(&lab, second);
    let log1 = lab.log(1);
    assert!(log1.contains(&format!("(was {first})")), "{log1}");

    // The new sentinel has the last words: a SIGKILL of the daemon, and r2 takes over on
    // its Resign, not on its hold timer.
    lab.signal(1, libc::SIGKILL).unwrap();
    wait_for(Duration::from_secs(2), || {
        group_state(&lab, 2) == Some(State::Active)
    })
    .unwrap_or_else(|| panic!("r2 never became Active:\n{}", lab.log(2)));
    r2_took_over_on_the_sentinels_resign(&mut lab, second);
}

#[test]
fn sigterm_the_sentinel_sends_nothing_and_exits() {
    let (mut lab, cap) = elected_pair();
    std::thread::sleep(Duration::from_millis(300));
    let sentinel = sentinel_of(&lab, 1);
    let status = lab
        .stop_hsrpd(1, libc::SIGTERM, Duration::from_secs(3))
        .unwrap();
    assert!(status.success(), "hsrpd exited with {status}");
    // The daemon waited for its sentinel after the disarm.
    assert!(
        process_ended(sentinel),
        "sentinel {sentinel} outlived a clean stop"
    );
    wait_for(Duration::from_secs(1), || {
        group_state(&lab, 2) == Some(State::Active)
    })
    .unwrap_or_else(|| panic!("r2 never became Active:\n{}", lab.log(2)));
    // Room for a wrongly sent Resign to show up.
    std::thread::sleep(Duration::from_millis(100));
    let pcap = cap.stop().unwrap();
    let rs = resigns(&pcap, lab.router(1).lan_ip);
    assert_eq!(rs.len(), 1, "the daemon's Resign only: {rs:?}");
    let log1 = lab.log(1);
    assert!(!log1.contains("hsrpd died"), "{log1}");
}
