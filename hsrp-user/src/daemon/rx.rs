//! The receive side's framing: from an Ethernet frame (as the packet socket hands it over)
//! to the HSRP UDP payload and the sender's addresses. The kernel filter already let only
//! HSRP through; this still checks every length, because a frame is untrusted input.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::proto::MacAddr;
use crate::wire::{PORT_V4, PORT_V6};

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
}

const ETH_LEN: usize = 14;
const UDP_LEN: usize = 8;

/// Parses Ethernet + IPv4/IPv6 + UDP (ports 1985 / 2029), with no IPv6 extension headers
/// (HSRP never carries any).
pub fn parse(frame: &[u8]) -> Result<Datagram<'_>, FrameError> {
    if frame.len() < ETH_LEN {
        return Err(FrameError::Truncated(frame.len()));
    }
    let mut src_mac = [0u8; 6];
    src_mac.copy_from_slice(&frame[6..12]);
    let ethertype = u16::from_be_bytes([frame[12], frame[13]]);
    let ip = &frame[ETH_LEN..];
    let (src_ip, udp, port) = match ethertype {
        0x0800 => {
            if ip.len() < 20 || ip[0] >> 4 != 4 {
                return Err(FrameError::Truncated(frame.len()));
            }
            let ihl = usize::from(ip[0] & 0x0f) * 4;
            let total = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
            if ihl < 20 || total < ihl || total > ip.len() {
                return Err(FrameError::BadLength(total));
            }
            if u16::from_be_bytes([ip[6], ip[7]]) & 0x3fff != 0 {
                return Err(FrameError::Fragment);
            }
            if ip[9] != 17 {
                return Err(FrameError::NotUdp(ip[9]));
            }
            let src = Ipv4Addr::new(ip[12], ip[13], ip[14], ip[15]);
            (IpAddr::V4(src), &ip[ihl..total], PORT_V4)
        }
        0x86dd => {
            if ip.len() < 40 || ip[0] >> 4 != 6 {
                return Err(FrameError::Truncated(frame.len()));
            }
            let plen = usize::from(u16::from_be_bytes([ip[4], ip[5]]));
            if 40 + plen > ip.len() {
                return Err(FrameError::BadLength(plen));
            }
            if ip[6] != 17 {
                return Err(FrameError::NotUdp(ip[6]));
            }
            let mut src = [0u8; 16];
            src.copy_from_slice(&ip[8..24]);
            (IpAddr::V6(Ipv6Addr::from(src)), &ip[40..40 + plen], PORT_V6)
        }
        other => return Err(FrameError::NotIp(other)),
    };
    if udp.len() < UDP_LEN {
        return Err(FrameError::Truncated(frame.len()));
    }
    let dst_port = u16::from_be_bytes([udp[2], udp[3]]);
    if dst_port != port {
        return Err(FrameError::NotHsrp(dst_port));
    }
    let udp_len = usize::from(u16::from_be_bytes([udp[4], udp[5]]));
    if udp_len < UDP_LEN || udp_len > udp.len() {
        return Err(FrameError::BadLength(udp_len));
    }
    Ok(Datagram {
        src_mac: MacAddr(src_mac),
        src_ip,
        payload: &udp[UDP_LEN..udp_len],
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
}
