//! The `bpf_fib_lookup` parameter block, shared by the program and the benchmark's
//! minimal fib+redirect reference so both pay exactly the same for the lookup.

use core::ffi::c_void;
use core::mem::{size_of, MaybeUninit};

use aya_ebpf::{
    bindings::bpf_fib_lookup, helpers::bpf_fib_lookup as fib_lookup, programs::XdpContext,
};
use network_types::eth::EthHdr;

/// Stack space for one parameter block, 8-aligned.
pub type FibBuf = MaybeUninit<[u64; 8]>;

const _: () = assert!(size_of::<bpf_fib_lookup>() == size_of::<[u64; 8]>());

/// Zeroes `buf` with eight u64 stores and returns it as the parameter block. A plain
/// `zeroed()` becomes a call to `memset`, which on BPF is a 64-iteration byte loop: more
/// instructions than the rest of the fast path together. Volatile keeps LLVM from turning
/// the stores back into that call.
#[inline(always)]
pub fn zeroed(buf: &mut FibBuf) -> &mut bpf_fib_lookup {
    let p = buf.as_mut_ptr() as *mut u64;
    let mut k = 0;
    while k < 8 {
        // SAFETY: p points at 8 aligned u64s on our stack.
        unsafe { p.add(k).write_volatile(0) };
        k += 1;
    }
    // SAFETY: 64 zeroed, 8-aligned bytes are a valid bpf_fib_lookup (plain C struct,
    // align 4).
    unsafe { &mut *(p as *mut bpf_fib_lookup) }
}

/// `bpf_fib_lookup(ctx, fib, sizeof, 0)`: the kernel's return code (0 = success).
#[inline(always)]
pub fn lookup(ctx: &XdpContext, fib: &mut bpf_fib_lookup) -> i64 {
    // SAFETY: ctx is the program's context; fib is a valid, fully initialised struct.
    unsafe {
        fib_lookup(
            ctx.ctx as *mut c_void,
            fib as *mut bpf_fib_lookup,
            size_of::<bpf_fib_lookup>() as i32,
            0,
        )
    }
}

const _: () = {
    assert!(core::mem::offset_of!(bpf_fib_lookup, smac) == 52);
    assert!(core::mem::offset_of!(bpf_fib_lookup, dmac) == 58);
    assert!(cfg!(target_endian = "little"));
};

/// A next hop's MACs as words: the lookup's (`mac_words`) or the next-hop cache's.
pub struct MacWords {
    pub dmac_lo: u32,
    pub dmac_hi: u16,
    pub smac_lo: u32,
    pub smac_hi: u16,
}

impl MacWords {
    /// Writes the MACs into the frame's Ethernet header.
    #[inline(always)]
    pub fn write(&self, eth: &mut EthHdr) {
        super::pkt::put_mac_words(&mut eth.dst_addr, self.dmac_lo, self.dmac_hi);
        super::pkt::put_mac_words(&mut eth.src_addr, self.smac_lo, self.smac_hi);
    }
}

/// The lookup's next-hop MACs.
///
/// `smac` and `dmac` are the last 12 bytes of the block (offsets 52 and 58), read as the
/// two aligned u64 words at 48 and 56: reading the byte arrays lets LLVM pick a u32 load
/// at offset 58, which is a misaligned stack access the verifier rejects.
#[inline(always)]
pub fn mac_words(buf: &FibBuf) -> MacWords {
    let p = buf.as_ptr() as *const u64;
    // SAFETY: 8 aligned u64s, initialised by `zeroed` and the helper.
    let (w48, w56) = unsafe { (p.add(6).read_volatile(), p.add(7).read_volatile()) };
    // Little-endian: byte 52 is bit 32 of w48, byte 56 bit 0 of w56.
    MacWords {
        smac_lo: (w48 >> 32) as u32,
        smac_hi: w56 as u16,
        dmac_lo: (w56 >> 16) as u32,
        dmac_hi: (w56 >> 48) as u16,
    }
}
