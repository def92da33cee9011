//! The frames the benchmark sends and times.

use std::net::{Ipv4Addr, Ipv6Addr};

use super::*;

pub fn csum(data: &[u8]) -> u16 {
    let mut s: u32 = data
        .chunks(2)
        .map(|c| u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]) as u32)
        .sum();
    while s > 0xffff {
        s = (s & 0xffff) + (s >> 16);
    }
    !(s as u16)
}

pub fn eth(dst: [u8; 6], src: [u8; 6], ty: u16) -> Vec<u8> {
    [&dst[..], &src[..], &ty.to_be_bytes()[..]].concat()
}

pub fn ipv4(
    dmac: [u8; 6],
    smac: [u8; 6],
    src: Ipv4Addr,
    dst: Ipv4Addr,
    ttl: u8,
    proto: u8,
    l4: &[u8],
) -> Vec<u8> {
    let mut ip = vec![0x45, 0];
    ip.extend_from_slice(&((20 + l4.len()) as u16).to_be_bytes());
    ip.extend_from_slice(&[0, 1, 0x40, 0, ttl, proto, 0, 0]);
    ip.extend_from_slice(&src.octets());
    ip.extend_from_slice(&dst.octets());
    let c = csum(&ip);
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    [eth(dmac, smac, 0x0800), ip, l4.to_vec()].concat()
}

pub fn ipv6(
    dmac: [u8; 6],
    smac: [u8; 6],
    src: Ipv6Addr,
    dst: Ipv6Addr,
    hop: u8,
    next: u8,
    l4: &[u8],
) -> Vec<u8> {
    let mut ip = vec![0x60, 0, 0, 0];
    ip.extend_from_slice(&(l4.len() as u16).to_be_bytes());
    ip.extend_from_slice(&[next, hop]);
    ip.extend_from_slice(&src.octets());
    ip.extend_from_slice(&dst.octets());
    let mut l4 = l4.to_vec();
    if next == 58 {
        let pseudo = [
            &src.octets()[..],
            &dst.octets()[..],
            &(l4.len() as u32).to_be_bytes()[..],
            &[0, 0, 0, 58][..],
            &l4[..],
        ]
        .concat();
        let c = csum(&pseudo);
        l4[2..4].copy_from_slice(&c.to_be_bytes());
    }
    [eth(dmac, smac, 0x86dd), ip, l4].concat()
}

pub fn udp(sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let len = (8 + payload.len()) as u16;
    [
        &sport.to_be_bytes()[..],
        &dport.to_be_bytes()[..],
        &len.to_be_bytes()[..],
        &[0, 0][..],
        payload,
    ]
    .concat()
}

pub fn v4key(a: Ipv4Addr) -> [u8; 16] {
    let mut k = [0; 16];
    k[..4].copy_from_slice(&a.octets());
    k
}

/// A v2 Hello (Group State TLV) for 10.0.1.1, the payload of the control rows.
pub fn v2_hello() -> Vec<u8> {
    let mut v2 = vec![1, 40, 2, 0, 6, 4, 0, 1, 0xaa, 0xbb, 0xcc, 0, 0x0a, 0];
    v2.extend_from_slice(&100u32.to_be_bytes());
    v2.extend_from_slice(&3000u32.to_be_bytes());
    v2.extend_from_slice(&10000u32.to_be_bytes());
    v2.extend_from_slice(&[10, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    v2
}

/// An HSRPv2 control frame to 224.0.0.102 with `payload`.
pub fn control_frame(payload: &[u8]) -> Vec<u8> {
    ipv4(
        [1, 0, 0x5e, 0, 0, 0x66],
        HOST_MAC,
        HOST4,
        Ipv4Addr::new(224, 0, 0, 102),
        1,
        17,
        &udp(1985, 1985, payload),
    )
}

/// A v2 Hello whose Group State TLV has the wrong length (dropped as malformed).
pub fn malformed_hello() -> Vec<u8> {
    let mut bad = v2_hello();
    bad[1] = 39;
    bad
}
