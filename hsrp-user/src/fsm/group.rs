//! One HSRP group's state machine (RFC 2281 §5 with Cisco's observed deviations, see
//! docs/protocol.md §5-6). Pure: driven by `handle(now, event)`, it returns the actions the
//! driver must carry out, and `next_deadline()` tells when to wake it with `Event::Timer`.

use std::collections::BTreeSet;
use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use super::config::{GroupConfig, GroupConfigError, Timers, TrackAction};
use super::jitter::{self, JitterSource};
use super::ra::{RaAction, RaSchedule};
use super::status::{RouterInfo, Status};
use super::time::Time;
use crate::proto::{GroupMessage, MacAddr, Opcode, State, Version};

pub mod drain;
mod follow;

/// Cisco repeats the gratuitous ARP of a new Active once, about 3 s later (docs/protocol.md §6).
pub const GRATUITOUS_REPEAT: Duration = Duration::from_secs(3);

/// Bound on the timer-expiry loop in one `handle` call (each pass consumes a timer or
/// changes state; a handful is the most a real sequence needs).
const MAX_TIMER_PASSES: usize = 16;

/// What can happen to a group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A decoded, authenticated Hello/Coup/Resign; `from` is the sender's interface address
    /// (IPv6: its link-local), the tie-breaker of the election.
    Received {
        from: IpAddr,
        msg: GroupMessage,
    },
    /// A message for this group failed authentication: counted, never acted upon.
    AuthFailed {
        from: IpAddr,
    },
    /// A deadline from `next_deadline()` has passed (early or spurious wake-ups are harmless).
    Timer,
    InterfaceUp,
    /// The link went down: back to Initial without a Resign (it could not be sent).
    InterfaceDown,
    /// A tracked object changed state (`standby G track OBJ ...`).
    Track {
        object: u32,
        up: bool,
    },
    /// The master group of a following group (`standby G follow NAME`) is now in `state`;
    /// ordinary groups ignore it.
    MasterState {
        state: State,
    },
    /// New configuration for this group. Invalid ones are refused with
    /// `Action::ConfigRejected` and the old one stays (prefer `Group::reconfigure`).
    ConfigChange(Box<GroupConfig>),
    /// Stop: an Active group sends Resign so the Standby takes over at once. The group
    /// then stays in Initial for good.
    Shutdown,
    /// Graceful stop of the router: `Shutdown`, but an Active group with a known Standby
    /// keeps its data plane forwarding until the Standby has taken over (`drain`).
    HandOver,
    /// A Router Solicitation on the group's interface: an IPv6 Active moves its next RA up.
    RouterSolicitation,
    /// Operator maintenance (`hsrpd control resign` / `release`): while on, the group
    /// resigns (an Active sends Resign, and hands over like `HandOver`) and stays in
    /// Initial, so it never becomes Active or Standby; off brings it up again like an
    /// interface coming up.
    Maintenance(bool),
    /// A temporary priority set by the operator (`hsrpd control priority`), used instead
    /// of the configured one (track decrements still apply); `None` restores it.
    PriorityOverride(Option<u8>),
    /// HSRP BFD peering: the BFD session to the router at `peer` went Down because the peer
    /// fell silent or said Down (never for AdminDown). If `peer` is the Active this group
    /// follows, this acts exactly as the Active timer expiring (RFC 2281 event c); any
    /// other peer is ignored.
    BfdPeerDown {
        peer: IpAddr,
    },
}

/// What the driver must do, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Send this message (authentication is added by the codec from the group's config).
    /// `from_vmac`: the frame's source MAC is the virtual MAC (Hellos and Coups sent while
    /// Active); otherwise the interface MAC.
    Send { msg: GroupMessage, from_vmac: bool },
    /// Flip the data plane: forward/answer for the VIP and vMAC, or stop.
    SetActive {
        active: bool,
        vip: Option<IpAddr>,
        vmac: MacAddr,
    },
    /// Announce the VIP at the vMAC (gratuitous ARP, or unsolicited NA for IPv6).
    SendGratuitous { vip: IpAddr, vmac: MacAddr },
    /// A state change, for the log (`Display` gives the log line).
    StateChanged {
        from: State,
        to: State,
        reason: String,
    },
    /// The VIP was learned from the Active (or changed there); the data plane needs it.
    VipLearned { vip: IpAddr },
    /// `Event::ConfigChange` carried an invalid configuration; the old one stays.
    ConfigRejected { error: GroupConfigError },
    /// The other router heard in `role` changed: `to` is its address, `None` when no other
    /// router holds the role any more (it was lost, resigned, or this router took the role);
    /// `from` is the one before. A priority change of the same router is not a change.
    /// Emitted after the other actions of the same event.
    PeerChanged {
        role: PeerRole,
        from: Option<IpAddr>,
        to: Option<IpAddr>,
    },
    /// IPv6 groups: a Router Advertisement to send, or the end of them (`fsm::ra`).
    Ra(RaAction),
    /// A hand-over (`drain`) is over and the data plane stopped forwarding: `to` is the new
    /// Active whose hello was heard `after` the Resign, `None` when none was heard and
    /// `after` is the time waited.
    Drained { to: Option<IpAddr>, after: Duration },
}

/// The two roles of other routers a group keeps track of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PeerRole {
    Active,
    Standby,
}

impl PeerRole {
    pub fn name(self) -> &'static str {
        match self {
            PeerRole::Active => "active",
            PeerRole::Standby => "standby",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::StateChanged { from, to, reason } => write!(f, "{from} -> {to}: {reason}"),
            Action::Send { msg, from_vmac } => write!(
                f,
                "send {:?} ({}, priority {}){}",
                msg.opcode,
                msg.state,
                msg.priority,
                if *from_vmac { " from the vMAC" } else { "" }
            ),
            Action::SetActive { active, .. } => write!(f, "data plane active={active}"),
            Action::SendGratuitous { vip, vmac } => {
                write!(f, "gratuitous announce {vip} at {vmac}")
            }
            Action::VipLearned { vip } => write!(f, "learned virtual IP {vip}"),
            Action::ConfigRejected { error } => write!(f, "configuration refused: {error}"),
            Action::PeerChanged { role, from, to } => {
                let who = |a: &Option<IpAddr>| a.map_or("none".to_string(), |a| a.to_string());
                write!(f, "{} router {} -> {}", role.name(), who(from), who(to))
            }
            Action::Ra(RaAction::Advertise { lifetime_s }) => {
                write!(f, "router advertisement, lifetime {lifetime_s} s")
            }
            Action::Ra(RaAction::Withdraw) => write!(f, "final router advertisement"),
            Action::Ra(RaAction::Silence) => write!(f, "router advertisements stop"),
            Action::Drained {
                to: Some(to),
                after,
            } => {
                write!(f, "handed over to {to} after {} ms", after.as_millis())
            }
            Action::Drained { to: None, after } => {
                write!(f, "no new Active heard in {} ms", after.as_millis())
            }
        }
    }
}

/// Another router as last heard.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Peer {
    ip: IpAddr,
    priority: u8,
}

/// The per-group state machine.
pub struct Group {
    cfg: GroupConfig,
    local_ip: IpAddr,
    local_mac: MacAddr,
    vmac: MacAddr,
    jitter: Box<dyn JitterSource>,
    /// Hello deadlines snap to the common grid of [`jitter::next_hello`] (the daemon's
    /// choice, for batching; off by default so tests see plain intervals).
    hellos_on_grid: bool,

    state: State,
    /// The last `now` seen: time never runs backwards inside the group.
    now: Time,

    // What allows the group to run.
    interface_up: bool,
    shut_down: bool,
    /// `Event::Maintenance(true)` received and not yet released.
    maintenance: bool,
    /// `Event::PriorityOverride`: replaces the configured priority while set.
    priority_override: Option<u8>,
    down_tracks: BTreeSet<u32>,
    /// A following group: the master group's state as last reported.
    master_state: State,
    /// How many times the group has come up (the first one is "after a reload").
    bring_ups: u32,
    /// How many times its interface came up (the first one is "after a reload").
    interface_ups: u32,
    /// `standby delay`: the group starts then, not before.
    init_timer: Option<Time>,
    /// Preemption of a lower-priority Active waits until then (preempt delay).
    preempt_not_before: Time,

    learned_vip: Option<IpAddr>,
    learned_timers: Option<Timers>,

    active: Option<Peer>,
    standby: Option<Peer>,

    active_timer: Option<Time>,
    /// The hold time the running Active timer was started with (for the log line).
    active_hold: Duration,
    /// The Active timer was expired early by BFD (for the log line).
    active_lost_by_bfd: bool,
    standby_timer: Option<Time>,
    hello_timer: Option<Time>,
    preempt_timer: Option<Time>,
    gratuitous_timer: Option<Time>,

    state_changes: u64,
    last_change: Option<(Time, String)>,
    auth_failures: u64,
    last_auth_failure_from: Option<IpAddr>,
    data_plane_active: bool,
    /// IPv6 groups: their Router Advertisements (running while Active).
    ra: Option<RaSchedule>,
    /// Resigned, still forwarding until the successor is heard (`drain`).
    drain: Option<drain::Drain>,
}

impl fmt::Debug for Group {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Group")
            .field("group", &self.cfg.group)
            .field("local_ip", &self.local_ip)
            .field("state", &self.state)
            .field("priority", &self.priority())
            .finish_non_exhaustive()
    }
}

impl Group {
    /// A group in Initial, interface down; send `Event::InterfaceUp` to start it.
    /// `local_ip` is the interface address it speaks from (IPv6: the link-local),
    /// `local_mac` the interface MAC (the v2 identifier).
    pub fn new(
        config: GroupConfig,
        local_ip: IpAddr,
        local_mac: MacAddr,
        jitter: Box<dyn JitterSource>,
    ) -> Result<Group, GroupConfigError> {
        config.validate(local_ip)?;
        Ok(Group {
            vmac: config.virtual_mac(local_ip.is_ipv6()),
            cfg: config,
            local_ip,
            local_mac,
            jitter,
            hellos_on_grid: false,
            state: State::Initial,
            now: Time::ZERO,
            interface_up: false,
            shut_down: false,
            maintenance: false,
            priority_override: None,
            down_tracks: BTreeSet::new(),
            master_state: State::Initial,
            bring_ups: 0,
            interface_ups: 0,
            init_timer: None,
            preempt_not_before: Time::ZERO,
            learned_vip: None,
            learned_timers: None,
            active: None,
            standby: None,
            active_timer: None,
            active_hold: Duration::ZERO,
            active_lost_by_bfd: false,
            standby_timer: None,
            hello_timer: None,
            preempt_timer: None,
            gratuitous_timer: None,
            state_changes: 0,
            last_change: None,
            auth_failures: 0,
            last_auth_failure_from: None,
            data_plane_active: false,
            ra: local_ip.is_ipv6().then(RaSchedule::default),
            drain: None,
        })
    }

    /// Hello deadlines from now on snap to the grid all groups share (still within the
    /// jitter range), so that groups of one router send their hellos together: one
    /// wake-up and one batch of frames instead of one each.
    pub fn align_hellos(&mut self) {
        self.hellos_on_grid = true;
    }

    // ---- queries -------------------------------------------------------------------

    /// The Active router this group follows, when it is another router.
    pub fn active_peer(&self) -> Option<IpAddr> {
        self.active.map(|p| p.ip)
    }

    /// The Standby router this group knows of, when it is another router.
    pub fn standby_peer(&self) -> Option<IpAddr> {
        self.standby.map(|p| p.ip)
    }

    pub fn state(&self) -> State {
        self.state
    }

    pub fn config(&self) -> &GroupConfig {
        &self.cfg
    }

    pub fn local_ip(&self) -> IpAddr {
        self.local_ip
    }

    pub fn virtual_mac(&self) -> MacAddr {
        self.vmac
    }

    /// Current priority: configured minus the decrements of the tracked objects that are
    /// down (cumulative; floors at 0).
    pub fn priority(&self) -> u8 {
        let dec: u32 = self
            .cfg
            .tracks
            .iter()
            .filter(|t| self.down_tracks.contains(&t.object))
            .map(|t| match t.action {
                TrackAction::Decrement(d) => u32::from(d),
                TrackAction::Shutdown => 0,
            })
            .sum();
        let base = self.priority_override.unwrap_or(self.cfg.priority);
        u32::from(base).saturating_sub(dec) as u8
    }

    /// Held out of the election by the operator (`Event::Maintenance`).
    pub fn in_maintenance(&self) -> bool {
        self.maintenance
    }

    /// The operator's temporary priority, if one is set (`Event::PriorityOverride`).
    pub fn priority_override(&self) -> Option<u8> {
        self.priority_override
    }

    /// The VIP in use: configured, else learned.
    pub fn vip(&self) -> Option<IpAddr> {
        self.cfg.vip.or(self.learned_vip)
    }

    /// The timers in use: configured, else learned from the Active, else the defaults.
    pub fn timers(&self) -> Timers {
        self.cfg
            .timers
            .or(self.learned_timers)
            .unwrap_or(Timers::DEFAULT)
    }

    pub fn auth_failures(&self) -> u64 {
        self.auth_failures
    }

    pub fn state_changes(&self) -> u64 {
        self.state_changes
    }

    /// Whether the data plane was last told to be Active.
    pub fn data_plane_active(&self) -> bool {
        self.data_plane_active
    }

    /// IPv6 groups while Active: when the next Router Advertisement is due.
    pub fn next_ra(&self) -> Option<Time> {
        self.ra.as_ref().and_then(RaSchedule::next_deadline)
    }

    /// Stopped for good (`Event::Shutdown` or `Event::HandOver`).
    pub fn shut_down(&self) -> bool {
        self.shut_down
    }

    /// The Resign this group would send if it stopped now (`None` unless it is Active and
    /// runs its own election): what a dying daemon's sentinel sends for it.
    pub fn last_words(&self) -> Option<GroupMessage> {
        (self.state == State::Active && !self.follows())
            .then(|| self.message(Opcode::Resign, State::Active))
    }

    /// The earliest time the group needs `Event::Timer`.
    /// When a peer's silence would be judged: the Active timer (the Active's hello missing)
    /// or the Standby timer (the Standby's), whichever runs out first.
    pub fn silence_deadline(&self) -> Option<Time> {
        match (self.active_timer, self.standby_timer) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    pub fn next_deadline(&self) -> Option<Time> {
        [
            self.active_timer,
            self.standby_timer,
            self.preempt_timer,
            self.hello_timer,
            self.gratuitous_timer,
            self.init_timer,
            self.next_ra(),
            self.drain.map(|d| d.until),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// What `show standby` prints about this group, as of `now`.
    pub fn status(&self, now: Time) -> Status {
        let left = |t: Option<Time>| t.map(|t| t.saturating_since(now)).unwrap_or_default();
        let active = if self.state == State::Active {
            Some(RouterInfo::Local)
        } else {
            self.active.map(|p| RouterInfo::Peer {
                ip: p.ip,
                priority: p.priority,
                expires_in: left(self.active_timer),
            })
        };
        let standby = if self.state == State::Standby {
            Some(RouterInfo::Local)
        } else {
            self.standby.map(|p| RouterInfo::Peer {
                ip: p.ip,
                priority: p.priority,
                expires_in: left(self.standby_timer),
            })
        };
        Status {
            group: self.cfg.group,
            version: self.cfg.version,
            state: self.state,
            state_changes: self.state_changes,
            last_change: self.last_change.as_ref().map(|(t, _)| *t),
            last_change_reason: self.last_change.as_ref().map(|(_, r)| r.clone()),
            vip: self.vip(),
            vip_learned: self.cfg.vip.is_none() && self.learned_vip.is_some(),
            virtual_mac: self.vmac,
            priority: self.priority(),
            configured_priority: self.cfg.priority,
            preempt: self.cfg.preempt,
            timers: self.timers(),
            timers_learned: self.cfg.timers.is_none() && self.learned_timers.is_some(),
            next_hello: self.hello_timer.map(|t| t.saturating_since(now)),
            active,
            standby,
            auth_failures: self.auth_failures,
            last_auth_failure_from: self.last_auth_failure_from,
            name: self.cfg.name.clone(),
            data_plane_active: self.data_plane_active,
        }
    }

    // ---- driving -------------------------------------------------------------------

    /// Feed one event at `now`; returns the actions to carry out, in order. Timers that are
    /// due at `now` fire first, so a late driver never sees a deadline in the past.
    pub fn handle(&mut self, now: Time, event: Event) -> Vec<Action> {
        let now = now.max(self.now);
        self.now = now;
        let peers = self.peers();
        let mut out = Vec::new();
        self.expire_timers(now, &mut out);
        match event {
            Event::Received { from, msg } => self.on_message(now, from, &msg, &mut out),
            Event::AuthFailed { from } => {
                self.auth_failures += 1;
                self.last_auth_failure_from = Some(from);
            }
            Event::Timer => {}
            Event::InterfaceUp => {
                let first = !self.interface_up;
                self.interface_up = true;
                if first && self.start_init_delay(now) {
                    return out;
                }
                self.maybe_bring_up(now, "interface up", &mut out);
            }
            Event::InterfaceDown => {
                self.interface_up = false;
                self.init_timer = None;
                self.go_initial(now, "interface down".into(), false, &mut out);
            }
            Event::Track { object, up } => self.on_track(now, object, up, &mut out),
            Event::MasterState { state } => self.on_master_state(now, state, &mut out),
            Event::ConfigChange(cfg) => {
                if let Err(error) = self.apply_config(now, *cfg, &mut out) {
                    out.push(Action::ConfigRejected { error });
                }
            }
            Event::Shutdown => {
                self.shut_down = true;
                self.go_initial(now, "shutdown".into(), true, &mut out);
            }
            Event::HandOver => {
                self.shut_down = true;
                self.start_drain(now);
                self.go_initial(now, "shutdown".into(), true, &mut out);
            }
            Event::RouterSolicitation => {
                if let Some(ra) = self.ra.as_mut().filter(|r| r.running()) {
                    ra.solicit(now, self.jitter.next_u32());
                }
            }
            Event::Maintenance(true) => {
                self.maintenance = true;
                self.start_drain(now);
                self.go_initial(now, "maintenance (operator resign)".into(), true, &mut out);
            }
            Event::Maintenance(false) => {
                self.maintenance = false;
                self.maybe_bring_up(now, "released from maintenance", &mut out);
            }
            Event::PriorityOverride(p) => {
                let before = self.priority();
                self.priority_override = p;
                if self.priority() != before {
                    self.priority_changed(now, &mut out);
                }
            }
            Event::BfdPeerDown { peer } => {
                if self.active.is_some_and(|a| a.ip == peer) && self.active_timer.is_some() {
                    // Expire the Active timer now; `expire_timers` below runs event c.
                    self.active_timer = Some(now);
                    self.active_lost_by_bfd = true;
                }
            }
        }
        self.expire_timers(now, &mut out);
        self.push_peer_changes(peers, &mut out);
        out
    }

    /// Replace the configuration (SIGHUP). Refuses an invalid one, keeping the old.
    pub fn reconfigure(
        &mut self,
        now: Time,
        cfg: GroupConfig,
    ) -> Result<Vec<Action>, GroupConfigError> {
        let now = now.max(self.now);
        self.now = now;
        let peers = self.peers();
        let mut out = Vec::new();
        self.expire_timers(now, &mut out);
        self.apply_config(now, cfg, &mut out)?;
        self.expire_timers(now, &mut out);
        self.push_peer_changes(peers, &mut out);
        Ok(out)
    }

    /// The other routers heard as Active and Standby, as `status` shows them: none in a
    /// role this router holds itself.
    fn peers(&self) -> [Option<IpAddr>; 2] {
        let other = |role: State, p: Option<Peer>| {
            if self.state == role {
                None
            } else {
                p.map(|p| p.ip)
            }
        };
        [
            other(State::Active, self.active),
            other(State::Standby, self.standby),
        ]
    }

    fn push_peer_changes(&self, before: [Option<IpAddr>; 2], out: &mut Vec<Action>) {
        let after = self.peers();
        for (role, (from, to)) in [PeerRole::Active, PeerRole::Standby]
            .into_iter()
            .zip(before.into_iter().zip(after))
        {
            if from != to {
                out.push(Action::PeerChanged { role, from, to });
            }
        }
    }

    // ---- enable / disable ------------------------------------------------------------

    fn can_run(&self) -> bool {
        self.interface_up && !self.shut_down && !self.maintenance && !self.track_shutdown_active()
    }

    /// `standby delay`: on an interface coming up, waits `reload` the first time since the
    /// process started and `minimum` after that. True when the group now waits.
    fn start_init_delay(&mut self, now: Time) -> bool {
        self.interface_ups += 1;
        let Some(d) = self.cfg.init_delay else {
            return false;
        };
        let wait = if self.interface_ups == 1 {
            d.reload.max(d.minimum)
        } else {
            d.minimum
        };
        if wait.is_zero() {
            return false;
        }
        self.init_timer = Some(now + wait);
        true
    }

    fn track_shutdown_active(&self) -> bool {
        self.cfg
            .tracks
            .iter()
            .any(|t| t.action == TrackAction::Shutdown && self.down_tracks.contains(&t.object))
    }

    /// RFC event a: Initial -> Listen (VIP known) or Learn, Active and Standby timers started.
    fn maybe_bring_up(&mut self, now: Time, why: &str, out: &mut Vec<Action>) {
        if self.init_timer.is_some() {
            return; // `standby delay`: started when it expires
        }
        if self.follows() {
            return self.mirror_master(now, why, out);
        }
        if self.state != State::Initial || !self.can_run() {
            return;
        }
        self.bring_ups += 1;
        let p = self.cfg.preempt.unwrap_or_default();
        let delay = if self.bring_ups == 1 {
            p.delay_minimum.max(p.delay_reload)
        } else {
            p.delay_minimum
        };
        self.preempt_not_before = now + delay;
        let hold = self.timers().hold;
        self.start_active_timer(now, hold);
        self.standby_timer = Some(now + hold);
        let to = if self.vip().is_some() {
            State::Listen
        } else {
            State::Learn
        };
        let reason = if to == State::Learn {
            format!("{why}, no virtual IP configured: learning it from the Active")
        } else {
            why.to_string()
        };
        self.set_state(now, to, reason, out);
    }

    /// RFC event b: back to Initial, all timers stopped. `resign`: an Active group sends
    /// Resign first (possible when the link is still up).
    fn go_initial(&mut self, now: Time, reason: String, resign: bool, out: &mut Vec<Action>) {
        if self.state == State::Initial {
            return;
        }
        // The final RA precedes the Resign (`fsm::ra`).
        self.stop_ra(State::Initial, out);
        // A following group sends no messages of its own but its MAC refresh hellos.
        if let Some(msg) = self.last_words().filter(|_| resign) {
            out.push(Action::Send {
                msg,
                from_vmac: false,
            });
        }
        self.active = None;
        self.standby = None;
        self.active_timer = None;
        self.standby_timer = None;
        self.preempt_timer = None;
        self.set_state(now, State::Initial, reason, out);
    }

    fn on_track(&mut self, now: Time, object: u32, up: bool, out: &mut Vec<Action>) {
        let before = self.priority();
        let was_shut = self.track_shutdown_active();
        if up {
            self.down_tracks.remove(&object);
        } else {
            self.down_tracks.insert(object);
        }
        let is_shut = self.track_shutdown_active();
        if is_shut && !was_shut {
            self.go_initial(now, format!("track {object} down (shutdown)"), true, out);
        } else if was_shut && !is_shut {
            self.maybe_bring_up(now, &format!("track {object} up"), out);
        }
        if self.priority() != before {
            self.priority_changed(now, out);
        }
    }

    /// Announce a new priority at once, so peers (re)elect without waiting a hello.
    fn priority_changed(&mut self, now: Time, out: &mut Vec<Action>) {
        if self.follows() {
            return; // no election of its own: its priority is never announced
        }
        if matches!(self.state, State::Speak | State::Standby | State::Active) {
            self.send_hello(now, out);
        }
        // A higher priority may now beat a lower-priority Active we know of.
        if let Some(a) = self.active {
            if self.outranks(a) {
                self.consider_preempt(now, a, out);
            } else {
                self.preempt_timer = None;
            }
        }
    }

    fn apply_config(
        &mut self,
        now: Time,
        cfg: GroupConfig,
        out: &mut Vec<Action>,
    ) -> Result<(), GroupConfigError> {
        cfg.validate(self.local_ip)?;
        let restart = cfg.group != self.cfg.group
            || cfg.version != self.cfg.version
            || cfg.vip != self.cfg.vip
            || cfg.virtual_mac(self.local_ip.is_ipv6()) != self.vmac
            || cfg.follow.is_some() != self.cfg.follow.is_some();
        let before = self.priority();
        let was_shut = self.track_shutdown_active();
        if restart {
            self.go_initial(now, "configuration changed".into(), true, out);
            self.vmac = cfg.virtual_mac(self.local_ip.is_ipv6());
            self.learned_vip = None;
            self.learned_timers = None;
            self.cfg = cfg;
            self.maybe_bring_up(now, "configuration changed", out);
            return Ok(());
        }
        if cfg.timers.is_some() {
            self.learned_timers = None;
        }
        self.cfg = cfg;
        if self.cfg.preempt.is_none() {
            self.preempt_timer = None;
        }
        let is_shut = self.track_shutdown_active();
        if is_shut && !was_shut {
            self.go_initial(
                now,
                "configuration changed (track shutdown)".into(),
                true,
                out,
            );
        } else if was_shut && !is_shut {
            self.maybe_bring_up(now, "configuration changed", out);
        }
        if self.priority() != before {
            self.priority_changed(now, out);
        }
        Ok(())
    }

    // ---- timers ----------------------------------------------------------------------

    fn start_active_timer(&mut self, now: Time, hold: Duration) {
        self.active_timer = Some(now + hold);
        self.active_hold = hold;
        self.active_lost_by_bfd = false;
    }

    fn expire_timers(&mut self, now: Time, out: &mut Vec<Action>) {
        for _ in 0..MAX_TIMER_PASSES {
            // A Standby that knows of no Active takes over (RFC 2281 leaves a Speak router
            // whose Active timer already expired stuck in Standby; IOS goes Active).
            if self.state == State::Standby
                && self.active.is_none()
                && self.active_timer.is_none()
                && !self.follows()
            {
                self.become_active(now, "no Active router known".into(), out);
                continue;
            }
            let due = |t: Option<Time>| t.is_some_and(|t| t <= now);
            if due(self.init_timer) {
                self.init_timer = None;
                self.maybe_bring_up(now, "interface up, standby delay over", out);
            } else if due(self.active_timer) {
                self.on_active_timer(now, out);
            } else if due(self.standby_timer) {
                self.on_standby_timer(now, out);
            } else if due(self.preempt_timer) {
                self.preempt_timer = None;
                if let Some(a) = self.active {
                    if self.may_preempt_from_here() && self.outranks(a) {
                        let why = format!(
                            "preempt delay over, Active {} has lower priority {}",
                            a.ip, a.priority
                        );
                        self.preempt(now, why, out);
                    }
                }
            } else if due(self.gratuitous_timer) {
                // Before a hello due at the same time: announcements precede hellos.
                self.gratuitous_timer = None;
                if let (State::Active, Some(vip)) = (self.state, self.vip()) {
                    out.push(Action::SendGratuitous {
                        vip,
                        vmac: self.vmac,
                    });
                }
            } else if due(self.hello_timer) {
                self.send_hello(now, out);
            } else if due(self.next_ra()) {
                self.poll_ra(now, out);
            } else if due(self.drain.map(|d| d.until)) {
                self.end_drain(now, out);
            } else {
                return;
            }
        }
    }

    /// RFC event c.
    fn on_active_timer(&mut self, now: Time, out: &mut Vec<Action>) {
        let hold = self.active_hold;
        self.active_timer = None;
        let who = self.active.take();
        self.preempt_timer = None;
        let by_bfd = std::mem::take(&mut self.active_lost_by_bfd);
        let reason = match who {
            Some(p) if by_bfd => {
                format!("BFD session to Active {} down: active timer expired", p.ip)
            }
            Some(p) => format!(
                "active timer expired (hold {} ms, Active was {})",
                hold.as_millis(),
                p.ip
            ),
            None => format!("active timer expired (hold {} ms)", hold.as_millis()),
        };
        match self.state {
            State::Listen => {
                let own = self.timers().hold;
                self.start_active_timer(now, own);
                self.standby_timer = Some(now + own);
                self.set_state(now, State::Speak, reason, out);
            }
            State::Standby => self.become_active(now, reason, out),
            _ => {}
        }
    }

    /// RFC event d.
    fn on_standby_timer(&mut self, now: Time, out: &mut Vec<Action>) {
        self.standby_timer = None;
        self.standby = None;
        let reason = format!(
            "standby timer expired (hold {} ms)",
            self.timers().hold.as_millis()
        );
        match self.state {
            State::Listen => {
                self.standby_timer = Some(now + self.timers().hold);
                self.set_state(now, State::Speak, reason, out);
            }
            State::Speak => self.set_state(now, State::Standby, reason, out),
            _ => {}
        }
    }

    // ---- messages --------------------------------------------------------------------

    /// Higher priority means higher (priority, interface address).
    fn outranks(&self, other: Peer) -> bool {
        (self.priority(), self.local_ip) > (other.priority, other.ip)
    }

    fn on_message(&mut self, now: Time, from: IpAddr, msg: &GroupMessage, out: &mut Vec<Action>) {
        self.drain_heard(now, from, msg);
        if matches!(self.state, State::Initial | State::Disabled)
            || self.follows()
            || msg.group != self.cfg.group
            || msg.version != self.cfg.version
            || from == self.local_ip
            || from.is_ipv6() != self.local_ip.is_ipv6()
        {
            return;
        }
        let peer = Peer {
            ip: from,
            priority: msg.priority,
        };
        let higher = !self.outranks(peer);
        let hold = Timers::from_wire(msg.hello_ms, msg.hold_ms)
            .map(|t| t.hold)
            .unwrap_or(self.timers().hold);
        match (msg.opcode, msg.state) {
            (Opcode::Hello, State::Active) => {
                self.on_active_hello(now, peer, higher, hold, msg, out)
            }
            (Opcode::Hello, State::Standby) => self.on_standby_hello(now, peer, higher, hold, out),
            (Opcode::Hello, State::Speak) => self.on_speak_hello(now, peer, higher, out),
            // Learn/Listen routers are silent; a hello claiming those states is ignored.
            (Opcode::Hello, _) => {}
            (Opcode::Resign, _) => {
                // Only the Active's resignation matters (RFC event i).
                let from_active =
                    msg.state == State::Active || self.active.is_some_and(|a| a.ip == from);
                if from_active {
                    self.on_resign(now, peer, out);
                }
            }
            (Opcode::Coup, _) => {
                // RFC event j; Cisco: the deposed Active goes to Speak without a Resign.
                if self.state == State::Active && higher {
                    self.active = Some(peer);
                    self.start_active_timer(now, hold);
                    self.standby_timer = Some(now + self.timers().hold);
                    let why = format!(
                        "Coup from higher-priority {} (priority {})",
                        peer.ip, peer.priority
                    );
                    self.set_state(now, State::Speak, why, out);
                }
            }
        }
    }

    /// RFC events g (higher) and h (lower): a Hello from the Active.
    fn on_active_hello(
        &mut self,
        now: Time,
        peer: Peer,
        higher: bool,
        hold: Duration,
        msg: &GroupMessage,
        out: &mut Vec<Action>,
    ) {
        if self.state == State::Active {
            if higher {
                // Two Actives: the lower one steps down to Speak, without a Resign.
                self.active = Some(peer);
                self.start_active_timer(now, hold);
                self.standby_timer = Some(now + self.timers().hold);
                let why = format!(
                    "higher-priority Active {} (priority {}) heard",
                    peer.ip, peer.priority
                );
                self.set_state(now, State::Speak, why, out);
            } else {
                // Two Actives: the higher one sends Coup, from the vMAC.
                let msg = self.message(Opcode::Coup, State::Active);
                out.push(Action::Send {
                    msg,
                    from_vmac: true,
                });
            }
            return;
        }
        if self.standby.is_some_and(|s| s.ip == peer.ip) {
            // The Standby became Active: there is no Standby now. Its Standby timer keeps
            // running (RFC: an Active hello does not touch it), so Listen and Speak contest
            // the role one hold time after its last Standby hello.
            self.standby = None;
            if self.standby_timer.is_none() && matches!(self.state, State::Listen | State::Speak) {
                self.standby_timer = Some(now + self.timers().hold);
            }
        }
        self.active = Some(peer);
        self.start_active_timer(now, hold);
        self.learn(msg, out);
        match self.state {
            State::Learn if self.vip().is_some() => {
                self.standby_timer = Some(now + self.timers().hold);
                let why = format!("learned virtual IP from Active {}", peer.ip);
                self.set_state(now, State::Listen, why, out);
            }
            State::Listen | State::Speak | State::Standby => {
                if higher {
                    self.preempt_timer = None;
                } else {
                    self.consider_preempt(now, peer, out);
                }
            }
            _ => {}
        }
    }

    /// Learn VIP and timers from the Active's hello (RFC action E), unless configured.
    fn learn(&mut self, msg: &GroupMessage, out: &mut Vec<Action>) {
        if self.cfg.vip.is_none() {
            if let Some(vip) = msg.vip.filter(|v| v.is_ipv6() == self.local_ip.is_ipv6()) {
                if self.learned_vip != Some(vip) {
                    self.learned_vip = Some(vip);
                    out.push(Action::VipLearned { vip });
                }
            }
        }
        if self.cfg.timers.is_none() {
            if let Some(t) = Timers::from_wire(msg.hello_ms, msg.hold_ms) {
                self.learned_timers = Some(t);
            }
        }
    }

    fn may_preempt_from_here(&self) -> bool {
        self.cfg.preempt.is_some()
            && matches!(self.state, State::Listen | State::Speak | State::Standby)
    }

    /// The Active `active` has lower priority than us: preempt now, later (delay), or not.
    fn consider_preempt(&mut self, now: Time, active: Peer, out: &mut Vec<Action>) {
        if !self.may_preempt_from_here() {
            return;
        }
        if now >= self.preempt_not_before {
            let why = format!(
                "preempting lower-priority Active {} (priority {} < {})",
                active.ip,
                active.priority,
                self.priority()
            );
            self.preempt(now, why, out);
        } else if self.preempt_timer.is_none() {
            self.preempt_timer = Some(self.preempt_not_before);
        }
    }

    /// Active, with a Coup (from the state we preempt from, interface MAC).
    fn preempt(&mut self, now: Time, reason: String, out: &mut Vec<Action>) {
        let coup = self.message(Opcode::Coup, self.state);
        self.become_active_with(now, reason, Some(coup), out);
    }

    /// RFC events k (higher) and l (lower): a Hello from a Standby router.
    fn on_standby_hello(
        &mut self,
        now: Time,
        peer: Peer,
        higher: bool,
        hold: Duration,
        out: &mut Vec<Action>,
    ) {
        let record = |g: &mut Group| {
            g.standby = Some(peer);
            g.standby_timer = Some(now + hold);
        };
        match (self.state, higher) {
            (State::Listen, true) | (State::Active, _) => record(self),
            (State::Listen, false) => {
                record(self);
                let why = format!(
                    "lower-priority Standby {} (priority {}) heard",
                    peer.ip, peer.priority
                );
                self.set_state(now, State::Speak, why, out);
            }
            (State::Speak | State::Standby, true) => {
                record(self);
                let why = format!(
                    "higher-priority Standby {} (priority {}) heard",
                    peer.ip, peer.priority
                );
                self.set_state(now, State::Listen, why, out);
            }
            (State::Speak, false) => {
                self.standby = None;
                self.standby_timer = None;
                let why = format!(
                    "lower-priority Standby {} (priority {}) heard",
                    peer.ip, peer.priority
                );
                self.set_state(now, State::Standby, why, out);
            }
            // Two Standbys: the lower one yields when it hears our hello.
            _ => {}
        }
    }

    /// RFC event f: a Hello of higher priority from a Speak router.
    fn on_speak_hello(&mut self, now: Time, peer: Peer, higher: bool, out: &mut Vec<Action>) {
        if higher && self.state == State::Listen && self.standby.is_none() {
            // Deviation from RFC 2281 (no action there): a higher-priority router is
            // contesting the Standby role, so do not contest it too. Without this, a Listen
            // router's Standby timer expires the very instant the Speak router becomes
            // Standby (both were started by the same hello) and the LAN flaps once.
            self.standby_timer = Some(now + self.timers().hold);
            return;
        }
        if higher && matches!(self.state, State::Speak | State::Standby) {
            self.standby = None;
            self.standby_timer = Some(now + self.timers().hold);
            let why = format!(
                "higher-priority Speak router {} (priority {}) heard",
                peer.ip, peer.priority
            );
            self.set_state(now, State::Listen, why, out);
        }
    }

    /// RFC event i: the Active resigned.
    fn on_resign(&mut self, now: Time, peer: Peer, out: &mut Vec<Action>) {
        self.active = None;
        self.active_timer = None;
        self.preempt_timer = None;
        let why = format!("Active {} resigned", peer.ip);
        let own = self.timers().hold;
        match self.state {
            State::Listen => {
                self.start_active_timer(now, own);
                self.standby_timer = Some(now + own);
                self.set_state(now, State::Speak, why, out);
            }
            State::Speak => self.start_active_timer(now, own),
            State::Standby => self.become_active(now, why, out),
            _ => {}
        }
    }

    // ---- state changes -----------------------------------------------------------------

    fn become_active(&mut self, now: Time, reason: String, out: &mut Vec<Action>) {
        self.become_active_with(now, reason, None, out);
    }

    /// Active; `coup`: the Coup that deposes a lower-priority Active (see `take_over`).
    fn become_active_with(
        &mut self,
        now: Time,
        reason: String,
        coup: Option<GroupMessage>,
        out: &mut Vec<Action>,
    ) {
        self.active = None;
        self.active_timer = None;
        self.preempt_timer = None;
        if self.state == State::Standby {
            // We were the Standby: there is none now.
            self.standby = None;
            self.standby_timer = None;
        }
        if self.record_change(now, State::Active, reason, out) {
            self.take_over(now, coup, out);
        }
    }

    /// A takeover, in the order the wire needs: the data plane flips, the vMAC is
    /// announced (gratuitous ARP / NA), and only then the Coup and the first hello go out.
    /// The old Active stops forwarding when it hears either (a Coup deposes it; a
    /// resigning Active hands over on the hello), and since all these frames take the same
    /// path in order, by then the switch has learned the vMAC's new port, where the data
    /// plane already forwards: no frame is sent to a router that drops it.
    /// The first RA follows them all.
    fn take_over(&mut self, now: Time, coup: Option<GroupMessage>, out: &mut Vec<Action>) {
        // Active again before a hand-over ended: the data plane simply stays on.
        self.drain = None;
        self.set_data_plane(true, out);
        if let Some(vip) = self.vip() {
            out.push(Action::SendGratuitous {
                vip,
                vmac: self.vmac,
            });
            self.gratuitous_timer = Some(now + GRATUITOUS_REPEAT);
        }
        if let Some(msg) = coup {
            out.push(Action::Send {
                msg,
                from_vmac: false,
            });
        }
        self.send_hello(now, out);
        self.start_ra(now, out);
    }

    /// Entering Active: an IPv6 group's first RA at once.
    fn start_ra(&mut self, now: Time, out: &mut Vec<Action>) {
        if let Some(ra) = self.ra.as_mut() {
            ra.start(now);
        }
        self.poll_ra(now, out);
    }

    /// Sends the RA that is due, if any (`random` of the next interval from the jitter).
    fn poll_ra(&mut self, now: Time, out: &mut Vec<Action>) {
        let lifetime_s = self.cfg.ra_lifetime_s;
        let Some(ra) = self.ra.as_mut().filter(|r| r.running()) else {
            return;
        };
        if ra.poll(now, lifetime_s, self.jitter.next_u32()) {
            out.push(Action::Ra(RaAction::Advertise { lifetime_s }));
        }
    }

    /// Leaving Active for `to`: RAs stop; for good (not deposed) with a final one, when
    /// the link can still carry it.
    fn stop_ra(&mut self, to: State, out: &mut Vec<Action>) {
        if !self.ra.as_mut().is_some_and(RaSchedule::stop) {
            return;
        }
        if to == State::Speak {
            out.push(Action::Ra(RaAction::Silence));
        } else if self.interface_up {
            out.push(Action::Ra(RaAction::Withdraw));
        }
    }

    /// Records the change to `to` (false when already there) and leaves Active if it was.
    fn record_change(
        &mut self,
        now: Time,
        to: State,
        reason: String,
        out: &mut Vec<Action>,
    ) -> bool {
        let from = self.state;
        if from == to {
            return false;
        }
        self.state = to;
        self.state_changes += 1;
        self.last_change = Some((now, format!("{from} -> {to}: {reason}")));
        out.push(Action::StateChanged { from, to, reason });
        if from == State::Active {
            self.gratuitous_timer = None;
            self.stop_ra(to, out);
            // A hand-over keeps forwarding until its successor is heard (`drain`).
            if self.drain.is_none() {
                self.set_data_plane(false, out);
            }
        }
        true
    }

    fn set_state(&mut self, now: Time, to: State, reason: String, out: &mut Vec<Action>) {
        if !self.record_change(now, to, reason, out) {
            return;
        }
        match to {
            State::Active if self.follows() => {
                self.drain = None;
                self.set_data_plane(true, out);
                self.start_mac_refresh(now);
                if let Some(vip) = self.vip() {
                    out.push(Action::SendGratuitous {
                        vip,
                        vmac: self.vmac,
                    });
                    self.gratuitous_timer = Some(now + GRATUITOUS_REPEAT);
                }
                self.start_ra(now, out);
            }
            State::Active => self.take_over(now, None, out),
            State::Speak | State::Standby if self.follows() => self.hello_timer = None,
            State::Speak | State::Standby => {
                if to == State::Standby && self.standby.is_some() {
                    self.standby = None;
                }
                self.send_hello(now, out);
            }
            _ => self.hello_timer = None,
        }
    }

    fn set_data_plane(&mut self, active: bool, out: &mut Vec<Action>) {
        if self.data_plane_active != active {
            self.data_plane_active = active;
            out.push(Action::SetActive {
                active,
                vip: self.vip(),
                vmac: self.vmac,
            });
        }
    }

    /// Send a hello now and schedule the next one (jittered downward).
    fn send_hello(&mut self, now: Time, out: &mut Vec<Action>) {
        let msg = self.message(Opcode::Hello, self.state);
        out.push(Action::Send {
            msg,
            from_vmac: self.state == State::Active,
        });
        if self.follows() {
            return self.start_mac_refresh(now);
        }
        let (hello, r) = (self.timers().hello, self.jitter.next_u32());
        self.hello_timer = Some(if self.hellos_on_grid {
            jitter::next_hello(now, hello, r)
        } else {
            now + jitter::jittered(hello, r)
        });
    }

    /// A message from this router in `state`.
    fn message(&self, opcode: Opcode, state: State) -> GroupMessage {
        let t = self.timers();
        GroupMessage {
            version: self.cfg.version,
            opcode,
            state,
            group: self.cfg.group,
            priority: self.priority(),
            hello_ms: u32::try_from(t.hello.as_millis()).unwrap_or(u32::MAX),
            hold_ms: u32::try_from(t.hold.as_millis()).unwrap_or(u32::MAX),
            vip: self.vip(),
            identifier: (self.cfg.version == Version::V2).then_some(self.local_mac),
        }
    }
}
