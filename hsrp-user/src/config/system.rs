//! Pass 3: the configuration against the running system, read-only. Interfaces must exist,
//! `ip address` lines must match the kernel, and the kernel must not own a virtual IP
//! (hsrpd answers for VIPs from XDP, so a crashed daemon leaves no address behind).

use std::collections::BTreeMap;
use std::ffi::CStr;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use anyhow::Context;

use super::error::Diagnostics;
use super::model::{ipv4_prefix_contains, Config, Family};

/// What the configuration is checked against: the interfaces and their addresses.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SystemView {
    /// Interface name to its addresses (address, prefix length).
    pub interfaces: BTreeMap<String, Vec<(IpAddr, u8)>>,
}

impl SystemView {
    /// Reads the interfaces and addresses of the current network namespace (getifaddrs:
    /// one netlink dump, nothing written).
    pub fn read() -> anyhow::Result<SystemView> {
        let mut view = SystemView::default();
        let mut head: *mut libc::ifaddrs = std::ptr::null_mut();
        // SAFETY: getifaddrs fills `head` with a list we free below with freeifaddrs.
        if unsafe { libc::getifaddrs(&mut head) } != 0 {
            return Err(std::io::Error::last_os_error()).context("getifaddrs");
        }
        let mut cur = head;
        while !cur.is_null() {
            // SAFETY: `cur` is a node of the list getifaddrs returned, not yet freed.
            let ifa = unsafe { &*cur };
            cur = ifa.ifa_next;
            if ifa.ifa_name.is_null() {
                continue;
            }
            // SAFETY: ifa_name is a NUL-terminated string owned by the list.
            let name = unsafe { CStr::from_ptr(ifa.ifa_name) }
                .to_string_lossy()
                .into_owned();
            let addrs = view.interfaces.entry(name).or_default();
            // SAFETY: addr/netmask point to sockaddrs of the family in sa_family (or null).
            if let (Some(a), Some(m)) =
                unsafe { (sockaddr_ip(ifa.ifa_addr), sockaddr_ip(ifa.ifa_netmask)) }
            {
                addrs.push((a, mask_len(m)));
            }
        }
        // SAFETY: `head` came from getifaddrs and is freed once.
        unsafe { libc::freeifaddrs(head) };
        Ok(view)
    }
}

/// The IP address in a sockaddr, for AF_INET and AF_INET6 only.
///
/// # Safety
/// `sa` must be null or point to a valid sockaddr of the family it declares.
unsafe fn sockaddr_ip(sa: *const libc::sockaddr) -> Option<IpAddr> {
    if sa.is_null() {
        return None;
    }
    match i32::from((*sa).sa_family) {
        libc::AF_INET => {
            let sin = &*(sa as *const libc::sockaddr_in);
            Some(IpAddr::V4(Ipv4Addr::from(u32::from_be(
                sin.sin_addr.s_addr,
            ))))
        }
        libc::AF_INET6 => {
            let sin6 = &*(sa as *const libc::sockaddr_in6);
            Some(IpAddr::V6(Ipv6Addr::from(sin6.sin6_addr.s6_addr)))
        }
        _ => None,
    }
}

fn mask_len(mask: IpAddr) -> u8 {
    match mask {
        IpAddr::V4(m) => u32::from(m).leading_ones() as u8,
        IpAddr::V6(m) => u128::from(m).leading_ones() as u8,
    }
}

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
        for g in &ifc.groups {
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
