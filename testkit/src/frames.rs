//! Frames built by hand, with correct checksums.
//!
//! One argument order everywhere, the order the fields stand in the frame: MAC addresses
//! destination first (as Ethernet has them), IP addresses source first (as IP has them),
//! ports source first; then TTL / hop limit and the protocol / next header (that order for
//! both families); the payload last.

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::checksum::{csum, pseudo_csum};

pub const ETHERTYPE_IPV4: u16 = 0x0800;
pub const ETHERTYPE_ARP: u16 = 0x0806;
pub const ETHERTYPE_IPV6: u16 = 0x86dd;
pub const PROTO_ICMP: u8 = 1;
pub const PROTO_UDP: u8 = 17;
pub const PROTO_ICMPV6: u8 = 58;

/// An Ethernet header.
pub fn eth(dst: [u8; 6], src: [u8; 6], ethertype: u16) -> Vec<u8> {
    let mut f = Vec::with_capacity(128);
    f.extend_from_slice(&dst);
    f.extend_from_slice(&src);
    f.extend_from_slice(&ethertype.to_be_bytes());
    f
}

/// Ethernet + IPv4 (no options, DF, correct header checksum) + `l4`. A UDP datagram in `l4`
/// (8 bytes or more) gets its checksum filled in; an ICMP message brings its own
/// ([`icmp4_echo`]).
pub fn ipv4(
    dst_mac: [u8; 6],
    src_mac: [u8; 6],
    src: Ipv4Addr,
    dst: Ipv4Addr,
    ttl: u8,
    proto: u8,
    l4: &[u8],
) -> Vec<u8> {
    let mut f = eth(dst_mac, src_mac, ETHERTYPE_IPV4);
    let mut ip = vec![0x45, 0];
    ip.extend_from_slice(&((20 + l4.len()) as u16).to_be_bytes());
    ip.extend_from_slice(&[0x12, 0x34, 0x40, 0, ttl, proto, 0, 0]);
    ip.extend_from_slice(&src.octets());
    ip.extend_from_slice(&dst.octets());
    let c = csum(&ip);
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    f.extend_from_slice(&ip);
    let mut l4 = l4.to_vec();
    if proto == PROTO_UDP && l4.len() >= 8 {
        l4[6..8].fill(0);
        let c = pseudo_csum(&src.octets(), &dst.octets(), proto, &l4);
        l4[6..8].copy_from_slice(&c.to_be_bytes());
    }
    f.extend_from_slice(&l4);
    f
}

/// Ethernet + IPv6 + `l4`; an ICMPv6 message or a UDP datagram in `l4` gets its checksum
/// filled in.
pub fn ipv6(
    dst_mac: [u8; 6],
    src_mac: [u8; 6],
    src: Ipv6Addr,
    dst: Ipv6Addr,
    hop: u8,
    next: u8,
    l4: &[u8],
) -> Vec<u8> {
    let mut f = eth(dst_mac, src_mac, ETHERTYPE_IPV6);
    f.extend_from_slice(&[0x60, 0, 0, 0]);
    f.extend_from_slice(&(l4.len() as u16).to_be_bytes());
    f.extend_from_slice(&[next, hop]);
    f.extend_from_slice(&src.octets());
    f.extend_from_slice(&dst.octets());
    let mut l4 = l4.to_vec();
    let at = match next {
        PROTO_ICMPV6 => Some(2),
        PROTO_UDP => Some(6),
        _ => None,
    };
    if let Some(at) = at {
        l4[at..at + 2].fill(0);
        let c = pseudo_csum(&src.octets(), &dst.octets(), next, &l4);
        l4[at..at + 2].copy_from_slice(&c.to_be_bytes());
    }
    f.extend_from_slice(&l4);
    f
}

/// A UDP header and `payload`; the checksum is left to [`ipv4`] / [`ipv6`].
pub fn udp(sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut u = Vec::with_capacity(8 + payload.len());
    u.extend_from_slice(&sport.to_be_bytes());
    u.extend_from_slice(&dport.to_be_bytes());
    u.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    u.extend_from_slice(&[0, 0]);
    u.extend_from_slice(payload);
    u
}

/// An ICMP (v4) echo request with a correct checksum.
pub fn icmp4_echo(id: u16, seq: u16, payload: &[u8]) -> Vec<u8> {
    let mut m = echo(8, id, seq, payload);
    let c = csum(&m);
    m[2..4].copy_from_slice(&c.to_be_bytes());
    m
}

/// An ICMPv6 echo request; its checksum is left to [`ipv6`].
pub fn icmp6_echo(id: u16, seq: u16, payload: &[u8]) -> Vec<u8> {
    echo(128, id, seq, payload)
}

fn echo(kind: u8, id: u16, seq: u16, payload: &[u8]) -> Vec<u8> {
    let mut m = vec![kind, 0, 0, 0];
    m.extend_from_slice(&id.to_be_bytes());
    m.extend_from_slice(&seq.to_be_bytes());
    m.extend_from_slice(payload);
    m
}

/// A broadcast ARP request "who has `tpa`, tell `spa` at `sha`".
pub fn arp_request(sha: [u8; 6], spa: Ipv4Addr, tpa: Ipv4Addr) -> Vec<u8> {
    let mut f = eth([0xff; 6], sha, ETHERTYPE_ARP);
    f.extend_from_slice(&[0, 1, 8, 0, 6, 4, 0, 1]);
    f.extend_from_slice(&sha);
    f.extend_from_slice(&spa.octets());
    f.extend_from_slice(&[0; 6]);
    f.extend_from_slice(&tpa.octets());
    f
}

/// The solicited-node multicast address of `target` and its MAC.
pub fn solicited_node(target: Ipv6Addr) -> (Ipv6Addr, [u8; 6]) {
    let t = target.octets();
    let a = Ipv6Addr::new(
        0xff02,
        0,
        0,
        0,
        0,
        1,
        0xff00 | u16::from(t[13]),
        u16::from_be_bytes([t[14], t[15]]),
    );
    (a, [0x33, 0x33, 0xff, t[13], t[14], t[15]])
}

/// A Neighbour Solicitation for `target` from `src` to its solicited-node group, with a
/// source link-layer address option unless `src` is unspecified (RFC 4861 §4.3).
pub fn ns(src_mac: [u8; 6], src: Ipv6Addr, target: Ipv6Addr) -> Vec<u8> {
    let (group, group_mac) = solicited_node(target);
    let mut m = vec![135, 0, 0, 0, 0, 0, 0, 0];
    m.extend_from_slice(&target.octets());
    if !src.is_unspecified() {
        m.extend_from_slice(&[1, 1]);
        m.extend_from_slice(&src_mac);
    }
    ipv6(group_mac, src_mac, src, group, 255, PROTO_ICMPV6, &m)
}

/// A real v1 Hello (docs/protocol.md §2): group 1, Active, priority 100, auth "cisco",
/// VIP 192.168.0.1.
pub const V1_HELLO: [u8; 20] = [
    0x00, 0x00, 0x10, 0x03, 0x0a, 0x64, 0x01, 0x00, 0x63, 0x69, 0x73, 0x63, 0x6f, 0x00, 0x00, 0x00,
    0xc0, 0xa8, 0x00, 0x01,
];

/// A v2 Group State TLV (type 1, length 40): Hello, Active, group 1, identifier
/// aa:bb:cc:00:0a:00, priority 100, hello 3 s, hold 10 s, VIP 10.0.1.1; `ip_version` 4 or 6
/// (the address field is 16 bytes either way).
pub fn v2_group_state(ip_version: u8) -> Vec<u8> {
    let mut t = vec![1, 40, 2, 0, 6, ip_version, 0, 1];
    t.extend_from_slice(&[0xaa, 0xbb, 0xcc, 0, 0x0a, 0]);
    t.extend_from_slice(&100u32.to_be_bytes());
    t.extend_from_slice(&3000u32.to_be_bytes());
    t.extend_from_slice(&10000u32.to_be_bytes());
    t.extend_from_slice(&[10, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    t
}

/// A v2 Hello as a router sends it: [`v2_group_state`] and a text authentication TLV
/// ("cisco").
pub fn v2_hello(ip_version: u8) -> Vec<u8> {
    let mut t = v2_group_state(ip_version);
    t.extend_from_slice(&[3, 8]);
    t.extend_from_slice(b"cisco\0\0\0");
    t
}

/// A MAC address written `02:00:00:00:0a:02` (as `ip link` and sysfs show it).
pub fn parse_mac(s: &str) -> Option<[u8; 6]> {
    let bytes: Vec<u8> = s
        .trim()
        .split(':')
        .map(|b| u8::from_str_radix(b, 16).ok())
        .collect::<Option<_>>()?;
    bytes.try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checksum::{ipv4_csum_ok, l4v6_csum_ok};

    #[test]
    fn ipv4_udp_has_correct_header_and_udp_checksums() {
        let src = Ipv4Addr::new(192, 0, 2, 1);
        let dst = Ipv4Addr::new(224, 0, 0, 2);
        let f = ipv4(
            [1; 6],
            [2; 6],
            src,
            dst,
            1,
            PROTO_UDP,
            &udp(1985, 1985, &V1_HELLO),
        );
        assert_eq!(&f[..6], &[1; 6], "destination MAC first");
        assert_eq!(&f[6..12], &[2; 6]);
        assert_eq!(&f[26..30], &src.octets(), "source address first");
        assert_eq!(&f[30..34], &dst.octets());
        assert_eq!((f[22], f[23]), (1, PROTO_UDP), "TTL, then the protocol");
        assert!(ipv4_csum_ok(&f[14..]));
        let udp = &f[34..];
        let sum = crate::checksum::sum16(&src.octets())
            + crate::checksum::sum16(&dst.octets())
            + u32::from(PROTO_UDP)
            + udp.len() as u32
            + crate::checksum::sum16(udp);
        assert_eq!(crate::checksum::fold(sum), 0xffff, "UDP checksum");
    }

    #[test]
    fn ipv6_fills_in_the_icmpv6_and_udp_checksums() {
        let src: Ipv6Addr = "fe80::1".parse().unwrap();
        let dst: Ipv6Addr = "ff02::66".parse().unwrap();
        let u = ipv6(
            [1; 6],
            [2; 6],
            src,
            dst,
            255,
            PROTO_UDP,
            &udp(2029, 2029, &[1, 2, 3]),
        );
        assert!(l4v6_csum_ok(&u[14..]));
        assert_eq!((u[20], u[21]), (PROTO_UDP, 255));
        let n = ns([2; 6], src, "2001:db8::1".parse().unwrap());
        assert!(l4v6_csum_ok(&n[14..]));
        assert_eq!(
            &n[..6],
            &[0x33, 0x33, 0xff, 0, 0, 1],
            "to the solicited-node MAC"
        );
    }

    #[test]
    fn icmp4_echo_checksums_to_zero() {
        let m = icmp4_echo(1, 1, b"abcdefgh");
        assert_eq!(crate::checksum::fold(crate::checksum::sum16(&m)), 0xffff);
    }

    #[test]
    fn macs_parse_as_sysfs_writes_them() {
        assert_eq!(
            parse_mac("02:00:00:00:0a:02\n"),
            Some([2, 0, 0, 0, 0x0a, 2])
        );
        assert_eq!(parse_mac("02:00:00"), None);
        assert_eq!(parse_mac("zz:00:00:00:00:00"), None);
    }
}
