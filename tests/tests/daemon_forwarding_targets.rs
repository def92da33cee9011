//! What hsrpd keeps in the data plane besides the groups while it runs: the redirect
//! targets (HSRP_TX_PORTS) follow the router's interfaces, and the next-hop cache's
//! generation moves every refresh interval even when no notification arrives.

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

/// A lab of one router running hsrpd (one group, Active on its own).
fn one_router_running_hsrpd() -> Lab {
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
    lab
}

#[test]
fn links_created_and_deleted_while_running_are_added_to_and_removed_from_the_devmap() {
    let lab = one_router_running_hsrpd();
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

/// On a quiet router (no route, neighbour or link changes) the next-hop cache generation
/// still moves about once per `REFRESH_INTERVAL`: the bound on how long a cached hop can
/// outlive a change no notification reports (e.g. a per-device `forwarding` sysctl).
#[test]
fn the_next_hop_cache_generation_moves_every_refresh_interval_without_events() {
    use hsrp_user::dataplane::nexthop::NexthopMaps;
    use hsrp_user::dataplane::MapSet;
    use hsrp_user::nexthop_cache::REFRESH_INTERVAL;
    let lab = one_router_running_hsrpd();
    let pins = lab.router(1).ns.bpffs().join("hsrpd");
    let generation = || {
        NexthopMaps::from_pinned(&pins)
            .and_then(|m| m.generation())
            .unwrap_or_else(|e| panic!("reading HSRP_NH_GEN: {e:#}"))
    };
    // Let start-up events (addresses, the group's takeover) settle.
    assert!(
        wait_for(Duration::from_secs(5), || generation() != 0).is_some(),
        "cache never turned on: {}",
        lab.log(1)
    );
    // IPv6 duplicate address detection on the links ends about 2 s after they come up.
    std::thread::sleep(Duration::from_secs(3));
    let g0 = generation();
    let window = REFRESH_INTERVAL * 4 + REFRESH_INTERVAL / 2;
    std::thread::sleep(window);
    let moved = generation().wrapping_sub(g0);
    assert!(
        (4..=6).contains(&moved),
        "generation moved {moved} times in {window:?} (refresh every {REFRESH_INTERVAL:?})"
    );
}
