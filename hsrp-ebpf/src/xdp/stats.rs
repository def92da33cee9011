//! Per-CPU counters: every frame is counted once in the whole-program slot and, when it
//! belongs to a group or interface with a slot, once more there.

use aya_ebpf::bindings::xdp_action;
use hsrp_ebpf::{Counter, STATS_SLOT_TOTAL};

use super::maps::HSRP_STATS;

#[inline(always)]
fn bump_slot(slot: u32, c: Counter) {
    if let Some(p) = HSRP_STATS.get_ptr_mut(slot) {
        // SAFETY: per-CPU slot of Counters (COUNTER_FIELDS u64s); `c` indexes a field.
        unsafe { *(p as *mut u64).add(c as usize) += 1 };
    }
}

/// Counts `c` in the totals and in `slot` (0 = totals only).
#[inline(always)]
pub fn bump(slot: u16, c: Counter) {
    bump_slot(STATS_SLOT_TOTAL, c);
    if slot != 0 {
        bump_slot(slot as u32, c);
    }
}

/// Not ours: count and pass untouched.
#[inline(always)]
pub fn pass() -> u32 {
    bump_slot(STATS_SLOT_TOTAL, Counter::Passed);
    xdp_action::XDP_PASS
}
