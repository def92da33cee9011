//! `HSRP_FWD_MODE[0]`: whether the program forwards frames to an Active vMAC itself (fast
//! path), hands them to the kernel so netfilter sees them (kernel path), or forwards only
//! the established flows conntrack accepted (accepted-flow path). One write
//! switches every group on every interface; kept by `daemon::fast_path`.

use anyhow::{Context, Result};
use aya::maps::{Array, Map, MapData};
use hsrp_ebpf::{map_names, FWD_ACCEPTED_FLOW, FWD_FAST_PATH, FWD_KERNEL_PATH};

use super::{typed, MapSet};

/// Where forwarded frames go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ForwardMode {
    /// XDP forwards (fib lookup, next-hop cache, redirect): netfilter never sees them.
    Fast,
    /// The kernel forwards, through netfilter.
    Kernel,
    /// The kernel forwards, except the flows in `HSRP_FLOWS` (established, accepted by
    /// conntrack under a ruleset that accepts them first), which XDP forwards.
    AcceptedFlow,
}

impl ForwardMode {
    pub fn as_str(self) -> &'static str {
        match self {
            ForwardMode::Fast => "fast path",
            ForwardMode::Kernel => "kernel path",
            ForwardMode::AcceptedFlow => "accepted-flow path",
        }
    }
}

/// The mode map, typed.
pub struct FwdModeMap {
    map: Array<MapData, u32>,
}

impl MapSet for FwdModeMap {
    fn from_source(mut take: impl FnMut(&str) -> Result<Map>) -> Result<Self> {
        Ok(FwdModeMap {
            map: typed(map_names::FWD_MODE, take(map_names::FWD_MODE)?)?,
        })
    }
}

impl FwdModeMap {
    /// The mode the program uses now.
    pub fn get(&self) -> Result<ForwardMode> {
        let v = self.map.get(&0, 0).context("reading HSRP_FWD_MODE")?;
        Ok(match v {
            FWD_FAST_PATH => ForwardMode::Fast,
            FWD_ACCEPTED_FLOW => ForwardMode::AcceptedFlow,
            _ => ForwardMode::Kernel,
        })
    }

    /// One write: every later frame follows `mode`.
    pub fn set(&mut self, mode: ForwardMode) -> Result<()> {
        let v = match mode {
            ForwardMode::Fast => FWD_FAST_PATH,
            ForwardMode::Kernel => FWD_KERNEL_PATH,
            ForwardMode::AcceptedFlow => FWD_ACCEPTED_FLOW,
        };
        self.map.set(0, v, 0).context("writing HSRP_FWD_MODE")
    }
}
