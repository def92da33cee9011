//! The BFD maps from userspace: `HSRP_BFD_EXPECT` (what each steady session's peer sends,
//! written one element at a time) and `HSRP_BFD_SEEN` (what the program matched, read
//! through a shared read-only mapping). Slots are [`bfd_slot`] of the session's local
//! discriminator; see the program's `bfd` module for the matching rules.
//!
//! Why a mapping for `HSRP_BFD_SEEN`: the daemon looks at every steady session's slot on
//! each of its BFD wake-ups (hundreds a second at 10 ms intervals), which through the
//! syscall would cost one call per session each time.

use std::os::fd::{AsFd, AsRawFd};

use anyhow::{bail, Context, Result};
use aya::maps::{Array, IterableMap, Map, MapData};
use hsrp_ebpf::{bfd_slot, map_names, BfdExpect, BfdSeen, MAX_BFD_SESSIONS};
use memmap2::{Mmap, MmapOptions};

use super::{typed, MapSet};

/// The two maps, typed.
pub struct BfdMaps {
    expect: Array<MapData, BfdExpect>,
    /// Keeps the map open while `view` maps it.
    _seen: Array<MapData, BfdSeen>,
    view: Mmap,
}

impl MapSet for BfdMaps {
    fn from_source(mut take: impl FnMut(&str) -> Result<Map>) -> Result<Self> {
        let expect: Array<MapData, BfdExpect> =
            typed(map_names::BFD_EXPECT, take(map_names::BFD_EXPECT)?)?;
        let seen: Array<MapData, BfdSeen> = typed(map_names::BFD_SEEN, take(map_names::BFD_SEEN)?)?;
        for (name, len) in [
            (map_names::BFD_EXPECT, expect.len()),
            (map_names::BFD_SEEN, seen.len()),
        ] {
            if len != MAX_BFD_SESSIONS {
                bail!(
                    "{name} has {len} entries, this hsrpd expects {MAX_BFD_SESSIONS} (object \
                     and binary from different builds?)"
                );
            }
        }
        let len = MAX_BFD_SESSIONS as usize * size_of::<BfdSeen>();
        let fd = seen.map().fd().as_fd().as_raw_fd();
        // SAFETY: a shared read-only mapping of the map's value area, `len` bytes (1024 x
        // 16: four pages). The kernel only allows it for BPF_F_MMAPABLE arrays, and the
        // length check above makes it the whole array. The program writes it concurrently,
        // so it is only read through `read_volatile` in `seen`.
        let view = unsafe { MmapOptions::new().len(len).map(fd) }.with_context(|| {
            format!(
                "mapping {} (needs BPF_F_MMAPABLE: is the object current?)",
                map_names::BFD_SEEN
            )
        })?;
        Ok(BfdMaps {
            expect,
            _seen: seen,
            view,
        })
    }
}

impl BfdMaps {
    /// Expect `e` for the session with local discriminator `e.discriminator` (not 0): one
    /// element write. An array update copies in place, so a frame arriving during it may
    /// be compared with part of each version; it matches only if it agrees with the old
    /// one in some fields and the new one in the rest, and is then counted for the same
    /// session.
    pub fn expect(&mut self, e: &BfdExpect) -> Result<()> {
        if e.discriminator == 0 {
            bail!("BFD expectation without a discriminator");
        }
        self.write(bfd_slot(e.discriminator), e)
    }

    /// Nothing is expected any more for `discriminator`: its frames go to the kernel.
    pub fn forget(&mut self, discriminator: u32) -> Result<()> {
        self.write(bfd_slot(discriminator), &BfdExpect::default())
    }

    /// What the program has matched so far in `discriminator`'s slot (the count since
    /// the program was loaded, whichever session held the slot).
    pub fn seen(&self, discriminator: u32) -> BfdSeen {
        let base = self.view.as_ptr() as *const BfdSeen;
        // SAFETY: bfd_slot is below MAX_BFD_SESSIONS, the mapping's length in elements; the
        // mapping is page-aligned, so the element is aligned; every bit pattern is a valid
        // BfdSeen (two u64).
        unsafe { std::ptr::read_volatile(base.add(bfd_slot(discriminator) as usize)) }
    }

    fn write(&mut self, slot: u32, e: &BfdExpect) -> Result<()> {
        self.expect
            .set(slot, e, 0)
            .with_context(|| format!("writing {} slot {slot}", map_names::BFD_EXPECT))
    }
}

/// The program's clock (`bpf_ktime_get_ns`): CLOCK_MONOTONIC, in nanoseconds.
pub fn program_clock_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid timespec to write; CLOCK_MONOTONIC always exists.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    debug_assert_eq!(rc, 0);
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}
