//! Loading the programs and filling the maps of the objects under test.

use anyhow::{Context, Result};
use aya::maps::{Array, DevMapHash, HashMap, MapData};
use aya::programs::Xdp;
use aya::Ebpf;
use hsrp_ebpf::{
    iface_slot_index, mac_words, map_names, vmac_home_slot, vmac_probe_slot, Config, IfaceSlot,
    IfaceValue, VipKey, VipValue, VmacEntry, VmacValue, VMAC_PROBES,
};

pub fn load_prog<'a>(ebpf: &'a mut Ebpf, name: &str) -> Result<&'a mut Xdp> {
    let p: &mut Xdp = ebpf
        .program_mut(name)
        .with_context(|| format!("no program {name}"))?
        .try_into()?;
    p.load()
        .with_context(|| format!("verifier rejected {name}"))?;
    Ok(p)
}

pub fn prog<'a>(ebpf: &'a Ebpf, name: &str) -> Result<&'a Xdp> {
    Ok(ebpf
        .program(name)
        .with_context(|| format!("no program {name}"))?
        .try_into()?)
}

pub fn map_mut<'a>(ebpf: &'a mut Ebpf, name: &str) -> Result<&'a mut aya::maps::Map> {
    ebpf.map_mut(name).with_context(|| format!("no map {name}"))
}

/// Installs a group (vMAC + VIPs) in an object's HSRP_* maps.
pub fn install_group(
    ebpf: &mut Ebpf,
    ifindex: u32,
    vmac: [u8; 6],
    group: u16,
    active: bool,
    vips: &[(u8, [u8; 16])],
) -> Result<()> {
    // HSRP_VMAC is direct-mapped with linear probing: the first free slot from home.
    let mut m: Array<&mut MapData, VmacEntry> = Array::try_from(map_mut(ebpf, map_names::VMAC)?)?;
    let (lo, hi) = mac_words(vmac);
    let home = vmac_home_slot(ifindex, lo, hi);
    let slot = (0..VMAC_PROBES)
        .map(|k| vmac_probe_slot(home, k))
        .find(|&i| m.get(&i, 0).is_ok_and(|e| e.ifindex == 0))
        .context("no free HSRP_VMAC slot")?;
    m.set(
        slot,
        VmacEntry {
            ifindex,
            mac: vmac,
            value: VmacValue {
                group,
                version: 2,
                active: active as u8,
                flags: 0,
                stats_slot: group,
            },
            ..VmacEntry::default()
        },
        0,
    )?;
    let mut v: HashMap<&mut MapData, VipKey, VipValue> =
        HashMap::try_from(map_mut(ebpf, map_names::VIP)?)?;
    for (family, addr) in vips {
        v.insert(
            VipKey {
                ifindex,
                family: *family,
                _pad: [0; 3],
                addr: *addr,
            },
            VipValue { vmac, group },
            0,
        )?;
    }
    Ok(())
}

pub fn set_iface(ebpf: &mut Ebpf, ifindex: u32, mac: [u8; 6]) -> Result<()> {
    let mut m: HashMap<&mut MapData, u32, IfaceValue> =
        HashMap::try_from(map_mut(ebpf, map_names::IFACE)?)?;
    m.insert(
        ifindex,
        IfaceValue {
            mac,
            stats_slot: 100,
            flags: 0,
        },
        0,
    )?;
    // The program's copy of the slot, as hsrpd's DataplaneMaps::set_interface keeps it
    // (absent from objects built before it existed: `--hsrp-object` comparisons).
    let Some(c) = ebpf.map_mut(map_names::IFACE_SLOT) else {
        return Ok(());
    };
    let mut c: Array<&mut MapData, IfaceSlot> = Array::try_from(c)?;
    c.set(
        iface_slot_index(ifindex),
        IfaceSlot {
            ifindex,
            stats_slot: 100,
        },
        0,
    )?;
    Ok(())
}

pub fn add_tx(ebpf: &mut Ebpf, map: &str, key: u32, ifindex: u32) -> Result<()> {
    let mut d: DevMapHash<&mut MapData> = DevMapHash::try_from(map_mut(ebpf, map)?)?;
    d.insert(key, ifindex, None, 0)?;
    Ok(())
}

pub fn xdp_md(ifindex: u32, len: usize) -> Vec<u8> {
    [0u32, len as u32, 0, ifindex, 0, 0]
        .iter()
        .flat_map(|w| w.to_ne_bytes())
        .collect()
}

/// Control budget of an object: 1 packet/s without burst, or none.
pub fn set_control_rate(ebpf: &mut Ebpf, on: bool) -> Result<()> {
    let cfg = if on {
        Config {
            ctrl_interval_ns: 1_000_000_000,
            ctrl_burst_ns: 0,
            ..Config::default()
        }
    } else {
        Config::default()
    };
    let mut m: Array<&mut MapData, Config> = Array::try_from(map_mut(ebpf, map_names::CONFIG)?)?;
    m.set(0, cfg, 0)?;
    Ok(())
}

/// Sets the next-hop cache generation of an object (0 = cache off). False when the object
/// predates the cache (`--hsrp-object` of an older build): nothing to set.
pub fn set_nh_gen(ebpf: &mut Ebpf, gen: u32) -> Result<bool> {
    let Some(m) = ebpf.map_mut(map_names::NH_GEN) else {
        return Ok(false);
    };
    let mut a: Array<&mut MapData, u32> = Array::try_from(m)?;
    a.set(0, gen, 0)?;
    Ok(true)
}

/// Sets `HSRP_FWD_MODE` of an object (kernel path or fast path). False when the object
/// predates it: nothing to set.
pub fn set_fwd_mode(ebpf: &mut Ebpf, mode: u32) -> Result<bool> {
    let Some(m) = ebpf.map_mut(map_names::FWD_MODE) else {
        return Ok(false);
    };
    let mut a: Array<&mut MapData, u32> = Array::try_from(m)?;
    a.set(0, mode, 0)?;
    Ok(true)
}

/// Puts one direction of a flow in `HSRP_FLOWS` (as hsrpd does for a flow conntrack
/// accepted); false if the object has no flow map.
pub fn add_flow(ebpf: &mut Ebpf, key: hsrp_ebpf::FlowKey) -> Result<bool> {
    let Some(m) = ebpf.map_mut(map_names::FLOWS) else {
        return Ok(false);
    };
    let mut h: aya::maps::HashMap<&mut MapData, hsrp_ebpf::FlowKey, hsrp_ebpf::FlowValue> =
        aya::maps::HashMap::try_from(m)?;
    h.insert(key, hsrp_ebpf::FlowValue::default(), 0)?;
    Ok(true)
}

/// Next-hop cache hits counted by an object, all slots and CPUs (0 without the cache);
/// `None` when its counters have another layout than this build's (`--objects` of an
/// older build), so they cannot be read.
pub fn nh_cache_hits(ebpf: &mut Ebpf) -> Result<Option<u64>> {
    counter_sum(ebpf, hsrp_ebpf::Counter::NhCacheHit)
}

/// Frames of the accepted-flow path's flows counted by an object (as `nh_cache_hits`).
pub fn flow_hits(ebpf: &mut Ebpf) -> Result<Option<u64>> {
    counter_sum(ebpf, hsrp_ebpf::Counter::FlowHit)
}

/// One counter of an object, all slots and CPUs (0 for an object without stats, `None`
/// for one whose counters have another layout).
fn counter_sum(ebpf: &mut Ebpf, counter: hsrp_ebpf::Counter) -> Result<Option<u64>> {
    let Some(m) = ebpf.map_mut(map_names::STATS) else {
        return Ok(Some(0));
    };
    let stats: aya::maps::PerCpuArray<&mut MapData, hsrp_ebpf::Counters> =
        match aya::maps::PerCpuArray::try_from(m) {
            Ok(stats) => stats,
            Err(aya::maps::MapError::InvalidValueSize { .. }) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
    let mut sum = 0;
    for slot in stats.iter() {
        for c in slot?.iter() {
            sum += c.get(counter);
        }
    }
    Ok(Some(sum))
}
