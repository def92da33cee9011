//! A simulated LAN in virtual time: N routers, each with its own `fsm::Group`s, joined by
//! one broadcast segment with configurable delay, random loss (seeded) and partitions.
//! Every message goes through the real codec (`wire::encode_group` → bytes →
//! `wire::decode_payload`), so the state machine and the codec are tested together.
//!
//! Time only moves when the simulation is told to run: `run_for`/`run_until` jump from one
//! event (a delivery or a group deadline) to the next, so a simulated hour takes
//! milliseconds. Everything observable (state changes, messages sent, deliveries and
//! losses, periods with more than one Active) is recorded for the tests to assert on.

pub mod bfd;

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::net::IpAddr;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use crate::fsm::{Action, Event, Group, GroupConfig, GroupConfigError, JitterSource, Time};
use crate::proto::{GroupMessage, MacAddr, State};
use crate::wire;

/// Index of a router in the simulation.
pub type RouterId = usize;

/// Bound on events processed by one `run_until` (a runaway loop fails loudly instead).
const MAX_EVENTS_PER_RUN: usize = 50_000_000;

/// Hello jitter drawn from a seeded RNG, one per group.
pub struct SeededJitter(StdRng);

impl SeededJitter {
    pub fn new(seed: u64) -> SeededJitter {
        SeededJitter(StdRng::seed_from_u64(seed))
    }
}

impl JitterSource for SeededJitter {
    fn next_u32(&mut self) -> u32 {
        self.0.random()
    }
}

/// One simulated router.
pub struct Router {
    pub name: String,
    pub ip: IpAddr,
    pub mac: MacAddr,
    pub groups: Vec<Group>,
    /// A crashed router neither sends, receives nor runs its timers.
    pub alive: bool,
    /// Partition side: routers only hear routers on the same side.
    side: u32,
}

/// A state change of one group, as the simulation saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transition {
    pub time: Time,
    pub router: RouterId,
    pub group: u16,
    pub from: State,
    pub to: State,
    pub reason: String,
}

/// A message a router sent (with the bytes that went on the wire).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sent {
    pub time: Time,
    pub router: RouterId,
    pub msg: GroupMessage,
    pub from_vmac: bool,
    pub bytes: Vec<u8>,
}

/// One copy of a message towards one receiver: delivered or lost.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Copy {
    pub sent_at: Time,
    pub from: RouterId,
    pub to: RouterId,
    pub msg: GroupMessage,
    pub lost: bool,
}

/// A gratuitous ARP/NA a router sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Gratuitous {
    pub time: Time,
    pub router: RouterId,
    pub vip: IpAddr,
    pub vmac: MacAddr,
}

/// One action a group returned, in the order it was carried out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Done {
    pub time: Time,
    pub router: RouterId,
    pub group: u16,
    pub action: Action,
}

struct InFlight {
    at: Time,
    seq: u64,
    from: RouterId,
    to: RouterId,
    /// The sender's group number: only used to tell which receiving group an
    /// authentication failure belongs to (the bytes do not authenticate).
    group: u16,
    bytes: Vec<u8>,
}

impl PartialEq for InFlight {
    fn eq(&self, o: &Self) -> bool {
        (self.at, self.seq) == (o.at, o.seq)
    }
}
impl Eq for InFlight {}
impl PartialOrd for InFlight {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for InFlight {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        (self.at, self.seq).cmp(&(o.at, o.seq))
    }
}

/// Tracks, per group number, the spans with two or more live Actives.
#[derive(Clone, Copy, Debug, Default)]
struct MultiActive {
    since: Option<Time>,
    longest: Duration,
    episodes: u32,
}

/// The simulated LAN.
pub struct Sim {
    now: Time,
    rng: StdRng,
    seed: u64,
    delay: Duration,
    loss: f64,
    routers: Vec<Router>,
    queue: BinaryHeap<Reverse<InFlight>>,
    seq: u64,
    transitions: Vec<Transition>,
    sent: Vec<Sent>,
    copies: Vec<Copy>,
    gratuitous: Vec<Gratuitous>,
    done: Vec<Done>,
    multi_active: BTreeMap<u16, MultiActive>,
    errors: Vec<String>,
}

impl Sim {
    /// An empty LAN at time zero: no delay, no loss. `seed` drives loss and jitter.
    pub fn new(seed: u64) -> Sim {
        Sim {
            now: Time::ZERO,
            rng: StdRng::seed_from_u64(seed),
            seed,
            delay: Duration::ZERO,
            loss: 0.0,
            routers: Vec::new(),
            queue: BinaryHeap::new(),
            seq: 0,
            transitions: Vec::new(),
            sent: Vec::new(),
            copies: Vec::new(),
            gratuitous: Vec::new(),
            done: Vec::new(),
            multi_active: BTreeMap::new(),
            errors: Vec::new(),
        }
    }

    /// One-way delay of every message.
    pub fn set_delay(&mut self, delay: Duration) {
        self.delay = delay;
    }

    /// Probability (0..=1) that one copy of a message to one receiver is lost.
    pub fn set_loss(&mut self, loss: f64) {
        self.loss = loss.clamp(0.0, 1.0);
    }

    /// Add a router (interface down: call `interface_up`). Its interface MAC is derived
    /// from its index.
    pub fn add_router(
        &mut self,
        name: &str,
        ip: IpAddr,
        groups: Vec<GroupConfig>,
    ) -> Result<RouterId, GroupConfigError> {
        let id = self.routers.len();
        let mac = MacAddr([0x02, 0x00, 0x00, 0x00, (id >> 8) as u8, id as u8]);
        let mut built = Vec::with_capacity(groups.len());
        for (i, cfg) in groups.into_iter().enumerate() {
            let jitter_seed = self.seed ^ ((id as u64) << 32) ^ (i as u64);
            built.push(Group::new(
                cfg,
                ip,
                mac,
                Box::new(SeededJitter::new(jitter_seed)),
            )?);
        }
        self.routers.push(Router {
            name: name.to_string(),
            ip,
            mac,
            groups: built,
            alive: true,
            side: 0,
        });
        Ok(id)
    }

    // ---- the world ------------------------------------------------------------------

    /// Split the LAN: each slice is one side; routers not named keep hearing nobody but
    /// their own side 0 (the first slice is side 1, and so on).
    pub fn partition(&mut self, sides: &[&[RouterId]]) {
        for r in &mut self.routers {
            r.side = 0;
        }
        for (i, side) in sides.iter().enumerate() {
            for &r in *side {
                self.routers[r].side = i as u32 + 1;
            }
        }
    }

    /// Join all sides again.
    pub fn heal(&mut self) {
        for r in &mut self.routers {
            r.side = 0;
        }
    }

    /// The router dies silently: no Resign, no more hellos, nothing received.
    pub fn crash(&mut self, r: RouterId) {
        self.routers[r].alive = false;
        self.update_multi_active();
    }

    /// Feed `event` to group `g` of router `r` now, and carry out its actions.
    /// A group that changes state drives the groups of the same router that follow it
    /// (`standby G follow NAME`), in the same step.
    pub fn event(&mut self, r: RouterId, g: usize, event: Event) {
        let now = self.now;
        let before = self.routers[r].groups[g].state();
        let actions = self.routers[r].groups[g].handle(now, event);
        self.execute(r, g, actions);
        let state = self.routers[r].groups[g].state();
        if state == before {
            return;
        }
        for f in self.followers(r, g) {
            let actions = self.routers[r].groups[f].handle(now, Event::MasterState { state });
            self.execute(r, f, actions);
        }
    }

    /// The groups of router `r` that follow its group `g` (by the master's name).
    fn followers(&self, r: RouterId, g: usize) -> Vec<usize> {
        let groups = &self.routers[r].groups;
        let Some(name) = groups[g].config().name.as_deref() else {
            return Vec::new();
        };
        (0..groups.len())
            .filter(|&f| {
                f != g
                    && groups[f]
                        .config()
                        .follow
                        .as_ref()
                        .is_some_and(|fl| fl.master == name)
            })
            .collect()
    }

    /// Feed `event` to every group of router `r`.
    pub fn event_all(&mut self, r: RouterId, event: Event) {
        for g in 0..self.routers[r].groups.len() {
            self.event(r, g, event.clone());
        }
    }

    pub fn interface_up(&mut self, r: RouterId) {
        self.event_all(r, Event::InterfaceUp);
    }

    pub fn interface_down(&mut self, r: RouterId) {
        self.event_all(r, Event::InterfaceDown);
    }

    /// Stop (Active groups Resign).
    pub fn shutdown(&mut self, r: RouterId) {
        self.event_all(r, Event::Shutdown);
    }

    /// Graceful stop as `hsrpd` does it: Active groups Resign and hand over (`drain`).
    pub fn hand_over(&mut self, r: RouterId) {
        self.event_all(r, Event::HandOver);
    }

    // ---- running --------------------------------------------------------------------

    pub fn run_for(&mut self, d: Duration) {
        let until = self.now + d;
        self.run_until(until);
    }

    /// Process every delivery and deadline up to and including `until`.
    pub fn run_until(&mut self, until: Time) {
        for _ in 0..MAX_EVENTS_PER_RUN {
            match self.step_before(until) {
                true => continue,
                false => {
                    self.now = self.now.max(until);
                    return;
                }
            }
        }
        panic!("simulation did not settle: more than {MAX_EVENTS_PER_RUN} events before {until}");
    }

    /// Run until `pred` holds (checked after every event) or `limit` has passed; returns
    /// the time it first held.
    pub fn run_until_cond(
        &mut self,
        limit: Duration,
        mut pred: impl FnMut(&Sim) -> bool,
    ) -> Option<Time> {
        let until = self.now + limit;
        if pred(self) {
            return Some(self.now);
        }
        for _ in 0..MAX_EVENTS_PER_RUN {
            if !self.step_before(until) {
                self.now = self.now.max(until);
                return None;
            }
            if pred(self) {
                return Some(self.now);
            }
        }
        panic!("simulation did not settle: more than {MAX_EVENTS_PER_RUN} events before {until}");
    }

    /// Process the next event if it is due at or before `until`.
    fn step_before(&mut self, until: Time) -> bool {
        let delivery = self.queue.peek().map(|Reverse(m)| m.at);
        let timer = self
            .routers
            .iter()
            .enumerate()
            .filter(|(_, r)| r.alive)
            .flat_map(|(ri, r)| {
                r.groups
                    .iter()
                    .enumerate()
                    .filter_map(move |(gi, g)| g.next_deadline().map(|t| (t, ri, gi)))
            })
            .min();
        // Deliveries first on ties: a hello arriving exactly at expiry still counts.
        match (delivery, timer) {
            (Some(d), t) if d <= until && t.is_none_or(|(t, _, _)| d <= t) => {
                let Reverse(m) = self.queue.pop().expect("peeked");
                self.now = self.now.max(m.at);
                self.deliver(m);
            }
            (_, Some((t, r, g))) if t <= until => {
                self.now = self.now.max(t);
                self.event(r, g, Event::Timer);
            }
            _ => return false,
        }
        self.update_multi_active();
        true
    }

    fn execute(&mut self, r: RouterId, g: usize, actions: Vec<Action>) {
        let now = self.now;
        let group = self.routers[r].groups[g].config().group;
        for action in actions {
            self.done.push(Done {
                time: now,
                router: r,
                group,
                action: action.clone(),
            });
            match action {
                Action::Send { msg, from_vmac } => self.transmit(r, g, msg, from_vmac),
                Action::StateChanged { from, to, reason } => self.transitions.push(Transition {
                    time: now,
                    router: r,
                    group,
                    from,
                    to,
                    reason,
                }),
                Action::SendGratuitous { vip, vmac } => self.gratuitous.push(Gratuitous {
                    time: now,
                    router: r,
                    vip,
                    vmac,
                }),
                Action::ConfigRejected { error } => self
                    .errors
                    .push(format!("{}: {error}", self.routers[r].name)),
                Action::SetActive { .. }
                | Action::VipLearned { .. }
                | Action::PeerChanged { .. }
                | Action::Ra(_)
                | Action::Drained { .. } => {}
            }
        }
        self.update_multi_active();
    }

    /// Encode with the real codec and put one copy per reachable receiver on the wire.
    fn transmit(&mut self, r: RouterId, g: usize, msg: GroupMessage, from_vmac: bool) {
        let sender = &self.routers[r];
        let auth = &sender.groups[g].config().auth;
        let mut buf = [0u8; 128];
        let n = match wire::encode_group(&msg, auth, sender.ip, &mut buf) {
            Ok(n) => n,
            Err(e) => {
                self.errors
                    .push(format!("{}: encoding {msg:?}: {e}", sender.name));
                return;
            }
        };
        let bytes = buf[..n].to_vec();
        let side = sender.side;
        self.sent.push(Sent {
            time: self.now,
            router: r,
            msg: msg.clone(),
            from_vmac,
            bytes: bytes.clone(),
        });
        for to in 0..self.routers.len() {
            if to == r || !self.routers[to].alive || self.routers[to].side != side {
                continue;
            }
            let lost = self.loss > 0.0 && self.rng.random_bool(self.loss);
            self.copies.push(Copy {
                sent_at: self.now,
                from: r,
                to,
                msg: msg.clone(),
                lost,
            });
            if !lost {
                self.seq += 1;
                self.queue.push(Reverse(InFlight {
                    at: self.now + self.delay,
                    seq: self.seq,
                    from: r,
                    to,
                    group: msg.group,
                    bytes: bytes.clone(),
                }));
            }
        }
    }

    /// Decode with each receiving group's authentication and hand the message over.
    fn deliver(&mut self, m: InFlight) {
        let (from_ip, from_side) = (self.routers[m.from].ip, self.routers[m.from].side);
        let to = &self.routers[m.to];
        if !to.alive || to.side != from_side {
            return; // crashed or partitioned while in flight
        }
        // Parsed once, authenticated per receiving group.
        let payload = match wire::Payload::parse(&m.bytes) {
            Ok(p) => p,
            Err(e) => {
                self.errors.push(format!(
                    "{} could not decode a message from {}: {e}",
                    self.routers[m.to].name, self.routers[m.from].name
                ));
                return;
            }
        };
        for g in 0..self.routers[m.to].groups.len() {
            let group = &self.routers[m.to].groups[g];
            let event = match payload.decode(&group.config().auth) {
                Ok(wire::Decoded::Group(msg)) if msg.group == group.config().group => {
                    Event::Received { from: from_ip, msg }
                }
                Ok(_) => continue,
                Err(e) if e.is_auth() => {
                    if m.group != group.config().group {
                        continue;
                    }
                    Event::AuthFailed { from: from_ip }
                }
                Err(e) => {
                    self.errors.push(format!(
                        "{} could not decode a message from {}: {e}",
                        self.routers[m.to].name, self.routers[m.from].name
                    ));
                    continue;
                }
            };
            self.event(m.to, g, event);
        }
    }

    fn update_multi_active(&mut self) {
        let mut counts: BTreeMap<u16, u32> = BTreeMap::new();
        for r in self.routers.iter().filter(|r| r.alive) {
            for g in &r.groups {
                let c = counts.entry(g.config().group).or_default();
                if g.state() == State::Active {
                    *c += 1;
                }
            }
        }
        for (group, n) in counts {
            let m = self.multi_active.entry(group).or_default();
            match (n >= 2, m.since) {
                (true, None) => m.since = Some(self.now),
                (false, Some(since)) => {
                    // Spans of zero virtual time (a takeover undone within the same
                    // instant) are not counted.
                    if self.now > since {
                        m.episodes += 1;
                        m.longest = m.longest.max(self.now.saturating_since(since));
                    }
                    m.since = None;
                }
                _ => {}
            }
        }
    }

    // ---- observations ---------------------------------------------------------------

    pub fn now(&self) -> Time {
        self.now
    }

    pub fn router(&self, r: RouterId) -> &Router {
        &self.routers[r]
    }

    pub fn group(&self, r: RouterId, g: usize) -> &Group {
        &self.routers[r].groups[g]
    }

    pub fn state(&self, r: RouterId, g: usize) -> State {
        self.routers[r].groups[g].state()
    }

    /// Live routers whose group number `group` is Active.
    pub fn actives(&self, group: u16) -> Vec<RouterId> {
        (0..self.routers.len())
            .filter(|&r| {
                self.routers[r].alive
                    && self.routers[r]
                        .groups
                        .iter()
                        .any(|g| g.config().group == group && g.state() == State::Active)
            })
            .collect()
    }

    pub fn transitions(&self) -> &[Transition] {
        &self.transitions
    }

    pub fn sent(&self) -> &[Sent] {
        &self.sent
    }

    pub fn copies(&self) -> &[Copy] {
        &self.copies
    }

    pub fn gratuitous(&self) -> &[Gratuitous] {
        &self.gratuitous
    }

    /// Every action carried out, in order.
    pub fn done(&self) -> &[Done] {
        &self.done
    }

    /// The longest span so far with two or more live Actives in `group` (an ongoing one
    /// counts up to now), and how many such spans lasted longer than zero virtual time.
    pub fn multi_active(&self, group: u16) -> (Duration, u32) {
        match self.multi_active.get(&group) {
            None => (Duration::ZERO, 0),
            Some(m) => {
                let ongoing = m
                    .since
                    .map_or(Duration::ZERO, |s| self.now.saturating_since(s));
                let episodes = m.episodes + u32::from(ongoing > Duration::ZERO);
                (m.longest.max(ongoing), episodes)
            }
        }
    }

    /// Codec or configuration errors met while running (a healthy run has none).
    pub fn errors(&self) -> &[String] {
        &self.errors
    }
}
