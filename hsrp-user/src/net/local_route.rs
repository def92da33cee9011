//! `standby G accept`: while a group is Active its virtual addresses are local to the
//! kernel through a route in the `local` table (`local VIP dev IF proto 72 scope host src
//! VIP` for IPv4, `local VIP dev IF proto 72` for IPv6), not an interface address: no `ip
//! addr` entry to confuse address selection or configuration checks (and for IPv6 no DAD,
//! no solicited-node membership, no neighbour advertisement of the kernel's own), and
//! every such route is marked with hsrpd's route protocol number, so removing one never
//! touches a route someone else made.
//!
//! Plain netlink messages built here, sent on a NETLINK_ROUTE socket and acknowledged:
//! the same bytes [`del_message`] makes are what the sentinel sends if the daemon dies
//! (a process with no netlink library and nothing but the message to send).

use std::io;
use std::net::IpAddr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// The route protocol of hsrpd's local routes (`ip route show table local proto 72`; an
/// unassigned number in iproute2's rt_protos).
pub const RTPROT_HSRPD: u8 = 72;

const RTM_NEWROUTE: u16 = 24;
const RTM_DELROUTE: u16 = 25;
const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_ACK: u16 = 0x4;
const NLM_F_REPLACE: u16 = 0x100;
const NLM_F_CREATE: u16 = 0x400;
const RT_TABLE_LOCAL: u8 = 255;
const RT_SCOPE_HOST: u8 = 254;
const RTN_LOCAL: u8 = 2;
const RTA_DST: u16 = 1;
const RTA_OIF: u16 = 4;
const RTA_PREFSRC: u16 = 7;

/// One route attribute: header and value (4 or 16 bytes, so always aligned).
fn attr(m: &mut Vec<u8>, kind: u16, value: &[u8]) {
    m.extend_from_slice(&(4 + value.len() as u16).to_ne_bytes());
    m.extend_from_slice(&kind.to_ne_bytes());
    m.extend_from_slice(value);
}

/// `prefsrc`: the kernel matches a deletion on every attribute given, and a leftover may
/// have been made without one (by hand): deletions name destination, device, table,
/// type and protocol only. IPv6 routes never carry one: the kernel accepts only a
/// configured address of the device as an IPv6 preferred source, and the VIP is not one.
fn message(kind: u16, flags: u16, ifindex: u32, vip: IpAddr, prefsrc: bool) -> Vec<u8> {
    let (family, addr): (u8, Vec<u8>) = match vip {
        IpAddr::V4(a) => (libc::AF_INET as u8, a.octets().to_vec()),
        IpAddr::V6(a) => (libc::AF_INET6 as u8, a.octets().to_vec()),
    };
    let mut m = Vec::with_capacity(64);
    m.extend_from_slice(&0u32.to_ne_bytes()); // nlmsg_len, set below
    m.extend_from_slice(&kind.to_ne_bytes());
    m.extend_from_slice(&(NLM_F_REQUEST | NLM_F_ACK | flags).to_ne_bytes());
    m.extend_from_slice(&1u32.to_ne_bytes()); // seq
    m.extend_from_slice(&0u32.to_ne_bytes()); // pid: the kernel
    m.extend_from_slice(&[
        // struct rtmsg
        family,
        8 * addr.len() as u8, // dst_len: a host route
        0,                    // src_len
        0,                    // tos
        RT_TABLE_LOCAL,
        RTPROT_HSRPD,
        RT_SCOPE_HOST,
        RTN_LOCAL,
    ]);
    m.extend_from_slice(&0u32.to_ne_bytes()); // rtm_flags
    attr(&mut m, RTA_DST, &addr);
    attr(&mut m, RTA_OIF, &ifindex.to_ne_bytes());
    if prefsrc && vip.is_ipv4() {
        attr(&mut m, RTA_PREFSRC, &addr);
    }
    let len = m.len() as u32;
    m[..4].copy_from_slice(&len.to_ne_bytes());
    m
}

/// RTM_NEWROUTE (create or replace) of the local route of `vip` on `ifindex`.
pub fn add_message(ifindex: u32, vip: IpAddr) -> Vec<u8> {
    message(
        RTM_NEWROUTE,
        NLM_F_CREATE | NLM_F_REPLACE,
        ifindex,
        vip,
        true,
    )
}

/// RTM_DELROUTE of that route (only ours: the protocol must match).
pub fn del_message(ifindex: u32, vip: IpAddr) -> Vec<u8> {
    message(RTM_DELROUTE, 0, ifindex, vip, false)
}

/// Sends one request on a fresh NETLINK_ROUTE socket and reads its acknowledgement;
/// `Ok(false)` when the kernel says there is no such route (deleting twice is harmless).
pub fn request(msg: &[u8]) -> io::Result<bool> {
    // SAFETY: plain socket(2); the result is checked before use.
    let fd = unsafe {
        libc::socket(
            libc::AF_NETLINK,
            libc::SOCK_RAW | libc::SOCK_CLOEXEC,
            libc::NETLINK_ROUTE,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a fresh descriptor owned by nobody else.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: sockaddr_nl is plain old data; zero = the kernel.
    let mut to: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
    to.nl_family = libc::AF_NETLINK as u16;
    // SAFETY: buffer and address valid for the lengths given.
    let n = unsafe {
        libc::sendto(
            fd.as_raw_fd(),
            msg.as_ptr().cast(),
            msg.len(),
            0,
            (&to as *const libc::sockaddr_nl).cast(),
            std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t,
        )
    };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    // The acknowledgement: nlmsghdr (16) + nlmsgerr { error i32, original header }.
    let mut buf = [0u8; 256];
    // Bounded: the kernel acknowledges at once; a timeout guards against the impossible.
    let tv = libc::timeval {
        tv_sec: 1,
        tv_usec: 0,
    };
    // SAFETY: setsockopt with a valid timeval.
    unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVTIMEO,
            (&tv as *const libc::timeval).cast(),
            std::mem::size_of::<libc::timeval>() as libc::socklen_t,
        );
    }
    // SAFETY: receiving into our own buffer.
    let n = unsafe { libc::recv(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    if n < 20 {
        return Err(io::Error::other("short netlink acknowledgement"));
    }
    let error = i32::from_ne_bytes([buf[16], buf[17], buf[18], buf[19]]);
    match -error {
        0 => Ok(true),
        libc::ESRCH | libc::ENOENT => Ok(false),
        e => Err(io::Error::from_raw_os_error(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    #[test]
    fn messages_have_the_layout_the_kernel_reads() {
        let m = del_message(7, Ipv4Addr::new(10, 0, 0, 1).into());
        assert_eq!(m.len(), 44);
        assert_eq!(u32::from_ne_bytes(m[0..4].try_into().unwrap()), 44);
        assert_eq!(
            u16::from_ne_bytes(m[4..6].try_into().unwrap()),
            RTM_DELROUTE
        );
        assert_eq!(
            u16::from_ne_bytes(m[6..8].try_into().unwrap()),
            NLM_F_REQUEST | NLM_F_ACK
        );
        assert_eq!(&m[16..24], &[2, 32, 0, 0, 255, 72, 254, 2]);
        // RTA_DST 10.0.0.1, RTA_OIF 7
        assert_eq!(&m[28..32], &[8, 0, 1, 0]);
        assert_eq!(&m[32..36], &[10, 0, 0, 1]);
        assert_eq!(&m[36..40], &[8, 0, 4, 0]);
        assert_eq!(u32::from_ne_bytes(m[40..44].try_into().unwrap()), 7);
        let a = add_message(7, Ipv4Addr::new(10, 0, 0, 1).into());
        assert_eq!(a.len(), 52);
        // ... and RTA_PREFSRC 10.0.0.1 when adding.
        assert_eq!(&a[44..52], &[8, 0, 7, 0, 10, 0, 0, 1]);
        assert_eq!(
            u16::from_ne_bytes(a[4..6].try_into().unwrap()),
            RTM_NEWROUTE
        );
        assert_eq!(
            u16::from_ne_bytes(a[6..8].try_into().unwrap()),
            NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE
        );
        assert_eq!(&a[8..44], &m[8..44]);
    }

    #[test]
    fn ipv6_messages_carry_the_128_bit_host_route_and_no_preferred_source() {
        let vip: Ipv6Addr = "fe80::5:73ff:fea0:1".parse().unwrap();
        let m = del_message(9, vip.into());
        // header 16 + rtmsg 12 + RTA_DST 20 + RTA_OIF 8
        assert_eq!(m.len(), 56);
        assert_eq!(u32::from_ne_bytes(m[0..4].try_into().unwrap()), 56);
        assert_eq!(&m[16..24], &[10, 128, 0, 0, 255, 72, 254, 2]);
        assert_eq!(&m[28..32], &[20, 0, 1, 0]);
        assert_eq!(&m[32..48], &vip.octets());
        assert_eq!(&m[48..52], &[8, 0, 4, 0]);
        assert_eq!(u32::from_ne_bytes(m[52..56].try_into().unwrap()), 9);
        let a = add_message(9, vip.into());
        assert_eq!(a.len(), 56, "no RTA_PREFSRC");
        assert_eq!(
            u16::from_ne_bytes(a[6..8].try_into().unwrap()),
            NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE
        );
        assert_eq!(&a[8..], &m[8..]);
    }
}
