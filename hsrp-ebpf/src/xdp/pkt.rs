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

/// Copies `M` bytes at `i` as one value, so LLVM reads them with word-sized loads
/// (a MAC is one u32 and one u16 load) instead of byte by byte.
#[inline(always)]
pub fn array<const N: usize, const M: usize>(b: &[u8; N], i: usize) -> [u8; M] {
    let mut a = [0u8; M];
    a.copy_from_slice(&b[i..i + M]);
    a
}

#[inline(always)]
pub fn mac<const N: usize>(b: &[u8; N], i: usize) -> [u8; 6] {
    array(b, i)
}

#[inline(always)]
pub fn ip4<const N: usize>(b: &[u8; N], i: usize) -> [u8; 4] {
    array(b, i)
}

#[inline(always)]
pub fn ip6<const N: usize>(b: &[u8; N], i: usize) -> [u8; 16] {
    array(b, i)
}

/// Writes `v` at `i` with u16 stores (and a last byte if `M` is odd). A plain
/// `copy_from_slice` of bytes that came from the same frame is merged by LLVM into a
/// `memmove`, which the BPF backend does not expand: it becomes a call to a byte loop.
/// Scalar stores of loaded values are never merged that way. The source is read in u16
/// chunks, not wider: it may sit on the stack at a 2-byte offset (e.g. the MACs of the
/// fib parameter block), and the verifier rejects misaligned stack access.
#[inline(always)]
pub fn put<const N: usize, const M: usize>(b: &mut [u8; N], i: usize, v: &[u8; M]) {
    let dst = &mut b[i..i + M];
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

/// Writes a u32 and a u16 (native order) at `i`: a MAC held as two words.
#[inline(always)]
pub fn put_mac_words<const N: usize>(b: &mut [u8; N], i: usize, lo: u32, hi: u16) {
    let dst = &mut b[i..i + 6];
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
