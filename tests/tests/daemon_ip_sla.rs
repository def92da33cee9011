//! IP SLA with real hsrpd processes: r1 probes the server behind its uplink with ICMP echo
//! (`ip sla` + `track N ip sla N`); when the server stops answering (an nft drop in the
//! server's namespace) r1's priority drops and r2 preempts; when it answers again r1 takes
//! the group back.

use std::time::Duration;

use hsrp_tests::lab::{router_config, Lab, LabOptions, ROUTER_UPLINK_IF, SERVER_IP, VIP};
use hsrp_user::proto::State;

fn expect(lab: &Lab, r1: (State, u8), r2: State, what: &str) -> Duration {
    lab.expect_roles(Duration::from_secs(8), r1, r2, what)
}

#[test]
fn an_unreachable_sla_target_hands_the_group_over_and_back() {
    let mut lab = Lab::new(LabOptions {
        server: true,
        ..LabOptions::default()
    })
    .expect("building the lab");
    let timers = "timers msec 50 msec 150";
    let cfg1 = format!(
        "ip sla 5\n icmp-echo {SERVER_IP} source-interface {ROUTER_UPLINK_IF}\n frequency 1\n \
         timeout 500\n threshold 400\nip sla schedule 5 life forever start-time now\n\
         track 7 ip sla 5 reachability\n{}",
        router_config(
            2,
            &[(1, VIP, 150, true)],
            &format!("{timers}\ntrack 7 decrement 60")
        )
    );
    let cap = lab
        .capture_in(lab.server.as_ref().unwrap(), "up0", "sla")
        .unwrap();
    lab.start_hsrpd(1, &cfg1).unwrap();
    lab.start_hsrpd(2, &router_config(2, &[(1, VIP, 100, true)], timers))
        .unwrap();
    expect(
        &lab,
        (State::Active, 150),
        State::Standby,
        "initial election",
    );
    // Let a few probes be answered, then check they were real echoes on the uplink.
    std::thread::sleep(Duration::from_millis(2500));
    let track = lab.status(1).unwrap().tracks;
    assert!(
        track.iter().any(|t| t.object == 7 && t.state == "up"),
        "{track:?}"
    );

    // The server stops answering echo requests.
    let server = lab.server.as_ref().unwrap();
    server
        .exec(
            "nft add table inet slatest && nft add chain inet slatest input \
             '{ type filter hook input priority 0; }' && \
             nft add rule inet slatest input icmp type echo-request drop",
        )
        .unwrap();
    let took = expect(
        &lab,
        (State::Standby, 90),
        State::Active,
        "target unreachable",
    );
    println!(
        "server drops echoes -> r2 Active: {} ms (frequency 1 s, timeout 500 ms)",
        took.as_millis()
    );
    let log1 = lab.log(1);
    assert!(log1.contains("track 7 is now down"), "{log1}");

    // It answers again: r1 preempts back.
    server.exec("nft delete table inet slatest").unwrap();
    expect(
        &lab,
        (State::Active, 150),
        State::Standby,
        "target reachable",
    );

    let pcap = cap.stop().unwrap();
    let echoes = hsrp_tests::lab::tshark_fields(
        &pcap,
        "icmp.type == 8",
        &["ip.src", "ip.dst", "icmp.checksum.status"],
    )
    .unwrap();
    let r1_uplink = lab.router(1).uplink_ip.unwrap();
    assert!(echoes.len() >= 4, "{echoes:?}");
    assert!(
        echoes
            .iter()
            .all(|l| *l == format!("{r1_uplink}|{SERVER_IP}|1")),
        "echo requests from r1's uplink with a good checksum: {echoes:?}"
    );
}
