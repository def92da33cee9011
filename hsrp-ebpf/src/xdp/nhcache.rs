//! The next-hop cache: the result of a successful `bpf_fib_lookup`, kept per (ingress
//! interface, destination) in `HSRP_NEXTHOP` so the next frame to the same destination
//! skips the lookup (the largest cost of the fast path).
//!
//! Correctness rests on the generation `HSRP_NH_GEN[0]`: userspace bumps it on every
//! kernel change that could alter a lookup's answer (route, neighbour, link, address,
//! rule), and an entry is used only while its `gen` equals the current one. The program
//! reads the generation BEFORE its lookup and stores that value with the result, so an
//! entry filled while a bump happens is born stale. Generation 0 turns the cache off:
//! nothing is read or written. Entries are never changed in place: the program replaces
//! them whole (the map is not preallocated, so a reader keeps the old element until the
//! RCU grace period), and a reader never sees half of one.

use hsrp_ebpf::NexthopValue;

use super::{
    fib::{self, FibBuf, MacWords},
    maps::{self, KeySlot, HSRP_NEXTHOP, HSRP_TX_PORTS},
    pkt::Addr,
};

/// The cached hop for (`ifindex`, `family`, `dst`) if the entry is of generation `gen`,
/// was checked for frames of `tot_len` bytes or more, and its output port accepts the
/// redirect (which this arms). `None`: take the fib lookup.
#[inline(always)]
pub fn hit(ifindex: u32, family: u8, dst: Addr, tot_len: u16, gen: u32) -> Option<MacWords> {
    let mut slot = KeySlot::uninit();
    let key = maps::if_addr_key(&mut slot, ifindex, family, dst);
    let p = HSRP_NEXTHOP.get_ptr(key)? as *const u32;
    // SAFETY: p points at a live NexthopValue (24 bytes, 8-aligned in the hash slot),
    // kept alive by RCU for this run; read as six aligned u32 words (see the layout
    // asserted in hsrp_ebpf).
    let w = |k: usize| unsafe { p.add(k).read_volatile() };
    if w(0) != gen {
        return None;
    }
    let last = w(5); // smac[4..6] | max_len << 16
    if tot_len > (last >> 16) as u16 {
        return None;
    }
    let hop = MacWords {
        dmac_lo: w(2),
        dmac_hi: w(3) as u16,
        smac_lo: w(4),
        smac_hi: last as u16,
    };
    HSRP_TX_PORTS.redirect(w(1), 0).ok()?;
    Some(hop)
}

/// Records a successful lookup (`buf`, output `oif`) for frames of `tot_len` bytes, under
/// the generation `gen` read before that lookup. An entry of the same generation and hop
/// keeps its larger `max_len`.
#[inline(always)]
pub fn fill(ifindex: u32, family: u8, dst: Addr, tot_len: u16, gen: u32, oif: u32, buf: &FibBuf) {
    let m = fib::mac_words(buf);
    let mut slot = KeySlot::uninit();
    let key = maps::if_addr_key(&mut slot, ifindex, family, dst);
    let mut max_len = tot_len;
    if let Some(p) = HSRP_NEXTHOP.get_ptr(key) {
        let p = p as *const u32;
        // SAFETY: as in `hit`.
        let w = |k: usize| unsafe { p.add(k).read_volatile() };
        let last = w(5);
        if w(0) == gen
            && w(1) == oif
            && w(2) == m.dmac_lo
            && w(3) as u16 == m.dmac_hi
            && w(4) == m.smac_lo
            && last as u16 == m.smac_hi
        {
            let old = (last >> 16) as u16;
            if old >= tot_len {
                return; // nothing to learn
            }
            max_len = tot_len.max(old);
        }
    }
    let mut value: KeySlot<NexthopValue> = KeySlot::uninit();
    let v = value.as_mut_ptr() as *mut u32;
    let words = [
        gen,
        oif,
        m.dmac_lo,
        m.dmac_hi as u32,
        m.smac_lo,
        m.smac_hi as u32 | (max_len as u32) << 16,
    ];
    let mut k = 0;
    while k < 6 {
        // SAFETY: value holds NexthopValue (6 u32s, 8-aligned); word stores, as for keys.
        unsafe { v.add(k).write_volatile(words[k]) };
        k += 1;
    }
    // SAFETY: every word of the value was written above.
    let value: &NexthopValue = unsafe { &(*value.as_ptr()).0 };
    // A full map (65536 destinations) just stops learning until the next clear.
    let _ = HSRP_NEXTHOP.insert(key, value, 0);
}
