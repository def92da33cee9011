//! `read_capture` and the `hsrpd decode` command on the real captures, in pcap and pcapng.

use std::net::IpAddr;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use hsrp_user::decode::{describe_all, read_capture};
use hsrp_user::proto::MacAddr;

mod captures;

/// The capture with v1 text and MD5 traffic (key `openwall`), an Advertise first.
fn john() -> PathBuf {
    captures::path("john_HSRP-auth-md5-openwall.pcap")
}

fn tmpdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("hsrp-decode-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn reads_addresses_ttl_time_and_payload() {
    let pkts = read_capture(&john()).unwrap();
    assert_eq!(pkts.len(), 192);
    let p = &pkts[0];
    // Frame 1: Advertise from ca:00:40:6b:00:00 / 172.16.40.10 to 224.0.0.2, TTL 1.
    assert_eq!(p.src_mac, MacAddr([0xca, 0x00, 0x40, 0x6b, 0x00, 0x00]));
    assert_eq!(p.dst_mac, MacAddr([0x01, 0x00, 0x5e, 0x00, 0x00, 0x02]));
    assert_eq!(p.src_ip, "172.16.40.10".parse::<IpAddr>().unwrap());
    assert_eq!(p.dst_ip, "224.0.0.2".parse::<IpAddr>().unwrap());
    assert_eq!(p.ttl, 1);
    assert_eq!(
        p.payload,
        [0, 3, 0, 1, 0, 0x0e, 2, 0, 0, 0, 0, 1, 0, 0, 0, 0],
        "UDP payload bounded by the UDP length"
    );
    assert!(
        p.time > Duration::from_secs(1_000_000_000),
        "epoch time {:?}",
        p.time
    );
    assert!(pkts.windows(2).all(|w| w[0].time <= w[1].time));
}

#[test]
fn pcapng_gives_the_same_packets() {
    // editcap comes with tshark; the conversion is the independent reference here.
    let dir = tmpdir("ng");
    let ng = dir.join("john.pcapng");
    let st = Command::new("editcap")
        .args([
            "-F",
            "pcapng",
            john().to_str().unwrap(),
            ng.to_str().unwrap(),
        ])
        .status()
        .expect("editcap (from the tshark/wireshark packages) is required");
    assert!(st.success());
    let a = read_capture(&john()).unwrap();
    let b = read_capture(&ng).unwrap();
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(a, b, "pcap and pcapng decode to the same packets and times");
}

#[test]
fn summary_counts_with_and_without_key() {
    let pkts = read_capture(&john()).unwrap();
    let (lines, s) = describe_all(&pkts, Some(b"openwall"));
    assert_eq!(lines.len(), 192);
    assert_eq!(
        s.to_string(),
        "192 messages, 0 malformed, 70 md5 ok, 0 md5 bad"
    );
    assert_eq!(s.text, 112);
    let (_, s) = describe_all(&pkts, Some(b"wrong"));
    assert_eq!(
        s.to_string(),
        "192 messages, 0 malformed, 0 md5 ok, 70 md5 bad"
    );
    let (lines, s) = describe_all(&pkts, None);
    assert_eq!((s.md5_ok, s.md5_bad), (0, 0));
    assert!(lines.iter().any(|l| l.contains("digest unchecked")));
}

#[test]
fn malformed_payloads_are_counted_not_fatal() {
    let mut pkts = read_capture(&captures::path("ndpi_hsrp2.pcap")).unwrap();
    pkts[1].payload.truncate(30);
    let (lines, s) = describe_all(&pkts, None);
    assert_eq!(
        s.to_string(),
        "1 messages, 1 malformed, 0 md5 ok, 0 md5 bad"
    );
    assert!(
        lines[1].contains("MALFORMED") && lines[1].contains("truncated"),
        "{}",
        lines[1]
    );
}

fn hsrpd(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_hsrpd"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn hsrpd_decode_command() {
    let out = hsrpd(&["decode", john().to_str().unwrap(), "--key", "openwall"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 193);
    assert_eq!(
        lines[192],
        "192 messages, 0 malformed, 70 md5 ok, 0 md5 bad"
    );
    // A Coup and a Resign, both MD5-authenticated, are in the capture.
    assert!(lines
        .iter()
        .any(|l| l.contains("v1 Coup") && l.ends_with("digest ok")));
    assert!(lines
        .iter()
        .any(|l| l.contains("v1 Resign") && l.ends_with("digest ok")));
    assert!(lines[2].contains("172.16.40.10"), "{}", lines[2]);

    let v2 = hsrpd(&[
        "decode",
        captures::path("ndpi_hsrp2.pcap").to_str().unwrap(),
    ]);
    let v2 = String::from_utf8(v2.stdout).unwrap();
    assert!(
        v2.contains(
            "v2 Hello  Active  grp 103 prio 110 hello 3000ms hold 10000ms vip 10.52.253.126"
        ),
        "{v2}"
    );
    assert!(v2.contains("auth text \"cisco\""));
}

#[test]
fn hsrpd_decode_fails_on_unreadable_files() {
    let out = hsrpd(&["decode", "/nonexistent/x.pcap"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/x.pcap"));

    let dir = tmpdir("bad");
    let junk = dir.join("junk.pcap");
    std::fs::write(&junk, b"this is not a capture file").unwrap();
    let out = hsrpd(&["decode", junk.to_str().unwrap()]);
    // A pcap header followed by a half packet record.
    let trunc = dir.join("trunc.pcap");
    let mut bytes = std::fs::read(john()).unwrap();
    bytes.truncate(24 + 16 + 10);
    std::fs::write(&trunc, bytes).unwrap();
    let out2 = hsrpd(&["decode", trunc.to_str().unwrap()]);
    std::fs::remove_dir_all(&dir).ok();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a pcap or pcapng"));
    assert!(
        !out2.status.success(),
        "{}",
        String::from_utf8_lossy(&out2.stdout)
    );
}
