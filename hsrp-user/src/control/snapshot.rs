//! What `hsrpd status` shows: a plain, serialisable snapshot of the running daemon. The
//! daemon fills it from its state machines and data plane on each request; the client
//! prints it (`brief`, `detail`) or passes the JSON through.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::proto::State;

/// The whole daemon, as one status request sees it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub pid: u32,
    /// The configuration file the running config came from.
    pub config: String,
    /// Seconds since the daemon started.
    pub uptime_s: f64,
    pub interfaces: Vec<InterfaceStatus>,
    pub groups: Vec<GroupStatus>,
    /// The XDP next-hop cache: "on", or "off: REASON".
    #[serde(default)]
    pub nexthop_cache: String,
    /// HSRP BFD peering: one entry per BFD session (empty when no interface runs BFD).
    #[serde(default)]
    pub bfd: Vec<BfdSessionStatus>,
    /// BFD packets dropped before reaching any session.
    #[serde(default)]
    pub bfd_dropped: BfdDropCounters,
}

/// One BFD session to a peer (the Active or Standby of a group on `interface`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct BfdSessionStatus {
    pub interface: String,
    pub peer: Option<IpAddr>,
    /// AdminDown, Down, Init or Up.
    pub state: String,
    pub remote_state: String,
    /// Why the session last left Up (RFC 5880 diagnostic), e.g. "ControlDetectionExpired".
    pub local_diag: String,
    pub remote_diag: String,
    pub local_discriminator: u32,
    pub remote_discriminator: u32,
    pub source_port: u16,
    /// Interval between our packets before jitter (absent: periodic sending is off).
    pub tx_interval_ms: Option<f64>,
    pub detection_time_ms: f64,
    pub polling: bool,
    pub packets_sent: u64,
    pub packets_received: u64,
    pub up_transitions: u64,
    pub down_transitions: u64,
    pub detection_expiries: u64,
    pub wrong_discriminator: u64,
}

/// BFD packets dropped before any session saw them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BfdDropCounters {
    /// TTL / hop limit not 255 (RFC 5881 §5: off-link or forged).
    pub bad_ttl: u64,
    /// Failed the RFC 5880 §6.8.6 checks (length, version, discriminators, ...).
    pub malformed: u64,
    /// A bit set: authentication is not implemented.
    pub authenticated: u64,
    /// Your Discriminator names no session of this sender on this interface.
    pub unknown_discriminator: u64,
    /// Your Discriminator 0 from an address we run no session with.
    pub no_session: u64,
}

/// One interface hsrpd runs on.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct InterfaceStatus {
    pub name: String,
    pub ifindex: u32,
    /// How the XDP program is attached: "native" or "generic".
    pub xdp_mode: String,
    pub up: bool,
}

/// A router seen on the LAN (the Active or the Standby).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PeerStatus {
    /// Its interface address, or `None` when it is this router ("local").
    pub address: Option<IpAddr>,
    pub priority: u8,
    /// Milliseconds until its hold timer expires (absent for "local").
    pub expires_in_ms: Option<u64>,
}

/// One group, with what `show standby` prints.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GroupStatus {
    pub interface: String,
    pub group: u16,
    /// 1 or 2.
    pub version: u8,
    pub state: State,
    pub state_changes: u64,
    /// Seconds since the last state change.
    pub last_change_s: f64,
    /// The reason of the last state change, as logged.
    pub last_change_reason: String,
    pub virtual_ip: Option<IpAddr>,
    pub secondary_ips: Vec<IpAddr>,
    pub virtual_mac: String,
    /// Current priority (after tracking) and the configured one.
    pub priority: u8,
    pub configured_priority: u8,
    pub preempt: bool,
    /// `preempt delay minimum` in seconds, if configured.
    pub preempt_delay_s: Option<u32>,
    pub hello_ms: u32,
    pub hold_ms: u32,
    /// Whether the timers above were learned from the Active (not configured).
    pub timers_learned: bool,
    pub next_hello_ms: Option<u64>,
    /// "text", "md5 key-string", "md5 key-chain NAME", or "none".
    pub authentication: String,
    pub auth_failures: u64,
    pub active: Option<PeerStatus>,
    pub standby: Option<PeerStatus>,
    pub name: Option<String>,
    /// What the XDP program did with this group's frames (None: could not be read).
    #[serde(default)]
    pub dataplane: Option<DataplaneCounters>,
}

/// A group's data-plane counters, summed over CPUs since the group was installed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataplaneCounters {
    /// Frames to the vMAC forwarded by XDP, and of those the ones served by the next-hop
    /// cache (no fib lookup).
    pub forwarded: u64,
    pub forwarded_from_cache: u64,
    /// Frames to the vMAC handed to the kernel (no neighbour yet, TTL expiring, ...).
    pub slow_path: u64,
    /// Frames to the vMAC while not Active.
    pub dropped_not_active: u64,
    pub arp_answered: u64,
    pub arp_dropped: u64,
    pub nd_answered: u64,
    pub nd_dropped: u64,
    pub echo_answered: u64,
}
