//! The typed userspace API over the XDP program's maps.
//!
//! The kernel/user contract (types in `hsrp_ebpf`):
//! - `HSRP_VMAC` {ifindex, vMAC} → {group, version, **active**, flags, stats slot}: the one
//!   entry the fast path reads for a group, in a direct-mapped array (see `vmac_table`).
//!   [`DataplaneMaps::set_active`] is one update of it, and that is the whole takeover /
//!   give-up.
//! - `HSRP_VIP` {ifindex, family, address} → {vMAC, group}: which addresses XDP answers
//!   ARP / NS / echo for; their `active` is read through the vMAC entry they name.
//! - `HSRP_IFACE` ifindex → {interface MAC, stats slot}; `HSRP_TX_PORTS` (devmap hash) the
//!   forwarding targets; `HSRP_STATS` per-CPU counters by slot (each frame counted once:
//!   in its group's or interface's slot, else slot 0; the whole program is the sum);
//!   `HSRP_CTRL_RATE` (array of `RateSlot`, direct-mapped by a hash of the source) the
//!   per-source control budget; `HSRP_CONFIG[0]` the budget; `HSRP_IFACE_SLOT` (array,
//!   direct-mapped by ifindex) a copy of each interface's stats slot, so the control path
//!   finds it without a hash lookup; written and cleared together with `HSRP_IFACE`.
//!
//! Stats slots are not remembered here: the map entries that own them are the record, so
//! the same API works on maps pinned by another process.

use std::collections::BTreeSet;
use std::net::IpAddr;

use anyhow::{bail, Context, Result};
use aya::maps::{Array, DevMapHash, HashMap, Map, MapData, PerCpuArray, PerCpuValues};
use hsrp_ebpf::{
    iface_slot_index, map_names, Config, Counters, IfaceSlot, IfaceValue, RateSlot, VipKey,
    VipValue, VmacValue, MAX_IFACE_SLOTS, MAX_RATE_SOURCES, STATS_SLOTS, STATS_SLOT_TOTAL,
};

use super::vmac_table::VmacTable;
use super::{typed, MapSet};

/// Counters of one group on one interface.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupStats {
    pub ifindex: u32,
    pub vmac: [u8; 6],
    pub group: u16,
    pub counters: Counters,
}

/// Counters summed over CPUs: the whole program, each group, each interface (the last
/// holds what belongs to an interface but no group: control packets).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub total: Counters,
    pub groups: Vec<GroupStats>,
    pub interfaces: Vec<(u32, Counters)>,
}

impl Stats {
    /// The counters of the group with this vMAC on `ifindex`.
    pub fn group(&self, ifindex: u32, vmac: [u8; 6]) -> Option<&Counters> {
        self.groups
            .iter()
            .find(|g| g.ifindex == ifindex && g.vmac == vmac)
            .map(|g| &g.counters)
    }

    pub fn interface(&self, ifindex: u32) -> Option<&Counters> {
        self.interfaces
            .iter()
            .find(|(i, _)| *i == ifindex)
            .map(|(_, c)| c)
    }
}

/// The program's maps, typed.
pub struct DataplaneMaps {
    vmac: VmacTable,
    vip: HashMap<MapData, VipKey, VipValue>,
    iface: HashMap<MapData, u32, IfaceValue>,
    tx_ports: DevMapHash<MapData>,
    stats: PerCpuArray<MapData, Counters>,
    rate: Array<MapData, RateSlot>,
    config: Array<MapData, Config>,
    iface_slot: Array<MapData, IfaceSlot>,
}

impl MapSet for DataplaneMaps {
    fn from_source(mut take: impl FnMut(&str) -> Result<Map>) -> Result<Self> {
        Ok(DataplaneMaps {
            vmac: VmacTable::new(typed(map_names::VMAC, take(map_names::VMAC)?)?)?,
            vip: typed(map_names::VIP, take(map_names::VIP)?)?,
            iface: typed(map_names::IFACE, take(map_names::IFACE)?)?,
            tx_ports: typed(map_names::TX_PORTS, take(map_names::TX_PORTS)?)?,
            stats: typed(map_names::STATS, take(map_names::STATS)?)?,
            rate: typed(map_names::CTRL_RATE, take(map_names::CTRL_RATE)?)?,
            config: typed(map_names::CONFIG, take(map_names::CONFIG)?)?,
            iface_slot: typed(map_names::IFACE_SLOT, take(map_names::IFACE_SLOT)?)?,
        })
    }
}

impl DataplaneMaps {
    /// Installs a group: its vMAC entry (not Active) and one VIP entry per address.
    /// Replaces an existing entry for the same vMAC, keeping its stats slot.
    pub fn add_group(
        &mut self,
        ifindex: u32,
        vmac: [u8; 6],
        group: u16,
        version: u8,
        vips: &[IpAddr],
    ) -> Result<()> {
        let existing = self.vmac.get(ifindex, vmac);
        let stats_slot = match existing {
            Some(v) => v.stats_slot,
            None => self.claim_slot()?,
        };
        let value = VmacValue {
            group,
            version,
            active: existing.map_or(0, |v| v.active),
            flags: existing.map_or(0, |v| v.flags),
            stats_slot,
        };
        self.vmac.insert(ifindex, vmac, value).with_context(|| {
            format!(
                "adding group {group} ({}) on ifindex {ifindex}",
                fmt_mac(&vmac)
            )
        })?;
        for addr in vips {
            self.add_vip(ifindex, vmac, group, *addr)?;
        }
        Ok(())
    }

    /// Adds one virtual address to an installed group.
    pub fn add_vip(&mut self, ifindex: u32, vmac: [u8; 6], group: u16, addr: IpAddr) -> Result<()> {
        self.vip
            .insert(VipKey::new(ifindex, addr), VipValue { vmac, group }, 0)
            .with_context(|| format!("adding VIP {addr} of group {group} on ifindex {ifindex}"))
    }

    pub fn remove_vip(&mut self, ifindex: u32, addr: IpAddr) -> Result<()> {
        self.vip
            .remove(&VipKey::new(ifindex, addr))
            .with_context(|| format!("removing VIP {addr} on ifindex {ifindex}"))
    }

    /// Takeover / give-up: ONE update of the group's vMAC entry. Forwarding, the drop of
    /// frames to the vMAC and the ARP/NS/echo answers for every VIP of the group all read
    /// this flag.
    pub fn set_active(&mut self, ifindex: u32, vmac: [u8; 6], active: bool) -> Result<()> {
        self.vmac
            .update(ifindex, vmac, |v| v.active = active as u8)
            .with_context(|| format!("set_active({active})"))
    }

    /// Whether the group is Active in the data plane (as the program sees it).
    pub fn is_active(&self, ifindex: u32, vmac: [u8; 6]) -> Result<bool> {
        let v = self.vmac.get(ifindex, vmac).with_context(|| {
            format!("no group with vMAC {} on ifindex {ifindex}", fmt_mac(&vmac))
        })?;
        Ok(v.active != 0)
    }

    /// Sets the group's `VMAC_F_*` flags (e.g. slow path only).
    pub fn set_group_flags(&mut self, ifindex: u32, vmac: [u8; 6], flags: u16) -> Result<()> {
        self.vmac
            .update(ifindex, vmac, |v| v.flags = flags)
            .context("updating group flags")
    }

    /// Removes a group: its VIP entries first (so no answer can name a missing vMAC
    /// entry), then the vMAC entry. Absent group: no error.
    pub fn remove_group(&mut self, ifindex: u32, vmac: [u8; 6]) -> Result<()> {
        let vips: Vec<VipKey> = self
            .vip
            .iter()
            .filter_map(|r| r.ok())
            .filter(|(k, v)| k.ifindex == ifindex && v.vmac == vmac)
            .map(|(k, _)| k)
            .collect();
        for k in vips {
            remove_if_present(&mut self.vip, &k).context("removing a VIP of the group")?;
        }
        self.vmac
            .remove(ifindex, vmac)
            .map(drop)
            .with_context(|| format!("removing group {} on ifindex {ifindex}", fmt_mac(&vmac)))
    }

    /// Registers an interface hsrpd runs groups on: its MAC (the slow path's destination)
    /// and a stats slot for its control traffic.
    pub fn set_interface(&mut self, ifindex: u32, if_mac: [u8; 6]) -> Result<()> {
        let stats_slot = match self.iface.get(&ifindex, 0) {
            Ok(v) => v.stats_slot,
            Err(_) => self.claim_slot()?,
        };
        let value = IfaceValue {
            mac: if_mac,
            stats_slot,
            flags: 0,
        };
        self.iface
            .insert(ifindex, value, 0)
            .with_context(|| format!("registering interface {ifindex} ({})", fmt_mac(&if_mac)))?;
        // The program's copy of the slot, if the entry is free (or already ours); an
        // interface without one is found through HSRP_IFACE.
        let index = iface_slot_index(ifindex);
        let entry = self
            .iface_slot
            .get(&index, 0)
            .context("reading HSRP_IFACE_SLOT")?;
        if entry.ifindex == 0 || entry.ifindex == ifindex {
            let entry = IfaceSlot {
                ifindex,
                stats_slot: stats_slot as u32,
            };
            self.iface_slot
                .set(index, entry, 0)
                .with_context(|| format!("caching the stats slot of interface {ifindex}"))?;
        }
        Ok(())
    }

    pub fn remove_interface(&mut self, ifindex: u32) -> Result<()> {
        self.forget_iface_slot(ifindex)?;
        remove_if_present(&mut self.iface, &ifindex)
            .with_context(|| format!("removing interface {ifindex}"))
    }

    /// Frees the `HSRP_IFACE_SLOT` entry of `ifindex` if it holds one.
    fn forget_iface_slot(&mut self, ifindex: u32) -> Result<()> {
        let index = iface_slot_index(ifindex);
        let entry = self
            .iface_slot
            .get(&index, 0)
            .context("reading HSRP_IFACE_SLOT")?;
        if entry.ifindex == ifindex {
            self.iface_slot
                .set(index, IfaceSlot::default(), 0)
                .with_context(|| format!("freeing the slot cache entry of {ifindex}"))?;
        }
        Ok(())
    }

    /// Makes `ifindex` a forwarding target (XDP may redirect to it).
    pub fn add_tx_port(&mut self, ifindex: u32) -> Result<()> {
        self.tx_ports
            .insert(ifindex, ifindex, None, 0)
            .with_context(|| format!("adding forwarding target ifindex {ifindex}"))
    }

    pub fn remove_tx_port(&mut self, ifindex: u32) -> Result<()> {
        if self.tx_ports.get(ifindex, 0).is_err() {
            return Ok(());
        }
        self.tx_ports
            .remove(ifindex)
            .with_context(|| format!("removing forwarding target ifindex {ifindex}"))
    }

    /// The forwarding targets.
    pub fn tx_ports(&self) -> Vec<u32> {
        self.tx_ports.keys().filter_map(|k| k.ok()).collect()
    }

    /// Per-source budget for HSRP control packets: `pps` sustained, `burst` back to back.
    /// `pps == 0` turns the limit off.
    pub fn set_control_rate(&mut self, pps: u32, burst: u32) -> Result<()> {
        let cfg = if pps == 0 {
            Config::default()
        } else {
            let interval = 1_000_000_000u64 / pps as u64;
            Config {
                ctrl_interval_ns: interval.max(1),
                ctrl_burst_ns: interval * burst.saturating_sub(1) as u64,
                ..Config::default()
            }
        };
        self.config
            .set(0, cfg, 0)
            .context("writing the control rate to HSRP_CONFIG")
    }

    /// Counters summed over CPUs, for the whole program, each group and each interface.
    ///
    /// The program counts each frame once, in its group's or interface's slot, or in
    /// slot 0 when it belongs to neither (one counter update on the fast path), so the
    /// whole-program total is the sum of every slot. A slot handed to a new owner is
    /// zeroed first, so frames of a long-removed group leave the total at that point.
    pub fn stats(&self) -> Result<Stats> {
        let mut out = Stats::default();
        for entry in self.stats.iter() {
            let per_cpu = entry.context("reading HSRP_STATS")?;
            for c in per_cpu.iter() {
                out.total.add(c);
            }
        }
        for e in self.vmac.entries() {
            if e.value.stats_slot != 0 {
                out.groups.push(GroupStats {
                    ifindex: e.ifindex,
                    vmac: e.mac,
                    group: e.value.group,
                    counters: self.slot_counters(e.value.stats_slot)?,
                });
            }
        }
        for (k, v) in self.iface.iter().filter_map(|r| r.ok()) {
            if v.stats_slot != 0 {
                out.interfaces.push((k, self.slot_counters(v.stats_slot)?));
            }
        }
        Ok(out)
    }

    /// The counters of one group, summed over CPUs: one read of its slot (where
    /// [`DataplaneMaps::stats`] reads every slot). `None` when the group is not installed.
    pub fn group_counters(&self, ifindex: u32, vmac: [u8; 6]) -> Result<Option<Counters>> {
        match self.vmac.get(ifindex, vmac) {
            Some(v) if v.stats_slot != 0 => self.slot_counters(v.stats_slot).map(Some),
            _ => Ok(None),
        }
    }

    /// Empties every table and zeroes every counter: the state at daemon start.
    pub fn reset(&mut self) -> Result<()> {
        clear(&mut self.vip).context("clearing HSRP_VIP")?;
        self.vmac.clear().context("clearing HSRP_VMAC")?;
        for i in 0..MAX_IFACE_SLOTS {
            self.iface_slot
                .set(i, IfaceSlot::default(), 0)
                .context("clearing HSRP_IFACE_SLOT")?;
        }
        clear(&mut self.iface).context("clearing HSRP_IFACE")?;
        for i in 0..MAX_RATE_SOURCES {
            self.rate
                .set(i, RateSlot::default(), 0)
                .context("clearing HSRP_CTRL_RATE")?;
        }
        for port in self.tx_ports() {
            self.remove_tx_port(port)?;
        }
        self.config
            .set(0, Config::default(), 0)
            .context("clearing HSRP_CONFIG")?;
        for slot in 0..STATS_SLOTS {
            self.zero_slot(slot)?;
        }
        Ok(())
    }

    fn slot_counters(&self, slot: u16) -> Result<Counters> {
        let per_cpu = self
            .stats
            .get(&(slot as u32), 0)
            .with_context(|| format!("reading HSRP_STATS slot {slot}"))?;
        let mut sum = Counters::default();
        for c in per_cpu.iter() {
            sum.add(c);
        }
        Ok(sum)
    }

    fn zero_slot(&mut self, slot: u32) -> Result<()> {
        let cpus = aya::util::nr_cpus().map_err(|(what, e)| anyhow::anyhow!("{what}: {e}"))?;
        let zeros = PerCpuValues::try_from(vec![Counters::default(); cpus])
            .context("building per-CPU zeros")?;
        self.stats
            .set(slot, zeros, 0)
            .with_context(|| format!("zeroing HSRP_STATS slot {slot}"))
    }

    /// The lowest stats slot no group or interface uses, zeroed for its new owner.
    fn claim_slot(&mut self) -> Result<u16> {
        let mut used = BTreeSet::new();
        used.insert(STATS_SLOT_TOTAL as u16);
        used.extend(self.vmac.entries().map(|e| e.value.stats_slot));
        used.extend(
            self.iface
                .iter()
                .filter_map(|r| r.ok())
                .map(|(_, v)| v.stats_slot),
        );
        let Some(slot) = (1..STATS_SLOTS as u16).find(|s| !used.contains(s)) else {
            bail!("all {STATS_SLOTS} stats slots are in use (too many groups and interfaces)");
        };
        self.zero_slot(slot as u32)?;
        Ok(slot)
    }
}

pub(crate) fn fmt_mac(m: &[u8; 6]) -> String {
    m.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

pub(super) fn remove_if_present<K: aya::Pod, V: aya::Pod>(
    map: &mut HashMap<MapData, K, V>,
    key: &K,
) -> Result<()> {
    match map.remove(key) {
        Ok(()) => Ok(()),
        Err(aya::maps::MapError::KeyNotFound) => Ok(()),
        Err(aya::maps::MapError::SyscallError(e))
            if e.io_error.raw_os_error() == Some(libc::ENOENT) =>
        {
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}

pub(super) fn clear<K: aya::Pod, V: aya::Pod>(map: &mut HashMap<MapData, K, V>) -> Result<()> {
    let keys: Vec<K> = map.keys().filter_map(|k| k.ok()).collect();
    for k in keys {
        remove_if_present(map, &k)?;
    }
    Ok(())
}
