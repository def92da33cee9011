//! What a configuration means, as plain data the daemon maps onto its state machines.
//! Line numbers are kept where later checks (against the running system) need to point
//! back into the file.

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::proto::{Auth, MacAddr, Version};

/// Cisco defaults (docs/protocol.md §6).
pub const DEFAULT_PRIORITY: u8 = 100;
pub const DEFAULT_HELLO_MS: u32 = 3_000;
pub const DEFAULT_HOLD_MS: u32 = 10_000;
pub const DEFAULT_TRACK_DECREMENT: u8 = 10;
/// Router lifetime of the RAs an IPv6 group's Active sends (IOS `ipv6 nd ra lifetime`).
pub use crate::fsm::ra::DEFAULT_RA_LIFETIME_S;
/// `standby G ipv6 ra-lifetime S` bounds: at least 3 RA intervals of the 4 s minimum
/// (RFC 4861 §6.2.1), at most RFC 4861's 9000 s.
pub const RA_LIFETIME_RANGE_S: (u16, u16) = (12, 9000);

/// A whole configuration file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// The file name used in messages.
    pub source: String,
    /// The file's text, so later checks can quote the lines they complain about.
    pub text: String,
    /// In the order they first appear; a repeated `interface X` block adds to the first.
    pub interfaces: Vec<InterfaceConfig>,
    /// Top-level `track N ...` objects.
    pub tracks: BTreeMap<u32, TrackSpec>,
    /// `key chain NAME` blocks, by name.
    pub key_chains: BTreeMap<String, KeyChain>,
    /// `ip sla N` operations (all scheduled: an unscheduled one is refused).
    pub ip_slas: BTreeMap<u32, IpSla>,
    /// hsrpd's own `hsrpd ...` lines (notify program).
    pub operator: super::operator::OperatorSettings,
    /// `hsrpd realtime priority N`: the timer thread runs SCHED_FIFO at N with memory
    /// locked (None: normal scheduling).
    pub realtime: Option<u8>,
    /// `fast-path on|off|auto` (default auto): may XDP forward past netfilter hooks.
    pub fast_path: crate::fastpath::Setting,
}

/// An `ip sla N` block with ` icmp-echo A [source-interface IF | source-ip A]`, its
/// ` frequency`, ` timeout` and ` threshold`, and `ip sla schedule N life forever
/// start-time now`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IpSla {
    pub id: u32,
    pub line: usize,
    /// `None` until the ` icmp-echo` line.
    pub target: Option<Ipv4Addr>,
    pub source: SlaSource,
    /// Seconds between probes (IOS default 60).
    pub frequency_s: u32,
    /// How long a probe waits for its reply (IOS default 5000 ms).
    pub timeout_ms: u32,
    /// A reply slower than this is "over threshold" (IOS default 5000 ms).
    pub threshold_ms: u32,
    /// Line of its `ip sla schedule`, if any.
    pub scheduled: Option<usize>,
}

impl IpSla {
    pub fn new(id: u32, line: usize) -> IpSla {
        IpSla {
            id,
            line,
            target: None,
            source: SlaSource::Any,
            frequency_s: 60,
            timeout_ms: 5000,
            threshold_ms: 5000,
            scheduled: None,
        }
    }
}

/// Where an IP SLA probe leaves from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SlaSource {
    Any,
    Interface(String),
    Address(Ipv4Addr),
}

impl Config {
    /// Every group with the interface it is on.
    pub fn groups(&self) -> impl Iterator<Item = (&InterfaceConfig, &GroupSpec)> {
        self.interfaces
            .iter()
            .flat_map(|i| i.groups.iter().map(move |g| (i, g)))
    }
}

/// An `interface IF` block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InterfaceConfig {
    /// Linux interface name.
    pub name: String,
    /// Line of the (first) `interface` line.
    pub line: usize,
    /// `ip address A M [secondary]` lines: checked against the kernel, never set by hsrpd.
    pub addresses: Vec<IfAddress>,
    /// `standby version`, default 1.
    pub version: Version,
    /// `standby use-bia`: Active groups use the interface MAC instead of the virtual MAC.
    pub use_bia: bool,
    /// `standby mac-refresh S` (0-255 s, 0 = none): the refresh hellos of Active following
    /// groups; `None` = the IOS default of 10 s.
    pub mac_refresh_s: Option<u8>,
    /// `standby delay minimum S reload S`: (minimum, reload) seconds a group waits after
    /// the interface comes up before it starts; `None` = no wait.
    pub init_delay_s: Option<(u16, u16)>,
    /// Groups in order of first mention.
    pub groups: Vec<GroupSpec>,
    /// HSRP BFD peering on this interface and its BFD parameters (`bfd interval`); None
    /// when BFD is not configured here or peering is off (`no standby bfd`,
    /// `no standby bfd all-interfaces`).
    pub bfd: Option<crate::bfd::SessionConfig>,
}

/// An `ip address A M [secondary]` line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IfAddress {
    pub addr: Ipv4Addr,
    pub prefix_len: u8,
    pub secondary: bool,
    pub line: usize,
}

impl IfAddress {
    /// True when `ip` is in this address's subnet.
    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        ipv4_prefix_contains(self.addr, self.prefix_len, ip)
    }
}

/// True when `ip` is in `net/len`.
pub fn ipv4_prefix_contains(net: Ipv4Addr, len: u8, ip: Ipv4Addr) -> bool {
    let mask = prefix_mask_v4(len);
    u32::from(net) & mask == u32::from(ip) & mask
}

/// The netmask of a /len as a u32 (len 0..=32).
pub fn prefix_mask_v4(len: u8) -> u32 {
    if len == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(len.min(32)))
    }
}

/// The address family of a group: HSRPv2 carries one family per group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    Ipv4,
    Ipv6,
}

/// One HSRP group on one interface, everything defaulted as Cisco does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupSpec {
    /// 0-255 (v1) or 0-4095 (v2). `standby` without a number is group 0.
    pub group: u16,
    /// Line of the first `standby G ...` line of this group.
    pub line: usize,
    pub family: Family,
    /// Primary virtual IPv4 (`standby G ip A`); `None` = learn it from the Active.
    pub vip: Option<Ipv4Addr>,
    /// `standby G ip A secondary`.
    pub secondary_vips: Vec<Ipv4Addr>,
    /// `standby G ipv6 autoconfig` or an explicit `fe80::` address.
    pub ipv6_link_local: Option<Ipv6LinkLocal>,
    /// `standby G ipv6 X::Y/L`: additional global virtual addresses.
    pub ipv6_vips: Vec<Ipv6Prefix>,
    /// 1-255, default 100.
    pub priority: u8,
    /// `None` = preempt off (the default).
    pub preempt: Option<PreemptSecs>,
    /// `None` = not configured: use the defaults and learn from the Active.
    pub timers: Option<TimersMs>,
    pub tracks: Vec<GroupTrack>,
    /// Resolved: a key chain becomes `Auth::Md5` with its lowest-numbered key.
    pub auth: Auth,
    /// The key chain `auth` came from, so a receiver can accept any of its keys.
    pub key_chain: Option<String>,
    /// `md5 key-string K timeout S`: after a change of K (SIGHUP), the previous key is
    /// still accepted for S seconds.
    pub key_timeout_s: Option<u16>,
    pub name: Option<String>,
    /// `standby G mac-address`: overrides the derived virtual MAC.
    pub mac: Option<MacAddr>,
    /// `standby G follow NAME`: this group follows the state of the named group.
    pub follow: Option<String>,
    /// Where each virtual address was declared (for messages of later checks).
    pub vip_lines: Vec<(IpAddr, usize)>,
    /// `standby G ipv6 ra-lifetime S` (hsrpd-specific): router lifetime of this IPv6
    /// group's Router Advertisements; `None` = [`DEFAULT_RA_LIFETIME_S`].
    pub ra_lifetime_s: Option<u16>,
    /// `standby G accept` (hsrpd-specific): while Active, traffic to the virtual
    /// addresses is delivered to local sockets too (a local route, see docs/operations.md).
    pub accept: bool,
}

impl GroupSpec {
    /// A group with Cisco's defaults and no address yet.
    pub fn new(group: u16, line: usize, family: Family) -> Self {
        GroupSpec {
            group,
            line,
            family,
            vip: None,
            secondary_vips: Vec::new(),
            ipv6_link_local: None,
            ipv6_vips: Vec::new(),
            priority: DEFAULT_PRIORITY,
            preempt: None,
            timers: None,
            tracks: Vec::new(),
            auth: Auth::DefaultText,
            key_chain: None,
            key_timeout_s: None,
            name: None,
            mac: None,
            follow: None,
            vip_lines: Vec::new(),
            ra_lifetime_s: None,
            accept: false,
        }
    }

    /// Router lifetime of this group's RAs (configured or default), in seconds.
    pub fn ra_lifetime_s(&self) -> u16 {
        self.ra_lifetime_s.unwrap_or(DEFAULT_RA_LIFETIME_S)
    }

    /// Hello time in ms (configured or default).
    pub fn hello_ms(&self) -> u32 {
        self.timers.map_or(DEFAULT_HELLO_MS, |t| t.hello_ms)
    }

    /// Hold time in ms (configured or default).
    pub fn hold_ms(&self) -> u32 {
        self.timers.map_or(DEFAULT_HOLD_MS, |t| t.hold_ms)
    }

    /// The virtual MAC this group answers for: the configured one, else derived from the
    /// version, family and group number (docs/protocol.md §1).
    pub fn virtual_mac(&self, version: Version) -> MacAddr {
        let ipv6 = self.family == Family::Ipv6;
        self.mac
            .unwrap_or_else(|| crate::wire::vmac(version, ipv6, self.group))
    }

    /// The virtual link-local address of an IPv6 group: explicit, or derived from the
    /// virtual MAC (`wire::virtual_link_local`). Never from a `use-bia` interface MAC,
    /// which differs per router: every router of the group must use the same one.
    pub fn virtual_link_local(&self) -> Option<Ipv6Addr> {
        match self.ipv6_link_local? {
            Ipv6LinkLocal::Explicit(a) => Some(a),
            Ipv6LinkLocal::Autoconfig => Some(crate::wire::virtual_link_local(
                self.virtual_mac(Version::V2),
            )),
        }
    }

    /// Every virtual IP of the group (primary, secondaries, link-local, globals).
    pub fn virtual_ips(&self) -> Vec<IpAddr> {
        let mut out: Vec<IpAddr> = Vec::new();
        out.extend(self.vip.map(IpAddr::V4));
        out.extend(self.secondary_vips.iter().map(|a| IpAddr::V4(*a)));
        out.extend(self.virtual_link_local().map(IpAddr::V6));
        out.extend(self.ipv6_vips.iter().map(|p| IpAddr::V6(p.addr)));
        out
    }
}

/// How an IPv6 group gets its virtual link-local address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ipv6LinkLocal {
    Autoconfig,
    Explicit(Ipv6Addr),
}

/// An IPv6 address with its prefix length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ipv6Prefix {
    pub addr: Ipv6Addr,
    pub prefix_len: u8,
}

/// `standby G preempt [delay [minimum S] [reload S] [sync S]]`, seconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PreemptSecs {
    pub minimum_s: u16,
    pub reload_s: u16,
    pub sync_s: u16,
}

/// `standby G timers [msec] H [msec] D`, in milliseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimersMs {
    pub hello_ms: u32,
    pub hold_ms: u32,
    /// True when either value was given in msec (v1 carries whole seconds on the wire).
    pub msec: bool,
}

/// `standby G track N [decrement D | shutdown]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GroupTrack {
    pub object: u32,
    pub action: TrackAction,
    pub line: usize,
}

/// What a group does while a tracked object is down: the state machine's own type (the
/// configuration says exactly what the state machine does).
pub use crate::fsm::TrackAction;

/// A top-level `track N ...` object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrackSpec {
    pub id: u32,
    pub line: usize,
    pub kind: TrackKind,
    /// ` delay up S down S`: how long a change must last before it counts (0 = at once).
    pub delay_up_s: u16,
    pub delay_down_s: u16,
}

impl TrackSpec {
    pub fn new(id: u32, line: usize, kind: TrackKind) -> TrackSpec {
        TrackSpec {
            id,
            line,
            kind,
            delay_up_s: 0,
            delay_down_s: 0,
        }
    }
}

/// Track object numbers a configuration may use (IOS: 1-1000).
pub const TRACK_ID_MAX: u32 = 1000;
/// `standby G track IF [D]` (the old form) creates an implicit line-protocol object per
/// interface, numbered from here (above every number a `track N` line can use).
pub const IMPLICIT_TRACK_BASE: u32 = 1001;

/// What a track object watches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TrackKind {
    /// `track N interface IF line-protocol`: up while the link is up.
    Interface { name: String },
    /// `track N interface IF ip routing`: up while the link is up, has an IPv4 address and
    /// IPv4 forwarding is on for it.
    IpRouting { name: String },
    /// `track N ip route P reachability` / `track N ipv6 route P reachability`: up while
    /// the routing table has a route for exactly this prefix.
    Route { prefix: IpAddr, prefix_len: u8 },
    /// `track N script PATH interval S [rise R] [fall F] [timeout T]`: up while the script
    /// exits 0 within the timeout (rise/fall: results in a row needed to change).
    Script {
        path: String,
        interval_s: u16,
        rise: u8,
        fall: u8,
        timeout_s: u16,
    },
    /// `track N file PATH [interval S]`: the file says `up`/`1` or `down`/`0`.
    File { path: String, interval_s: u16 },
    /// `track N ip sla N [state | reachability]`: up while the operation's last probe was
    /// answered within its threshold (`state`) or at all (`reachability`).
    IpSla { operation: u32, reachability: bool },
    /// `track N list boolean {and|or}` with ` object M [not]` lines.
    ListBoolean {
        and: bool,
        /// (object, negated).
        members: Vec<(u32, bool)>,
    },
    /// `track N list threshold {weight|percentage}` with ` object M [weight W]` and
    /// ` threshold {weight|percentage} up U down D`.
    ListThreshold {
        percentage: bool,
        /// (object, weight; default 10).
        members: Vec<(u32, u32)>,
        /// (up, down), `None` until the ` threshold` line.
        thresholds: Option<(u32, u32)>,
    },
}

/// IOS: the weight of a threshold list member without ` weight W`.
pub const DEFAULT_TRACK_WEIGHT: u32 = 10;

impl TrackKind {
    /// Objects this one is computed from.
    pub fn members(&self) -> Vec<u32> {
        match self {
            TrackKind::ListBoolean { members, .. } => members.iter().map(|m| m.0).collect(),
            TrackKind::ListThreshold { members, .. } => members.iter().map(|m| m.0).collect(),
            _ => Vec::new(),
        }
    }

    /// The words `show track` uses for the kind.
    pub fn describe(&self) -> String {
        match self {
            TrackKind::Interface { name } => format!("Interface {name} line-protocol"),
            TrackKind::IpRouting { name } => format!("Interface {name} ip routing"),
            TrackKind::Route { prefix, prefix_len } => {
                let fam = if prefix.is_ipv4() { "IP" } else { "IPv6" };
                format!("{fam} route {prefix}/{prefix_len} reachability")
            }
            TrackKind::Script { path, .. } => format!("Script {path}"),
            TrackKind::IpSla {
                operation,
                reachability,
            } => format!(
                "IP SLA {operation} {}",
                if *reachability {
                    "reachability"
                } else {
                    "state"
                }
            ),
            TrackKind::File { path, .. } => format!("File {path}"),
            TrackKind::ListBoolean { and, .. } => {
                format!("List boolean {}", if *and { "and" } else { "or" })
            }
            TrackKind::ListThreshold { percentage, .. } => format!(
                "List threshold {}",
                if *percentage { "percentage" } else { "weight" }
            ),
        }
    }
}

/// A `key chain NAME` block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyChain {
    pub name: String,
    pub line: usize,
    pub keys: BTreeMap<u32, Key>,
}

impl KeyChain {
    /// The key a sender uses: the lowest-numbered key that has a key-string.
    pub fn send_key(&self) -> Option<(u32, &[u8])> {
        self.keys
            .iter()
            .find_map(|(id, k)| k.key_string.as_deref().map(|s| (*id, s)))
    }

    /// The key a sender uses at `t` (Unix seconds): the lowest-numbered key with a
    /// key-string whose `send-lifetime` (if any) contains `t`.
    pub fn send_key_at(&self, t: u64) -> Option<(u32, &[u8])> {
        self.keys.iter().find_map(|(id, k)| {
            let valid = k.send_lifetime.is_none_or(|l| l.contains(t));
            k.key_string.as_deref().filter(|_| valid).map(|s| (*id, s))
        })
    }

    /// The keys a receiver accepts at `t`: those with a key-string whose
    /// `accept-lifetime` (if any) contains `t`.
    pub fn accept_keys_at(&self, t: u64) -> Vec<(u32, &[u8])> {
        self.keys
            .iter()
            .filter(|(_, k)| k.accept_lifetime.is_none_or(|l| l.contains(t)))
            .filter_map(|(id, k)| k.key_string.as_deref().map(|s| (*id, s)))
            .collect()
    }

    /// The first instant after `t` at which the send key or the accepted keys may change.
    pub fn next_change_after(&self, t: u64) -> Option<u64> {
        self.keys
            .values()
            .flat_map(|k| k.send_lifetime.iter().chain(k.accept_lifetime.iter()))
            .flat_map(|l| l.edges())
            .filter(|e| *e > t)
            .min()
    }

    /// True when some key has a lifetime (the daemon then re-reads the chain over time).
    pub fn has_lifetimes(&self) -> bool {
        self.keys
            .values()
            .any(|k| k.send_lifetime.is_some() || k.accept_lifetime.is_some())
    }
}

/// A ` key N` entry of a key chain.
#[derive(Clone, PartialEq, Eq)]
pub struct Key {
    pub line: usize,
    pub key_string: Option<Vec<u8>>,
    /// `send-lifetime`: when the key may sign (`None`: always).
    pub send_lifetime: Option<super::lifetime::Lifetime>,
    /// `accept-lifetime`: when the key is accepted (`None`: always).
    pub accept_lifetime: Option<super::lifetime::Lifetime>,
}

impl fmt::Debug for Key {
    // Never print keys.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Key")
            .field("line", &self.line)
            .field("key_string", &self.key_string.as_ref().map(|_| ".."))
            .field("send_lifetime", &self.send_lifetime)
            .field("accept_lifetime", &self.accept_lifetime)
            .finish()
    }
}
