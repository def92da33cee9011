//! The receive side's framing: from an Ethernet frame (as the packet socket hands it over)
//! to the HSRP UDP payload and the sender's addresses ([`parse`]), or to a Router
//! Solicitation the IPv6 Actives answer ([`parse_frame`]). The kernel filter already let
//! only these through; this still checks every length, because a frame is untrusted input.
//! [`ip_udp`], the IPv4/IPv6 + UDP view under both, also reads captures (`decode`), whose
//! snap length may cut a datagram short ([`Lengths::Clamp`]).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::rs::{RsPacket, RsRepr, ICMPV6_ROUTER_SOLICITATION};
use super::{PORT_V4, PORT_V6};
use crate::proto::MacAddr;

/// An HSRP datagram as received.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Datagram<'a> {
    pub src_mac: MacAddr,
    /// The sender's interface address (IPv6: its link-local): the election's tie-breaker.
    pub src_ip: IpAddr,
    pub payload: &'a [u8],
}

/// Why a frame is not an HSRP datagram (logged at debug level, counted).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("frame too short ({0} bytes) for its headers")]
    Truncated(usize),
    #[error("not IPv4/IPv6 (ethertype {0:#06x})")]
    NotIp(u16),
    #[error("not UDP (protocol {0})")]
    NotUdp(u8),
    #[error("IPv4 fragment")]
    Fragment,
    #[error("UDP port {0} is not HSRP")]
    NotHsrp(u16),
    #[error("bad length field {0}")]
    BadLength(usize),
    #[error("ICMPv6 type {0} is not a Router Solicitation")]
    NotSolicitation(u8),
    #[error("invalid Router Solicitation: {0}")]
    BadSolicitation(&'static str),
    #[error("malformed Router Solicitation: {0}")]
    MalformedSolicitation(super::Error),
}

/// A Router Solicitation as received, valid by RFC 4861 §6.1.1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Solicitation {
    pub src_mac: MacAddr,
    /// The host's address, or :: (a host that has none yet).
    pub src_ip: Ipv6Addr,
    /// The Source Link-Layer Address option, if the host sent one.
    pub source_mac: Option<MacAddr>,
}

/// What a received frame is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Frame<'a> {
    Hsrp(Datagram<'a>),
    RouterSolicitation(Solicitation),
}

const ETH_LEN: usize = 14;
const UDP_LEN: usize = 8;
const IPV6_LEN: usize = 40;
const IPPROTO_ICMPV6: u8 = 58;

/// An HSRP datagram ([`parse`]) or a Router Solicitation (ICMPv6 type 133 right after the
/// fixed IPv6 header: no extension headers, as the socket filter also assumes).
pub fn parse_frame(frame: &[u8]) -> Result<Frame<'_>, FrameError> {
    match parse(frame) {
        Ok(d) => Ok(Frame::Hsrp(d)),
        Err(FrameError::NotUdp(IPPROTO_ICMPV6)) if is_ipv6(frame) => {
            solicitation(frame).map(Frame::RouterSolicitation)
        }
        Err(e) => Err(e),
    }
}

fn is_ipv6(frame: &[u8]) -> bool {
    frame.get(12..14) == Some(&[0x86, 0xdd][..])
}

/// The RFC 4861 §6.1.1 checks of a Router Solicitation: hop limit 255, ICMPv6 checksum,
/// code 0, length ≥ 8, options well formed, no Source Link-Layer Address from ::. The
/// source must not be multicast (RFC 4861 §4.1: an address of the sender, or ::).
fn solicitation(frame: &[u8]) -> Result<Solicitation, FrameError> {
    let ip = frame
        .get(ETH_LEN..)
        .filter(|ip| ip.len() >= IPV6_LEN && ip[0] >> 4 == 6 && ip[6] == IPPROTO_ICMPV6)
        .ok_or(FrameError::Truncated(frame.len()))?;
    let plen = usize::from(u16::from_be_bytes([ip[4], ip[5]]));
    if IPV6_LEN + plen > ip.len() {
        return Err(FrameError::BadLength(plen));
    }
    let icmp = &ip[IPV6_LEN..IPV6_LEN + plen];
    if let Some(&t) = icmp.first().filter(|&&t| t != ICMPV6_ROUTER_SOLICITATION) {
        return Err(FrameError::NotSolicitation(t));
    }
    if ip[7] != 255 {
        return Err(FrameError::BadSolicitation("hop limit is not 255"));
    }
    let addr = |at: usize| {
        let mut a = [0u8; 16];
        a.copy_from_slice(&ip[at..at + 16]);
        Ipv6Addr::from(a)
    };
    let (src, dst) = (addr(8), addr(24));
    if src.is_multicast() {
        return Err(FrameError::BadSolicitation("multicast source address"));
    }
    let p = RsPacket::new_checked(icmp).map_err(FrameError::MalformedSolicitation)?;
    if !p.checksum_ok(src, dst) {
        return Err(FrameError::BadSolicitation("bad ICMPv6 checksum"));
    }
    let rs = RsRepr::parse(&p).map_err(FrameError::MalformedSolicitation)?;
    if !rs.valid_from(src) {
        return Err(FrameError::BadSolicitation(
            "source link-layer address option from ::",
        ));
    }
    let mut src_mac = [0u8; 6];
    src_mac.copy_from_slice(&frame[6..12]);
    Ok(Solicitation {
        src_mac: MacAddr(src_mac),
        src_ip: src,
        source_mac: rs.source_mac,
    })
}

/// Parses Ethernet + IPv4/IPv6 + UDP (ports 1985 / 2029), with no IPv6 extension headers
/// (HSRP never carries any).
pub fn parse(frame: &[u8]) -> Result<Datagram<'_>, FrameError> {
    let truncated = FrameError::Truncated(frame.len());
    if frame.len() < ETH_LEN {
        return Err(truncated);
    }
    let mut src_mac = [0u8; 6];
    src_mac.copy_from_slice(&frame[6..12]);
    let ethertype = u16::from_be_bytes([frame[12], frame[13]]);
    let d = ip_udp(ethertype, &frame[ETH_LEN..], Lengths::Reject).map_err(|e| match e {
        FrameError::Truncated(_) => truncated,
        e => e,
    })?;
    let port = if d.src_ip.is_ipv6() { PORT_V6 } else { PORT_V4 };
    if d.dst_port != port {
        return Err(FrameError::NotHsrp(d.dst_port));
    }
    Ok(Datagram {
        src_mac: MacAddr(src_mac),
        src_ip: d.src_ip,
        payload: d.payload,
    })
}

/// What a length field larger than the bytes at hand means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lengths {
    /// A malformed frame (`FrameError::BadLength`): what a socket hands over is whole.
    Reject,
    /// The bytes were cut (a capture's snap length): take what there is.
    Clamp,
}

/// The IP and UDP headers of a received datagram, checked, and its payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpUdp<'a> {
    pub src_ip: IpAddr,
    pub dst_ip: IpAddr,
    /// TTL or hop limit.
    pub ttl: u8,
    pub src_port: u16,
    pub dst_port: u16,
    /// The UDP payload, bounded by the UDP length.
    pub payload: &'a [u8],
}

/// Parses IPv4 (`ethertype` 0x0800, whole datagrams only) or IPv6 (0x86dd, no extension
/// headers) and UDP from `ip`, the bytes after the link-layer header.
pub fn ip_udp(ethertype: u16, ip: &[u8], lengths: Lengths) -> Result<IpUdp<'_>, FrameError> {
    let within = |end: usize, err: FrameError| match lengths {
        _ if end <= ip.len() => Ok(end),
        Lengths::Clamp => Ok(ip.len()),
        Lengths::Reject => Err(err),
    };
    let (src_ip, dst_ip, ttl, udp) = match ethertype {
        0x0800 => {
            if ip.len() < 20 || ip[0] >> 4 != 4 {
                return Err(FrameError::Truncated(ip.len()));
            }
            let ihl = usize::from(ip[0] & 0x0f) * 4;
            let total = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
            let end = within(total, FrameError::BadLength(total))?;
            if ihl < 20 || end < ihl {
                return Err(FrameError::BadLength(total));
            }
            if u16::from_be_bytes([ip[6], ip[7]]) & 0x3fff != 0 {
                return Err(FrameError::Fragment);
            }
            if ip[9] != 17 {
                return Err(FrameError::NotUdp(ip[9]));
            }
            let addr =
                |at: usize| IpAddr::V4(Ipv4Addr::new(ip[at], ip[at + 1], ip[at + 2], ip[at + 3]));
            (addr(12), addr(16), ip[8], &ip[ihl..end])
        }
        0x86dd => {
            if ip.len() < IPV6_LEN || ip[0] >> 4 != 6 {
                return Err(FrameError::Truncated(ip.len()));
            }
            let plen = usize::from(u16::from_be_bytes([ip[4], ip[5]]));
            let end = within(IPV6_LEN + plen, FrameError::BadLength(plen))?;
            if ip[6] != 17 {
                return Err(FrameError::NotUdp(ip[6]));
            }
            let addr = |at: usize| {
                let mut a = [0u8; 16];
                a.copy_from_slice(&ip[at..at + 16]);
                IpAddr::V6(Ipv6Addr::from(a))
            };
            (addr(8), addr(24), ip[7], &ip[IPV6_LEN..end])
        }
        other => return Err(FrameError::NotIp(other)),
    };
    if udp.len() < UDP_LEN {
        return Err(FrameError::Truncated(ip.len()));
    }
    let port = |at: usize| u16::from_be_bytes([udp[at], udp[at + 1]]);
    let udp_len = usize::from(port(4));
    let udp_end = match lengths {
        Lengths::Reject if udp_len < UDP_LEN || udp_len > udp.len() => {
            return Err(FrameError::BadLength(udp_len))
        }
        Lengths::Reject => udp_len,
        Lengths::Clamp => udp_len.clamp(UDP_LEN, udp.len()),
    };
    Ok(IpUdp {
        src_ip,
        dst_ip,
        ttl,
        src_port: port(0),
        dst_port: port(2),
        payload: &udp[UDP_LEN..udp_end],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::hsrp_frame;

    const HELLO: [u8; 20] = [
        0x00, 0x00, 0x10, 0x03, 0x0a, 0x64, 0x01, 0x00, 0x63, 0x69, 0x73, 0x63, 0x6f, 0x00, 0x00,
        0x00, 0xc0, 0xa8, 0x00, 0x01,
    ];

    #[test]
    fn lengths_beyond_the_bytes_are_rejected_from_a_socket_and_cut_from_a_capture() {
        let mut frame = [0u8; 128];
        let n = hsrp_frame(
            MacAddr([2, 0, 0, 0, 0, 1]),
            "10.0.0.2".parse().unwrap(),
            &HELLO,
            &mut frame,
        )
        .unwrap();
        // A capture cut 4 bytes into the payload (snap length).
        let cut = &frame[ETH_LEN..n - 16];
        assert_eq!(
            ip_udp(0x0800, cut, Lengths::Reject),
            Err(FrameError::BadLength(20 + 8 + 20))
        );
        let d = ip_udp(0x0800, cut, Lengths::Clamp).unwrap();
        assert_eq!(d.payload, &HELLO[..4]);
        assert_eq!((d.src_port, d.dst_port, d.ttl), (PORT_V4, PORT_V4, 1));
        assert_eq!(d.dst_ip, "224.0.0.2".parse::<IpAddr>().unwrap());
        // Whole, both read the same.
        let whole = &frame[ETH_LEN..n];
        assert_eq!(
            ip_udp(0x0800, whole, Lengths::Reject),
            ip_udp(0x0800, whole, Lengths::Clamp)
        );
        assert_eq!(
            ip_udp(0x0800, whole, Lengths::Reject).unwrap().payload,
            HELLO
        );
    }

    #[test]
    fn round_trips_the_frames_hsrpd_builds() {
        let mac = MacAddr([0, 0, 0x0c, 7, 0xac, 1]);
        let mut buf = [0u8; 200];
        for src in ["192.168.0.2", "fe80::1"] {
            let src: IpAddr = src.parse().unwrap();
            let mut payload = HELLO;
            if src.is_ipv6() {
                payload[0] = 1; // v2 starts with a TLV type; v1 has no IPv6 transport
            }
            let n = hsrp_frame(mac, src, &payload, &mut buf).unwrap();
            let d = parse(&buf[..n]).unwrap();
            assert_eq!(d.src_mac, mac);
            assert_eq!(d.src_ip, src);
            assert_eq!(d.payload, &payload[..]);
        }
    }

    #[test]
    fn rejects_short_and_foreign_frames_without_panicking() {
        let mut buf = [0u8; 200];
        let n = hsrp_frame(
            MacAddr::default(),
            "10.0.0.1".parse().unwrap(),
            &HELLO,
            &mut buf,
        )
        .unwrap();
        for cut in 0..n - HELLO.len() {
            assert!(parse(&buf[..cut]).is_err(), "cut at {cut}");
        }
        let mut other = buf;
        other[12] = 0x08;
        other[13] = 0x06;
        assert_eq!(parse(&other[..n]), Err(FrameError::NotIp(0x0806)));
        let mut port = buf;
        port[14 + 20 + 3] = 53;
        assert_eq!(
            parse(&port[..n]),
            Err(FrameError::NotHsrp(0x07c1 & 0xff00 | 53))
        );
    }

    /// An RS frame from `src` (with an SLLA unless `src` is ::), as a host sends it.
    fn rs_frame(src: &str) -> Vec<u8> {
        let src: Ipv6Addr = src.parse().unwrap();
        let rs = RsRepr {
            source_mac: (!src.is_unspecified()).then_some(HOST),
        };
        let mut buf = [0u8; 100];
        let n = crate::wire::router_solicitation(HOST, src, &rs, &mut buf).unwrap();
        buf[..n].to_vec()
    }

    const HOST: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 0x42]);

    /// Rewrites the ICMPv6 checksum after a test changed the message.
    fn fix_checksum(f: &mut [u8]) {
        f[56..58].fill(0);
        let addr = |at: usize| {
            let a: [u8; 16] = f[at..at + 16].try_into().unwrap();
            IpAddr::V6(Ipv6Addr::from(a))
        };
        let c = crate::wire::frame::pseudo_checksum(addr(22), addr(38), 58, &f[54..]);
        f[56..58].copy_from_slice(&c.to_be_bytes());
    }

    #[test]
    fn router_solicitations_are_told_apart_from_hsrp() {
        let f = rs_frame("fe80::42");
        assert_eq!(
            parse_frame(&f),
            Ok(Frame::RouterSolicitation(Solicitation {
                src_mac: HOST,
                src_ip: "fe80::42".parse().unwrap(),
                source_mac: Some(HOST),
            }))
        );
        let f = rs_frame("::");
        assert_eq!(
            parse_frame(&f),
            Ok(Frame::RouterSolicitation(Solicitation {
                src_mac: HOST,
                src_ip: Ipv6Addr::UNSPECIFIED,
                source_mac: None,
            }))
        );
        // Unknown options are skipped.
        let mut f = rs_frame("fe80::42");
        f.extend_from_slice(&[14, 1, 1, 2, 3, 4, 5, 6]);
        f[18..20].copy_from_slice(&24u16.to_be_bytes());
        fix_checksum(&mut f);
        assert!(matches!(parse_frame(&f), Ok(Frame::RouterSolicitation(_))));
        // HSRP still comes out as HSRP.
        let mut buf = [0u8; 200];
        let mut hello = HELLO;
        hello[0] = 1;
        let n = hsrp_frame(HOST, "fe80::1".parse().unwrap(), &hello, &mut buf).unwrap();
        assert!(matches!(parse_frame(&buf[..n]), Ok(Frame::Hsrp(_))));
    }

    #[test]
    fn invalid_router_solicitations_are_rejected_per_rfc_4861() {
        let good = rs_frame("fe80::42");
        let bad = |name: &str, f: &[u8], want: FrameError| {
            assert_eq!(parse_frame(f), Err(want), "{name}");
        };
        let mut hop = good.clone();
        hop[14 + 7] = 254;
        bad(
            "hop limit 254",
            &hop,
            FrameError::BadSolicitation("hop limit is not 255"),
        );
        let mut sum = good.clone();
        sum[57] ^= 0xff;
        bad(
            "checksum",
            &sum,
            FrameError::BadSolicitation("bad ICMPv6 checksum"),
        );
        let mut code = good.clone();
        code[55] = 1;
        fix_checksum(&mut code);
        assert!(
            matches!(
                parse_frame(&code),
                Err(FrameError::MalformedSolicitation(_))
            ),
            "code 1"
        );
        // From :: with an SLLA: take the good frame's ICMPv6 message, change the source.
        let mut unspec = good.clone();
        unspec[22..38].fill(0);
        fix_checksum(&mut unspec);
        bad(
            "SLLA from ::",
            &unspec,
            FrameError::BadSolicitation("source link-layer address option from ::"),
        );
        let mut mcast = good.clone();
        mcast[22] = 0xff;
        fix_checksum(&mut mcast);
        bad(
            "multicast source",
            &mcast,
            FrameError::BadSolicitation("multicast source address"),
        );
        // A zero-length option.
        let mut zero = good.clone();
        zero[14 + 40 + 9] = 0;
        fix_checksum(&mut zero);
        assert!(matches!(
            parse_frame(&zero),
            Err(FrameError::MalformedSolicitation(_))
        ));
        // Another ICMPv6 message (echo request) is not a solicitation.
        let mut echo = good.clone();
        echo[54] = 128;
        fix_checksum(&mut echo);
        bad("echo", &echo, FrameError::NotSolicitation(128));
        // ICMPv6 shorter than 8 bytes: payload length 4.
        let mut short = good.clone();
        short[18..20].copy_from_slice(&4u16.to_be_bytes());
        assert!(matches!(
            parse_frame(&short),
            Err(FrameError::MalformedSolicitation(
                crate::wire::Error::Truncated { .. }
            ))
        ));
        // A payload length beyond the frame.
        let mut long = good.clone();
        long[18..20].copy_from_slice(&200u16.to_be_bytes());
        bad("payload length", &long, FrameError::BadLength(200));
        // Every cut and every byte value: errors or values, never a panic.
        for cut in 0..good.len() {
            assert!(parse_frame(&good[..cut]).is_err(), "cut at {cut}");
        }
        for i in 0..good.len() {
            for v in [0u8, 1, 0x3a, 0x85, 0xff] {
                let mut f = good.clone();
                f[i] = v;
                let _ = parse_frame(&f);
            }
        }
    }
}
