//! The XDP data plane from userspace: loading, attaching, pinning, the typed map API.
//!
//! - `loader`: the embedded object → kernel; attach/detach (native, generic fallback);
//!   map pins under /sys/fs/bpf/hsrpd; aya-log forwarding.
//! - `cli`: `hsrpd load` / `hsrpd unload`.
//! - `maps`: the typed map API; `vmac_table`: the direct-mapped `HSRP_VMAC` under it.
//! - `nexthop`: the next-hop cache maps (generation, entries); kept by
//!   `nexthop_cache`.
//! - `fwd_mode`: fast path, kernel path or accepted-flow path for forwarded frames; kept
//!   by `daemon::fast_path`. `flows`: the flows the accepted-flow path forwards.
//! - `bfd_offload`: the steady BFD packets the program takes off the kernel's hands.

pub mod bfd_offload;
pub mod cli;
pub mod flows;
pub mod fwd_mode;
pub mod loader;
pub mod maps;
pub mod nexthop;
pub mod vmac_table;

pub use loader::{
    attach_policy, AttachMode, AttachPolicy, Dataplane, LoadOptions, DEFAULT_PIN_DIR, PROGRAM_NAME,
};

use std::path::Path;

use anyhow::{Context, Result};
use aya::maps::{Map, MapData};

/// A typed view over some of the program's maps ([`maps::DataplaneMaps`],
/// [`nexthop::NexthopMaps`]), built the same way from wherever the maps are: a loaded
/// object, a loaded [`Dataplane`], or the pins of a running one.
pub trait MapSet: Sized {
    /// Builds the view, taking each map it needs by name from `take`.
    fn from_source(take: impl FnMut(&str) -> Result<Map>) -> Result<Self>;

    /// Takes the maps out of a loaded object (they stay usable by the program).
    fn from_ebpf(ebpf: &mut aya::Ebpf) -> Result<Self> {
        Self::from_source(|name| {
            ebpf.take_map(name)
                .with_context(|| format!("the XDP object has no map `{name}` (or it was taken)"))
        })
    }

    /// Takes the maps out of a loaded [`Dataplane`].
    fn from_dataplane(dp: &mut Dataplane) -> Result<Self> {
        Self::from_source(|name| dp.take_map(name))
    }

    /// Opens the maps pinned in `dir` (e.g. /sys/fs/bpf/hsrpd) by a running data plane.
    fn from_pinned(dir: &Path) -> Result<Self> {
        Self::from_source(|name| {
            let path = dir.join(name);
            let data = MapData::from_pin(&path)
                .with_context(|| format!("opening pinned map {}", path.display()))?;
            Map::from_map_data(data).with_context(|| format!("map {}", path.display()))
        })
    }
}

/// `map` as the typed map `T`, or an error naming it.
pub(crate) fn typed<T>(name: &str, map: Map) -> Result<T>
where
    T: TryFrom<Map, Error = aya::maps::MapError>,
{
    T::try_from(map).with_context(|| format!("map `{name}` has an unexpected type"))
}
