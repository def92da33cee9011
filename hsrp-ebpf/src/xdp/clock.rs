//! The clock of the control-rate budget: the coarse monotonic clock, read once per tick
//! per CPU.
//!
//! `bpf_ktime_get_coarse_ns` is a helper call (a seqcount loop over the timekeeper) that
//! measured ~20 ns per frame here, as much as all the rest of the over-budget drop path.
//! The coarse clock only moves when the tick handler advances the timekeeper, which is
//! also when `jiffies` moves, and the verifier inlines `bpf_jiffies64` as one load. So
//! each CPU keeps the last (jiffies, coarse ns) pair it saw and calls the helper only when
//! jiffies has moved on: on a flood that is once per tick, not once per frame.
//!
//! Error: if a frame lands between the tick's jiffies update and its timekeeper update,
//! the pair holds the previous tick's time until the next tick, so `now` can lag by one
//! more tick (a few ms) — the same order as the coarse clock's own quantisation, and a
//! small fraction of a token for budgets of packets per second.

use aya_ebpf::helpers::{bpf_jiffies64, bpf_ktime_get_coarse_ns};

use super::maps::HSRP_CLOCK;

/// Nanoseconds of the coarse monotonic clock (see the module docs for its resolution).
#[inline(always)]
pub fn coarse_ns() -> u64 {
    // SAFETY: bpf_jiffies64 has no preconditions.
    let jiffies = unsafe { bpf_jiffies64() };
    let Some(p) = HSRP_CLOCK.get_ptr_mut(0) else {
        // SAFETY: no preconditions.
        return unsafe { bpf_ktime_get_coarse_ns() };
    };
    // SAFETY: p is this CPU's element; nothing else on this CPU runs the program
    // concurrently (XDP runs with preemption and bottom halves off).
    unsafe {
        if (*p).jiffies != jiffies {
            (*p).ns = bpf_ktime_get_coarse_ns();
            (*p).jiffies = jiffies;
        }
        (*p).ns
    }
}
