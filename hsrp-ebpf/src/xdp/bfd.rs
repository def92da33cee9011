//! BFD Control packets of steady sessions (RFC 5881 single hop: UDP 3784, TTL / hop limit
//! 255, unicast to one of our addresses): counted for their session and dropped, so the
//! kernel does not deliver them and the daemon is not woken for them.
//!
//! The policy stays in the daemon's session core: it says when a session is steady (Up,
//! no Poll Sequence either way) and which packet its peer then sends, again and again,
//! byte for byte; the daemon writes that packet and its addressing into the session's
//! `HSRP_BFD_EXPECT` slot and reads the slot's `HSRP_BFD_SEEN` (the count and the clock
//! of the last match) as a stream of copies of a packet it already accepted. Here a frame
//! only has to match the slot completely: the interface, the peer's address and source
//! port, our address, TTL 255, no IP options or extension headers, no fragment, and the
//! 24 bytes. Any difference — a Poll, a new diagnostic, a forged or stray packet —
//! passes to the kernel untouched and reaches the daemon's socket as before.
//!
//! The UDP checksum is not verified: every byte that carries meaning is compared with a
//! packet the daemon already took, so a frame that matches means the same whatever its
//! checksum; and on veth a locally sent frame carries only a partial checksum
//! (CHECKSUM_PARTIAL), which no check could pass.

use aya_ebpf::{bindings::xdp_action, helpers::bpf_ktime_get_ns, programs::XdpContext};
use hsrp_ebpf::{bfd, bfd_slot, BfdExpect, Counter, FAMILY_V4, FAMILY_V6};
use network_types::{
    eth::EthHdr,
    ip::{Ipv4Hdr, Ipv6Hdr},
    udp::UdpHdr,
};

use super::{
    maps::{self, HSRP_BFD_EXPECT, HSRP_BFD_SEEN},
    pkt::{self, IPPROTO_UDP, IPV4_NO_OPTIONS},
    stats,
};

/// A Control packet over IPv4 without options.
#[repr(C)]
struct Bfd4 {
    eth: EthHdr,
    ip: Ipv4Hdr,
    udp: UdpHdr,
    bfd: [u8; bfd::CONTROL_LEN],
}

/// A Control packet over IPv6 without extension headers.
#[repr(C)]
struct Bfd6 {
    eth: EthHdr,
    ip: Ipv6Hdr,
    udp: UdpHdr,
    bfd: [u8; bfd::CONTROL_LEN],
}

const UDP_LEN: u16 = (size_of::<UdpHdr>() + bfd::CONTROL_LEN) as u16;
const IPV4_TOTAL_LEN: u16 = size_of::<Ipv4Hdr>() as u16 + UDP_LEN;
/// Flags and fragment offset: anything but DF is a fragment (MF or an offset).
const IPV4_FRAGMENT_BITS: u16 = 0x3fff;

const _: () = {
    assert!(size_of::<Bfd4>() == 66 && size_of::<Bfd6>() == 86);
};

/// A unicast IPv4 frame: `Some(verdict)` if it was a steady session's packet (dropped),
/// `None` to hand it on.
#[inline(always)]
pub fn ipv4(ctx: &XdpContext, ifindex: u32) -> Option<u32> {
    let f = pkt::view::<Bfd4>(ctx)?;
    if f.ip.proto != IPPROTO_UDP || pkt::be16(f.udp.dst) != bfd::PORT {
        return None;
    }
    let sane = f.ip.vihl == IPV4_NO_OPTIONS
        && f.ip.ttl == bfd::TTL
        && pkt::be16(f.ip.tot_len) == IPV4_TOTAL_LEN
        && pkt::be16(f.ip.frags) & IPV4_FRAGMENT_BITS == 0
        && pkt::be16(f.udp.len) == UDP_LEN;
    if !sane {
        return None;
    }
    let e = expected(&f.bfd, ifindex, FAMILY_V4, f.udp.src)?;
    let addrs =
        word(&f.ip.src_addr, 0) == word(&e.peer, 0) && word(&f.ip.dst_addr, 0) == word(&e.local, 0);
    addrs.then(|| steady(ifindex, e.discriminator))
}

/// A unicast IPv6 frame, as [`ipv4`].
#[inline(always)]
pub fn ipv6(ctx: &XdpContext, ifindex: u32) -> Option<u32> {
    let f = pkt::view::<Bfd6>(ctx)?;
    if f.ip.next_hdr != IPPROTO_UDP || pkt::be16(f.udp.dst) != bfd::PORT {
        return None;
    }
    let sane = f.ip.hop_limit == bfd::TTL && pkt::be16(f.ip.payload_len) == UDP_LEN;
    if !sane {
        return None;
    }
    let e = expected(&f.bfd, ifindex, FAMILY_V6, f.udp.src)?;
    let addrs = same(&f.ip.src_addr, &e.peer) && same(&f.ip.dst_addr, &e.local);
    addrs.then(|| steady(ifindex, e.discriminator))
}

/// The slot Your Discriminator names, if its session is steady on this interface and
/// family and the packet and source port are what it expects.
#[inline(always)]
fn expected(
    packet: &[u8; bfd::CONTROL_LEN],
    ifindex: u32,
    family: u8,
    src_port: [u8; 2],
) -> Option<&'static BfdExpect> {
    let at = bfd::AT_YOUR_DISCRIMINATOR;
    let yours = u32::from_be_bytes([packet[at], packet[at + 1], packet[at + 2], packet[at + 3]]);
    // The verifier inlines lookups in an array: a bounds check and a load.
    let e = HSRP_BFD_EXPECT.get(bfd_slot(yours))?;
    let matches = yours != 0
        && e.discriminator == yours
        && e.ifindex == ifindex
        && e.family == family
        && pkt::be16(e.src_port) == pkt::be16(src_port)
        && same(packet, &e.packet);
    matches.then_some(e)
}

/// Counts a match in its session's slot and in the interface's statistics, and drops it.
#[inline(always)]
fn steady(ifindex: u32, discriminator: u32) -> u32 {
    if let Some(p) = HSRP_BFD_SEEN.get_ptr_mut(bfd_slot(discriminator)) {
        // SAFETY: p is the slot's element (an aligned BfdSeen). The program may run on
        // several CPUs at once, and core has no atomic add for BPF: a match on another CPU
        // at the same instant may be lost from the count (one peer's packets, 10 ms or
        // more apart, hardly ever race). The clock is one aligned u64 store, and it is
        // what the daemon's detection time goes by.
        unsafe {
            (*p).last_ns = bpf_ktime_get_ns();
            (*p).count += 1;
        }
    }
    stats::bump(maps::iface_stats_slot(ifindex), Counter::BfdSteady);
    xdp_action::XDP_DROP
}

/// The native-order u32 at byte `k` of `b` (`k + 4 <= N`).
#[inline(always)]
fn word<const N: usize>(b: &[u8; N], k: usize) -> u32 {
    u32::from_ne_bytes([b[k], b[k + 1], b[k + 2], b[k + 3]])
}

/// `a == b`, a word at a time (`N` is a multiple of 4), without a `memcmp` call (which
/// the BPF backend would make a byte loop).
#[inline(always)]
fn same<const N: usize>(a: &[u8; N], b: &[u8; N]) -> bool {
    let mut diff = 0;
    let mut k = 0;
    while k + 4 <= N {
        diff |= word(a, k) ^ word(b, k);
        k += 4;
    }
    diff == 0
}
