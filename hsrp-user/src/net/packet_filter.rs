//! The classic BPF socket filter (SO_ATTACH_FILTER) of [`super::PacketSocket`]: it keeps
//! only HSRP control frames — UDP to port 1985 over IPv4, UDP to port 2029 over IPv6 — and
//! ICMPv6 Router Solicitations (type 133, which the Active of an IPv6 group answers), and
//! drops frames the host is sending (PACKET_OUTGOING), so the daemon never wakes for other
//! traffic. Offsets are from the start of the Ethernet header (SOCK_RAW).
//!
//! Limits, on purpose: no VLAN tag in the frame (the kernel moves it to metadata anyway), no
//! IPv6 extension headers (HSRP for IPv6 sends none; neither do the hosts' RSs as Linux,
//! Windows, macOS and the BSDs send them — an RS behind an extension header, e.g. a
//! Hop-by-Hop option, is dropped here and the host waits for the periodic RA), non-first
//! IPv4 fragments dropped. Everything else (addresses, TTL / hop limit, ICMPv6 code,
//! checksums, the payload) is the daemon's to check.

use libc::sock_filter;

use super::{HSRP_PORT_V4, HSRP_PORT_V6};

// Classic BPF opcode parts (linux/filter.h, linux/bpf_common.h).
const LD: u16 = 0x00;
const LDX: u16 = 0x01;
const JMP: u16 = 0x05;
const RET: u16 = 0x06;
const W: u16 = 0x00;
const H: u16 = 0x08;
const B: u16 = 0x10;
const ABS: u16 = 0x20;
const IND: u16 = 0x40;
const MSH: u16 = 0xa0;
const JEQ: u16 = 0x10;
const JSET: u16 = 0x40;
const K: u16 = 0x00;

/// The ancillary "load skb->pkt_type" offset (SKF_AD_OFF + SKF_AD_PKTTYPE).
const AD_PKTTYPE: u32 = (libc::SKF_AD_OFF + libc::SKF_AD_PKTTYPE) as u32;
/// Bytes of an accepted frame handed to the socket (all of it, in practice).
const ACCEPT_LEN: u32 = 0x0004_0000;

const ETHERTYPE_IPV4: u32 = 0x0800;
const ETHERTYPE_IPV6: u32 = 0x86dd;
const IPPROTO_UDP: u32 = 17;
const IPPROTO_ICMPV6: u32 = 58;
const ICMPV6_ROUTER_SOLICITATION: u32 = 133;

// Instruction indices of the two exits, for the relative jumps below.
const ACCEPT: usize = 19;
const DROP: usize = 20;

const fn stmt(code: u16, k: u32) -> sock_filter {
    sock_filter {
        code,
        jt: 0,
        jf: 0,
        k,
    }
}

/// A conditional jump at instruction `at`, to absolute instruction `t` if true, `f` if false
/// (classic BPF jumps are relative to the next instruction).
const fn jump(at: usize, code: u16, k: u32, t: usize, f: usize) -> sock_filter {
    sock_filter {
        code,
        jt: (t - at - 1) as u8,
        jf: (f - at - 1) as u8,
        k,
    }
}

/// The filter program; see the module documentation for what it accepts.
pub(crate) const HSRP_FILTER: [sock_filter; 21] = [
    /* 0 */ stmt(LD | W | ABS, AD_PKTTYPE),
    /* 1 */ jump(1, JMP | JEQ | K, libc::PACKET_OUTGOING as u32, DROP, 2),
    /* 2 */ stmt(LD | H | ABS, 12), // EtherType
    /* 3 */ jump(3, JMP | JEQ | K, ETHERTYPE_IPV4, 4, 11),
    // IPv4: UDP, first fragment, destination port at IHL*4 + 2 past the IP header.
    /* 4 */
    stmt(LD | B | ABS, 14 + 9),
    /* 5 */ jump(5, JMP | JEQ | K, IPPROTO_UDP, 6, DROP),
    /* 6 */ stmt(LD | H | ABS, 14 + 6), // flags + fragment offset
    /* 7 */ jump(7, JMP | JSET | K, 0x1fff, DROP, 8),
    /* 8 */ stmt(LDX | B | MSH, 14), // X = 4 * (IHL)
    /* 9 */ stmt(LD | H | IND, 14 + 2),
    /* 10 */ jump(10, JMP | JEQ | K, HSRP_PORT_V4 as u32, ACCEPT, DROP),
    // IPv6: next header UDP, destination port right after the fixed 40-byte header.
    /* 11 */
    jump(11, JMP | JEQ | K, ETHERTYPE_IPV6, 12, DROP),
    /* 12 */ stmt(LD | B | ABS, 14 + 6),
    /* 13 */ jump(13, JMP | JEQ | K, IPPROTO_UDP, 14, 16),
    /* 14 */ stmt(LD | H | ABS, 14 + 40 + 2),
    /* 15 */ jump(15, JMP | JEQ | K, HSRP_PORT_V6 as u32, ACCEPT, DROP),
    // Or next header ICMPv6 with type Router Solicitation right after the fixed header.
    /* 16 */
    jump(16, JMP | JEQ | K, IPPROTO_ICMPV6, 17, DROP),
    /* 17 */ stmt(LD | B | ABS, 14 + 40),
    /* 18 */ jump(18, JMP | JEQ | K, ICMPV6_ROUTER_SOLICITATION, ACCEPT, DROP),
    /* 19 */ stmt(RET | K, ACCEPT_LEN),
    /* 20 */ stmt(RET | K, 0),
];

#[cfg(test)]
mod tests {
    //! The program run through a small interpreter of the classic BPF subset it uses, so its
    //! logic is checked without privileges; the privileged tests check the kernel agrees.
    use super::*;

    /// Runs `prog` on `frame` with the given pkt_type; returns the accepted length.
    fn run(prog: &[sock_filter], frame: &[u8], pkt_type: u8) -> u32 {
        let (mut a, mut x, mut pc) = (0u32, 0u32, 0usize);
        let load = |off: u32, size: usize| -> Option<u32> {
            let off = off as usize;
            let bytes = frame.get(off..off + size)?;
            Some(bytes.iter().fold(0u32, |acc, &b| (acc << 8) | u32::from(b)))
        };
        for _ in 0..prog.len() {
            let ins = prog[pc];
            pc += 1;
            match ins.code {
                c if c == LD | W | ABS && ins.k == AD_PKTTYPE => a = u32::from(pkt_type),
                c if c == LD | H | ABS => match load(ins.k, 2) {
                    Some(v) => a = v,
                    None => return 0,
                },
                c if c == LD | B | ABS => match load(ins.k, 1) {
                    Some(v) => a = v,
                    None => return 0,
                },
                c if c == LD | H | IND => match load(x + ins.k, 2) {
                    Some(v) => a = v,
                    None => return 0,
                },
                c if c == LDX | B | MSH => match load(ins.k, 1) {
                    Some(v) => x = 4 * (v & 0xf),
                    None => return 0,
                },
                c if c == JMP | JEQ | K || c == JMP | JSET | K => {
                    let taken = if c == JMP | JEQ | K {
                        a == ins.k
                    } else {
                        a & ins.k != 0
                    };
                    pc += usize::from(if taken { ins.jt } else { ins.jf });
                }
                c if c == RET | K => return ins.k,
                c => panic!("opcode {c:#x} not in the interpreter"),
            }
        }
        panic!("program ran off its end");
    }

    fn ipv4_udp(dst_port: u16, ihl: u8, frag: u16) -> Vec<u8> {
        let mut f = vec![0u8; 14];
        f[12..14].copy_from_slice(&0x0800u16.to_be_bytes());
        let hdr_len = usize::from(ihl) * 4;
        let mut ip = vec![0u8; hdr_len];
        ip[0] = 0x40 | ihl;
        ip[6..8].copy_from_slice(&frag.to_be_bytes());
        ip[9] = 17;
        f.extend_from_slice(&ip);
        let mut udp = [0u8; 8];
        udp[0..2].copy_from_slice(&1985u16.to_be_bytes());
        udp[2..4].copy_from_slice(&dst_port.to_be_bytes());
        f.extend_from_slice(&udp);
        f.extend_from_slice(&[0u8; 20]);
        f
    }

    fn ipv6_icmp(next_header: u8, icmp_type: u8) -> Vec<u8> {
        let mut f = vec![0u8; 14 + 40 + 8];
        f[12..14].copy_from_slice(&0x86ddu16.to_be_bytes());
        f[14] = 0x60;
        f[14 + 6] = next_header;
        f[14 + 7] = 255;
        f[54] = icmp_type;
        f
    }

    fn ipv6_udp(next_header: u8, dst_port: u16) -> Vec<u8> {
        let mut f = vec![0u8; 14 + 40 + 8];
        f[12..14].copy_from_slice(&0x86ddu16.to_be_bytes());
        f[14] = 0x60;
        f[14 + 6] = next_header;
        f[54 + 2..54 + 4].copy_from_slice(&dst_port.to_be_bytes());
        f
    }

    const HOST: u8 = 0;
    const MULTICAST: u8 = 2;
    const OUTGOING: u8 = 4;

    #[test]
    fn accepts_hsrp_over_ipv4_and_ipv6() {
        assert_eq!(
            run(&HSRP_FILTER, &ipv4_udp(1985, 5, 0), MULTICAST),
            ACCEPT_LEN
        );
        assert_eq!(
            run(&HSRP_FILTER, &ipv4_udp(1985, 6, 0), HOST),
            ACCEPT_LEN,
            "IP options"
        );
        assert_eq!(
            run(&HSRP_FILTER, &ipv4_udp(1985, 5, 0x2000), MULTICAST),
            ACCEPT_LEN,
            "first fragment (MF set, offset 0)"
        );
        assert_eq!(
            run(&HSRP_FILTER, &ipv6_udp(17, 2029), MULTICAST),
            ACCEPT_LEN
        );
    }

    #[test]
    fn accepts_router_solicitations() {
        assert_eq!(
            run(&HSRP_FILTER, &ipv6_icmp(58, 133), MULTICAST),
            ACCEPT_LEN
        );
        assert_eq!(run(&HSRP_FILTER, &ipv6_icmp(58, 133), HOST), ACCEPT_LEN);
        // The documented limit: behind an extension header (here Hop-by-Hop) it is dropped.
        let mut hbh = ipv6_icmp(0, 133);
        hbh[54] = 58;
        assert_eq!(run(&HSRP_FILTER, &hbh, MULTICAST), 0);
    }

    #[test]
    fn drops_everything_else() {
        let cases: [(&str, Vec<u8>, u8); 16] = [
            ("own RS", ipv6_icmp(58, 133), OUTGOING),
            ("router advertisement", ipv6_icmp(58, 134), MULTICAST),
            ("neighbour solicitation", ipv6_icmp(58, 135), MULTICAST),
            ("neighbour advertisement", ipv6_icmp(58, 136), MULTICAST),
            ("echo request", ipv6_icmp(58, 128), MULTICAST),
            ("MLD report", ipv6_icmp(58, 143), MULTICAST),
            (
                "truncated RS",
                ipv6_icmp(58, 133)[..14 + 40].to_vec(),
                MULTICAST,
            ),
            ("own frame", ipv4_udp(1985, 5, 0), OUTGOING),
            ("udp 1986", ipv4_udp(1986, 5, 0), MULTICAST),
            ("v4 on 2029", ipv4_udp(2029, 5, 0), MULTICAST),
            ("v6 on 1985", ipv6_udp(17, 1985), MULTICAST),
            ("v6 tcp", ipv6_udp(6, 2029), MULTICAST),
            ("later fragment", ipv4_udp(1985, 5, 0x0010), MULTICAST),
            (
                "arp",
                [&[0u8; 12][..], &[0x08, 0x06], &[0u8; 28]].concat(),
                MULTICAST,
            ),
            ("runt", vec![0u8; 13], MULTICAST),
            (
                "truncated udp",
                ipv4_udp(1985, 5, 0)[..14 + 20 + 3].to_vec(),
                MULTICAST,
            ),
        ];
        for (name, frame, pkt_type) in cases {
            assert_eq!(run(&HSRP_FILTER, &frame, pkt_type), 0, "{name}");
        }
        let mut tcp = ipv4_udp(1985, 5, 0);
        tcp[14 + 9] = 6;
        assert_eq!(run(&HSRP_FILTER, &tcp, MULTICAST), 0, "tcp to 1985");
    }
}
