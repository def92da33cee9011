//! One BFD session in asynchronous mode (RFC 5880 §6): the three-way handshake
//! (Down → Init → Up), negotiated intervals, the detection timer, the Poll/Final sequence
//! for parameter changes, AdminDown in both directions and the diagnostic codes.
//!
//! Section numbers below are RFC 5880's. The session is always in the Active role (§6.1):
//! it sends from the start, without waiting for the peer.

use std::num::NonZeroU32;
use std::time::Duration;

use super::config::{ConfigError, SessionConfig};
use super::jitter::next_transmit;
use crate::fsm::{JitterSource, Time};
use crate::wire::bfd::{Diag, Repr, State};

/// §6.8.3: while the session is not Up, bfd.DesiredMinTxInterval is at least one second.
pub const SLOW_TX_INTERVAL: Duration = Duration::from_secs(1);

/// bfd.RemoteMinRxInterval before anything was heard from the peer (§6.8.1: 1 µs).
const INITIAL_REMOTE_MIN_RX: Duration = Duration::from_micros(1);

/// What happens to a session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A Control packet from the peer, already validated by `wire::bfd::Repr::parse` and
    /// demultiplexed to this session (by Your Discriminator, or by source address and
    /// interface when that is 0).
    Received(Repr),
    /// A deadline from `next_deadline()` has passed (early or spurious wake-ups are harmless).
    Timer,
    /// Take the session administratively down (sent to the peer as AdminDown, diag 7).
    AdminDown,
    /// Leave AdminDown: back to Down, the handshake starts again.
    AdminUp,
    /// New intervals or multiplier; while Up they go through a Poll Sequence (§6.8.3).
    Reconfigure(SessionConfig),
    /// The driver could not run from `since` until now: it woke this late for a deadline
    /// (a busy host, a hypervisor that took the CPU). See `Session::on_stall`.
    Stalled { since: Time },
    /// `count` more copies of `packet` arrived, the last at `last`, counted by the driver
    /// without handing each in (the data plane matches the packet `steady_packet`
    /// named). While that is still the peer's last packet and the session Up, the copies
    /// restart the detection timer from `last`; a copy can change nothing else, which is
    /// what made the packet steady. Copies of a packet the peer has since replaced, or
    /// that arrive after the session left Up, are only counted: what they said is older
    /// than what changed it.
    Repeated {
        packet: Repr,
        count: u64,
        last: Time,
    },
}

/// What the driver must do, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Send this Control packet to the peer now.
    Send(Repr),
    /// The session changed state. `diag` is the local diagnostic: why it left Up
    /// (`ControlDetectionExpired` = the peer went silent, `NeighborSignaledDown` = the peer
    /// said Down or AdminDown), `None` on the way up.
    StateChange { from: State, to: State, diag: Diag },
    /// A reconfiguration was refused; the old parameters stay.
    ConfigRejected(ConfigError),
}

/// Per-session counters (for `hsrpd status`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counters {
    pub tx: u64,
    /// Every packet taken for this session, the `Repeated` copies included.
    pub rx: u64,
    /// Of `rx`, the copies reported in bulk (`Event::Repeated`).
    pub rx_repeated: u64,
    /// Dropped: Your Discriminator was neither 0 nor ours.
    pub rx_wrong_discriminator: u64,
    pub up_transitions: u64,
    pub down_transitions: u64,
    /// Detection time expired while Init or Up.
    pub detection_expiries: u64,
    /// Detection times that ran out while or just after the driver was stalled, given one
    /// detection time from the stall's end (see `Session::on_stall`).
    pub detections_deferred: u64,
}

/// A snapshot of one session, for status output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionStatus {
    pub state: State,
    pub remote_state: State,
    pub local_diag: Diag,
    pub remote_diag: Diag,
    pub local_discriminator: u32,
    pub remote_discriminator: u32,
    /// Interval between our periodic packets before jitter (None: periodic transmission off).
    pub tx_interval: Option<Duration>,
    /// Time without a packet after which the session goes Down.
    pub detection_time: Duration,
    pub remote_detect_mult: u8,
    pub polling: bool,
    pub counters: Counters,
}

/// One BFD session. See the module documentation.
pub struct Session {
    config: SessionConfig,
    local_discr: NonZeroU32,
    state: State,
    local_diag: Diag,
    remote_discr: u32,
    remote_state: State,
    remote_diag: Diag,
    /// bfd.RemoteMinRxInterval: the peer's Required Min RX Interval.
    remote_min_rx: Duration,
    /// The peer's Desired Min TX Interval (for the detection time).
    remote_min_tx: Duration,
    remote_detect_mult: u8,
    remote_demand: bool,
    /// bfd.DesiredMinTxInterval and bfd.RequiredMinRxInterval: what our packets advertise.
    desired_tx: Duration,
    required_rx: Duration,
    /// What is in force while a Poll Sequence runs (§6.8.3): the transmit interval uses the
    /// smaller of old and new TX (a longer one only after Final), the detection time the
    /// larger of old and new RX (a shorter one only after Final).
    tx_in_force: Duration,
    rx_in_force: Duration,
    /// A Poll Sequence is running: every packet has P until a packet with F arrives.
    polling: bool,
    /// The last packet taken for this session (see `steady_packet`).
    last_rx: Option<Repr>,
    next_tx: Option<Time>,
    detect_at: Option<Time>,
    /// When the driver last resumed from a stall long enough to matter (`on_stall`).
    resumed_at: Option<Time>,
    jitter: Box<dyn JitterSource>,
    counters: Counters,
}

impl Session {
    /// A session in Down, sending slowly (§6.8.3) from the first `Timer`.
    /// `local_discriminator` must be unique among the driver's sessions (§6.8.1).
    pub fn new(
        config: SessionConfig,
        local_discriminator: NonZeroU32,
        jitter: Box<dyn JitterSource>,
    ) -> Result<Session, ConfigError> {
        config.validate()?;
        let desired_tx = config.desired_min_tx.max(SLOW_TX_INTERVAL);
        Ok(Session {
            config,
            local_discr: local_discriminator,
            state: State::Down,
            local_diag: Diag::None,
            remote_discr: 0,
            remote_state: State::Down,
            remote_diag: Diag::None,
            remote_min_rx: INITIAL_REMOTE_MIN_RX,
            remote_min_tx: Duration::ZERO,
            remote_detect_mult: 0,
            remote_demand: false,
            desired_tx,
            required_rx: config.required_min_rx,
            tx_in_force: desired_tx,
            rx_in_force: config.required_min_rx,
            polling: false,
            last_rx: None,
            next_tx: Some(Time::ZERO),
            detect_at: None,
            resumed_at: None,
            jitter,
            counters: Counters::default(),
        })
    }

    pub fn state(&self) -> State {
        self.state
    }

    pub fn local_discriminator(&self) -> u32 {
        self.local_discr.get()
    }

    pub fn remote_discriminator(&self) -> u32 {
        self.remote_discr
    }

    pub fn config(&self) -> SessionConfig {
        self.config
    }

    pub fn counters(&self) -> Counters {
        self.counters
    }

    /// The earliest time `handle(now, Event::Timer)` has something to do.
    pub fn next_deadline(&self) -> Option<Time> {
        match (self.next_tx, self.detect_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// When the peer's silence would end the session: the last packet's arrival plus the
    /// detection time (None before the peer was heard, after AdminDown, and once the
    /// detection time expired).
    pub fn detection_deadline(&self) -> Option<Time> {
        self.detect_at
    }

    /// The detection time (§6.8.4, asynchronous mode): the peer's multiplier times the
    /// larger of our RX in force and the peer's TX. Zero before the peer was heard.
    pub fn detection_time(&self) -> Duration {
        self.peer_interval() * u32::from(self.remote_detect_mult)
    }

    /// The interval at which the peer's packets are due: the detection time's unit.
    fn peer_interval(&self) -> Duration {
        self.rx_in_force.max(self.remote_min_tx)
    }

    /// The periodic transmit interval before jitter (§6.8.7), or None when periodic
    /// transmission is off: the peer asked for none (Required Min RX 0) or runs Demand mode.
    pub fn tx_interval(&self) -> Option<Duration> {
        if self.remote_min_rx.is_zero() {
            return None;
        }
        if self.remote_demand && self.state == State::Up && self.remote_state == State::Up {
            return None;
        }
        Some(self.tx_in_force.max(self.remote_min_rx))
    }

    /// The packet the peer sends again and again while nothing changes, if the session
    /// is steady: Up both ways, no Poll Sequence either way, and the peer's last packet
    /// addressed to us by discriminator. Taking an exact copy of it would then only
    /// restart the detection timer (every field it sets already holds its value), so a
    /// driver may count copies and report them as `Event::Repeated`.
    pub fn steady_packet(&self) -> Option<Repr> {
        self.last_rx
            .filter(|r| !self.polling && self.copy_only_restarts_detection(r))
    }

    /// Taking a copy of `r` now would only restart the detection timer: it is the peer's
    /// last packet, plain Up (no Poll, no Final) and addressed to us, and we are Up. (Our
    /// own Poll Sequence does not matter here: a copy without F leaves it running.)
    fn copy_only_restarts_detection(&self, r: &Repr) -> bool {
        self.state == State::Up
            && self.detect_at.is_some()
            && self.last_rx.as_ref() == Some(r)
            && r.state == State::Up
            && !r.poll
            && !r.final_
            && r.your_discriminator == self.local_discr.get()
    }

    pub fn status(&self) -> SessionStatus {
        SessionStatus {
            state: self.state,
            remote_state: self.remote_state,
            local_diag: self.local_diag,
            remote_diag: self.remote_diag,
            local_discriminator: self.local_discr.get(),
            remote_discriminator: self.remote_discr,
            tx_interval: self.tx_interval(),
            detection_time: self.detection_time(),
            remote_detect_mult: self.remote_detect_mult,
            polling: self.polling,
            counters: self.counters,
        }
    }

    pub fn handle(&mut self, now: Time, event: Event) -> Vec<Action> {
        let mut out = Vec::new();
        match event {
            Event::Received(r) => self.on_packet(now, r, &mut out),
            Event::Timer => self.on_timer(now, &mut out),
            Event::Stalled { since } => self.on_stall(since, now),
            Event::Repeated {
                packet,
                count,
                last,
            } => self.on_repeated(now, packet, count, last),
            Event::AdminDown => {
                if self.state != State::AdminDown {
                    self.detect_at = None;
                    self.change(now, State::AdminDown, Diag::AdministrativelyDown, &mut out);
                }
            }
            Event::AdminUp => {
                if self.state == State::AdminDown {
                    self.change(now, State::Down, Diag::None, &mut out);
                }
            }
            Event::Reconfigure(c) => match c.validate() {
                Ok(()) => {
                    self.config = c;
                    self.update_parameters(now);
                }
                Err(e) => out.push(Action::ConfigRejected(e)),
            },
        }
        // Periodic packets, and the immediate one a state or parameter change asks for.
        if self.next_tx.is_some_and(|t| t <= now) {
            self.transmit(now, &mut out);
        }
        out
    }

    /// A stall of the driver of half the peer's interval or more is remembered: a detection
    /// time that runs out during it or within one detection time after it is deferred to
    /// the end of that detection time (once), instead of ending the session: after a stall
    /// the peer is judged by one full detection time of listening.
    ///
    /// Why: §6.8.4 counts a Detection Time without a packet received, but while the driver
    /// was not running it received nothing whatever the peer did. A peer on the same host
    /// (a hypervisor stalling the vCPUs, a CPU hog starving both daemons) was stopped too,
    /// and not always for the same time: a hypervisor stalls each vCPU on its own, so the
    /// peer's stall may end a few of its intervals after ours (measured: more than one
    /// interval of 10 ms). Packets from a live peer elsewhere already wait in the socket
    /// and are read before the detection time is judged. The price: a peer that really
    /// died is declared Down at most one detection time after our stall ended, and only
    /// when the driver itself was stalled.
    fn on_stall(&mut self, since: Time, now: Time) {
        let iv = self.peer_interval();
        if !iv.is_zero() && now.saturating_since(since) * 2 >= iv {
            self.resumed_at = Some(now);
        }
    }

    fn on_repeated(&mut self, now: Time, packet: Repr, count: u64, last: Time) {
        self.counters.rx += count;
        self.counters.rx_repeated += count;
        // A count of 0 with a newer `last` is still news: the data plane's count may miss
        // a copy that raced another CPU, or be read before its clock.
        if !self.copy_only_restarts_detection(&packet) {
            return;
        }
        // `last` is the data plane's clock: never ahead of the driver's `now`.
        let heard = last.min(now) + self.detection_time();
        if self.detect_at.is_some_and(|t| t < heard) {
            self.detect_at = Some(heard);
        }
    }

    fn on_timer(&mut self, now: Time, out: &mut Vec<Action>) {
        if self.detect_at.is_none_or(|t| t > now) {
            return;
        }
        let grace_end = self.resumed_at.map(|r| r + self.detection_time());
        if grace_end.is_some_and(|g| now < g) {
            self.detect_at = grace_end;
            self.counters.detections_deferred += 1;
            return;
        }
        self.detect_at = None;
        // §6.8.1: bfd.RemoteDiscr is cleared after a Detection Time of silence; the
        // peer's other parameters are forgotten too, so a peer that had asked for no
        // packets (or Demand mode) can not keep us silent after it is gone.
        self.remote_discr = 0;
        self.remote_state = State::Down;
        self.remote_min_rx = INITIAL_REMOTE_MIN_RX;
        self.remote_demand = false;
        if matches!(self.state, State::Init | State::Up) {
            self.counters.detection_expiries += 1;
            self.change(now, State::Down, Diag::ControlDetectionExpired, out);
        }
        if self.next_tx.is_none() {
            self.next_tx = Some(now);
        }
    }

    /// §6.8.6, after the checks `Repr::parse` already made.
    fn on_packet(&mut self, now: Time, r: Repr, out: &mut Vec<Action>) {
        if r.your_discriminator != 0 && r.your_discriminator != self.local_discr.get() {
            self.counters.rx_wrong_discriminator += 1;
            return;
        }
        self.counters.rx += 1;
        self.last_rx = Some(r);
        let old_interval = self.tx_interval();
        self.remote_discr = r.my_discriminator;
        self.remote_state = r.state;
        self.remote_diag = r.diag;
        self.remote_demand = r.demand;
        self.remote_detect_mult = r.detect_mult;
        self.remote_min_tx = Duration::from_micros(r.desired_min_tx.into());
        self.remote_min_rx = Duration::from_micros(r.required_min_rx.into());
        if r.final_ && self.polling {
            self.polling = false;
            self.tx_in_force = self.desired_tx;
            self.rx_in_force = self.required_rx;
        }
        self.detect_at = Some(now + self.detection_time());
        self.reschedule_if_sooner(now, old_interval);

        if self.state == State::AdminDown {
            return;
        }
        if r.state == State::AdminDown {
            // The peer shut the session on purpose: Down with diag 3, never counted as a
            // detection failure (the HSRP side must not treat it as the peer's loss).
            if self.state != State::Down {
                self.change(now, State::Down, Diag::NeighborSignaledDown, out);
            }
        } else {
            match (self.state, r.state) {
                (State::Down, State::Down) => self.change(now, State::Init, Diag::None, out),
                (State::Down, State::Init) | (State::Init, State::Init | State::Up) => {
                    self.change(now, State::Up, Diag::None, out)
                }
                (State::Up, State::Down) => {
                    self.change(now, State::Down, Diag::NeighborSignaledDown, out)
                }
                _ => {}
            }
        }
        if r.poll {
            // The Final answer goes out at once, whatever the transmit timer says, and
            // never with P (§6.5).
            self.emit(false, true, out);
        }
    }

    /// If the peer's new parameters shortened our interval (or switched periodic
    /// transmission back on), do not wait out the old, longer one; if they switched it off
    /// (Required Min RX 0, Demand mode), drop the packet already scheduled.
    fn reschedule_if_sooner(&mut self, now: Time, old: Option<Duration>) {
        let new = self.tx_interval();
        if new == old {
            return;
        }
        match (new, self.next_tx) {
            (Some(iv), Some(at)) if at > now + iv => self.next_tx = Some(now + iv),
            (Some(_), None) => self.next_tx = Some(now),
            (None, _) => self.next_tx = None,
            _ => {}
        }
    }

    fn change(&mut self, now: Time, to: State, diag: Diag, out: &mut Vec<Action>) {
        let from = self.state;
        self.state = to;
        self.local_diag = diag;
        if to == State::Up {
            self.counters.up_transitions += 1;
        }
        if from == State::Up {
            self.counters.down_transitions += 1;
        }
        out.push(Action::StateChange { from, to, diag });
        if to != State::Up {
            // Leaving Up ends any Poll Sequence: outside Up new values apply at once.
            self.polling = false;
        }
        self.update_parameters(now);
        // Tell the peer at once: a state change is not kept for the next periodic packet
        // (`handle` sends it before returning).
        self.next_tx = Some(now);
    }

    /// Bring the advertised intervals in line with the configuration and the state
    /// (§6.8.3): slow TX outside Up; while Up a change starts a Poll Sequence.
    fn update_parameters(&mut self, now: Time) {
        let tx = if self.state == State::Up {
            self.config.desired_min_tx
        } else {
            self.config.desired_min_tx.max(SLOW_TX_INTERVAL)
        };
        let rx = self.config.required_min_rx;
        if tx == self.desired_tx && rx == self.required_rx {
            return;
        }
        self.desired_tx = tx;
        self.required_rx = rx;
        if self.state == State::Up {
            self.tx_in_force = self.tx_in_force.min(tx);
            self.rx_in_force = self.rx_in_force.max(rx);
            self.polling = true;
            self.next_tx = Some(now);
        } else {
            self.tx_in_force = tx;
            self.rx_in_force = rx;
        }
    }

    /// A periodic (or state-change) packet, and the next one scheduled with jitter.
    fn transmit(&mut self, now: Time, out: &mut Vec<Action>) {
        self.emit(self.polling, false, out);
        self.next_tx = self
            .tx_interval()
            .map(|iv| next_transmit(now, iv, self.config.detect_mult, self.jitter.next_u32()));
    }

    fn emit(&mut self, poll: bool, final_: bool, out: &mut Vec<Action>) {
        self.counters.tx += 1;
        out.push(Action::Send(Repr {
            diag: self.local_diag,
            state: self.state,
            poll,
            final_,
            cpi: false,
            demand: false,
            detect_mult: self.config.detect_mult,
            my_discriminator: self.local_discr.get(),
            your_discriminator: self.remote_discr,
            desired_min_tx: micros(self.desired_tx),
            required_min_rx: micros(self.required_rx),
            required_min_echo_rx: 0,
        }));
    }
}

fn micros(d: Duration) -> u32 {
    u32::try_from(d.as_micros()).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fsm::NoJitter;

    const ME: u32 = 0x10;
    const PEER: u32 = 0x20;

    fn ms(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    fn session() -> Session {
        let cfg = SessionConfig {
            desired_min_tx: ms(10),
            required_min_rx: ms(20),
            detect_mult: 3,
        };
        Session::new(cfg, NonZeroU32::new(ME).unwrap(), Box::new(NoJitter)).unwrap()
    }

    fn peer(state: State, your: u32) -> Repr {
        Repr {
            diag: Diag::None,
            state,
            poll: false,
            final_: false,
            cpi: false,
            demand: false,
            detect_mult: 2,
            my_discriminator: PEER,
            your_discriminator: your,
            desired_min_tx: 30_000,
            required_min_rx: 5_000,
            required_min_echo_rx: 0,
        }
    }

    fn sends(acts: &[Action]) -> Vec<Repr> {
        acts.iter()
            .filter_map(|a| match a {
                Action::Send(r) => Some(*r),
                _ => None,
            })
            .collect()
    }

    /// Bring a session Up with the peer (handshake from our Down via the peer's Init).
    fn up() -> Session {
        let mut s = session();
        s.handle(Time::ZERO, Event::Timer);
        s.handle(Time::ZERO, Event::Received(peer(State::Init, ME)));
        assert_eq!(s.state(), State::Up);
        s
    }

    #[test]
    fn slow_transmission_until_up() {
        let mut s = session();
        let first = sends(&s.handle(Time::ZERO, Event::Timer));
        assert_eq!(first.len(), 1);
        assert_eq!(first[0].desired_min_tx, 1_000_000);
        assert_eq!(first[0].required_min_rx, 20_000);
        assert_eq!(s.next_deadline(), Some(Time::from_secs(1)));
        assert!(sends(&s.handle(Time::from_millis(999), Event::Timer)).is_empty());
        assert_eq!(sends(&s.handle(Time::from_secs(1), Event::Timer)).len(), 1);
    }

    #[test]
    fn up_starts_a_poll_to_the_fast_interval() {
        let mut s = session();
        s.handle(Time::ZERO, Event::Timer);
        let acts = s.handle(Time::ZERO, Event::Received(peer(State::Init, ME)));
        assert_eq!(
            acts[0],
            Action::StateChange {
                from: State::Down,
                to: State::Up,
                diag: Diag::None
            }
        );
        let p = sends(&acts);
        assert_eq!(p.len(), 1);
        assert!(p[0].poll && p[0].state == State::Up && p[0].desired_min_tx == 10_000);
        // A shorter TX takes effect at once (only a longer one waits for the Final).
        assert_eq!(s.tx_interval(), Some(ms(10)));
        let mut fin = peer(State::Up, ME);
        fin.final_ = true;
        s.handle(Time::from_millis(1), Event::Received(fin));
        assert!(!s.status().polling);
        assert_eq!(s.tx_interval(), Some(ms(10)));
        // Detection: peer's mult 2 x max(our rx 20, peer's tx 30) = 60 ms.
        assert_eq!(s.detection_time(), ms(60));
        assert_eq!(s.next_deadline(), Some(Time::from_millis(10)));
    }

    /// §6.8.3: a longer TX and a shorter RX only take effect when the Poll Sequence ends.
    #[test]
    fn slower_tx_and_faster_rx_wait_for_the_final() {
        let mut s = up();
        let mut fin = peer(State::Up, ME);
        fin.final_ = true;
        s.handle(Time::from_millis(1), Event::Received(fin));
        let c = SessionConfig {
            desired_min_tx: ms(50),
            required_min_rx: ms(1),
            detect_mult: 3,
        };
        let out = sends(&s.handle(Time::from_millis(2), Event::Reconfigure(c)));
        assert!(out[0].poll && out[0].desired_min_tx == 50_000 && out[0].required_min_rx == 1_000);
        assert_eq!(s.tx_interval(), Some(ms(10)));
        assert_eq!(s.detection_time(), ms(60));
        s.handle(Time::from_millis(3), Event::Received(fin));
        assert_eq!(s.tx_interval(), Some(ms(50)));
        // 2 x max(1, 30).
        assert_eq!(s.detection_time(), ms(60));
        let mut slow = fin;
        slow.desired_min_tx = 500;
        s.handle(Time::from_millis(4), Event::Received(slow));
        assert_eq!(s.detection_time(), ms(2));
    }

    #[test]
    fn poll_is_answered_with_final_at_once() {
        let mut s = up();
        let mut p = peer(State::Up, ME);
        p.poll = true;
        let out = sends(&s.handle(Time::from_millis(3), Event::Received(p)));
        assert_eq!(out.len(), 1);
        assert!(out[0].final_ && !out[0].poll);
    }

    /// A new interval (20 ms both ways), which starts a Poll Sequence while Up.
    fn slower() -> Event {
        Event::Reconfigure(SessionConfig {
            desired_min_tx: ms(20),
            required_min_rx: ms(20),
            detect_mult: 3,
        })
    }

    /// Up, the Poll Sequence to the fast interval ended, then one plain packet: steady.
    fn steady() -> (Session, Repr) {
        let mut s = up();
        let mut fin = peer(State::Up, ME);
        fin.final_ = true;
        s.handle(Time::from_millis(1), Event::Received(fin));
        assert_eq!(
            s.steady_packet(),
            None,
            "a Final is not what the peer repeats"
        );
        let plain = peer(State::Up, ME);
        s.handle(Time::from_millis(2), Event::Received(plain));
        assert_eq!(s.steady_packet(), Some(plain));
        (s, plain)
    }

    #[test]
    fn steady_only_when_up_both_ways_without_a_poll() {
        let mut s = session();
        s.handle(Time::ZERO, Event::Timer);
        s.handle(Time::ZERO, Event::Received(peer(State::Down, 0)));
        assert_eq!(s.state(), State::Init);
        assert_eq!(s.steady_packet(), None);
        s.handle(Time::ZERO, Event::Received(peer(State::Up, ME)));
        assert_eq!(s.state(), State::Up);
        assert_eq!(
            s.steady_packet(),
            None,
            "our own Poll to the fast interval runs"
        );
        let (mut s, _) = steady();
        let mut poll = peer(State::Up, ME);
        poll.poll = true;
        s.handle(Time::from_millis(3), Event::Received(poll));
        assert_eq!(s.steady_packet(), None, "the peer's Poll");
        s.handle(Time::from_millis(4), Event::Received(peer(State::Up, ME)));
        assert!(s.steady_packet().is_some());
        s.handle(Time::from_millis(5), slower());
        assert_eq!(s.steady_packet(), None, "our Poll for the new interval");
    }

    #[test]
    fn repeated_copies_restart_the_detection_timer_from_the_last() {
        // Detection 60 ms (peer's mult 2 x its TX 30 ms); last packet taken at 2 ms.
        let (mut s, plain) = steady();
        assert_eq!(s.detection_deadline(), Some(Time::from_millis(62)));
        let rep = |count, last| Event::Repeated {
            packet: plain,
            count,
            last: Time::from_millis(last),
        };
        let acts = s.handle(Time::from_millis(55), rep(4, 50));
        assert!(!acts.iter().any(|a| matches!(a, Action::StateChange { .. })));
        assert_eq!(s.detection_deadline(), Some(Time::from_millis(110)));
        // An older `last` (copies folded late) never moves the deadline back.
        s.handle(Time::from_millis(56), rep(1, 40));
        assert_eq!(s.detection_deadline(), Some(Time::from_millis(110)));
        // A `last` ahead of the driver's clock is taken as now.
        s.handle(Time::from_millis(60), rep(1, 70));
        assert_eq!(s.detection_deadline(), Some(Time::from_millis(120)));
        assert_eq!(s.counters().rx, 3 + 6);
        assert_eq!(s.counters().rx_repeated, 6);
        s.handle(Time::from_millis(119), Event::Timer);
        assert_eq!(s.state(), State::Up);
        s.handle(Time::from_millis(120), Event::Timer);
        assert_eq!(s.state(), State::Down);
        assert_eq!(s.counters().detection_expiries, 1);
    }

    /// Our own Poll Sequence (a new interval) takes the offload away, but copies already
    /// counted still keep the peer alive; and a newer time without a count is news too.
    #[test]
    fn copies_of_the_peers_last_packet_count_during_our_poll_and_without_a_count() {
        let (mut s, plain) = steady();
        s.handle(Time::from_millis(5), slower());
        assert_eq!(s.steady_packet(), None);
        let rep = |count, last| Event::Repeated {
            packet: plain,
            count,
            last: Time::from_millis(last),
        };
        s.handle(Time::from_millis(40), rep(3, 40));
        assert_eq!(s.detection_deadline(), Some(Time::from_millis(100)));
        s.handle(Time::from_millis(50), rep(0, 50));
        assert_eq!(s.detection_deadline(), Some(Time::from_millis(110)));
        assert_eq!(s.counters().rx_repeated, 3);
    }

    #[test]
    fn copies_of_a_packet_no_longer_steady_are_only_counted() {
        let (mut s, plain) = steady();
        let mut poll = plain;
        poll.poll = true;
        s.handle(Time::from_millis(10), Event::Received(poll));
        let before = s.detection_deadline();
        let acts = s.handle(
            Time::from_millis(20),
            Event::Repeated {
                packet: plain,
                count: 2,
                last: Time::from_millis(19),
            },
        );
        assert!(!acts.iter().any(|a| matches!(a, Action::StateChange { .. })));
        assert_eq!(s.detection_deadline(), before);
        assert_eq!(s.counters().rx_repeated, 2);
        // After the session left Up, copies of its old steady packet change nothing.
        let (mut s, plain) = steady();
        s.handle(Time::from_millis(62), Event::Timer);
        assert_eq!(s.state(), State::Down);
        s.handle(
            Time::from_millis(63),
            Event::Repeated {
                packet: plain,
                count: 1,
                last: Time::from_millis(63),
            },
        );
        assert_eq!((s.state(), s.detection_deadline()), (State::Down, None));
    }

    #[test]
    fn wrong_discriminator_dropped_and_counted() {
        let mut s = up();
        let acts = s.handle(
            Time::from_millis(1),
            Event::Received(peer(State::Down, 0x99)),
        );
        assert!(acts.is_empty());
        assert_eq!(s.state(), State::Up);
        assert_eq!(s.counters().rx_wrong_discriminator, 1);
    }

    #[test]
    fn detection_expiry_at_exactly_the_detection_time() {
        let mut s = up();
        s.handle(Time::from_millis(100), Event::Received(peer(State::Up, ME)));
        // 2 x max(20, 30) = 60 ms after the last packet.
        let acts = s.handle(Time::from_millis(159), Event::Timer);
        assert!(!acts.iter().any(|a| matches!(a, Action::StateChange { .. })));
        let acts = s.handle(Time::from_millis(160), Event::Timer);
        assert!(acts.contains(&Action::StateChange {
            from: State::Up,
            to: State::Down,
            diag: Diag::ControlDetectionExpired
        }));
        assert_eq!(s.remote_discriminator(), 0);
        let down = sends(&acts);
        assert_eq!(down[0].state, State::Down);
        assert_eq!(down[0].diag, Diag::ControlDetectionExpired);
        assert_eq!(down[0].your_discriminator, 0);
        assert_eq!(down[0].desired_min_tx, 1_000_000);
    }

    /// An Up session that heard the peer at 100 ms, a driver stalled from `from` to `to`
    /// ms, and the timer it then runs: the session and the timer's actions.
    fn heard_at_100_then_stalled(from: u64, to: u64) -> (Session, Vec<Action>) {
        let mut s = up();
        s.handle(Time::from_millis(100), Event::Received(peer(State::Up, ME)));
        let since = Time::from_millis(from);
        s.handle(Time::from_millis(to), Event::Stalled { since });
        let acts = s.handle(Time::from_millis(to), Event::Timer);
        (s, acts)
    }

    #[test]
    fn a_detection_time_run_out_in_a_stall_waits_one_detection_time() {
        // Detection at 160 (2 x 30 ms); the driver was stalled from 150 to 175.
        let (mut s, acts) = heard_at_100_then_stalled(150, 175);
        assert!(!acts.iter().any(|a| matches!(a, Action::StateChange { .. })));
        assert_eq!(s.counters().detections_deferred, 1);
        // One full detection time (2 x 30 ms) after the stall.
        assert_eq!(s.detection_deadline(), Some(Time::from_millis(235)));
        // Still deferred one interval after the stall (a peer whose own stall ends later).
        let acts = s.handle(Time::from_millis(205), Event::Timer);
        assert!(!acts.iter().any(|a| matches!(a, Action::StateChange { .. })));
        // The peer's overdue packet arrives: the session stays Up, detection from there.
        s.handle(Time::from_millis(177), Event::Received(peer(State::Up, ME)));
        assert_eq!(s.detection_deadline(), Some(Time::from_millis(237)));
        assert_eq!(s.state(), State::Up);
    }

    #[test]
    fn a_deferred_detection_ends_the_session_if_the_peer_stays_silent() {
        let (mut s, _) = heard_at_100_then_stalled(150, 175);
        let acts = s.handle(Time::from_millis(234), Event::Timer);
        assert!(!acts.iter().any(|a| matches!(a, Action::StateChange { .. })));
        let acts = s.handle(Time::from_millis(235), Event::Timer);
        assert!(acts.contains(&Action::StateChange {
            from: State::Up,
            to: State::Down,
            diag: Diag::ControlDetectionExpired
        }));
        assert_eq!(s.counters().detections_deferred, 1);
        assert_eq!(s.counters().detection_expiries, 1);
    }

    #[test]
    fn short_or_old_stalls_do_not_defer_detection() {
        // 14 ms late: under half of the peer's 30 ms interval, scheduling noise.
        let (s, acts) = heard_at_100_then_stalled(150, 164);
        assert!(acts.iter().any(|a| matches!(a, Action::StateChange { .. })));
        assert_eq!(s.counters().detections_deferred, 0);

        // A long stall more than one interval before the detection time ran out.
        let mut s = up();
        s.handle(
            Time::from_millis(40),
            Event::Stalled {
                since: Time::from_millis(10),
            },
        );
        s.handle(Time::from_millis(100), Event::Received(peer(State::Up, ME)));
        let acts = s.handle(Time::from_millis(160), Event::Timer);
        assert!(acts.iter().any(|a| matches!(a, Action::StateChange { .. })));
        assert_eq!(s.counters().detections_deferred, 0);
    }

    #[test]
    fn received_admin_down_is_not_a_failure() {
        let mut s = up();
        let acts = s.handle(
            Time::from_millis(5),
            Event::Received(peer(State::AdminDown, ME)),
        );
        assert!(acts.contains(&Action::StateChange {
            from: State::Up,
            to: State::Down,
            diag: Diag::NeighborSignaledDown
        }));
        assert_eq!(s.counters().detection_expiries, 0);
        // While the peer stays AdminDown we stay Down (no Init).
        s.handle(
            Time::from_millis(6),
            Event::Received(peer(State::AdminDown, 0)),
        );
        assert_eq!(s.state(), State::Down);
    }

    #[test]
    fn admin_down_sent_and_packets_ignored() {
        let mut s = up();
        let acts = s.handle(Time::from_millis(5), Event::AdminDown);
        let p = sends(&acts);
        assert_eq!(p[0].state, State::AdminDown);
        assert_eq!(p[0].diag, Diag::AdministrativelyDown);
        s.handle(Time::from_millis(6), Event::Received(peer(State::Init, ME)));
        assert_eq!(s.state(), State::AdminDown);
        s.handle(Time::from_millis(7), Event::AdminUp);
        assert_eq!(s.state(), State::Down);
    }

    #[test]
    fn peer_demand_or_zero_rx_stops_periodic_transmission() {
        let mut s = up();
        let mut d = peer(State::Up, ME);
        d.demand = true;
        d.final_ = true;
        s.handle(Time::from_millis(1), Event::Received(d));
        assert_eq!(s.tx_interval(), None);
        let mut z = peer(State::Up, ME);
        z.required_min_rx = 0;
        s.handle(Time::from_millis(2), Event::Received(z));
        assert_eq!(s.tx_interval(), None);
        // A poll is still answered.
        z.poll = true;
        let out = sends(&s.handle(Time::from_millis(3), Event::Received(z)));
        assert!(out.len() == 1 && out[0].final_);
        // The peer asks for packets again: periodic transmission resumes at once.
        let out = sends(&s.handle(Time::from_millis(4), Event::Received(peer(State::Up, ME))));
        assert_eq!(out.len(), 1);
        assert_eq!(s.tx_interval(), Some(ms(10)));
    }

    #[test]
    fn bad_reconfiguration_rejected() {
        let mut s = up();
        let bad = SessionConfig {
            detect_mult: 0,
            ..s.config()
        };
        let acts = s.handle(Time::from_millis(1), Event::Reconfigure(bad));
        assert_eq!(acts, [Action::ConfigRejected(ConfigError::ZeroMultiplier)]);
        assert_eq!(s.config().detect_mult, 3);
    }
}
