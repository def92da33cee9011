//! The malloc thresholds, fixed so the daemon's RSS follows what it holds rather than the
//! most it ever held (docs/lab.md, "`cargo xtask bench churn`").
//!
//! glibc adjusts two thresholds by itself: the first time a block it had mapped on its own
//! (128 KiB or more) is freed, it raises the mmap threshold to that block's size and the
//! trim threshold to twice that. The daemon frees megabytes at start-up, so afterwards
//! every large transient buffer (the status of 1000 groups, a configuration's text and
//! groups) is carved out of a heap, and a heap gives nothing back until megabytes are free
//! at its top. Under reload churn each heap then keeps the highest transient peak it has
//! seen, and with time a rarer, higher one: RSS grew 7-8 % over the first minutes of a
//! churn, then stayed. `malloc_trim` would not help much: it returns free pages inside the
//! heaps and the main heap's top, but leaves the top of every other arena (where the aux
//! thread's buffers are) to the trim threshold; and it takes each arena's lock in turn,
//! the timer thread's included.
//!
//! Setting both thresholds switches the adjustment off. With glibc's initial values, a
//! buffer of 128 KiB or more is mapped and unmapped on its own (the aux thread's status
//! answers; the timer thread's only at a reload) and a heap whose free top reaches 128 KiB
//! gives it back at once.

/// Both thresholds: glibc's initial values, kept.
#[cfg(target_env = "gnu")]
const THRESHOLD: libc::c_int = 128 * 1024;

/// Fixes the mmap and trim thresholds. Called at start, before any thread starts.
pub fn fix_thresholds() {
    #[cfg(target_env = "gnu")]
    for param in [libc::M_MMAP_THRESHOLD, libc::M_TRIM_THRESHOLD] {
        // SAFETY: mallopt only sets a glibc tunable; no other thread allocates yet.
        if unsafe { libc::mallopt(param, THRESHOLD) } != 1 {
            log::warn!("mallopt({param}, {THRESHOLD}) failed: RSS may keep transient peaks");
        }
    }
}
