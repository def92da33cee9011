//! Pass 3: the configuration against the running system, read-only. Interfaces must exist,
//! `ip address` lines must match the kernel, and the kernel must not own a virtual IP
//! (hsrpd answers for VIPs from XDP, so a crashed daemon leaves no address behind).
//!
//! No I/O here: the caller reads the system through `net` ([`SystemView::read`]) and
//! passes the view in.

use std::net::{IpAddr, Ipv4Addr};

use super::error::Diagnostics;
use super::model::{ipv4_prefix_contains, Config, Family, GroupSpec, InterfaceConfig};
use crate::net::SystemView;

/// Checks `config` against `system`, reporting every mismatch.
pub fn validate_against_system(
    config: &Config,
    system: &SystemView,
) -> Result<(), super::ConfigError> {
    let mut diags = Diagnostics::new(&config.text);
    for ifc in &config.interfaces {
        let Some(kernel) = system.interfaces.get(&ifc.name) else {
            diags.at(ifc.line, format!("interface {} does not exist", ifc.name));
            continue;
        };
        let kernel_v4: Vec<(Ipv4Addr, u8)> = kernel
            .iter()
            .filter_map(|(a, l)| match a {
                IpAddr::V4(a) => Some((*a, *l)),
                IpAddr::V6(_) => None,
            })
            .collect();
        check_addresses(&mut diags, ifc, &kernel_v4);
        for g in &ifc.groups {
            check_group(&mut diags, ifc, g, kernel, &kernel_v4);
        }
    }
    for t in config.tracks.values() {
        use super::model::TrackKind;
        if let TrackKind::Interface { name } | TrackKind::IpRouting { name } = &t.kind {
            if !system.interfaces.contains_key(name) {
                diags.at(t.line, format!("interface {name} does not exist"));
            }
        }
    }
    diags.finish(&config.source)
}

/// The interface's `ip address` lines against its IPv4 addresses in the kernel.
fn check_addresses(diags: &mut Diagnostics, ifc: &InterfaceConfig, kernel_v4: &[(Ipv4Addr, u8)]) {
    for want in &ifc.addresses {
        if !kernel_v4.contains(&(want.addr, want.prefix_len)) {
            let have: Vec<String> = kernel_v4.iter().map(|(a, l)| format!("{a}/{l}")).collect();
            diags.at(
                want.line,
                format!(
                    "{} has no address {}/{} (kernel has: {})",
                    ifc.name,
                    want.addr,
                    want.prefix_len,
                    if have.is_empty() {
                        "none".to_string()
                    } else {
                        have.join(", ")
                    }
                ),
            );
        }
    }
}

/// A group against its interface in the kernel (`kernel`: all its addresses): an address
/// to send IPv4 hellos from, and virtual IPs that are not the kernel's own but are in one
/// of its subnets.
fn check_group(
    diags: &mut Diagnostics,
    ifc: &InterfaceConfig,
    g: &GroupSpec,
    kernel: &[(IpAddr, u8)],
    kernel_v4: &[(Ipv4Addr, u8)],
) {
    if g.family == Family::Ipv4 && kernel_v4.is_empty() && ifc.addresses.is_empty() {
        diags.at(
            g.line,
            format!("{} has no IPv4 address to send hellos from", ifc.name),
        );
    }
    for (vip, line) in &g.vip_lines {
        if kernel.iter().any(|(a, _)| a == vip) {
            diags.at(
                *line,
                format!(
                    "virtual IP {vip} is an address of {} in the kernel; remove it (hsrpd answers for it itself)",
                    ifc.name
                ),
            );
        } else if let IpAddr::V4(v4) = vip {
            // With `ip address` lines the parser already checked the subnet.
            if ifc.addresses.is_empty()
                && !kernel_v4.is_empty()
                && !kernel_v4
                    .iter()
                    .any(|(a, l)| ipv4_prefix_contains(*a, *l, *v4))
            {
                diags.at(
                    *line,
                    format!(
                        "virtual IP {v4} is not in a subnet of {} in the kernel",
                        ifc.name
                    ),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The view `net` reads is plain data and reading it needs no privileges, so the whole
    // check runs as an ordinary user against the namespace the test runs in.
    #[test]
    fn the_check_runs_unprivileged_against_the_live_view() {
        let system = SystemView::read().expect("getifaddrs as an ordinary user");
        let ours =
            crate::config::parse("interface lo\n standby 1 ip 10.77.0.1\n", "lo.conf").unwrap();
        let missing = crate::config::parse(
            "interface hsrpt-none0\n standby 1 ip 10.0.0.1\n",
            "none.conf",
        )
        .unwrap();
        let lines = validate_against_system(&missing, &system)
            .unwrap_err()
            .lines();
        assert_eq!(
            lines,
            ["none.conf:1: interface hsrpt-none0: interface hsrpt-none0 does not exist"]
        );
        // lo exists in every namespace: whatever else is said about it, not that.
        if let Err(e) = validate_against_system(&ours, &system) {
            assert!(
                e.lines().iter().all(|l| !l.contains("does not exist")),
                "{:?}",
                e.lines()
            );
        }
    }

    #[test]
    fn a_vip_the_kernel_owns_on_another_interface_is_not_this_ones_business() {
        let mut system = SystemView::default();
        system
            .interfaces
            .insert("eth0".into(), vec![("10.0.0.2".parse().unwrap(), 24)]);
        system
            .interfaces
            .insert("eth1".into(), vec![("10.0.0.1".parse().unwrap(), 24)]);
        let cfg =
            crate::config::parse("interface eth0\n standby 1 ip 10.0.0.1\n", "a.conf").unwrap();
        validate_against_system(&cfg, &system).unwrap();
        system
            .interfaces
            .get_mut("eth0")
            .unwrap()
            .push(("10.0.0.1".parse().unwrap(), 24));
        let lines = validate_against_system(&cfg, &system).unwrap_err().lines();
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(
            lines[0].contains("is an address of eth0 in the kernel"),
            "{lines:?}"
        );
    }
}
