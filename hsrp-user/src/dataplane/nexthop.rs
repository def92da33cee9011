//! The next-hop cache maps from userspace: `HSRP_NEXTHOP` (filled by the program after
//! each successful fib lookup) and its generation `HSRP_NH_GEN[0]`.
//!
//! Userspace never writes entries: it only moves the generation. An entry is used by the
//! program only while its `gen` equals the current one, so one write of the generation
//! invalidates the whole cache at once, and generation 0 ([`NH_GEN_OFF`]) turns the cache
//! off (nothing used, nothing filled). Generations handed out by one [`NexthopMaps`] only
//! grow, so an entry of a generation that was current before an "off" period can never
//! become valid again.

use std::net::IpAddr;

use anyhow::{Context, Result};
use aya::maps::{Array, HashMap, Map, MapData};
use hsrp_ebpf::{map_names, NexthopKey, NexthopValue, NH_GEN_OFF};

use super::{typed, MapSet};

/// The two maps of the next-hop cache, typed.
pub struct NexthopMaps {
    cache: HashMap<MapData, NexthopKey, NexthopValue>,
    gen: Array<MapData, u32>,
    /// The last generation this instance wrote (other than 0).
    last: u32,
}

impl MapSet for NexthopMaps {
    fn from_source(mut take: impl FnMut(&str) -> Result<Map>) -> Result<Self> {
        let mut maps = NexthopMaps {
            cache: typed(map_names::NEXTHOP, take(map_names::NEXTHOP)?)?,
            gen: typed(map_names::NH_GEN, take(map_names::NH_GEN)?)?,
            last: 0,
        };
        maps.last = maps.generation()?;
        Ok(maps)
    }
}

impl NexthopMaps {
    /// The generation the program sees now (0: the cache is off).
    pub fn generation(&self) -> Result<u32> {
        self.gen.get(&0, 0).context("reading HSRP_NH_GEN")
    }

    /// Whether the program uses the cache now.
    pub fn is_on(&self) -> Result<bool> {
        Ok(self.generation()? != NH_GEN_OFF)
    }

    /// Turns the cache on with a generation never used before (every existing entry is
    /// stale from this write on), or, when it is on, invalidates it: the same one write.
    /// Returns the new generation.
    pub fn bump(&mut self) -> Result<u32> {
        let next = match self.last.max(self.generation()?).wrapping_add(1) {
            NH_GEN_OFF => 1,
            g => g,
        };
        self.write(next)?;
        self.last = next;
        Ok(next)
    }

    /// Turns the cache off (one write): the program neither uses nor fills it.
    pub fn off(&mut self) -> Result<()> {
        self.write(NH_GEN_OFF)
    }

    /// Start of a run: off, entries removed, then on with a fresh generation. Entries the
    /// program adds during the clear carry an old generation, so they are never used.
    pub fn start(&mut self) -> Result<u32> {
        self.off()?;
        self.clear()?;
        self.bump()
    }

    /// Removes every entry (the program refills what it needs).
    pub fn clear(&mut self) -> Result<()> {
        let keys: Vec<NexthopKey> = self.cache.keys().filter_map(|k| k.ok()).collect();
        self.remove_all(&keys).context("clearing HSRP_NEXTHOP")
    }

    /// Removes the entries of any generation but the current one (every entry while the
    /// cache is off) and returns how many. The program cannot evict: an entry stays until
    /// the same destination is looked up again, so without this a router that has seen
    /// more destinations than the map holds, over many generations, would stop caching
    /// new ones. Entries the program adds meanwhile are of the current generation and
    /// are kept.
    pub fn prune_stale(&mut self) -> Result<usize> {
        let gen = self.generation()?;
        let stale: Vec<NexthopKey> = self
            .cache
            .iter()
            .filter_map(|r| r.ok())
            .filter(|(_, v)| gen == NH_GEN_OFF || v.gen != gen)
            .map(|(k, _)| k)
            .collect();
        self.remove_all(&stale)
            .context("pruning stale HSRP_NEXTHOP entries")?;
        Ok(stale.len())
    }

    /// Removes `keys`; one already gone (the program may replace entries) is no error.
    fn remove_all(&mut self, keys: &[NexthopKey]) -> Result<()> {
        for k in keys {
            match self.cache.remove(k) {
                Ok(()) | Err(aya::maps::MapError::KeyNotFound) => {}
                Err(aya::maps::MapError::SyscallError(e))
                    if e.io_error.raw_os_error() == Some(libc::ENOENT) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    /// The cached hop of `dst` seen from `ifindex`, whatever its generation.
    pub fn entry(&self, ifindex: u32, dst: IpAddr) -> Option<NexthopValue> {
        self.cache.get(&NexthopKey::new(ifindex, dst), 0).ok()
    }

    /// Writes an entry as the program would (tests and benchmarks).
    pub fn insert(&mut self, ifindex: u32, dst: IpAddr, value: NexthopValue) -> Result<()> {
        self.cache
            .insert(NexthopKey::new(ifindex, dst), value, 0)
            .with_context(|| format!("writing the next-hop entry of {dst} from ifindex {ifindex}"))
    }

    /// Number of entries (any generation).
    pub fn len(&self) -> usize {
        self.cache.keys().filter(|k| k.is_ok()).count()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn write(&mut self, gen: u32) -> Result<()> {
        self.gen
            .set(0, gen, 0)
            .with_context(|| format!("writing {gen} to HSRP_NH_GEN"))
    }
}
