//! Per-CPU counters: every frame is counted exactly once, in ONE slot: its group's or
//! interface's slot when it has one, else slot 0 (frames not attributed to any group or
//! interface). Userspace derives the whole-program totals by summing all slots, so the
//! fast path pays for a single counter update.

use aya_ebpf::bindings::xdp_action;
use hsrp_ebpf::{Counter, STATS_SLOT_TOTAL};

use super::maps::HSRP_STATS;

/// Counts `c` in `slot` (0 = not attributed to a group or interface).
#[inline(always)]
pub fn bump(slot: u16, c: Counter) {
    // The verifier inlines lookups in a per-CPU array: this is a bounds check and a load.
    if let Some(p) = HSRP_STATS.get_ptr_mut(slot as u32) {
        // SAFETY: per-CPU slot of Counters (COUNTER_FIELDS u64s); `c` indexes a field.
        unsafe { *(p as *mut u64).add(c as usize) += 1 };
    }
}

/// Not ours: count and pass untouched.
#[inline(always)]
pub fn pass() -> u32 {
    bump(STATS_SLOT_TOTAL as u16, Counter::Passed);
    xdp_action::XDP_PASS
}

/// Counts a forwarded frame in `slot`, and whether its hop came from the next-hop cache,
/// with one map lookup.
#[inline(always)]
pub fn forwarded(slot: u16, cache_hit: bool) {
    if let Some(p) = HSRP_STATS.get_ptr_mut(slot as u32) {
        // SAFETY: as in `bump`.
        unsafe {
            *(p as *mut u64).add(Counter::Forwarded as usize) += 1;
            if cache_hit {
                *(p as *mut u64).add(Counter::NhCacheHit as usize) += 1;
            }
        }
    }
}
