//! The complete Ethernet frames hsrpd sends: HSRP over IPv4/IPv6 UDP, gratuitous ARP, and
//! the IPv6 unsolicited Neighbor Advertisement. Each builder writes from the Ethernet header
//! on and returns the frame length; checksums are computed.
//!
//! HSRPv2 over IPv4 is sent with TTL 255, like most IOS platforms (IOL uses 1; receivers
//! accept both). 255 is also what GLBP, which shares 224.0.0.102, expects, so Wireshark raises
//! no expert note on our hellos. v1 uses TTL 1 and IPv6 hop limit 255, as Cisco does.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::{check_room, Error, PORT_V4, PORT_V6};
use crate::proto::MacAddr;

pub const ETH_HEADER_LEN: usize = 14;
pub const IPV4_HEADER_LEN: usize = 20;
pub const IPV6_HEADER_LEN: usize = 40;
pub const UDP_HEADER_LEN: usize = 8;
pub const ETHERTYPE_IPV4: u16 = 0x0800;
pub const ETHERTYPE_IPV6: u16 = 0x86dd;
pub const ETHERTYPE_ARP: u16 = 0x0806;
/// Shortest Ethernet frame without FCS; IOS pads ARP to it, so do we.
pub const ETH_MIN_FRAME: usize = 60;

pub const V1_GROUP: Ipv4Addr = Ipv4Addr::from_octets(hsrp_ebpf::proto::GROUP_V1);
pub const V2_GROUP_V4: Ipv4Addr = Ipv4Addr::from_octets(hsrp_ebpf::proto::GROUP_V2_V4);
pub const V2_GROUP_V6: Ipv6Addr = Ipv6Addr::from_octets(hsrp_ebpf::proto::GROUP_V2_V6);
pub const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);

pub const TTL_V1: u8 = 1;
/// See the module documentation for why 255.
pub const TTL_V2_IPV4: u8 = 255;
pub const HOP_LIMIT_V6: u8 = 255;
/// Internetwork control (precedence 6), as Cisco sends.
pub const TOS_V4: u8 = 0xc0;
pub const TRAFFIC_CLASS_V6: u8 = 0xe0;

const IPPROTO_UDP: u8 = 17;
const IPPROTO_ICMPV6: u8 = 58;

/// The multicast MAC of an IPv4 group address.
pub fn ipv4_multicast_mac(a: Ipv4Addr) -> MacAddr {
    let o = a.octets();
    MacAddr([0x01, 0x00, 0x5e, o[1] & 0x7f, o[2], o[3]])
}

/// The multicast MAC of an IPv6 multicast address.
pub fn ipv6_multicast_mac(a: Ipv6Addr) -> MacAddr {
    let o = a.octets();
    MacAddr([0x33, 0x33, o[12], o[13], o[14], o[15]])
}

/// The Internet checksum's one's-complement sum of `data`, added to `acc`.
fn sum16(mut acc: u32, data: &[u8]) -> u32 {
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        acc += u16::from_be_bytes([c[0], c[1]]) as u32;
    }
    if let [last] = chunks.remainder() {
        acc += (*last as u32) << 8;
    }
    acc
}

fn fold(mut acc: u32) -> u16 {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    !(acc as u16)
}

/// The Internet checksum of `data` (RFC 1071), as ICMPv4 uses it: no pseudo-header.
pub(crate) fn internet_checksum(data: &[u8]) -> u16 {
    fold(sum16(0, data))
}

/// The checksum over a pseudo-header (addresses, protocol, length) and an upper-layer
/// packet whose checksum field is zero.
pub(crate) fn pseudo_checksum(src: IpAddr, dst: IpAddr, proto: u8, upper: &[u8]) -> u16 {
    let mut acc = match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => sum16(sum16(0, &s.octets()), &d.octets()),
        (IpAddr::V6(s), IpAddr::V6(d)) => sum16(sum16(0, &s.octets()), &d.octets()),
        _ => 0, // unreachable by construction: both addresses come from one family
    };
    acc += proto as u32 + upper.len() as u32;
    fold(sum16(acc, upper))
}

pub(super) fn write_ethernet(buf: &mut [u8], dst: MacAddr, src: MacAddr, ethertype: u16) {
    buf[0..6].copy_from_slice(&dst.0);
    buf[6..12].copy_from_slice(&src.0);
    buf[12..14].copy_from_slice(&ethertype.to_be_bytes());
}

/// IPv4 header without options, DF clear, id 0 (as IOS sends HSRP), checksum computed.
fn write_ipv4(buf: &mut [u8], src: Ipv4Addr, dst: Ipv4Addr, ttl: u8, payload_len: usize) {
    let total = (IPV4_HEADER_LEN + payload_len) as u16;
    let h = &mut buf[..IPV4_HEADER_LEN];
    h[0] = 0x45;
    h[1] = TOS_V4;
    h[2..4].copy_from_slice(&total.to_be_bytes());
    h[4..8].fill(0); // id, flags, fragment offset
    h[8] = ttl;
    h[9] = IPPROTO_UDP;
    h[10..12].fill(0);
    h[12..16].copy_from_slice(&src.octets());
    h[16..20].copy_from_slice(&dst.octets());
    let c = fold(sum16(0, h));
    h[10..12].copy_from_slice(&c.to_be_bytes());
}

pub(super) fn write_ipv6(
    buf: &mut [u8],
    src: Ipv6Addr,
    dst: Ipv6Addr,
    next: u8,
    payload_len: usize,
) {
    let h = &mut buf[..IPV6_HEADER_LEN];
    // version 6, traffic class, flow label 0
    let vtf: u32 = (6 << 28) | ((TRAFFIC_CLASS_V6 as u32) << 20);
    h[0..4].copy_from_slice(&vtf.to_be_bytes());
    h[4..6].copy_from_slice(&(payload_len as u16).to_be_bytes());
    h[6] = next;
    h[7] = HOP_LIMIT_V6;
    h[8..24].copy_from_slice(&src.octets());
    h[24..40].copy_from_slice(&dst.octets());
}

/// The complete frame carrying an HSRP payload. The version comes from the payload's first
/// byte (0 = v1); v1 goes to 224.0.0.2 with TTL 1, v2 to 224.0.0.102 with TTL 255 or, from an
/// IPv6 source, to ff02::66 port 2029 with hop limit 255. `src_mac` is the vMAC when the sender
/// is Active (docs/protocol.md §1), else the interface MAC.
pub fn hsrp_frame(
    src_mac: MacAddr,
    src_ip: IpAddr,
    payload: &[u8],
    buf: &mut [u8],
) -> Result<usize, Error> {
    super::check_len("HSRP payload", 0, payload, 1)?;
    let v1 = payload[0] == 0;
    let udp_len = UDP_HEADER_LEN + payload.len();
    let (ip_len, dst_ip, port) = match src_ip {
        IpAddr::V4(_) if v1 => (IPV4_HEADER_LEN, IpAddr::V4(V1_GROUP), PORT_V4),
        IpAddr::V4(_) => (IPV4_HEADER_LEN, IpAddr::V4(V2_GROUP_V4), PORT_V4),
        IpAddr::V6(_) if v1 => {
            return Err(Error::Unencodable {
                what: "HSRPv1 frame",
                why: "v1 has no IPv6 transport",
            })
        }
        IpAddr::V6(_) => (IPV6_HEADER_LEN, IpAddr::V6(V2_GROUP_V6), PORT_V6),
    };
    if udp_len > u16::MAX as usize - ip_len {
        return Err(Error::Unencodable {
            what: "HSRP frame",
            why: "payload too long for one datagram",
        });
    }
    let total = ETH_HEADER_LEN + ip_len + udp_len;
    check_room(buf, total)?;
    let buf = &mut buf[..total];

    let udp_at = ETH_HEADER_LEN + ip_len;
    {
        let udp = &mut buf[udp_at..];
        udp[0..2].copy_from_slice(&port.to_be_bytes());
        udp[2..4].copy_from_slice(&port.to_be_bytes());
        udp[4..6].copy_from_slice(&(udp_len as u16).to_be_bytes());
        udp[6..8].fill(0);
        udp[8..].copy_from_slice(payload);
        let mut c = pseudo_checksum(src_ip, dst_ip, IPPROTO_UDP, udp);
        if c == 0 {
            c = 0xffff; // 0 means "no checksum" in UDP
        }
        udp[6..8].copy_from_slice(&c.to_be_bytes());
    }
    match (src_ip, dst_ip) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            write_ethernet(buf, ipv4_multicast_mac(d), src_mac, ETHERTYPE_IPV4);
            let ttl = if v1 { TTL_V1 } else { TTL_V2_IPV4 };
            write_ipv4(&mut buf[ETH_HEADER_LEN..], s, d, ttl, udp_len);
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            write_ethernet(buf, ipv6_multicast_mac(d), src_mac, ETHERTYPE_IPV6);
            write_ipv6(&mut buf[ETH_HEADER_LEN..], s, d, IPPROTO_UDP, udp_len);
        }
        // dst_ip was chosen from src_ip's family above, so this arm is never taken.
        _ => {
            return Err(Error::Unencodable {
                what: "HSRP frame",
                why: "mixed address families",
            })
        }
    }
    Ok(total)
}

/// A gratuitous ARP as Cisco sends it on becoming Active: an ARP *reply* from the vMAC with
/// sender = target = (vMAC, VIP), to `dst_mac` (broadcast, then 01:00:0c:cd:cd:cd), padded
/// to the 60-byte Ethernet minimum.
pub fn gratuitous_arp(
    vmac: MacAddr,
    vip: Ipv4Addr,
    dst_mac: MacAddr,
    buf: &mut [u8],
) -> Result<usize, Error> {
    check_room(buf, ETH_MIN_FRAME)?;
    let buf = &mut buf[..ETH_MIN_FRAME];
    write_ethernet(buf, dst_mac, vmac, ETHERTYPE_ARP);
    let a = &mut buf[ETH_HEADER_LEN..];
    a[0..2].copy_from_slice(&1u16.to_be_bytes()); // Ethernet
    a[2..4].copy_from_slice(&ETHERTYPE_IPV4.to_be_bytes());
    a[4] = 6;
    a[5] = 4;
    a[6..8].copy_from_slice(&2u16.to_be_bytes()); // reply
    a[8..14].copy_from_slice(&vmac.0);
    a[14..18].copy_from_slice(&vip.octets());
    a[18..24].copy_from_slice(&vmac.0);
    a[24..28].copy_from_slice(&vip.octets());
    a[28..].fill(0);
    Ok(ETH_MIN_FRAME)
}

/// An ICMPv6 message in a complete frame: Ethernet from `src_mac` to the multicast MAC of
/// `dst_ip`, IPv6 from `src_ip` (hop limit 255, as neighbour discovery requires), then the
/// `icmp_len` bytes `emit` writes, whose checksum field (bytes 2..4) is computed here over
/// the pseudo-header. Returns the frame length. Every ICMPv6 frame hsrpd builds (NA, RA,
/// and the RS of the tests) goes to a multicast address.
pub(super) fn icmpv6_multicast_frame(
    src_mac: MacAddr,
    src_ip: Ipv6Addr,
    dst_ip: Ipv6Addr,
    icmp_len: usize,
    buf: &mut [u8],
    emit: impl FnOnce(&mut [u8]) -> Result<(), Error>,
) -> Result<usize, Error> {
    let total = ETH_HEADER_LEN + IPV6_HEADER_LEN + icmp_len;
    check_room(buf, total)?;
    let buf = &mut buf[..total];
    write_ethernet(buf, ipv6_multicast_mac(dst_ip), src_mac, ETHERTYPE_IPV6);
    write_ipv6(
        &mut buf[ETH_HEADER_LEN..],
        src_ip,
        dst_ip,
        IPPROTO_ICMPV6,
        icmp_len,
    );
    let icmp = &mut buf[ETH_HEADER_LEN + IPV6_HEADER_LEN..];
    emit(icmp)?;
    icmp[2..4].fill(0);
    let c = pseudo_checksum(IpAddr::V6(src_ip), IpAddr::V6(dst_ip), IPPROTO_ICMPV6, icmp);
    icmp[2..4].copy_from_slice(&c.to_be_bytes());
    Ok(total)
}

/// Unsolicited Neighbor Advertisement from the vMAC to all-nodes: R=1, S=0, O=1, the given
/// target (the virtual link-local or a virtual global address), Target Link-Layer Address
/// option = vMAC. `src_ip` is the IPv6 source (the virtual link-local when Active).
pub fn unsolicited_na(
    vmac: MacAddr,
    src_ip: Ipv6Addr,
    target: Ipv6Addr,
    buf: &mut [u8],
) -> Result<usize, Error> {
    const ICMP_LEN: usize = 24 + 8; // NA + TLLA option
    icmpv6_multicast_frame(vmac, src_ip, ALL_NODES, ICMP_LEN, buf, |icmp| {
        icmp[0] = 136; // Neighbor Advertisement
        icmp[1] = 0;
        icmp[4] = 0b1010_0000; // R=1 S=0 O=1
        icmp[5..8].fill(0);
        icmp[8..24].copy_from_slice(&target.octets());
        icmp[24] = 2; // Target Link-Layer Address
        icmp[25] = 1; // in units of 8 bytes
        icmp[26..32].copy_from_slice(&vmac.0);
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// john_HSRP-auth-md5-openwall.pcap frame 1 (v1 Advertise): our builder reproduces the
    /// captured frame byte for byte, checksums included.
    #[test]
    fn reproduces_captured_v1_frame() {
        let captured: [u8; 44] = [
            0x01, 0x00, 0x5e, 0x00, 0x00, 0x02, 0xca, 0x00, 0x40, 0x6b, 0x00, 0x00, 0x08, 0x00,
            0x45, 0xc0, 0x00, 0x2c, 0x00, 0x00, 0x00, 0x00, 0x01, 0x11, 0x04, 0xe5, 0xac, 0x10,
            0x28, 0x0a, 0xe0, 0x00, 0x00, 0x02, 0x07, 0xc1, 0x07, 0xc1, 0x00, 0x18, 0x3a, 0x0c,
            0x00, 0x03,
        ];
        let payload = [
            0x00, 0x03, 0x00, 0x01, 0x00, 0x0e, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00,
            0x00, 0x00,
        ];
        let mut buf = [0u8; 100];
        let n = hsrp_frame(
            MacAddr([0xca, 0x00, 0x40, 0x6b, 0x00, 0x00]),
            "172.16.40.10".parse().unwrap(),
            &payload,
            &mut buf,
        )
        .unwrap();
        assert_eq!(n, 58);
        assert_eq!(buf[..44], captured[..]);
        assert_eq!(buf[42..58], payload);
    }

    #[test]
    fn too_small_buffer_is_an_error() {
        let mut buf = [0u8; 59];
        assert!(matches!(
            gratuitous_arp(
                MacAddr::default(),
                Ipv4Addr::LOCALHOST,
                MacAddr::BROADCAST,
                &mut buf
            ),
            Err(Error::BufferTooSmall { need: 60, have: 59 })
        ));
    }
}
