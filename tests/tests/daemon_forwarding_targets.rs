//! The data plane's redirect targets (HSRP_TX_PORTS) follow the router's interfaces while
//! hsrpd runs: a link created after start becomes a target, a deleted one leaves.

use std::time::Duration;

use hsrp_tests::lab::{router_config, wait_for, Lab, LabOptions, VIP};

/// The ifindexes in router `i`'s pinned HSRP_TX_PORTS (bpftool's JSON: `key` as bytes).
fn tx_ports(lab: &Lab, i: usize) -> Vec<u32> {
    let dump = lab
        .map_dump(i, "HSRP_TX_PORTS")
        .expect("dump HSRP_TX_PORTS");
    let entries: serde_json::Value =
        serde_json::from_str(&dump).unwrap_or_else(|e| panic!("{e}: {dump}"));
    entries
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            let key: Vec<u8> = e["key"]
                .as_array()
                .unwrap_or_else(|| panic!("no key in {e}"))
                .iter()
                .map(|b| {
                    let s = b.as_str().expect("hex byte");
                    u8::from_str_radix(s.trim_start_matches("0x"), 16).expect("hex byte")
                })
                .collect();
            u32::from_ne_bytes(key[..4].try_into().expect("4-byte key"))
        })
        .collect()
}

fn ifindex(lab: &Lab, i: usize, dev: &str) -> u32 {
    lab.router(i)
        .ns
        .exec(&format!("cat /sys/class/net/{dev}/ifindex"))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

#[test]
fn links_created_and_deleted_while_running_are_added_to_and_removed_from_the_devmap() {
    let mut lab = Lab::new(LabOptions {
        routers: 1,
        ..LabOptions::default()
    })
    .expect("building the lab");
    lab.start_hsrpd(
        1,
        &router_config(2, &[(1, VIP, 100, true)], "timers msec 50 msec 150"),
    )
    .unwrap();
    let ns = &lab.router(1).ns;
    // The interfaces present at start are targets (the LAN port at least).
    let lan = ifindex(&lab, 1, "lan0");
    assert!(
        wait_for(Duration::from_secs(5), || tx_ports(&lab, 1).contains(&lan)).is_some(),
        "lan0 ({lan}) not a target: {:?}\n{}",
        tx_ports(&lab, 1),
        lab.log(1)
    );

    ns.exec("ip link add late0 type veth peer name late1 && ip link set late0 up")
        .unwrap();
    let (late0, late1) = (ifindex(&lab, 1, "late0"), ifindex(&lab, 1, "late1"));
    let took = wait_for(Duration::from_secs(3), || {
        let ports = tx_ports(&lab, 1);
        ports.contains(&late0) && ports.contains(&late1)
    });
    assert!(
        took.is_some(),
        "late0/late1 ({late0}/{late1}) not added: {:?}\n{}",
        tx_ports(&lab, 1),
        lab.log(1)
    );

    ns.exec("ip link del late0").unwrap();
    let took = wait_for(Duration::from_secs(3), || {
        let ports = tx_ports(&lab, 1);
        !ports.contains(&late0) && !ports.contains(&late1)
    });
    assert!(
        took.is_some(),
        "late0/late1 still targets: {:?}",
        tx_ports(&lab, 1)
    );
    // The daemon is still running and the LAN port still a target.
    assert!(lab.status(1).is_ok(), "{}", lab.log(1));
    assert!(tx_ports(&lab, 1).contains(&lan));
}
