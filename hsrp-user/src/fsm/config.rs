//! What one group is told by its configuration, validated before the state machine sees it.

use std::net::IpAddr;
use std::time::Duration;

use crate::proto::{Auth, MacAddr, Version};

/// Cisco defaults (docs/protocol.md §6).
pub const DEFAULT_PRIORITY: u8 = 100;
pub const DEFAULT_HELLO: Duration = Duration::from_secs(3);
pub const DEFAULT_HOLD: Duration = Duration::from_secs(10);
pub const DEFAULT_TRACK_DECREMENT: u8 = 10;
/// IOS `standby mac-refresh` default: a following group's refresh hello every 10 s.
pub const DEFAULT_MAC_REFRESH: Duration = Duration::from_secs(10);

/// Hello and hold time of a group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timers {
    pub hello: Duration,
    pub hold: Duration,
}

impl Timers {
    pub const DEFAULT: Timers = Timers {
        hello: DEFAULT_HELLO,
        hold: DEFAULT_HOLD,
    };

    pub fn from_millis(hello_ms: u64, hold_ms: u64) -> Timers {
        Timers {
            hello: Duration::from_millis(hello_ms),
            hold: Duration::from_millis(hold_ms),
        }
    }

    /// Timers as a received hello carries them, if they make sense (v1 carries whole seconds
    /// and IOS sends 0 there for msec timers: those are not learned).
    pub fn from_wire(hello_ms: u32, hold_ms: u32) -> Option<Timers> {
        (hello_ms > 0 && hold_ms > hello_ms)
            .then(|| Timers::from_millis(u64::from(hello_ms), u64::from(hold_ms)))
    }
}

/// `standby G preempt [delay minimum S] [reload S] [sync S]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Preempt {
    /// Do not preempt until this long after the group came up (Cisco: "since that router
    /// was last restarted"). Only delays preemption of a lower-priority Active; taking over
    /// when there is no Active at all is never delayed.
    pub delay_minimum: Duration,
    /// Used instead of `delay_minimum` (if longer) for the first bring-up after the process
    /// started ("after a reload only").
    pub delay_reload: Duration,
    /// Cisco: the longest wait for IP redundancy clients to synchronise. hsrpd has no such
    /// clients, so it never waits for them; kept so `show standby` can print it.
    pub delay_sync: Duration,
}

/// What a tracked object going down does to the group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrackAction {
    /// Lower the priority by this much while the object is down (cumulative over objects).
    Decrement(u8),
    /// Take the group down (to Initial) while the object is down.
    Shutdown,
}

/// `standby G track N [decrement D | shutdown]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Track {
    pub object: u32,
    pub action: TrackAction,
}

/// `standby G follow NAME`: the group is an IOS "client group". It runs no election of its
/// own: its state mirrors the state of the master group (fed as `Event::MasterState`), and
/// the only hellos it sends are the periodic MAC refresh hellos of an Active follower.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Follow {
    /// The name of the master group (for status and log lines).
    pub master: String,
    /// `standby mac-refresh S`: the interval of the refresh hellos while Active;
    /// `None` = `standby mac-refresh 0`, no refresh hellos at all.
    pub mac_refresh: Option<Duration>,
}

/// The configuration of one group, as the state machine needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupConfig {
    /// 0-255 (v1) or 0-4095 (v2).
    pub group: u16,
    pub version: Version,
    /// The primary virtual IP; `None` = learn it from the Active.
    pub vip: Option<IpAddr>,
    /// 1-255.
    pub priority: u8,
    /// `None` = preemption off (the default).
    pub preempt: Option<Preempt>,
    /// `None` = not configured: defaults until learned from the Active.
    pub timers: Option<Timers>,
    pub tracks: Vec<Track>,
    pub auth: Auth,
    /// `standby G mac-address`; `None` = derived from version, family and group.
    pub mac: Option<MacAddr>,
    pub name: Option<String>,
    /// `Some`: a following group (see [`Follow`]); `None`: an ordinary group.
    pub follow: Option<Follow>,
    /// `standby delay minimum S reload S` (interface-wide): how long the group waits after
    /// its interface comes up before it starts; `None` = it starts at once.
    pub init_delay: Option<InitDelay>,
    /// IPv6 groups: the router lifetime of their Router Advertisements, seconds.
    pub ra_lifetime_s: u16,
}

/// IOS `standby delay`: the wait before a group starts after its interface came up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InitDelay {
    /// After any interface up (IOS default 1 s).
    pub minimum: Duration,
    /// After the first interface up since the process started (IOS default 5 s).
    pub reload: Duration,
}

impl GroupConfig {
    /// A group with Cisco's defaults: priority 100, no preemption, default timers (learned),
    /// text authentication "cisco", no VIP.
    pub fn new(group: u16, version: Version) -> GroupConfig {
        GroupConfig {
            group,
            version,
            vip: None,
            priority: DEFAULT_PRIORITY,
            preempt: None,
            timers: None,
            tracks: Vec::new(),
            auth: Auth::DefaultText,
            mac: None,
            name: None,
            follow: None,
            init_delay: None,
            ra_lifetime_s: super::ra::DEFAULT_RA_LIFETIME_S,
        }
    }

    /// Check the values the state machine relies on. `local_ip` is the interface address
    /// the group speaks from (IPv6 groups: the link-local).
    pub fn validate(&self, local_ip: IpAddr) -> Result<(), GroupConfigError> {
        let g = self.group;
        let max_group = match self.version {
            Version::V1 => hsrp_ebpf::proto::MAX_GROUP_V1,
            Version::V2 => hsrp_ebpf::proto::MAX_GROUP_V2,
        };
        if g > max_group {
            return Err(GroupConfigError(format!(
                "group {g}: group number out of range 0-{max_group} for HSRP{:?}",
                self.version
            )));
        }
        if self.priority == 0 {
            return Err(GroupConfigError(format!(
                "group {g}: priority 0 out of range 1-255"
            )));
        }
        if local_ip.is_ipv6() && self.version == Version::V1 {
            return Err(GroupConfigError(format!(
                "group {g}: IPv6 groups need HSRP version 2"
            )));
        }
        if let Some(vip) = self.vip {
            if vip.is_ipv6() != local_ip.is_ipv6() {
                return Err(GroupConfigError(format!(
                    "group {g}: virtual IP {vip} and interface address {local_ip} are of different families"
                )));
            }
        }
        if let Some(t) = self.timers {
            check_timers(g, t)?;
        }
        Ok(())
    }

    /// The virtual MAC: configured, else derived as in docs/protocol.md §1.
    pub fn virtual_mac(&self, ipv6: bool) -> MacAddr {
        self.mac
            .unwrap_or_else(|| crate::wire::vmac(self.version, ipv6, self.group))
    }
}

/// Cisco's limits: hello 15 ms .. 255 s, hold > hello (msec: hold >= 3 x hello, >= 50 ms).
fn check_timers(g: u16, t: Timers) -> Result<(), GroupConfigError> {
    let (hello, hold) = (t.hello.as_millis(), t.hold.as_millis());
    if !(15..=255_000).contains(&hello) {
        return Err(GroupConfigError(format!(
            "group {g}: hello time {hello} ms out of range 15 ms-255 s"
        )));
    }
    if hold <= hello || hold > 255_000 {
        return Err(GroupConfigError(format!(
            "group {g}: hold time {hold} ms must be greater than the hello time {hello} ms and at most 255 s"
        )));
    }
    if hello < 1000 && (hold < 3 * hello || hold < 50) {
        return Err(GroupConfigError(format!(
            "group {g}: with msec timers the hold time ({hold} ms) must be at least 3 x hello ({hello} ms) and at least 50 ms"
        )));
    }
    Ok(())
}

/// A configuration the state machine refuses, with a message naming the group and value.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct GroupConfigError(pub String);
