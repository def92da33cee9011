//! A group as `show standby` describes it: plain data, filled by `Group::status`.

use std::net::IpAddr;
use std::time::Duration;

use super::config::{Preempt, Timers};
use super::time::Time;
use crate::proto::{MacAddr, State, Version};

/// The Active or Standby router of a group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RouterInfo {
    /// This router.
    Local,
    /// Another router, as last heard; `expires_in` is what is left of its timer.
    Peer {
        ip: IpAddr,
        priority: u8,
        expires_in: Duration,
    },
}

/// One group's status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Status {
    pub group: u16,
    pub version: Version,
    pub state: State,
    pub state_changes: u64,
    pub last_change: Option<Time>,
    /// The log line of the last state change (`Standby -> Active: ...`).
    pub last_change_reason: Option<String>,
    /// The VIP in use (configured or learned).
    pub vip: Option<IpAddr>,
    pub vip_learned: bool,
    pub virtual_mac: MacAddr,
    /// Current priority (after tracking) and the configured one.
    pub priority: u8,
    pub configured_priority: u8,
    pub preempt: Option<Preempt>,
    /// Timers in use (configured, learned or default).
    pub timers: Timers,
    pub timers_learned: bool,
    /// Time to the next hello, when the group sends hellos.
    pub next_hello: Option<Duration>,
    pub active: Option<RouterInfo>,
    pub standby: Option<RouterInfo>,
    pub auth_failures: u64,
    pub last_auth_failure_from: Option<IpAddr>,
    pub name: Option<String>,
    pub data_plane_active: bool,
}
