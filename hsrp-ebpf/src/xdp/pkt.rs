//! Bounds-checked access to the frame. Every frame is read through a view: a `#[repr(C)]`
//! stack of `network-types` headers ([`view`] checks `size_of::<T>() <= data_end - data`
//! once), and fields are then read by name. Only the HSRP payload, which `network-types`
//! does not describe, is read as bytes ([`bytes`]) at the offsets `hsrp_ebpf::proto`
//! names.

use aya_ebpf::programs::XdpContext;
use network_types::{
    arp::ArpHdr,
    eth::{EthHdr, EtherType},
    icmp::{Icmpv4Hdr, Icmpv6Hdr},
    ip::{IpProto, Ipv4Hdr, Ipv6Hdr},
    udp::UdpHdr,
};

/// EtherTypes as they sit in [`EthHdr::ether_type`] (network order), so the classifier
/// compares without a byte swap.
pub const ETH_P_IP: u16 = EtherType::Ipv4 as u16;
pub const ETH_P_ARP: u16 = EtherType::Arp as u16;
pub const ETH_P_IPV6: u16 = EtherType::Ipv6 as u16;
pub const IPPROTO_ICMP: u8 = IpProto::Icmp as u8;
pub const IPPROTO_UDP: u8 = IpProto::Udp as u8;
pub const IPPROTO_ICMPV6: u8 = IpProto::Ipv6Icmp as u8;

/// Version and header length of an IPv4 header without options (`vihl`).
pub const IPV4_NO_OPTIONS: u8 = 0x45;

/// IPv4 without options, as the program handles it.
#[repr(C)]
pub struct Ip4 {
    pub eth: EthHdr,
    pub ip: Ipv4Hdr,
}

#[repr(C)]
pub struct Udp4 {
    pub eth: EthHdr,
    pub ip: Ipv4Hdr,
    pub udp: UdpHdr,
}

#[repr(C)]
pub struct Icmp4 {
    pub eth: EthHdr,
    pub ip: Ipv4Hdr,
    pub icmp: Icmpv4Hdr,
}

/// IPv6 without extension headers, as the program handles it.
#[repr(C)]
pub struct Ip6 {
    pub eth: EthHdr,
    pub ip: Ipv6Hdr,
}

#[repr(C)]
pub struct Udp6 {
    pub eth: EthHdr,
    pub ip: Ipv6Hdr,
    pub udp: UdpHdr,
}

#[repr(C)]
pub struct Icmp6 {
    pub eth: EthHdr,
    pub ip: Ipv6Hdr,
    pub icmp: Icmpv6Hdr,
}

/// Neighbour Solicitation: the ICMPv6 header (its `data` is the reserved word) and the
/// target; `network-types` has no Neighbour Discovery types.
#[repr(C)]
pub struct Ns {
    pub eth: EthHdr,
    pub ip: Ipv6Hdr,
    pub icmp: Icmpv6Hdr,
    pub target: [u8; 16],
}

/// Neighbour Advertisement with one option, the target link-layer address.
#[repr(C)]
pub struct Na {
    pub eth: EthHdr,
    pub ip: Ipv6Hdr,
    pub icmp: Icmpv6Hdr,
    pub target: [u8; 16],
    pub opt: LinkLayerOpt,
}

/// An ND link-layer address option (RFC 4861 §4.6.1): type, length in 8-byte units, MAC.
#[repr(C)]
pub struct LinkLayerOpt {
    pub kind: u8,
    pub len: u8,
    pub mac: [u8; 6],
}

/// ARP over Ethernet for IPv4, without padding.
#[repr(C)]
pub struct Arp {
    pub eth: EthHdr,
    pub arp: ArpHdr,
}

const _: () = {
    use core::mem::size_of;
    assert!(size_of::<Ip4>() == 34 && size_of::<Udp4>() == 42 && size_of::<Icmp4>() == 42);
    assert!(size_of::<Ip6>() == 54 && size_of::<Udp6>() == 62 && size_of::<Icmp6>() == 62);
    assert!(size_of::<Ns>() == 78 && size_of::<Na>() == 86 && size_of::<Arp>() == 42);
};

/// The frame as `T` (a header stack from offset 0), or `None` if the frame is shorter.
#[inline(always)]
pub fn view<T>(ctx: &XdpContext) -> Option<&'static mut T> {
    let start = ctx.data();
    let end = ctx.data_end();
    if start + core::mem::size_of::<T>() > end {
        return None;
    }
    // SAFETY: [start, start + size_of::<T>()) lies inside the packet (checked above); T
    // is a header stack of byte arrays and u16s, valid for any bits, and the packet is
    // at least 2-aligned; the reference does not outlive the program run.
    Some(unsafe { &mut *(start as *mut T) })
}

/// The `N` bytes at `off`, or `None` if the frame is shorter: the HSRP payload.
#[inline(always)]
pub fn bytes<const N: usize>(ctx: &XdpContext, off: usize) -> Option<&'static mut [u8; N]> {
    let start = ctx.data();
    let end = ctx.data_end();
    if start + off + N > end {
        return None;
    }
    // SAFETY: the range [start+off, start+off+N) lies inside the packet (checked above);
    // the reference does not outlive the program run.
    Some(unsafe { &mut *((start + off) as *mut [u8; N]) })
}

/// Frame length in bytes.
#[inline(always)]
pub fn len(ctx: &XdpContext) -> usize {
    ctx.data_end() - ctx.data()
}

#[inline(always)]
pub fn ifindex(ctx: &XdpContext) -> u32 {
    // SAFETY: ctx.ctx is the kernel-provided xdp_md.
    unsafe { (*ctx.ctx).ingress_ifindex }
}

/// A big-endian u16 field.
#[inline(always)]
pub fn be16(b: [u8; 2]) -> u16 {
    u16::from_be_bytes(b)
}

/// Copies a field out as one value, so LLVM reads it with word-sized loads (a MAC is one
/// u32 and one u16 load) instead of byte by byte.
#[inline(always)]
pub fn get<const M: usize>(b: &[u8; M]) -> [u8; M] {
    let mut a = [0u8; M];
    a.copy_from_slice(b);
    a
}

/// Writes `v` into the field `dst` with u16 stores (and a last byte if `M` is odd). A
/// plain assignment of bytes that came from the same frame is merged by LLVM into a
/// `memmove`, which the BPF backend does not expand: it becomes a call to a byte loop.
/// Scalar stores of loaded values are never merged that way. The source is read in u16
/// chunks, not wider: it may sit on the stack at a 2-byte offset (e.g. the MACs of the
/// fib parameter block), and the verifier rejects misaligned stack access.
#[inline(always)]
pub fn put<const M: usize>(dst: &mut [u8; M], v: &[u8; M]) {
    let (d, s) = (dst.as_mut_ptr(), v.as_ptr());
    let mut k = 0;
    while k + 2 <= M {
        // SAFETY: k + 2 <= M, and both `dst` and `v` are M bytes long.
        unsafe {
            let w = (s.add(k) as *const u16).read_unaligned();
            (d.add(k) as *mut u16).write_unaligned(w);
        }
        k += 2;
    }
    if k < M {
        dst[k] = v[k];
    }
}

/// Writes a u32 and a u16 (native order) into a MAC field: a MAC held as two words.
#[inline(always)]
pub fn put_mac_words(dst: &mut [u8; 6], lo: u32, hi: u16) {
    // SAFETY: dst is 6 bytes long.
    unsafe {
        (dst.as_mut_ptr() as *mut u32).write_unaligned(lo);
        (dst.as_mut_ptr().add(4) as *mut u16).write_unaligned(hi);
    }
}

/// An address as the four native-endian u32 words of a 16-byte key field (IPv4: the
/// address in the first word, the rest zero). Keys built from words need no zero-fill
/// of byte arrays, which LLVM turns into `memset` calls (byte loops) on BPF.
pub type Addr = [u32; 4];

#[inline(always)]
pub fn addr4(a: [u8; 4]) -> Addr {
    [u32::from_ne_bytes(a), 0, 0, 0]
}

#[inline(always)]
pub fn addr6(a: [u8; 16]) -> Addr {
    let w = |k: usize| u32::from_ne_bytes([a[k], a[k + 1], a[k + 2], a[k + 3]]);
    [w(0), w(4), w(8), w(12)]
}
