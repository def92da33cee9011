//! Interop of hsrpd's HSRP BFD peering with FRR's bfdd (the reference BFD of the Linux
//! routing world). r1 runs hsrpd; r2 runs zebra + bfdd (peer r1 on lan0) and, standing in
//! for an HSRP router at the same address, a thread that sends the Active's hellos
//! (priority 200, 1 s / 3 s timers) with the project's codec. r1 becomes Standby, opens a
//! BFD session to its Active (r2) and:
//!
//! - the session comes Up on both sides and the intervals negotiate both ways;
//! - FRR changing its transmit interval goes through Poll/Final, and so does hsrpd
//!   changing its own (SIGHUP with a new `bfd interval`);
//! - FRR's `shutdown` of the peer (AdminDown) takes the session Down without making r1
//!   Active, and `no shutdown` brings it back;
//! - bfdd killed (and the hellos stopped) is detected within the detection time: r1 goes
//!   Active long before the 3 s hold time.
//!
//! Needs root and FRR (`apt-get install frr`, listed in `cargo xtask setup`); fails, never
//! skips, when either is missing. The FRR daemons and their run directory are removed on
//! drop, even when the test fails.

use std::fs;
use std::net::{Ipv4Addr, SocketAddrV4, UdpSocket};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use hsrp_tests::lab::{group_state, router_config, wait_for, Lab, LabOptions, ROUTER_LAN_IF, VIP};
use hsrp_tests::Netns;
use hsrp_user::proto::{Auth, GroupMessage, MacAddr, Opcode, State, Version};
use hsrp_user::wire;

const FRR_DIR: &str = "/usr/lib/frr";

/// zebra + bfdd in a namespace, under their own pathspace `/var/run/frr/NAME`.
struct Frr {
    name: String,
    ns_name: String,
    run_dir: PathBuf,
    conf: PathBuf,
}

impl Frr {
    fn start(ns: &Netns, dir: &Path, peer: Ipv4Addr, iface: &str) -> Result<Frr> {
        for d in ["zebra", "bfdd"] {
            if !Path::new(FRR_DIR).join(d).exists() {
                panic!("{FRR_DIR}/{d} is missing: apt-get install frr (cargo xtask setup)");
            }
        }
        hsrp_tests::require_tool("vtysh");
        let name = ns.name.clone();
        let run_dir = PathBuf::from(format!("/var/run/frr/{name}"));
        fs::create_dir_all(&run_dir).with_context(|| format!("mkdir {}", run_dir.display()))?;
        let conf = dir.join("bfdd.conf");
        // From here on, Drop cleans up.
        let frr = Frr {
            name: name.clone(),
            ns_name: ns.name.clone(),
            run_dir,
            conf,
        };
        hsrp_tests::sh(&format!("chown frr:frr {}", frr.run_dir.display()))?;
        fs::write(
            &frr.conf,
            format!(
                "bfd\n peer {peer} interface {iface}\n  receive-interval 100\n  \
                 transmit-interval 100\n  detect-multiplier 3\n"
            ),
        )?;
        hsrp_tests::sh(&format!("chmod 644 {}", frr.conf.display()))?;
        ns.exec(&format!("{FRR_DIR}/zebra -N {name} -d -f /dev/null"))?;
        ns.exec(&format!(
            "{FRR_DIR}/bfdd -N {name} -d -f {}",
            frr.conf.display()
        ))?;
        Ok(frr)
    }

    fn vtysh(&self, cmds: &[&str]) -> Result<String> {
        let mut c = format!("ip netns exec {} vtysh -N {}", self.ns_name, self.name);
        for cmd in cmds {
            c.push_str(&format!(" -c '{cmd}'"));
        }
        hsrp_tests::sh(&c)
    }

    /// The one peer of `show bfd peers json`.
    fn peer(&self) -> Result<serde_json::Value> {
        let out = self.vtysh(&["show bfd peers json"])?;
        let v: serde_json::Value =
            serde_json::from_str(&out).with_context(|| format!("not JSON: {out}"))?;
        v.as_array()
            .and_then(|a| a.first().cloned())
            .with_context(|| format!("no BFD peer in FRR: {out}"))
    }

    fn peer_config(&self, peer: Ipv4Addr, lines: &[&str]) -> Result<String> {
        let p = format!("peer {peer} interface {ROUTER_LAN_IF}");
        let mut cmds = vec!["configure terminal", "bfd", p.as_str()];
        cmds.extend_from_slice(lines);
        self.vtysh(&cmds)
    }

    fn pid(&self, daemon: &str) -> Option<i32> {
        fs::read_to_string(self.run_dir.join(format!("{daemon}.pid")))
            .ok()
            .and_then(|s| s.trim().parse().ok())
    }

    fn kill(&self, daemon: &str) {
        if let Some(pid) = self.pid(daemon) {
            // SAFETY: kill(2) on the pid FRR wrote for a daemon this test started.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
    }
}

impl Drop for Frr {
    fn drop(&mut self) {
        self.kill("bfdd");
        self.kill("zebra");
        let _ = fs::remove_dir_all(&self.run_dir);
        let _ = fs::remove_file(&self.conf);
    }
}

/// Sends r2's HSRP hellos (Active, priority 200) every second until dropped.
struct Hellos {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<Result<()>>>,
}

impl Hellos {
    fn start(ns: &Netns, src: Ipv4Addr) -> Result<Hellos> {
        ns.exec(&format!("ip route add 224.0.0.0/4 dev {ROUTER_LAN_IF}"))?;
        let path = format!("/run/netns/{}", ns.name);
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || -> Result<()> {
            let f = fs::File::open(&path)?;
            // SAFETY: setns on a valid namespace fd; it only changes this thread.
            if unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
                bail!("setns: {}", std::io::Error::last_os_error());
            }
            let sock = UdpSocket::bind(SocketAddrV4::new(src, 1985))?;
            sock.set_multicast_ttl_v4(255)?;
            let msg = GroupMessage {
                version: Version::V2,
                opcode: Opcode::Hello,
                state: State::Active,
                group: 1,
                priority: 200,
                hello_ms: 1000,
                hold_ms: 3000,
                vip: Some(VIP.into()),
                identifier: Some(MacAddr([0x02, 0, 0, 0, 0, 0x33])),
            };
            let mut buf = [0u8; wire::MAX_PAYLOAD_LEN];
            let n = wire::encode_group(&msg, &Auth::DefaultText, src.into(), &mut buf)?;
            let dst = SocketAddrV4::new(Ipv4Addr::new(224, 0, 0, 102), 1985);
            // Bounded: the test never runs this long.
            let end = Instant::now() + Duration::from_secs(300);
            while !flag.load(Ordering::Relaxed) && Instant::now() < end {
                sock.send_to(&buf[..n], dst)?;
                for _ in 0..10 {
                    if flag.load(Ordering::Relaxed) {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
            Ok(())
        });
        Ok(Hellos {
            stop,
            thread: Some(thread),
        })
    }

    fn stop(&mut self) -> Result<()> {
        self.stop.store(true, Ordering::Relaxed);
        match self.thread.take().map(|t| t.join()) {
            Some(Ok(r)) => r,
            Some(Err(_)) => bail!("hello thread panicked"),
            None => Ok(()),
        }
    }
}

impl Drop for Hellos {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

fn hsrpd_bfd(lab: &Lab) -> Option<hsrp_user::control::BfdSessionStatus> {
    lab.status(1).ok().and_then(|s| s.bfd.first().cloned())
}

fn field<'a>(v: &'a serde_json::Value, k: &str) -> &'a serde_json::Value {
    &v[k]
}

fn r1_config(interval: u32) -> String {
    format!(
        "{} bfd interval {interval} min_rx 50 multiplier 3\n",
        router_config(2, &[(1, VIP, 100, false)], "timers 1 3")
    )
}

#[test]
fn hsrpd_and_frr_bfdd_peer() {
    let mut lab = Lab::new(LabOptions::default()).expect("lab");
    let r1 = lab.router(1).lan_ip;
    let r2 = lab.router(2).lan_ip;
    let frr = Frr::start(&lab.router(2).ns, &lab.dir, r1, ROUTER_LAN_IF).expect("start FRR");
    let mut hellos = Hellos::start(&lab.router(2).ns, r2).expect("hellos");
    lab.start_hsrpd(1, &r1_config(50)).expect("hsrpd");

    // r1: Listen -> Speak -> Standby (two 3 s hold times), then BFD to its Active r2.
    let up = wait_for(Duration::from_secs(20), || {
        group_state(&lab, 1) == Some(State::Standby)
            && hsrpd_bfd(&lab).is_some_and(|b| b.state == "Up")
            && frr.peer().is_ok_and(|p| p["status"] == "up")
    });
    assert!(
        up.is_some(),
        "no BFD session: hsrpd {:?}\nFRR {:?}\n{}",
        hsrpd_bfd(&lab),
        frr.peer().map(|p| p.to_string()),
        lab.log(1)
    );
    let b = hsrpd_bfd(&lab).unwrap();
    let p = frr.peer().unwrap();
    assert_eq!(b.peer, Some(r2.into()));
    assert_eq!(field(&p, "id"), b.remote_discriminator);
    assert_eq!(field(&p, "remote-id"), b.local_discriminator);
    // Negotiated both ways: FRR sees our 50 ms; we send at max(50, FRR's rx 100) and
    // detect with 3 x max(our rx 50, FRR's tx 100).
    assert_eq!(field(&p, "remote-transmit-interval"), 50, "{p}");
    assert_eq!(field(&p, "remote-receive-interval"), 50, "{p}");
    assert_eq!(b.tx_interval_ms, Some(100.0));
    assert_eq!(b.detection_time_ms, 300.0);

    // FRR slows its TX to 200 ms: a Poll from FRR, our Final, our detection time follows.
    frr.peer_config(r1, &["transmit-interval 200"]).unwrap();
    let polled = wait_for(Duration::from_secs(5), || {
        hsrpd_bfd(&lab).is_some_and(|b| b.detection_time_ms == 600.0)
    });
    assert!(polled.is_some(), "{:?}", hsrpd_bfd(&lab));
    // hsrpd changes its own interval (SIGHUP): our Poll, FRR's Final, FRR sees 80 ms.
    fs::write(lab.dir.join("r1.conf"), r1_config(80)).unwrap();
    lab.signal(1, libc::SIGHUP).unwrap();
    let polled = wait_for(Duration::from_secs(5), || {
        frr.peer()
            .is_ok_and(|p| p["remote-transmit-interval"] == 80)
            && hsrpd_bfd(&lab).is_some_and(|b| !b.polling && b.state == "Up")
    });
    assert!(
        polled.is_some(),
        "FRR {:?}\nhsrpd {:?}\n{}",
        frr.peer().map(|p| p.to_string()),
        hsrpd_bfd(&lab),
        lab.log(1)
    );
    let b = hsrpd_bfd(&lab).unwrap();
    assert_eq!(b.tx_interval_ms, Some(100.0));
    assert_eq!(b.down_transitions, 0);

    // FRR shuts the peer: AdminDown. Session Down, r1 stays Standby (not a failure).
    frr.peer_config(r1, &["shutdown"]).unwrap();
    let down = wait_for(Duration::from_secs(5), || {
        hsrpd_bfd(&lab).is_some_and(|b| b.state == "Down" && b.remote_state == "AdminDown")
    });
    assert!(down.is_some(), "{:?}", hsrpd_bfd(&lab));
    let b = hsrpd_bfd(&lab).unwrap();
    assert_eq!(b.local_diag, "NeighborSignaledDown");
    assert_eq!(b.detection_expiries, 0);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(group_state(&lab, 1), Some(State::Standby), "{}", lab.log(1));
    frr.peer_config(r1, &["no shutdown"]).unwrap();
    let back = wait_for(Duration::from_secs(10), || {
        hsrpd_bfd(&lab).is_some_and(|b| b.state == "Up")
    });
    assert!(back.is_some(), "{:?}", hsrpd_bfd(&lab));
    // Let FRR's poll to its 200 ms settle after the restart.
    assert!(
        wait_for(Duration::from_secs(5), || {
            hsrpd_bfd(&lab).is_some_and(|b| b.detection_time_ms == 600.0 && !b.polling)
        })
        .is_some(),
        "{:?}",
        hsrpd_bfd(&lab)
    );

    // Steady: FRR's packets are taken by the XDP program, every one of them, and still
    // counted for the session (the first plain packet after the Poll Sequence is the one
    // that makes the session steady: it comes through the socket). FRR sends every
    // 150-200 ms (jitter): at least 3 in a second even on a slow host.
    let settled = hsrpd_bfd(&lab).unwrap();
    let engaged = wait_for(Duration::from_secs(5), || {
        hsrpd_bfd(&lab).is_some_and(|b| b.packets_received_in_xdp > settled.packets_received_in_xdp)
    });
    assert!(
        engaged.is_some(),
        "no packet taken in XDP: {:?}",
        hsrpd_bfd(&lab)
    );
    let a = hsrpd_bfd(&lab).unwrap();
    std::thread::sleep(Duration::from_secs(1));
    let b = hsrpd_bfd(&lab).unwrap();
    let rx = b.packets_received - a.packets_received;
    let in_xdp = b.packets_received_in_xdp - a.packets_received_in_xdp;
    assert!(
        rx >= 3 && in_xdp == rx,
        "{rx} received, {in_xdp} in XDP: {b:?}"
    );
    assert_eq!(b.state, "Up");

    // r2 dies: bfdd killed, hellos stop. BFD notices within 3 x 200 ms; the hold timer
    // would need 2-3 s more.
    frr.kill("bfdd");
    hellos.stop().unwrap();
    let took = wait_for(Duration::from_secs(5), || {
        group_state(&lab, 1) == Some(State::Active)
    })
    .unwrap_or_else(|| panic!("r1 never became Active:\n{}", lab.log(1)));
    println!(
        "bfdd killed -> r1 Active: {} ms (detection time 600 ms)",
        took.as_millis()
    );
    // Bound: 600 ms detection plus scheduling slack on a shared machine, well below the
    // 2 s the 3 s hold timer would need after the last hello at best; the log line says
    // which it was.
    assert!(took < Duration::from_millis(1800), "took {took:?}");
    let log = lab.log(1);
    assert!(
        log.contains(&format!(
            "Standby -> Active: BFD session to Active {r2} down"
        )),
        "{log}"
    );
    drop(hellos);
    drop(frr);
}
