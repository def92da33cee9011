//! What `hsrpd status` shows: a plain, serialisable snapshot of the running daemon. The
//! daemon fills it from its state machines and data plane on each request; the client
//! prints it (`brief`, `detail`) or passes the JSON through.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::proto::State;

/// The version of the JSON document (`hsrpd status --json`, docs/status.md): raised when a
/// field changes meaning or disappears; new fields do not raise it.
pub const SCHEMA_VERSION: u32 = 1;

/// The whole daemon, as one status request sees it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// [`SCHEMA_VERSION`] of the daemon that answered.
    #[serde(default)]
    pub schema_version: u32,
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
    /// How late the loop served the groups' timers (hellos above all), since start.
    #[serde(default)]
    pub timer_lateness: Option<TimerLateness>,
    /// Tracked objects (what `show track` prints).
    #[serde(default)]
    pub tracks: Vec<TrackStatus>,
    /// Where forwarded frames go: "fast path: REASON" (XDP) or "kernel path: REASON"
    /// (netfilter sees them).
    #[serde(default)]
    pub forwarding: String,
    /// HSRP BFD peering: one entry per BFD session (empty when no interface runs BFD).
    #[serde(default)]
    pub bfd: Vec<BfdSessionStatus>,
    /// BFD packets dropped before reaching any session.
    #[serde(default)]
    pub bfd_dropped: BfdDropCounters,
    /// Totals over every BFD session since the daemon started, ended sessions included.
    #[serde(default)]
    pub bfd_totals: BfdTotals,
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
    /// Of `packets_received`, the steady packets the XDP program counted and dropped.
    #[serde(default)]
    pub packets_received_in_xdp: u64,
    pub up_transitions: u64,
    pub down_transitions: u64,
    pub detection_expiries: u64,
    /// Detection times that ran out while the daemon itself was stalled, deferred to one
    /// detection time after the stall (a stalled host is no evidence of the peer's silence).
    #[serde(default)]
    pub detections_deferred: u64,
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
    /// Your Discriminator names no session of this sender on the interface it arrived on
    /// (one without BFD included: one socket serves all interfaces).
    pub unknown_discriminator: u64,
    /// Your Discriminator 0 from an address we run no session with on the interface it
    /// arrived on (one without BFD included).
    pub no_session: u64,
}

/// What every BFD session of the daemon did since it started. A session ends when its
/// peer stops being the group's Active or Standby, taking its own counters with it; these
/// keep counting, so a flap that ended and restarted a session is still seen.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BfdTotals {
    pub sessions_started: u64,
    pub sessions_ended: u64,
    pub up_transitions: u64,
    pub down_transitions: u64,
    pub detection_expiries: u64,
    #[serde(default)]
    pub detections_deferred: u64,
}

/// One tracked object.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TrackStatus {
    pub object: u32,
    /// What it watches, in `show track` words ("Interface eth1 line-protocol", ...).
    pub kind: String,
    /// "up", "down", or "unknown" before the first evaluation.
    pub state: String,
    pub changes: u64,
    /// Seconds since the last change (none before the first).
    pub last_change_s: Option<f64>,
    pub delay_up_s: u16,
    pub delay_down_s: u16,
    /// A change waiting for its delay: the state it goes to and when.
    pub pending: Option<TrackPending>,
    /// The groups that track it and what it does to them.
    pub tracked_by: Vec<TrackedBy>,
}

/// A delayed change of a tracked object.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TrackPending {
    pub up: bool,
    pub in_ms: u64,
}

/// A group tracking an object.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TrackedBy {
    pub interface: String,
    pub group: u16,
    /// "decrement D" or "shutdown".
    pub action: String,
}

/// Timer lateness: from a group's deadline to the wake-up that served it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TimerLateness {
    /// Group wake-ups measured.
    pub wakeups: u64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

/// What the XDP program did with the HSRP control frames of one interface, summed over
/// CPUs.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ControlCounters {
    /// Passed to hsrpd's packet socket.
    pub passed: u64,
    /// Dropped as malformed.
    pub malformed: u64,
    /// Dropped by the per-source rate limit.
    pub rate_limited: u64,
}

/// One interface hsrpd runs on.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct InterfaceStatus {
    pub name: String,
    pub ifindex: u32,
    /// How the XDP program is attached: "native" or "generic".
    pub xdp_mode: String,
    pub up: bool,
    /// The XDP control-plane filter's counters (None: could not be read).
    #[serde(default)]
    pub control: Option<ControlCounters>,
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
    /// Resigned by the operator (`hsrpd control resign`): the group stays in Init until
    /// `hsrpd control release` or a restart.
    #[serde(default)]
    pub maintenance: bool,
    /// A temporary priority set by the operator (`hsrpd control priority`), used instead of
    /// `configured_priority` (track decrements still apply) until `priority G default` or a
    /// restart.
    #[serde(default)]
    pub temporary_priority: Option<u8>,
}

/// A group's data-plane counters, summed over CPUs since the group was installed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataplaneCounters {
    /// Frames to the vMAC forwarded by XDP, and of those the ones served by the next-hop
    /// cache (no fib lookup).
    pub forwarded: u64,
    pub forwarded_from_cache: u64,
    /// Frames of established flows conntrack accepted that the accepted-flow path let on
    /// to the fast path (forwarded, unless the fib lookup then failed).
    #[serde(default)]
    pub accepted_flow: u64,
    /// Frames to the vMAC handed to the kernel (no neighbour yet, TTL expiring, ...).
    pub slow_path: u64,
    /// Frames to the vMAC while not Active.
    pub dropped_not_active: u64,
    pub arp_answered: u64,
    pub arp_dropped: u64,
    pub nd_answered: u64,
    pub nd_dropped: u64,
    pub echo_answered: u64,
    /// Frames the XDP program aborted (it lost the headers it had read): expected to stay
    /// 0.
    #[serde(default)]
    pub aborted: u64,
}
