//! `HSRP_FLOWS`: the flows the accepted-flow path forwards in XDP, one entry per
//! direction; written by `daemon::accepted_flows`, read (and counted in) by the program.

use std::net::IpAddr;

use anyhow::{Context, Result};
use aya::maps::{HashMap, Map, MapData};
use hsrp_ebpf::{map_names, FlowKey, FlowValue, FLOW_V4, FLOW_V6};

use super::maps::{clear, remove_if_present};
use super::{typed, MapSet};
use crate::accepted_flow::CtTuple;

/// The flow map, typed.
pub struct FlowMap {
    map: HashMap<MapData, FlowKey, FlowValue>,
}

impl MapSet for FlowMap {
    fn from_source(mut take: impl FnMut(&str) -> Result<Map>) -> Result<Self> {
        Ok(FlowMap {
            map: typed(map_names::FLOWS, take(map_names::FLOWS)?)?,
        })
    }
}

/// The key of one direction, as the program builds it from a frame.
pub fn key(t: &CtTuple) -> FlowKey {
    let addr = |a: IpAddr| -> [u8; 16] {
        match a {
            IpAddr::V4(a) => {
                let mut b = [0; 16];
                b[..4].copy_from_slice(&a.octets());
                b
            }
            IpAddr::V6(a) => a.octets(),
        }
    };
    let (s, d) = (t.sport.to_be_bytes(), t.dport.to_be_bytes());
    FlowKey {
        family: if t.src.is_ipv4() { FLOW_V4 } else { FLOW_V6 },
        proto: t.proto,
        _pad: [0; 2],
        ports: [s[0], s[1], d[0], d[1]],
        src: addr(t.src),
        dst: addr(t.dst),
    }
}

impl FlowMap {
    /// Lets both directions of a flow (its original tuple) on the fast path.
    pub fn insert(&mut self, orig: &CtTuple) -> Result<()> {
        for t in [*orig, orig.reversed()] {
            self.map
                .insert(key(&t), FlowValue::default(), 0)
                .with_context(|| format!("adding {t:?} to HSRP_FLOWS"))?;
        }
        Ok(())
    }

    /// Takes a flow off the fast path (absent directions are fine).
    pub fn remove(&mut self, orig: &CtTuple) -> Result<()> {
        for t in [*orig, orig.reversed()] {
            remove_if_present(&mut self.map, &key(&t))
                .context("removing a flow from HSRP_FLOWS")?;
        }
        Ok(())
    }

    /// Frames XDP forwarded of the flow, both directions (0 for absent entries).
    pub fn packets(&self, orig: &CtTuple) -> u64 {
        [*orig, orig.reversed()]
            .iter()
            .filter_map(|t| self.map.get(&key(t), 0).ok())
            .map(|v| v.packets)
            .sum()
    }

    /// Removes every entry.
    pub fn clear(&mut self) -> Result<()> {
        clear(&mut self.map).context("clearing HSRP_FLOWS")
    }
}
