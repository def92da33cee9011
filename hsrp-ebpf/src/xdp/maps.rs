//! The maps (BTF-described, pinned by the loader under their names) and typed lookups that
//! copy the value out at once, so no reference into a hash slot outlives the lookup.

use aya_ebpf::{
    btf_maps::{Array, DevMapHash, HashMap, LruHashMap, PerCpuArray, ProgramArray},
    macros::btf_map,
};
use core::mem::MaybeUninit;

use super::pkt::Addr;
use hsrp_ebpf::{
    iface_slot_index, vmac_home_slot, vmac_probe_slot, BfdExpect, BfdSeen, Config, Counters,
    IfAddrKey, IfaceSlot, IfaceValue, RateSlot, VipKey, VipValue, VmacEntry, VmacValue,
    MAX_BFD_SESSIONS, MAX_IFACES, MAX_IFACE_SLOTS, MAX_RATE_SOURCES, MAX_TX_PORTS, MAX_VIPS,
    STATS_SLOTS, VMAC_PROBES, VMAC_SLOTS,
};

const VMAC_ENTRIES: usize = VMAC_SLOTS as usize;
/// BPF_F_MMAPABLE: userspace reads the table through a shared mapping (scans for free
/// slots and stats slots cost no syscall per element); it writes through the syscall.
const MMAPABLE: usize = 1 << 10;
const VIPS: usize = MAX_VIPS as usize;
const IFACES: usize = MAX_IFACES as usize;
const TX_PORTS: usize = MAX_TX_PORTS as usize;
const RATE_SOURCES: usize = MAX_RATE_SOURCES as usize;
const SLOTS: usize = STATS_SLOTS as usize;
const IFACE_SLOTS: usize = MAX_IFACE_SLOTS as usize;
const BFD_SESSIONS: usize = MAX_BFD_SESSIONS as usize;

#[btf_map]
pub static HSRP_VMAC: Array<VmacEntry, VMAC_ENTRIES, MMAPABLE> = Array::new();
#[btf_map]
pub static HSRP_VIP: HashMap<VipKey, VipValue, VIPS> = HashMap::new();
#[btf_map]
pub static HSRP_IFACE: HashMap<u32, IfaceValue, IFACES> = HashMap::new();
#[btf_map]
pub static HSRP_TX_PORTS: DevMapHash<TX_PORTS> = DevMapHash::new();
#[btf_map]
pub static HSRP_STATS: PerCpuArray<Counters, SLOTS> = PerCpuArray::new();
/// Steady BFD sessions (see `bfd`): what each expects, and what matched (mapped by the
/// daemon, which reads it on every wake-up without a syscall).
#[btf_map]
pub static HSRP_BFD_EXPECT: Array<BfdExpect, BFD_SESSIONS> = Array::new();
#[btf_map]
pub static HSRP_BFD_SEEN: Array<BfdSeen, BFD_SESSIONS, MMAPABLE> = Array::new();
#[btf_map]
pub static HSRP_CTRL_RATE: Array<RateSlot, RATE_SOURCES> = Array::new();
#[btf_map]
pub static HSRP_IFACE_SLOT: Array<IfaceSlot, IFACE_SLOTS> = Array::new();
/// Per CPU: the last (jiffies, coarse ns) pair the program read (see `clock`).
#[btf_map]
pub static HSRP_CLOCK: PerCpuArray<ClockCache, 1> = PerCpuArray::new();
#[btf_map]
pub static HSRP_CONFIG: Array<Config, 1> = Array::new();
/// One gate per kind of logged event (see `log`); program-private.
#[btf_map]
pub static HSRP_LOG_GATE: Array<super::log::LogGate, { super::log::KINDS }> = Array::new();
/// Per CPU: the event handed to the logging program (see `log`); program-private.
#[btf_map]
pub static HSRP_LOG_EVENT: PerCpuArray<super::log::LogEvent, 1> = PerCpuArray::new();
/// `[0]`: the logging program `hsrp_log`, set by the loader.
#[btf_map]
pub static HSRP_LOG_PROG: ProgramArray<1> = ProgramArray::new();

/// Value of `HSRP_CLOCK`; program-private, zero until the first control packet.
#[repr(C)]
pub struct ClockCache {
    pub jiffies: u64,
    pub ns: u64,
}

/// Stack storage for a map key, 8-aligned.
#[repr(C, align(8))]
pub struct Aligned<T>(pub T);

/// A map key on the stack, written as u32 words with one volatile store each.
///
/// With misaligned access allowed (see build.rs) LLVM would merge neighbouring stores of
/// a key into u64 stores at 4-byte offsets, and the verifier rejects misaligned stack
/// access. Volatile word stores are never merged. Building from words also avoids the
/// zero-fill of byte arrays that LLVM turns into `memset` calls (byte loops) on BPF.
pub type KeySlot<T> = MaybeUninit<Aligned<T>>;

/// Writes `words` as the key `T` into `slot`.
///
/// # Safety
/// `T` must be `4 * W` bytes of integers without padding holes, and `words` must be its
/// little-endian image (true on bpfel; asserted below).
#[inline(always)]
unsafe fn key<T, const W: usize>(slot: &mut KeySlot<T>, words: [u32; W]) -> &T {
    let p = slot.as_mut_ptr() as *mut u32;
    let mut k = 0;
    while k < W {
        // SAFETY: slot holds T, which is W u32s (caller), 8-aligned.
        unsafe { p.add(k).write_volatile(words[k]) };
        k += 1;
    }
    // SAFETY: every byte of T was written (caller).
    unsafe { &(*slot.as_ptr()).0 }
}

const _: () = {
    assert!(
        cfg!(target_endian = "little"),
        "keys are built little-endian"
    );
    assert!(core::mem::size_of::<VipKey>() == 24);
};

/// The group entry of the vMAC `mac` on `ifindex`: probe from its home slot until the
/// entry, a never-used slot, or [`VMAC_PROBES`] slots.
///
/// The home slot is checked here, inline: with the table at most a quarter full, almost
/// every lookup (hit or miss) ends there. The rest of the walk is one out-of-line
/// subprogram, so the unrolled probe loop exists once in the program instead of at every
/// call site (it doubled the program's size, and the i-cache misses showed on every path).
#[inline(always)]
pub fn vmac(ifindex: u32, mac: [u8; 6]) -> Option<VmacValue> {
    let lo = u32::from_ne_bytes([mac[0], mac[1], mac[2], mac[3]]);
    let hi = u16::from_ne_bytes([mac[4], mac[5]]) as u32;
    let home = vmac_home_slot(ifindex, lo, hi);
    let e = HSRP_VMAC.get_ptr(home)?;
    let slot = match probe(e, ifindex, lo, hi) {
        Probe::Hit => home,
        Probe::Free => return None,
        Probe::Other => vmac_walk(ifindex, lo, hi, home),
    };
    // An absent entry is u32::MAX, out of the array's bounds: no element.
    let e = HSRP_VMAC.get_ptr(slot)?;
    // SAFETY: an array element, valid for the program's run; copied out at once.
    Some(unsafe { (*e).value })
}

enum Probe {
    Hit,
    /// A never-used slot: the vMAC is not in the table.
    Free,
    /// Another entry or a tombstone: go on.
    Other,
}

#[inline(always)]
fn probe(e: *const VmacEntry, ifindex: u32, lo: u32, hi: u32) -> Probe {
    // SAFETY: an array element (see `vmac`); read as words (`mac` at offset 4 is
    // 4-aligned) so the compare is three loads.
    let (e_if, e_lo, e_hi) = unsafe {
        let w = e as *const u32;
        (*w, *w.add(1), *(w.add(2) as *const u16) as u32)
    };
    if e_if == ifindex && e_lo == lo && e_hi == hi {
        Probe::Hit
    } else if e_if == 0 {
        Probe::Free
    } else {
        Probe::Other
    }
}

/// The slot of the vMAC after its home slot, or u32::MAX.
#[inline(never)]
fn vmac_walk(ifindex: u32, lo: u32, hi: u32, home: u32) -> u32 {
    let mut k = 1;
    while k < VMAC_PROBES {
        let slot = vmac_probe_slot(home, k);
        let Some(e) = HSRP_VMAC.get_ptr(slot) else {
            return u32::MAX;
        };
        match probe(e, ifindex, lo, hi) {
            Probe::Hit => return slot,
            Probe::Free => return u32::MAX,
            Probe::Other => k += 1,
        }
    }
    u32::MAX
}

/// The group entry a VIP names: (VIP value, its vMAC entry).
#[inline(always)]
pub fn vip(ifindex: u32, family: u8, addr: Addr) -> Option<(VipValue, VmacValue)> {
    let mut slot = KeySlot::uninit();
    let key = if_addr_key(&mut slot, ifindex, family, addr);
    // SAFETY: copied out immediately.
    let vip = unsafe { HSRP_VIP.get(key).copied() }?;
    let group = vmac(ifindex, vip.vmac)?;
    Some((vip, group))
}

#[inline(always)]
pub fn iface(ifindex: u32) -> Option<IfaceValue> {
    // SAFETY: copied out immediately.
    unsafe { HSRP_IFACE.get(ifindex).copied() }
}

/// The stats slot of `ifindex` (0 if hsrpd does not run on it): from its
/// `HSRP_IFACE_SLOT` entry when it owns one (an array element, no hashing), else from
/// `HSRP_IFACE`.
#[inline(always)]
pub fn iface_stats_slot(ifindex: u32) -> u16 {
    if let Some(e) = HSRP_IFACE_SLOT.get(iface_slot_index(ifindex)) {
        // One u64 load; `ifindex` is never 0, so a free entry never matches.
        let e = *e;
        if e.ifindex == ifindex {
            return e.stats_slot as u16;
        }
    }
    iface(ifindex).map(|i| i.stats_slot).unwrap_or(0)
}

#[inline(always)]
pub fn config() -> Config {
    HSRP_CONFIG.get(0).copied().unwrap_or_default()
}

const NEXTHOPS: usize = hsrp_ebpf::MAX_NEXTHOPS as usize;
/// BPF_F_NO_PREALLOC: an entry the program replaces is freed through RCU, so a reader
/// still holding the old element sees it whole (a preallocated map recycles it at once,
/// and a concurrent update could reuse it under the reader).
const NO_PREALLOC: usize = aya_ebpf::bindings::BPF_F_NO_PREALLOC as usize;

/// The next-hop cache: written by the program after each successful fib lookup while the
/// cache is on, cleared by userspace at start.
#[btf_map]
pub static HSRP_NEXTHOP: HashMap<
    hsrp_ebpf::NexthopKey,
    hsrp_ebpf::NexthopValue,
    NEXTHOPS,
    NO_PREALLOC,
> = HashMap::new();
/// `[0]`: the cache generation (0 = off), bumped by userspace on every kernel change.
#[btf_map]
pub static HSRP_NH_GEN: Array<u32, 1> = Array::new();

/// `[0]`: [`hsrp_ebpf::FWD_FAST_PATH`] or [`hsrp_ebpf::FWD_KERNEL_PATH`], written by hsrpd.
#[btf_map]
pub static HSRP_FWD_MODE: Array<u32, 1> = Array::new();

/// `HSRP_FWD_MODE[0]`: [`hsrp_ebpf::FWD_FAST_PATH`], [`hsrp_ebpf::FWD_KERNEL_PATH`] or
/// [`hsrp_ebpf::FWD_ACCEPTED_FLOW`].
#[inline(always)]
pub fn fwd_mode() -> u32 {
    HSRP_FWD_MODE
        .get(0)
        .copied()
        .unwrap_or(hsrp_ebpf::FWD_KERNEL_PATH)
}

const FLOWS: usize = hsrp_ebpf::MAX_FLOWS as usize;

/// The flows conntrack accepted as established, both directions, written by hsrpd
/// (`daemon::accepted_flows`); the program only reads them and counts what it forwarded.
#[btf_map]
pub static HSRP_FLOWS: LruHashMap<hsrp_ebpf::FlowKey, hsrp_ebpf::FlowValue, FLOWS> =
    LruHashMap::new();

/// Builds a `HSRP_FLOWS` key in `slot` from its words (see [`hsrp_ebpf::FlowKey`]).
#[inline(always)]
pub fn flow_key(
    slot: &mut KeySlot<hsrp_ebpf::FlowKey>,
    family: u8,
    proto: u8,
    ports: u32,
    src: Addr,
    dst: Addr,
) -> &hsrp_ebpf::FlowKey {
    let head = family as u32 | (proto as u32) << 8;
    // SAFETY: FlowKey is { family: u8, proto: u8, _pad: [u8; 2], ports: [u8; 4],
    // src: [u8; 16], dst: [u8; 16] }: ten words, no holes (size asserted in the crate).
    unsafe {
        key(
            slot,
            [
                head, ports, src[0], src[1], src[2], src[3], dst[0], dst[1], dst[2], dst[3],
            ],
        )
    }
}

/// The cache generation now (0 = the cache is off).
#[inline(always)]
pub fn nh_gen() -> u32 {
    HSRP_NH_GEN.get(0).copied().unwrap_or(0)
}

/// Builds the key of (`ifindex`, `family`, `addr`) in `slot`: a `HSRP_VIP` or
/// `HSRP_NEXTHOP` key.
#[inline(always)]
pub fn if_addr_key(
    slot: &mut KeySlot<IfAddrKey>,
    ifindex: u32,
    family: u8,
    addr: Addr,
) -> &IfAddrKey {
    // SAFETY: IfAddrKey is { ifindex: u32, family: u8, _pad: [u8; 3], addr: [u8; 16] }:
    // `family as u32` is the family byte and three zero pad bytes.
    unsafe {
        key(
            slot,
            [ifindex, family as u32, addr[0], addr[1], addr[2], addr[3]],
        )
    }
}
