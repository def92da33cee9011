//! Two BFD sessions joined by a point-to-point link in virtual time, with delay, seeded
//! random loss (optionally never more than N packets in a row lost per direction) and a
//! link that can be cut. Every packet goes through the real codec (`Repr::to_bytes` →
//! bytes → `Repr::parse`), so `bfd::Session` and `wire::bfd` are tested together.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::num::NonZeroU32;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use super::SeededJitter;
use crate::bfd::{Action, ConfigError, Event, Session, SessionConfig};
use crate::fsm::Time;
use crate::wire::bfd::{Diag, Packet, Repr, State};

/// Bound on events processed by one `run_until` (a runaway loop fails loudly instead).
const MAX_EVENTS_PER_RUN: usize = 10_000_000;

/// A state change seen on one side.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Change {
    pub time: Time,
    pub side: usize,
    pub from: State,
    pub to: State,
    pub diag: Diag,
    /// When this side last received a packet before the change (for detection checks).
    pub last_rx: Option<Time>,
    /// The detection time in force just before the change.
    pub detection_time: Duration,
}

/// A packet one side sent, and whether the link delivered it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SentPacket {
    pub time: Time,
    pub side: usize,
    pub repr: Repr,
    pub lost: bool,
}

/// A packet on the wire: (delivery time, sequence number, receiving side, bytes).
type InFlight = (Time, u64, usize, [u8; 24]);

/// The link and both sessions.
pub struct BfdLink {
    now: Time,
    pub sessions: [Session; 2],
    rng: StdRng,
    delay: Duration,
    loss: f64,
    max_consecutive_losses: Option<u32>,
    /// Losses in a row, per sending side.
    lost_in_row: [u32; 2],
    up: bool,
    queue: BinaryHeap<Reverse<InFlight>>,
    seq: u64,
    last_rx: [Option<Time>; 2],
    pub changes: Vec<Change>,
    pub sent: Vec<SentPacket>,
    /// Codec errors at a receiver (there must be none: both sides emit valid packets).
    pub parse_errors: u32,
}

impl BfdLink {
    /// Both sessions start Down at time zero; the link is up with no delay and no loss.
    pub fn new(seed: u64, a: SessionConfig, b: SessionConfig) -> Result<BfdLink, ConfigError> {
        let mk = |cfg, discr: u32, s: u64| {
            Session::new(
                cfg,
                NonZeroU32::new(discr).unwrap_or(NonZeroU32::MIN),
                Box::new(SeededJitter::new(seed ^ s)),
            )
        };
        Ok(BfdLink {
            now: Time::ZERO,
            sessions: [mk(a, 0x0a0a_0001, 1)?, mk(b, 0x0b0b_0002, 2)?],
            rng: StdRng::seed_from_u64(seed),
            delay: Duration::ZERO,
            loss: 0.0,
            max_consecutive_losses: None,
            lost_in_row: [0; 2],
            up: true,
            queue: BinaryHeap::new(),
            seq: 0,
            last_rx: [None; 2],
            changes: Vec::new(),
            sent: Vec::new(),
            parse_errors: 0,
        })
    }

    pub fn now(&self) -> Time {
        self.now
    }

    pub fn set_delay(&mut self, d: Duration) {
        self.delay = d;
    }

    /// Probability (0..=1) that one packet is lost; `max_in_row` caps the losses in a row
    /// per direction (the next packet then always gets through).
    pub fn set_loss(&mut self, p: f64, max_in_row: Option<u32>) {
        self.loss = p.clamp(0.0, 1.0);
        self.max_consecutive_losses = max_in_row;
    }

    /// Cut (false) or restore (true) the link; packets in flight when it is cut are lost.
    pub fn set_link(&mut self, up: bool) {
        self.up = up;
        if !up {
            self.queue.clear();
        }
    }

    /// The time `side` last received a packet.
    pub fn last_rx(&self, side: usize) -> Option<Time> {
        self.last_rx[side]
    }

    pub fn state(&self, side: usize) -> State {
        self.sessions[side].state()
    }

    /// Feed `event` to one side now and carry out what it returns.
    pub fn event(&mut self, side: usize, event: Event) {
        let detection_time = self.sessions[side].detection_time();
        let acts = self.sessions[side].handle(self.now, event);
        self.apply(side, acts, detection_time);
    }

    /// Run until `t`, jumping from one delivery or deadline to the next.
    pub fn run_until(&mut self, t: Time) {
        for _ in 0..MAX_EVENTS_PER_RUN {
            let next_rx = self.queue.peek().map(|Reverse((at, ..))| *at);
            let deadlines = [
                self.sessions[0].next_deadline(),
                self.sessions[1].next_deadline(),
            ];
            let next = [next_rx, deadlines[0], deadlines[1]]
                .into_iter()
                .flatten()
                .min();
            let Some(next) = next.filter(|n| *n <= t) else {
                self.now = t;
                return;
            };
            self.now = self.now.max(next);
            if next_rx == Some(next) {
                let Some(Reverse((_, _, to, bytes))) = self.queue.pop() else {
                    continue;
                };
                match Packet::new_checked(&bytes[..]).and_then(|p| Repr::parse(&p)) {
                    Ok(r) => {
                        self.event(to, Event::Received(r));
                        self.last_rx[to] = Some(self.now);
                    }
                    Err(_) => self.parse_errors += 1,
                }
            } else {
                for (side, deadline) in deadlines.into_iter().enumerate() {
                    if deadline == Some(next) {
                        self.event(side, Event::Timer);
                    }
                }
            }
        }
        panic!("BFD simulation: more than {MAX_EVENTS_PER_RUN} events before {t}");
    }

    pub fn run_for(&mut self, d: Duration) {
        let t = self.now + d;
        self.run_until(t);
    }

    fn apply(&mut self, side: usize, acts: Vec<Action>, detection_time: Duration) {
        for a in acts {
            match a {
                Action::Send(repr) => self.send(side, repr),
                Action::StateChange { from, to, diag } => self.changes.push(Change {
                    time: self.now,
                    side,
                    from,
                    to,
                    diag,
                    last_rx: self.last_rx[side],
                    detection_time,
                }),
                Action::ConfigRejected(e) => panic!("BFD simulation: config rejected: {e}"),
            }
        }
    }

    fn send(&mut self, side: usize, repr: Repr) {
        let mut lost = !self.up;
        if !lost && self.loss > 0.0 {
            let may_lose = self
                .max_consecutive_losses
                .is_none_or(|m| self.lost_in_row[side] < m);
            lost = may_lose && self.rng.random_bool(self.loss);
        }
        self.lost_in_row[side] = if lost { self.lost_in_row[side] + 1 } else { 0 };
        self.sent.push(SentPacket {
            time: self.now,
            side,
            repr,
            lost,
        });
        if !lost {
            self.seq += 1;
            self.queue.push(Reverse((
                self.now + self.delay,
                self.seq,
                1 - side,
                repr.to_bytes(),
            )));
        }
    }
}
