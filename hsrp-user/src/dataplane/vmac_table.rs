//! `HSRP_VMAC` from userspace: a direct-mapped array of [`VmacEntry`] with linear probing
//! (layout and hash in `hsrp_ebpf`), read through a shared read-only mapping and written
//! one element at a time through the syscall.
//!
//! Why a mapping: the table has [`VMAC_SLOTS`] elements, and the scans (a free slot for a
//! new group, the stats slots in use, the groups for `status`) would otherwise cost one
//! syscall per element. Why writes through the syscall: each write is then one kernel copy
//! of one element, the unit the program's reader relies on (see [`VmacEntry`]).
//!
//! Probing rules, shared with the program: a vMAC lives within [`VMAC_PROBES`] slots of
//! its home slot; a lookup stops at its entry or at a never-used slot (ifindex 0);
//! removal leaves a tombstone when a later entry may probe through the slot.

use std::os::fd::{AsFd, AsRawFd};

use anyhow::{bail, Context, Result};
use aya::maps::{Array, IterableMap, MapData};
use hsrp_ebpf::{
    mac_words, vmac_home_slot, vmac_probe_slot, VmacEntry, VmacValue, MAX_VMACS, VMAC_PROBES,
    VMAC_SLOTS, VMAC_TOMBSTONE,
};
use memmap2::{Mmap, MmapOptions};

/// The table, typed.
pub struct VmacTable {
    array: Array<MapData, VmacEntry>,
    view: Mmap,
}

/// Where a vMAC is, or would go.
enum Probe {
    Found(u32, VmacEntry),
    /// Not present; the first reusable slot of its probe sequence, if any.
    Absent(Option<u32>),
}

impl VmacTable {
    /// Wraps the map (from a loaded object or a pin) and maps it for reading.
    pub fn new(array: Array<MapData, VmacEntry>) -> Result<Self> {
        if array.len() != VMAC_SLOTS {
            bail!(
                "HSRP_VMAC has {} entries, this hsrpd expects {VMAC_SLOTS} (object and \
                 binary from different builds?)",
                array.len()
            );
        }
        let len = VMAC_SLOTS as usize * size_of::<VmacEntry>();
        let fd = array.map().fd().as_fd().as_raw_fd();
        // SAFETY: a shared read-only mapping of the map's value area, `len` bytes (a whole
        // number of pages: 16384 x 24). The kernel only allows it for BPF_F_MMAPABLE
        // arrays, and the length check above makes it the whole table. The memory is
        // written concurrently (by the kernel on our own updates, or another process on
        // shared pins), so it is only read through `read_volatile` in `entry`.
        let view = unsafe { MmapOptions::new().len(len).map(fd) }
            .context("mapping HSRP_VMAC (needs BPF_F_MMAPABLE: is the object current?)")?;
        Ok(VmacTable { array, view })
    }

    /// Slot `i` as it is now.
    fn entry(&self, i: u32) -> VmacEntry {
        assert!(i < VMAC_SLOTS);
        let base = self.view.as_ptr() as *const VmacEntry;
        // SAFETY: `i` is in bounds of the mapping (its length is VMAC_SLOTS elements),
        // which is page-aligned, so the element is aligned; every bit pattern is a valid
        // VmacEntry (integers and byte arrays only).
        unsafe { std::ptr::read_volatile(base.add(i as usize)) }
    }

    fn probe(&self, ifindex: u32, mac: [u8; 6]) -> Probe {
        let (lo, hi) = mac_words(mac);
        let home = vmac_home_slot(ifindex, lo, hi);
        let mut reusable = None;
        for k in 0..VMAC_PROBES {
            let i = vmac_probe_slot(home, k);
            let e = self.entry(i);
            if e.ifindex == ifindex && e.mac == mac {
                return Probe::Found(i, e);
            }
            if e.ifindex == 0 || e.ifindex == VMAC_TOMBSTONE {
                reusable.get_or_insert(i);
            }
            if e.ifindex == 0 {
                break;
            }
        }
        Probe::Absent(reusable)
    }

    /// The group state of `mac` on `ifindex`, if installed.
    pub fn get(&self, ifindex: u32, mac: [u8; 6]) -> Option<VmacValue> {
        match self.probe(ifindex, mac) {
            Probe::Found(_, e) => Some(e.value),
            Probe::Absent(_) => None,
        }
    }

    /// Every installed entry.
    pub fn entries(&self) -> impl Iterator<Item = VmacEntry> + '_ {
        (0..VMAC_SLOTS)
            .map(|i| self.entry(i))
            .filter(|e| e.ifindex != 0 && e.ifindex != VMAC_TOMBSTONE)
    }

    /// Installs or replaces the entry of `mac` on `ifindex`: one element write.
    pub fn insert(&mut self, ifindex: u32, mac: [u8; 6], value: VmacValue) -> Result<()> {
        let slot = match self.probe(ifindex, mac) {
            Probe::Found(i, _) => i,
            Probe::Absent(Some(i)) => {
                let used = self.entries().count();
                if used >= MAX_VMACS as usize {
                    bail!("the vMAC table holds its maximum of {MAX_VMACS} groups");
                }
                i
            }
            // Practically unreachable with the table at most a quarter full (see the hash
            // test in hsrp_ebpf), but a clear error beats a silent miss.
            Probe::Absent(None) => bail!(
                "no free HSRP_VMAC slot within {VMAC_PROBES} of the home slot of {} on \
                 ifindex {ifindex}",
                super::maps::fmt_mac(&mac)
            ),
        };
        self.write(slot, entry(ifindex, mac, value))
    }

    /// Changes the value of an installed entry: one element write in which only the
    /// fields `change` touches differ.
    pub fn update(
        &mut self,
        ifindex: u32,
        mac: [u8; 6],
        change: impl FnOnce(&mut VmacValue),
    ) -> Result<()> {
        let Probe::Found(slot, mut e) = self.probe(ifindex, mac) else {
            bail!(
                "no group with vMAC {} on ifindex {ifindex}",
                super::maps::fmt_mac(&mac)
            );
        };
        change(&mut e.value);
        self.write(slot, e)
    }

    /// Removes the entry of `mac` on `ifindex`; absent: `Ok(false)`.
    pub fn remove(&mut self, ifindex: u32, mac: [u8; 6]) -> Result<bool> {
        let Probe::Found(slot, _) = self.probe(ifindex, mac) else {
            return Ok(false);
        };
        // If the next slot was never used, no probe sequence continues through this one:
        // free it, and the tombstones just before it, which only led here.
        if self.entry(vmac_probe_slot(slot, 1)).ifindex != 0 {
            self.write(slot, tombstone())?;
            return Ok(true);
        }
        self.write(slot, VmacEntry::default())?;
        let mut i = slot;
        for _ in 1..VMAC_SLOTS {
            i = vmac_probe_slot(i, VMAC_SLOTS - 1);
            if self.entry(i).ifindex != VMAC_TOMBSTONE {
                break;
            }
            self.write(i, VmacEntry::default())?;
        }
        Ok(true)
    }

    /// Empties the table (one write per used or tombstoned slot).
    pub fn clear(&mut self) -> Result<()> {
        for i in 0..VMAC_SLOTS {
            if self.entry(i) != VmacEntry::default() {
                self.write(i, VmacEntry::default())?;
            }
        }
        Ok(())
    }

    fn write(&mut self, slot: u32, e: VmacEntry) -> Result<()> {
        self.array
            .set(slot, e, 0)
            .with_context(|| format!("writing HSRP_VMAC slot {slot}"))
    }
}

fn entry(ifindex: u32, mac: [u8; 6], value: VmacValue) -> VmacEntry {
    VmacEntry {
        ifindex,
        mac,
        value,
        ..VmacEntry::default()
    }
}

fn tombstone() -> VmacEntry {
    VmacEntry {
        ifindex: VMAC_TOMBSTONE,
        ..VmacEntry::default()
    }
}
