//! Bounds-checked access to the frame. Every header is reached through `bytes::<N>(off)`,
//! which checks `off + N <= data_end` once; fields are then read at constant indices.

use aya_ebpf::programs::XdpContext;

pub const ETH_P_IP: u16 = 0x0800;
pub const ETH_P_ARP: u16 = 0x0806;
pub const ETH_P_IPV6: u16 = 0x86dd;
pub const IPPROTO_ICMP: u8 = 1;
pub const IPPROTO_UDP: u8 = 17;
pub const IPPROTO_ICMPV6: u8 = 58;

/// Offsets of the headers we use (IPv4 without options, IPv6 without extension headers).
pub const L3: usize = 14;
pub const L4_V4: usize = L3 + 20;
pub const L4_V6: usize = L3 + 40;

/// The `N` bytes at `off`, or `None` if the frame is shorter.
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

#[inline(always)]
pub fn be16<const N: usize>(b: &[u8; N], i: usize) -> u16 {
    u16::from_be_bytes([b[i], b[i + 1]])
}

#[inline(always)]
pub fn put_be16<const N: usize>(b: &mut [u8; N], i: usize, v: u16) {
    let v = v.to_be_bytes();
    b[i] = v[0];
    b[i + 1] = v[1];
}

#[inline(always)]
pub fn mac<const N: usize>(b: &[u8; N], i: usize) -> [u8; 6] {
    [b[i], b[i + 1], b[i + 2], b[i + 3], b[i + 4], b[i + 5]]
}

#[inline(always)]
pub fn ip4<const N: usize>(b: &[u8; N], i: usize) -> [u8; 4] {
    [b[i], b[i + 1], b[i + 2], b[i + 3]]
}

#[inline(always)]
pub fn ip6<const N: usize>(b: &[u8; N], i: usize) -> [u8; 16] {
    let mut a = [0u8; 16];
    a.copy_from_slice(&b[i..i + 16]);
    a
}

#[inline(always)]
pub fn put<const N: usize, const M: usize>(b: &mut [u8; N], i: usize, v: &[u8; M]) {
    b[i..i + M].copy_from_slice(v);
}
