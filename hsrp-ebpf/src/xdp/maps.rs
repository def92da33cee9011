//! The maps (BTF-described, pinned by the loader under their names) and typed lookups that
//! copy the value out at once, so no reference into a hash slot outlives the lookup.

use aya_ebpf::{
    btf_maps::{Array, DevMapHash, HashMap, LruHashMap, PerCpuArray},
    macros::btf_map,
};
use hsrp_ebpf::{
    Config, Counters, IfaceValue, RateKey, RateState, VipKey, VipValue, VmacKey, VmacValue,
    MAX_IFACES, MAX_RATE_SOURCES, MAX_TX_PORTS, MAX_VIPS, MAX_VMACS, STATS_SLOTS,
};

const VMACS: usize = MAX_VMACS as usize;
const VIPS: usize = MAX_VIPS as usize;
const IFACES: usize = MAX_IFACES as usize;
const TX_PORTS: usize = MAX_TX_PORTS as usize;
const RATE_SOURCES: usize = MAX_RATE_SOURCES as usize;
const SLOTS: usize = STATS_SLOTS as usize;

#[btf_map]
pub static HSRP_VMAC: HashMap<VmacKey, VmacValue, VMACS> = HashMap::new();
#[btf_map]
pub static HSRP_VIP: HashMap<VipKey, VipValue, VIPS> = HashMap::new();
#[btf_map]
pub static HSRP_IFACE: HashMap<u32, IfaceValue, IFACES> = HashMap::new();
#[btf_map]
pub static HSRP_TX_PORTS: DevMapHash<TX_PORTS> = DevMapHash::new();
#[btf_map]
pub static HSRP_STATS: PerCpuArray<Counters, SLOTS> = PerCpuArray::new();
#[btf_map]
pub static HSRP_CTRL_RATE: LruHashMap<RateKey, RateState, RATE_SOURCES> = LruHashMap::new();
#[btf_map]
pub static HSRP_CONFIG: Array<Config, 1> = Array::new();

#[inline(always)]
pub fn vmac(key: &VmacKey) -> Option<VmacValue> {
    // SAFETY: the value is copied out immediately.
    unsafe { HSRP_VMAC.get(key).copied() }
}

/// The group entry a VIP names: (VIP value, its vMAC entry).
#[inline(always)]
pub fn vip(ifindex: u32, family: u8, addr: [u8; 16]) -> Option<(VipValue, VmacValue)> {
    let key = VipKey {
        ifindex,
        family,
        _pad: [0; 3],
        addr,
    };
    // SAFETY: copied out immediately.
    let vip = unsafe { HSRP_VIP.get(key).copied() }?;
    let group = vmac(&VmacKey {
        ifindex,
        mac: vip.vmac,
        _pad: [0; 2],
    })?;
    Some((vip, group))
}

#[inline(always)]
pub fn iface(ifindex: u32) -> Option<IfaceValue> {
    // SAFETY: copied out immediately.
    unsafe { HSRP_IFACE.get(ifindex).copied() }
}

#[inline(always)]
pub fn config() -> Config {
    HSRP_CONFIG.get(0).copied().unwrap_or_default()
}
