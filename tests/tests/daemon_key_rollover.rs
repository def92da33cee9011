//! Key chain rollover by the wall clock with real hsrpd processes: key 1 signs until T, key
//! 2 from T, and key 1 is still accepted for a while after T (the overlap window). The
//! hellos on the wire switch keys at T, nobody counts an authentication failure, and the
//! election never moves.

use std::net::IpAddr;
use std::time::Duration;

use anyhow::{ensure, Result};
use hsrp_tests::lab::{epoch_now, router_config, wait_for, Lab, LabOptions, VIP};
use hsrp_user::proto::State;

/// `hh:mm:ss Mon day year` (UTC) of Unix time `t`, as a key chain lifetime wants it.
fn ios_time(t: u64) -> String {
    hsrp_tests::sh(&format!("date -u -d @{t} '+%H:%M:%S %b %-d %Y'"))
        .unwrap()
        .trim()
        .to_string()
}

/// (time, sender, key id) of every v2 MD5-signed hello in a pcap file.
fn signed_hellos(pcap: &std::path::Path) -> Result<Vec<(f64, IpAddr, u32)>> {
    let data = std::fs::read(pcap)?;
    ensure!(data.len() >= 24, "no pcap header");
    let nanos = u32::from_le_bytes(data[0..4].try_into()?) == 0xa1b2_3c4d;
    let mut out = Vec::new();
    let mut at = 24;
    while at + 16 <= data.len() {
        let word = |o: usize| u32::from_le_bytes(data[at + o..at + o + 4].try_into().unwrap());
        let (sec, frac, caplen) = (word(0), word(4), word(8) as usize);
        let Some(frame) = data.get(at + 16..at + 16 + caplen) else {
            break;
        };
        at += 16 + caplen;
        let t = f64::from(sec) + f64::from(frac) / if nanos { 1e9 } else { 1e6 };
        let Ok(d) = hsrp_user::wire::rx::parse(frame) else {
            continue;
        };
        if let Ok(r) = hsrp_user::wire::Repr::parse(d.payload) {
            if let Some(m) = r.md5() {
                out.push((t, d.src_ip, m.key_id));
            }
        }
    }
    Ok(out)
}

#[test]
fn the_signing_key_rolls_over_at_its_send_lifetime() {
    let mut lab = Lab::new(LabOptions::default()).expect("building the lab");
    // Whole seconds: lifetimes have one-second resolution.
    let t = epoch_now() as u64 + 8;
    let chain = format!(
        "key chain ROLL\n key 1\n  key-string first-key\n  send-lifetime {} {}\n  \
         accept-lifetime {} {}\n key 2\n  key-string second-key\n  send-lifetime {} infinite\n",
        ios_time(t - 86_400),
        ios_time(t),
        ios_time(t - 86_400),
        ios_time(t + 60),
        ios_time(t),
    );
    let extra = "timers msec 100 msec 300\nauthentication md5 key-chain ROLL";
    let cap = lab.capture("keys").unwrap();
    lab.start_hsrpd(
        1,
        &(chain.clone() + &router_config(2, &[(1, VIP, 150, true)], extra)),
    )
    .unwrap();
    lab.start_hsrpd(
        2,
        &(chain + &router_config(2, &[(1, VIP, 100, true)], extra)),
    )
    .unwrap();
    wait_for(Duration::from_secs(5), || {
        lab.status(1)
            .is_ok_and(|s| s.groups[0].state == State::Active)
            && lab
                .status(2)
                .is_ok_and(|s| s.groups[0].state == State::Standby)
    })
    .unwrap_or_else(|| panic!("no election:\n{}\n{}", lab.log(1), lab.log(2)));
    let changes = lab.status(1).unwrap().groups[0].state_changes;
    // Past T by 2 s.
    while epoch_now() < t as f64 + 2.0 {
        std::thread::sleep(Duration::from_millis(100));
    }
    let pcap = cap.stop().unwrap();
    let hellos = signed_hellos(&pcap).unwrap();
    let r1 = IpAddr::V4(lab.router(1).lan_ip);
    let before: Vec<u32> = hellos
        .iter()
        .filter(|h| h.1 == r1 && h.0 < t as f64 - 0.5)
        .map(|h| h.2)
        .collect();
    let after: Vec<u32> = hellos
        .iter()
        .filter(|h| h.1 == r1 && h.0 > t as f64 + 0.5)
        .map(|h| h.2)
        .collect();
    assert!(
        before.len() > 5 && before.iter().all(|k| *k == 1),
        "{before:?}"
    );
    assert!(
        after.len() > 5 && after.iter().all(|k| *k == 2),
        "{after:?}"
    );
    for i in 1..=2 {
        let g = lab.status(i).unwrap().groups[0].clone();
        assert_eq!(g.auth_failures, 0, "r{i}:\n{}", lab.log(i));
    }
    assert_eq!(lab.status(1).unwrap().groups[0].state_changes, changes);
    assert!(lab
        .log(1)
        .contains("key chain ROLL: now sending with key 2"));
}

#[test]
fn a_changed_key_string_with_timeout_keeps_the_old_key_accepted_that_long() {
    let mut lab = Lab::new(LabOptions::default()).expect("building the lab");
    let old = "timers msec 100 msec 300\nauthentication md5 key-string AAA";
    lab.start_hsrpd(1, &router_config(2, &[(1, VIP, 150, true)], old))
        .unwrap();
    lab.start_hsrpd(2, &router_config(2, &[(1, VIP, 100, true)], old))
        .unwrap();
    wait_for(Duration::from_secs(5), || {
        lab.status(1)
            .is_ok_and(|s| s.groups[0].state == State::Active)
            && lab
                .status(2)
                .is_ok_and(|s| s.groups[0].state == State::Standby)
    })
    .unwrap_or_else(|| panic!("no election:\n{}\n{}", lab.log(1), lab.log(2)));

    // The Standby gets a new key with a 4 s timeout: it still accepts r1's old-key hellos.
    let path = lab.daemon(2).unwrap().config.clone();
    let new = "timers msec 100 msec 300\nauthentication md5 key-string BBB timeout 4";
    std::fs::write(&path, router_config(2, &[(1, VIP, 100, true)], new)).unwrap();
    lab.signal(2, libc::SIGHUP).unwrap();
    wait_for(Duration::from_secs(3), || {
        lab.log(2)
            .contains("the previous key is still accepted for 4 s")
    })
    .unwrap_or_else(|| panic!("{}", lab.log(2)));
    // Within the timeout (measured from when the reload was logged, so a slow machine
    // only makes the window start later): no failure, still Standby.
    std::thread::sleep(Duration::from_secs(2));
    let g2 = lab.status(2).unwrap().groups[0].clone();
    assert_eq!(
        (g2.state, g2.auth_failures),
        (State::Standby, 0),
        "{}",
        lab.log(2)
    );
    // After it: r1's hellos fail authentication at r2.
    wait_for(Duration::from_secs(8), || {
        lab.status(2).is_ok_and(|s| s.groups[0].auth_failures > 0)
    })
    .unwrap_or_else(|| panic!("the old key is still accepted:\n{}", lab.log(2)));
    assert!(lab
        .log(2)
        .contains("the previous key is no longer accepted"));
}
