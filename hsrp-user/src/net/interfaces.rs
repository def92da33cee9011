//! Interface enumeration through libc: every interface of the namespace ([`interfaces`]),
//! an index by name ([`ifindex`]), and the [`SystemView`] that `config` checks a file
//! against. Read-only, and none of it needs privileges.

use std::collections::BTreeMap;
use std::ffi::CStr;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

pub use super::packet::ifindex_of as ifindex;

/// One interface of the namespace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkName {
    pub ifindex: u32,
    pub name: String,
}

/// Every interface of the calling thread's network namespace (if_nameindex), in the
/// kernel's order.
pub fn interfaces() -> io::Result<Vec<LinkName>> {
    // SAFETY: if_nameindex returns a list terminated by a zero entry, freed below.
    let list = unsafe { libc::if_nameindex() };
    if list.is_null() {
        return Err(io::Error::last_os_error());
    }
    let mut links = Vec::new();
    let mut p = list;
    // Bounded: the list ends with a zero entry; 65536 interfaces is far beyond any router.
    for _ in 0..65536 {
        // SAFETY: `p` points into the list, before or at its terminating entry.
        let entry = unsafe { &*p };
        if entry.if_index == 0 || entry.if_name.is_null() {
            break;
        }
        // SAFETY: if_name is a NUL-terminated string owned by the list.
        let name = unsafe { CStr::from_ptr(entry.if_name) };
        links.push(LinkName {
            ifindex: entry.if_index,
            name: name.to_string_lossy().into_owned(),
        });
        // SAFETY: the terminating entry has not been reached, so the next one exists.
        p = unsafe { p.add(1) };
    }
    // SAFETY: `list` came from if_nameindex and is freed once.
    unsafe { libc::if_freenameindex(list) };
    Ok(links)
}

/// What a configuration is checked against: the interfaces and their addresses. Plain
/// data, so the check itself runs anywhere (a test builds one by hand).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SystemView {
    /// Interface name to its addresses (address, prefix length).
    pub interfaces: BTreeMap<String, Vec<(IpAddr, u8)>>,
}

impl SystemView {
    /// Reads the interfaces and addresses of the current network namespace (getifaddrs:
    /// one netlink dump, nothing written).
    pub fn read() -> io::Result<SystemView> {
        let mut view = SystemView::default();
        let mut head: *mut libc::ifaddrs = std::ptr::null_mut();
        // SAFETY: getifaddrs fills `head` with a list we free below with freeifaddrs.
        if unsafe { libc::getifaddrs(&mut head) } != 0 {
            return Err(io::Error::last_os_error());
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

#[cfg(test)]
mod tests {
    use super::*;

    // Unprivileged: every namespace has a loopback, and these calls only read.
    #[test]
    fn the_loopback_is_listed_with_its_index_and_address() {
        let lo = interfaces()
            .unwrap()
            .into_iter()
            .find(|l| l.name == "lo")
            .expect("a loopback interface");
        assert_eq!(ifindex("lo").unwrap(), lo.ifindex);
        let view = SystemView::read().unwrap();
        let addrs = &view.interfaces["lo"];
        if !addrs.is_empty() {
            assert!(
                addrs.contains(&(IpAddr::V4(Ipv4Addr::LOCALHOST), 8)),
                "{addrs:?}"
            );
        }
    }

    #[test]
    fn netmasks_become_prefix_lengths() {
        assert_eq!(mask_len("255.255.255.0".parse().unwrap()), 24);
        assert_eq!(mask_len("ffff:ffff:ffff:ffff::".parse().unwrap()), 64);
        assert_eq!(mask_len("0.0.0.0".parse().unwrap()), 0);
    }
}
