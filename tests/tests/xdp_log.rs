//! The XDP program's own log lines reach hsrpd's log: a malformed HSRP control frame from a
//! rogue host on the LAN is dropped by the program, which reports the source through
//! aya-log; hsrpd's log pump prints the line at warn level under the data plane's target.
//! The program reports a source once (again only after a minute, or after another source),
//! so a stream of junk from the same host is one line, not one per frame.

use std::net::IpAddr;
use std::time::Duration;

use hsrp_tests::lab::{router_config, wait_for, Lab, LabOptions, VIP};
use hsrp_tests::require_root;
use hsrp_tests::rogue::{frame_for_payload, Rogue};

/// The line's text, as the program words it (the source address follows).
const MALFORMED_LINE: &str = "xdp: dropping malformed HSRP control frames from";
/// Where the program's lines are logged.
const TARGET: &str = "hsrp_user::dataplane::xdp";
/// The ring buffer is read by a thread that polls it (100 ms timeout); a second is a bound
/// with ample room for a loaded machine.
const LINE_ARRIVES_WITHIN: Duration = Duration::from_secs(5);

/// A v2 payload whose first TLV is a Group State TLV of the right length that says it is
/// version 3: well-formed UDP to 224.0.0.102:1985, refused by the program's sanity check.
fn malformed_payload() -> Vec<u8> {
    let mut p = vec![0u8; 2 + 40];
    p[0] = hsrp_ebpf::proto::TLV_GROUP_STATE;
    p[1] = hsrp_ebpf::proto::GROUP_STATE_VALUE_LEN;
    p[2] = hsrp_ebpf::proto::GROUP_STATE_VERSION + 1;
    p
}

fn malformed_lines(log: &str, source: &str) -> Vec<String> {
    log.lines()
        .filter(|l| l.contains(MALFORMED_LINE) && l.contains(source))
        .map(str::to_string)
        .collect()
}

#[test]
fn a_malformed_control_frame_is_reported_once_per_source_in_hsrpds_log() {
    require_root();
    let mut lab = Lab::new(LabOptions {
        routers: 1,
        ..LabOptions::default()
    })
    .expect("building the lab");
    lab.start_hsrpd(1, &router_config(2, &[(1, VIP, 110, true)], ""))
        .expect("starting hsrpd");
    let rogue = Rogue::join(&lab).expect("rogue host");
    let source = rogue.ip.to_string();
    let frame = frame_for_payload(rogue.mac, IpAddr::V4(rogue.ip), &malformed_payload())
        .expect("framing the payload");

    rogue.send(&frame).expect("sending the malformed frame");
    let arrived = wait_for(LINE_ARRIVES_WITHIN, || {
        !malformed_lines(&lab.log(1), &source).is_empty()
    });
    assert!(
        arrived.is_some(),
        "no line about {source} within {LINE_ARRIVES_WITHIN:?}; hsrpd's log:\n{}",
        lab.log(1)
    );
    let lines = malformed_lines(&lab.log(1), &source);
    assert_eq!(lines.len(), 1, "{lines:#?}");
    assert!(
        lines[0].contains("WARN") && lines[0].contains(TARGET),
        "not a warning under {TARGET}: {}",
        lines[0]
    );

    // More junk from the same source, past the one-second gap between lines of a kind:
    // still the one line (the same source is reported again only after a minute).
    for _ in 0..20 {
        rogue.send(&frame).expect("sending more junk");
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(500));
    let lines = malformed_lines(&lab.log(1), &source);
    assert_eq!(lines.len(), 1, "one line per source: {lines:#?}");
    let status = lab.status(1).expect("hsrpd status");
    let malformed: u64 = status
        .interfaces
        .iter()
        .filter_map(|i| i.control.as_ref())
        .map(|c| c.malformed)
        .sum();
    assert_eq!(malformed, 21, "every junk frame counted as malformed");
}
