//! HSRP BFD peering: the daemon side of `crate::bfd`. Thin I/O around the pure sessions.
//!
//! On an interface with `bfd interval ...` (and peering not turned off) a group in Standby
//! runs a BFD session to its Active and a group in Active one to its Standby, as learned
//! from hellos; a session whose peer is no longer anybody's Active or Standby is ended
//! with an AdminDown packet (so the peer does not take it for a failure). When a session
//! that was Up goes Down because the peer fell silent or said Down — not AdminDown — the
//! groups of the interface are told (`fsm::Event::BfdPeerDown`), and the one that follows
//! that Active acts as if its Active timer had expired.
//!
//! Receive path (RFC 5881 §5, RFC 5880 §6.3 and §6.8.6): one listener socket per address
//! family serves every interface, opened when the first interface turns BFD on and closed
//! once none runs it. One task per socket takes the datagrams off in bursts and
//! hands each burst to the loop as one message; above [`BUSY_RATE`] it stops watching the
//! socket and reads it every `receive::COALESCE`, so at 10 ms intervals the thread wakes
//! on its timer ticks rather than once per datagram (the wake-ups, not the packets, were
//! the cost). TTL / hop limit must be 255, the packet must pass
//! `wire::bfd::Repr::parse`, and it goes to the session named by Your Discriminator —
//! only if that session is with this sender on the interface it arrived on — or, when that
//! is 0, to the session with the sender's address on that interface. Anything else is
//! dropped and counted, a datagram that arrived on an interface without BFD (or one the
//! daemon does not know) included: a forged packet can not reach, let alone end, a
//! session.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;

use log::{debug, info, warn};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use hsrp_ebpf::{bfd, bfd_slot, MAX_BFD_SESSIONS};

use crate::bfd::{Action, Event, Session, SessionConfig};
use crate::control::{BfdDropCounters, BfdSessionStatus, BfdTotals};
use crate::fsm::Time;
use crate::net::{BfdDatagram, BfdListener, BfdSender, BFD_TTL};
use crate::wire::bfd::{Error as BfdError, Packet, Repr, State};

use super::bfd_offload::{Heard, Offload, SessionSlot};
use super::receive::{RateWindow, COALESCE};

/// Room for one datagram; Control packets are 24 bytes (more with authentication).
const RX_BUF: usize = 128;
/// Bound on one listener's consecutive receive errors before it gives up.
const MAX_RX_ERRORS: u32 = 100;
/// Bound on the datagrams read from one listener before a detection time is judged: more
/// than any burst of Control packets a few late milliseconds can pile up.
const MAX_DRAIN: usize = 1024;
/// Wake-ups later than this are reported to the sessions as a stall; anything shorter is
/// noise to all of them (intervals are 10 ms or more, and a stall counts from half of one),
/// so the sessions are not visited on every punctual wake-up.
const STALL_NOTICE: std::time::Duration = std::time::Duration::from_millis(1);
/// Datagrams one listener takes per system call at most.
const LISTEN_BATCH: usize = crate::net::BFD_RECV_BATCH;
/// Datagrams per second from which a listener task coalesces wake-ups: ten sessions at
/// 10 ms, where the loop would otherwise wake more than once a millisecond. The 1 ms a
/// datagram may wait is nothing to a detection time of 30 ms or more.
const BUSY_RATE: u32 = 1000;
/// Datagrams one burst takes at most, so the loop gets its turn.
const RX_BURST: usize = 256;

/// One datagram from a listener task.
pub(super) struct BfdRx {
    /// The interface it arrived on (kernel index), if the socket said.
    ifindex: Option<u32>,
    src: IpAddr,
    src_port: u16,
    /// The address it was sent to, if the socket said.
    dst: Option<IpAddr>,
    ttl: Option<u8>,
    len: usize,
    truncated: bool,
    buf: [u8; RX_BUF],
}

impl BfdRx {
    fn new(d: &BfdDatagram, buf: [u8; RX_BUF]) -> BfdRx {
        BfdRx {
            ifindex: d.ifindex,
            src: d.src.ip(),
            src_port: d.src.port(),
            dst: d.dst,
            ttl: d.ttl,
            len: d.len,
            truncated: d.truncated,
            buf,
        }
    }
}

/// The datagrams one listener task took off its socket in one burst, in arrival order.
pub(super) type BfdBatch = Vec<BfdRx>;

/// A session's peer lost (Up → Down, not AdminDown): (daemon interface index, address).
pub(super) type PeerDown = (usize, IpAddr);

struct IfPeering {
    name: String,
    ifindex: u32,
    cfg: SessionConfig,
}

/// The listener sockets (one per address family that could be opened) and their tasks;
/// dropping it stops the tasks and closes the sockets.
struct Listeners {
    tasks: Vec<JoinHandle<()>>,
    /// The tasks' sockets, read directly before a detection time is judged.
    sockets: Vec<Arc<BfdListener>>,
}

impl Listeners {
    /// Opens port 3784 for IPv4 and IPv6; a family that can not be opened (IPv6 disabled)
    /// is logged and skipped.
    fn open(tx: &mpsc::Sender<BfdBatch>) -> Listeners {
        let (mut tasks, mut sockets) = (Vec::new(), Vec::new());
        for ipv6 in [false, true] {
            match BfdListener::bind(ipv6) {
                Ok(l) => {
                    let l = Arc::new(l);
                    sockets.push(l.clone());
                    tasks.push(tokio::spawn(listen(l, tx.clone())));
                }
                Err(e) if ipv6 => debug!("no IPv6 BFD: {e}"),
                Err(e) => warn!("BFD over IPv4 not available: {e}"),
            }
        }
        Listeners { tasks, sockets }
    }
}

impl Drop for Listeners {
    fn drop(&mut self) {
        self.tasks.iter().for_each(JoinHandle::abort);
    }
}

struct PeerRt {
    iface: usize,
    peer: IpAddr,
    session: Session,
    sender: BfdSender,
    /// What the data plane takes off the socket for this session (`bfd_offload`).
    slot: SessionSlot,
}

impl PeerRt {
    /// Feeds the session one event and carries out its actions; then its offload slot
    /// follows what the session now calls steady.
    fn run(
        &mut self,
        now: Time,
        event: Event,
        offload: Option<&mut Offload>,
        lost: &mut Vec<PeerDown>,
    ) {
        let acts = self.session.handle(now, event);
        execute(self, acts, lost);
        if let Some(o) = offload {
            o.sync(&mut self.slot, &self.session, self.peer);
        }
    }

    /// Reports to the session the copies the data plane counted since the last look.
    fn take_repeats(&mut self, now: Time, offload: Option<&mut Offload>, lost: &mut Vec<PeerDown>) {
        if let Some(o) = offload {
            let discriminator = self.session.local_discriminator();
            if let Some(event) = o.repeats(&mut self.slot, discriminator) {
                self.run(now, event, Some(o), lost);
            }
        }
    }
}

/// All BFD sessions of the daemon.
pub(super) struct Peering {
    ifaces: BTreeMap<usize, IfPeering>,
    /// Open while some interface runs BFD.
    listeners: Option<Listeners>,
    sessions: Vec<PeerRt>,
    next_discr: u32,
    rx_tx: mpsc::Sender<BfdBatch>,
    /// The data plane's BFD maps (None: every packet takes the socket).
    offload: Option<Offload>,
    dropped: BfdDropCounters,
    /// Sessions started and ended, and what the ended ones counted.
    ended: BfdTotals,
}

/// What `Peering::status` reports.
pub(super) struct PeeringStatus {
    pub sessions: Vec<BfdSessionStatus>,
    pub dropped: BfdDropCounters,
    pub totals: BfdTotals,
}

impl Peering {
    pub(super) fn new(rx_tx: mpsc::Sender<BfdBatch>) -> Peering {
        Peering {
            ifaces: BTreeMap::new(),
            listeners: None,
            sessions: Vec::new(),
            // Discriminators start at a random point so a restarted daemon does not reuse
            // the one its peers still remember (RFC 5880 §6.8.1 asks for uniqueness).
            next_discr: rand::random::<u32>() | 1,
            rx_tx,
            offload: None,
            dropped: BfdDropCounters::default(),
            ended: BfdTotals::default(),
        }
    }

    /// Steady sessions' packets are taken off the socket by the data plane from now on.
    pub(super) fn set_offload(&mut self, offload: Offload) {
        self.offload = Some(offload);
    }

    /// The offload follows the configuration: off with `fast-path off` (every packet to
    /// the kernel and the socket), on otherwise.
    pub(super) fn follow_fast_path(&mut self, setting: crate::fastpath::Setting) {
        if let Some(o) = &mut self.offload {
            o.set_enabled(setting != crate::fastpath::Setting::Off);
        }
    }

    /// True when no interface runs BFD.
    pub(super) fn is_empty(&self) -> bool {
        self.ifaces.is_empty()
    }

    /// Run (or, with `cfg` None, stop) BFD on interface `iface`. The first interface opens
    /// the listener sockets ([`Peering::close_unused_listeners`] closes them once none runs
    /// BFD). New parameters reach running sessions through a Poll Sequence.
    pub(super) fn configure_iface(
        &mut self,
        now: Time,
        iface: usize,
        name: &str,
        ifindex: u32,
        cfg: Option<SessionConfig>,
    ) {
        let Some(cfg) = cfg else {
            if self.ifaces.contains_key(&iface) {
                // Sessions end with AdminDown first, while the interface is still known.
                self.sync_peers(now, iface, &[]);
                self.ifaces.remove(&iface);
                info!("{name}: BFD peering off");
            }
            return;
        };
        if let Some(existing) = self.ifaces.get_mut(&iface) {
            if existing.cfg != cfg {
                existing.cfg = cfg;
                for s in self.sessions.iter_mut().filter(|s| s.iface == iface) {
                    let event = Event::Reconfigure(cfg);
                    s.run(now, event, self.offload.as_mut(), &mut Vec::new());
                }
            }
            return;
        }
        if self.listeners.is_none() {
            self.listeners = Some(Listeners::open(&self.rx_tx));
        }
        info!(
            "{name}: BFD peering on (interval {} ms, min_rx {} ms, multiplier {})",
            cfg.desired_min_tx.as_millis(),
            cfg.required_min_rx.as_millis(),
            cfg.detect_mult
        );
        self.ifaces.insert(
            iface,
            IfPeering {
                name: name.to_owned(),
                ifindex,
                cfg,
            },
        );
    }

    /// Close the listener sockets when no interface runs BFD. Called after a whole
    /// configuration pass, not as the last interface stops: a stopped task lets go of its
    /// socket only when the runtime next drops it, so a pass that turned BFD off on one
    /// interface and on on another would otherwise find port 3784 still taken.
    pub(super) fn close_unused_listeners(&mut self) {
        if self.ifaces.is_empty() {
            self.listeners = None;
        }
    }

    /// Make the sessions of interface `iface` exactly the ones to `wanted`: new peers get a
    /// session, peers no longer wanted get an AdminDown and are dropped.
    pub(super) fn sync_peers(&mut self, now: Time, iface: usize, wanted: &[IpAddr]) {
        let mut i = 0;
        while i < self.sessions.len() {
            let s = &mut self.sessions[i];
            if s.iface == iface && !wanted.contains(&s.peer) {
                s.run(
                    now,
                    Event::AdminDown,
                    self.offload.as_mut(),
                    &mut Vec::new(),
                );
                info!(
                    "BFD peer {} on {}: session ended (no longer Active or Standby)",
                    s.peer,
                    self.ifaces.get(&iface).map_or("?", |p| p.name.as_str())
                );
                let ended = self.sessions.swap_remove(i);
                self.retire(&ended);
            } else {
                i += 1;
            }
        }
        let Some(p) = self.ifaces.get(&iface) else {
            return;
        };
        let (name, ifindex, cfg) = (p.name.clone(), p.ifindex, p.cfg);
        for &peer in wanted {
            if self
                .sessions
                .iter()
                .any(|s| s.iface == iface && s.peer == peer)
            {
                continue;
            }
            let (discr, owned) = self.allocate_discriminator();
            let port_hint = 49152 + (discr.get() % 16384) as u16;
            let sender = match BfdSender::open(&name, ifindex, peer, port_hint) {
                Ok(s) => s,
                Err(e) => {
                    warn!("BFD peer {peer} on {name}: {e}");
                    continue;
                }
            };
            let jitter = Box::new(rand::random::<u32>);
            match Session::new(cfg, discr, jitter) {
                Ok(session) => {
                    info!(
                        "BFD peer {peer} on {name}: session started (discriminator {discr}, port {})",
                        sender.source_port()
                    );
                    let mut s = PeerRt {
                        iface,
                        peer,
                        session,
                        sender,
                        slot: SessionSlot::new(owned),
                    };
                    s.run(now, Event::Timer, self.offload.as_mut(), &mut Vec::new());
                    self.sessions.push(s);
                    self.ended.sessions_started += 1;
                }
                Err(e) => warn!("BFD peer {peer} on {name}: {e}"),
            }
        }
    }

    /// A discriminator no session uses, and whether it owns its data-plane slot (see
    /// [`pick_discriminator`]).
    fn allocate_discriminator(&mut self) -> (NonZeroU32, bool) {
        let used: Vec<(u32, bool)> = self
            .sessions
            .iter()
            .map(|s| (s.session.local_discriminator(), s.slot.owned))
            .collect();
        pick_discriminator(&mut self.next_discr, &used)
    }

    pub(super) fn next_deadline(&self) -> Option<Time> {
        self.sessions
            .iter()
            .filter_map(|s| s.session.next_deadline())
            .min()
    }

    /// True when some session's detection time has run out by `now`.
    fn detection_due(&self, now: Time) -> bool {
        self.sessions
            .iter()
            .any(|s| s.session.detection_deadline().is_some_and(|t| t <= now))
    }

    /// Feed the sessions what already waits in the listeners' sockets.
    fn drain_listeners(&mut self, now: Time) -> Vec<PeerDown> {
        let mut lost = Vec::new();
        let sockets: Vec<Arc<BfdListener>> = self
            .listeners
            .as_ref()
            .map(|l| l.sockets.clone())
            .unwrap_or_default();
        let mut bufs = [[0u8; RX_BUF]; LISTEN_BATCH];
        let mut got = Vec::with_capacity(LISTEN_BATCH);
        for l in sockets {
            for _ in 0..MAX_DRAIN / LISTEN_BATCH {
                if let Err(e) = l.try_recv_batch(&mut bufs, &mut got) {
                    debug!("{e}");
                    break;
                }
                for (d, buf) in got.iter().zip(&bufs) {
                    lost.extend(self.on_packet(now, &BfdRx::new(d, *buf)));
                }
                if got.len() < LISTEN_BATCH {
                    break; // the socket is drained
                }
            }
        }
        lost
    }

    /// The daemon's interface a datagram arrived on, if it runs BFD there.
    fn arrival_iface(&self, ifindex: Option<u32>) -> Option<usize> {
        let ifindex = ifindex?;
        self.ifaces
            .iter()
            .find(|(_, p)| p.ifindex == ifindex)
            .map(|(&i, _)| i)
    }

    /// Tell every session how late this wake-up is: from the earliest deadline that passed
    /// to `now` the loop did not run (the sessions decide what a stall means to them).
    fn note_stall(&mut self, now: Time) -> Vec<PeerDown> {
        let mut lost = Vec::new();
        let late = |d: &Time| now.saturating_since(*d) >= STALL_NOTICE;
        if let Some(since) = self.next_deadline().filter(late) {
            for s in &mut self.sessions {
                s.run(
                    now,
                    Event::Stalled { since },
                    self.offload.as_mut(),
                    &mut lost,
                );
            }
        }
        lost
    }

    /// Wake the sessions whose deadline has passed.
    pub(super) fn on_timer(&mut self, now: Time) -> Vec<PeerDown> {
        let mut lost = Vec::new();
        for s in &mut self.sessions {
            if s.session.next_deadline().is_some_and(|t| t <= now) {
                s.run(now, Event::Timer, self.offload.as_mut(), &mut lost);
            }
        }
        lost
    }

    /// Reports to every offloaded session the copies the data plane counted: on every
    /// timer wake-up, so a steady peer's detection time moves on before it comes due.
    fn take_repeats(&mut self, now: Time) -> Vec<PeerDown> {
        let mut lost = Vec::new();
        if self.offload.is_some() {
            for s in &mut self.sessions {
                s.take_repeats(now, self.offload.as_mut(), &mut lost);
            }
        }
        lost
    }

    /// One received datagram: checked, demultiplexed, fed to its session.
    pub(super) fn on_packet(&mut self, now: Time, rx: &BfdRx) -> Vec<PeerDown> {
        let mut lost = Vec::new();
        if rx.ttl != Some(BFD_TTL) {
            self.dropped.bad_ttl += 1;
            debug!("BFD from {}: TTL {:?}, not 255: dropped", rx.src, rx.ttl);
            return lost;
        }
        if rx.truncated {
            self.dropped.malformed += 1;
            return lost;
        }
        let repr = match Packet::new_checked(&rx.buf[..rx.len]).and_then(|p| Repr::parse(&p)) {
            Ok(r) => r,
            Err(BfdError::Authenticated) => {
                self.dropped.authenticated += 1;
                return lost;
            }
            Err(e) => {
                self.dropped.malformed += 1;
                debug!("BFD from {}: {e}: dropped", rx.src);
                return lost;
            }
        };
        // None (an interface without BFD, or unknown) matches no session: dropped below
        // and counted like any packet no session of its interface owns.
        let iface = self.arrival_iface(rx.ifindex);
        if iface.is_none() {
            debug!(
                "BFD from {} on interface index {:?}, which runs no BFD: dropped",
                rx.src, rx.ifindex
            );
        }
        let found = if repr.your_discriminator != 0 {
            let i = self
                .sessions
                .iter()
                .position(|s| s.session.local_discriminator() == repr.your_discriminator);
            match i {
                Some(i)
                    if Some(self.sessions[i].iface) == iface && self.sessions[i].peer == rx.src =>
                {
                    Some(i)
                }
                _ => {
                    self.dropped.unknown_discriminator += 1;
                    None
                }
            }
        } else {
            let i = self
                .sessions
                .iter()
                .position(|s| Some(s.iface) == iface && s.peer == rx.src);
            if i.is_none() {
                self.dropped.no_session += 1;
            }
            i
        };
        if let Some(i) = found {
            let s = &mut self.sessions[i];
            // The copies counted before this packet are older than it: reported first.
            s.take_repeats(now, self.offload.as_mut(), &mut lost);
            s.slot.heard(heard(rx));
            s.run(now, Event::Received(repr), self.offload.as_mut(), &mut lost);
        }
        lost
    }

    /// Graceful stop: every session says AdminDown, so no peer takes our going for a failure.
    pub(super) fn shutdown(&mut self, now: Time) {
        for s in &mut self.sessions {
            s.run(
                now,
                Event::AdminDown,
                self.offload.as_mut(),
                &mut Vec::new(),
            );
        }
        for s in std::mem::take(&mut self.sessions) {
            self.retire(&s);
        }
        self.ifaces.clear();
        self.listeners = None;
    }

    /// Keep an ending session's counters in the daemon's totals.
    fn retire(&mut self, s: &PeerRt) {
        let c = s.session.counters();
        self.ended.sessions_ended += 1;
        self.ended.up_transitions += c.up_transitions;
        self.ended.down_transitions += c.down_transitions;
        self.ended.detection_expiries += c.detection_expiries;
        self.ended.detections_deferred += c.detections_deferred;
    }

    /// The ended sessions' counters plus the running ones'.
    fn totals(&self) -> BfdTotals {
        self.sessions.iter().fold(self.ended, |mut t, s| {
            let c = s.session.counters();
            t.up_transitions += c.up_transitions;
            t.down_transitions += c.down_transitions;
            t.detection_expiries += c.detection_expiries;
            t.detections_deferred += c.detections_deferred;
            t
        })
    }

    pub(super) fn status(&self) -> PeeringStatus {
        let sessions = self
            .sessions
            .iter()
            .map(|s| {
                let st = s.session.status();
                BfdSessionStatus {
                    interface: self
                        .ifaces
                        .get(&s.iface)
                        .map_or_else(String::new, |p| p.name.clone()),
                    peer: Some(s.peer),
                    state: format!("{:?}", st.state),
                    remote_state: format!("{:?}", st.remote_state),
                    local_diag: format!("{:?}", st.local_diag),
                    remote_diag: format!("{:?}", st.remote_diag),
                    local_discriminator: st.local_discriminator,
                    remote_discriminator: st.remote_discriminator,
                    source_port: s.sender.source_port(),
                    tx_interval_ms: st.tx_interval.map(|d| d.as_secs_f64() * 1000.0),
                    detection_time_ms: st.detection_time.as_secs_f64() * 1000.0,
                    polling: st.polling,
                    packets_sent: st.counters.tx,
                    packets_received: st.counters.rx,
                    packets_received_in_xdp: st.counters.rx_repeated,
                    up_transitions: st.counters.up_transitions,
                    down_transitions: st.counters.down_transitions,
                    detection_expiries: st.counters.detection_expiries,
                    detections_deferred: st.counters.detections_deferred,
                    wrong_discriminator: st.counters.rx_wrong_discriminator,
                }
            })
            .collect();
        PeeringStatus {
            sessions,
            dropped: self.dropped,
            totals: self.totals(),
        }
    }
}

/// The first candidate from `*next` on (which moves past it) that no session in `used`
/// (discriminator, owns its slot) has, and whether it owns its data-plane slot
/// (`hsrp_ebpf::bfd_slot`): one whose slot is free if there is any, so every session can be
/// offloaded up to `MAX_BFD_SESSIONS`; past that, any unused discriminator.
fn pick_discriminator(next: &mut u32, used: &[(u32, bool)]) -> (NonZeroU32, bool) {
    let slot_taken = |d: u32| {
        used.iter()
            .any(|&(u, owned)| u == d || (owned && bfd_slot(u) == bfd_slot(d)))
    };
    let mut fallback = None;
    // MAX_BFD_SESSIONS + 1 consecutive candidates cover every slot even with one of them
    // 0; `used.len()` more make sure one of them is unused.
    for _ in 0..=MAX_BFD_SESSIONS as usize + used.len() {
        let d = *next;
        *next = next.wrapping_add(1);
        let Some(nz) = NonZeroU32::new(d) else {
            continue;
        };
        if !slot_taken(d) {
            return (nz, true);
        }
        if fallback.is_none() && !used.iter().any(|&(u, _)| u == d) {
            fallback = Some(nz);
        }
    }
    (fallback.unwrap_or(NonZeroU32::MIN), false)
}

/// How a datagram came, for an expectation in the data plane (None: it can not be one,
/// being longer than a Control packet without authentication, or its destination unknown).
fn heard(rx: &BfdRx) -> Option<Heard> {
    if rx.len != bfd::CONTROL_LEN {
        return None;
    }
    let mut wire = [0; bfd::CONTROL_LEN];
    wire.copy_from_slice(&rx.buf[..bfd::CONTROL_LEN]);
    Some(Heard {
        wire,
        src_port: rx.src_port,
        local: rx.dst?,
        ifindex: rx.ifindex?,
    })
}

/// The router a group peers with: its Active while Standby, its Standby while Active.
pub(super) fn bfd_peer(g: &crate::fsm::Group) -> Option<IpAddr> {
    match g.state() {
        crate::proto::State::Standby => g.active_peer(),
        crate::proto::State::Active => g.standby_peer(),
        _ => None,
    }
}

/// Carry out a session's actions: packets on the wire, state changes logged, and a lost
/// peer reported in `lost`.
fn execute(s: &mut PeerRt, acts: Vec<Action>, lost: &mut Vec<PeerDown>) {
    for a in acts {
        match a {
            Action::Send(r) => {
                if let Err(e) = s.sender.send(&r.to_bytes()) {
                    debug!("BFD peer {}: {e}", s.peer);
                }
            }
            Action::StateChange { from, to, diag } => {
                let remote = s.session.status().remote_state;
                info!("BFD peer {}: {from:?} -> {to:?} (diag {diag:?})", s.peer);
                if from == State::Up && to == State::Down && remote != State::AdminDown {
                    lost.push((s.iface, s.peer));
                }
            }
            Action::ConfigRejected(e) => warn!("BFD peer {}: {e}", s.peer),
        }
    }
}

/// A listener task: the datagrams of every interface to the loop, a burst (what is queued,
/// up to [`RX_BURST`], taken [`LISTEN_BATCH`] per system call) per message, until the socket
/// fails for good. At lower rates the socket is watched and each datagram is handed over
/// at once. While datagrams arrive at [`BUSY_RATE`] per second or more, the watch is
/// dropped and the task reads every [`COALESCE`]: a watched socket wakes the thread for
/// each datagram that arrives while it sleeps, even while the task itself waits.
async fn listen(l: Arc<BfdListener>, tx: mpsc::Sender<BfdBatch>) {
    let mut errors = 0u32;
    let mut bufs = [[0u8; RX_BUF]; LISTEN_BATCH];
    let mut got = Vec::with_capacity(LISTEN_BATCH);
    let mut rate = RateWindow::default();
    let mut watch = watch_or_poll(&l);
    // A registration tokio refused is not asked for again: the listener reads on a timer.
    let mut can_watch = watch.is_some();
    // The last burst stopped at its bound with datagrams left: read again before waiting.
    let mut more = false;
    loop {
        match (&watch, more) {
            (_, true) => tokio::task::yield_now().await,
            (Some(w), false) => {
                if let Err(e) = w.readable().await {
                    warn!("{}: {e}; reading every {COALESCE:?} instead", l.name());
                    (watch, can_watch) = (None, false);
                }
            }
            (None, false) => tokio::time::sleep(COALESCE).await,
        }
        let mut batch = BfdBatch::with_capacity(LISTEN_BATCH);
        let mut failed = false;
        more = false;
        for last in (1..=RX_BURST / LISTEN_BATCH).map(|i| i == RX_BURST / LISTEN_BATCH) {
            match l.try_recv_batch(&mut bufs, &mut got) {
                Ok(()) => {
                    errors = 0;
                    let now = std::time::Instant::now();
                    for (d, buf) in got.iter().zip(&bufs) {
                        rate.count(now);
                        batch.push(BfdRx::new(d, *buf));
                    }
                    if got.len() < LISTEN_BATCH {
                        break; // the socket is drained
                    }
                    more = last;
                }
                Err(e) => {
                    errors += 1;
                    if errors >= MAX_RX_ERRORS {
                        warn!("{}: BFD listener gives up: {e}", l.name());
                        // What came before the error still goes to the loop.
                        let _ = tx.send(batch).await;
                        return;
                    }
                    debug!("{}: BFD receive: {e}", l.name());
                    failed = true;
                    // The watch's readiness is spent: what still waits is read next time
                    // round, not when the next datagram arrives.
                    more = true;
                    break;
                }
            }
        }
        if !batch.is_empty() && tx.send(batch).await.is_err() {
            return; // the loop is gone
        }
        if failed {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        // Busy: no wake-up per datagram; read every COALESCE, with the loop's own ticks.
        let busy = rate.busy_from(std::time::Instant::now(), BUSY_RATE);
        if busy && watch.is_some() {
            watch = None;
        } else if !busy && watch.is_none() && can_watch {
            watch = watch_or_poll(&l);
            can_watch = watch.is_some();
            more = true; // what arrived unwatched is not announced again
        }
    }
}

/// A watch on the listener, or `None` (read on a timer) if tokio refuses the registration.
fn watch_or_poll(l: &BfdListener) -> Option<crate::net::BfdWatch> {
    l.watch()
        .inspect_err(|e| warn!("{}: {e}; reading every {COALESCE:?} instead", l.name()))
        .ok()
}

impl super::Daemon {
    /// (Re)apply the BFD configuration of every interface (start-up, reload).
    pub(super) fn configure_bfd(&mut self) {
        let now = self.now();
        for i in 0..self.ifaces.len() {
            let (name, ifindex, cfg) = {
                let f = &self.ifaces[i];
                (f.cfg.name.clone(), f.info.ifindex, f.cfg.bfd)
            };
            self.bfd.configure_iface(now, i, &name, ifindex, cfg);
            self.sync_bfd_peers(i);
        }
        self.bfd.close_unused_listeners();
    }

    /// The peers interface `iface` must run sessions with: the Active of each group in
    /// Standby there, the Standby of each group in Active.
    pub(super) fn sync_bfd_peers(&mut self, iface: usize) {
        if self.bfd.is_empty() {
            return;
        }
        let mut wanted: Vec<IpAddr> = Vec::new();
        for g in self.groups.iter().filter(|g| g.iface == iface) {
            if let Some(p) = bfd_peer(&g.fsm).filter(|p| !wanted.contains(p)) {
                wanted.push(p);
            }
        }
        let now = self.now();
        self.bfd.sync_peers(now, iface, &wanted);
    }

    /// A burst from a listener task, then the bursts that queued meanwhile (the other
    /// family's, or while the loop was busy), in the same pass.
    pub(super) async fn on_bfd_bursts(&mut self, first: BfdBatch) {
        self.on_bfd_batch(first).await;
        for _ in 0..super::FRAME_BATCH {
            match self.bfd_rx.try_recv() {
                Ok(batch) => self.on_bfd_batch(batch).await,
                Err(_) => break,
            }
        }
    }

    /// One burst from a listener task, fed in arrival order.
    async fn on_bfd_batch(&mut self, batch: BfdBatch) {
        let now = self.now();
        for rx in &batch {
            let lost = self.bfd.on_packet(now, rx);
            self.bfd_peers_lost(lost).await;
        }
    }

    /// A detection time that ran out is judged only after reading what already arrived:
    /// the listeners share this thread, so a loop woken late (a busy host) would
    /// otherwise take packets waiting in the queue or the socket for the peer's silence.
    /// A loop woken late tells the sessions first, so that a detection time that ran out
    /// while the loop (or the whole host) was stopped is not taken for the peer's silence.
    pub(super) async fn on_bfd_timers(&mut self, pass: Time) {
        let lost = self.bfd.note_stall(pass);
        self.bfd_peers_lost(lost).await;
        // Every copy the data plane counted until now is reported before anything is
        // judged at now: a fresh time, not the timer pass's (the groups ran since).
        let mut now = self.now();
        let lost = self.bfd.take_repeats(now);
        self.bfd_peers_lost(lost).await;
        if self.bfd.detection_due(now) {
            while let Ok(batch) = self.bfd_rx.try_recv() {
                self.on_bfd_batch(batch).await;
            }
            now = self.now();
            let lost = self.bfd.drain_listeners(now);
            self.bfd_peers_lost(lost).await;
            let lost = self.bfd.take_repeats(now);
            self.bfd_peers_lost(lost).await;
        }
        let lost = self.bfd.on_timer(now);
        self.bfd_peers_lost(lost).await;
    }

    /// Tell the groups of each interface that BFD lost a peer.
    async fn bfd_peers_lost(&mut self, lost: Vec<PeerDown>) {
        for (iface, peer) in lost {
            for gi in 0..self.groups.len() {
                if self.groups[gi].iface == iface {
                    self.feed(gi, crate::fsm::Event::BfdPeerDown { peer }).await;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A Peering with BFD on daemon interfaces 0 (kernel index 5) and 3 (index 9), and no
    /// sockets: what arrives is handed in directly.
    fn peering() -> Peering {
        let mut p = Peering::new(mpsc::channel(1).0);
        for (iface, ifindex) in [(0, 5), (3, 9)] {
            p.ifaces.insert(
                iface,
                IfPeering {
                    name: format!("lan{iface}"),
                    ifindex,
                    cfg: SessionConfig::default(),
                },
            );
        }
        p
    }

    fn datagram(ifindex: Option<u32>, ttl: u8, your_discriminator: u32) -> BfdRx {
        // Version 1, State Down, multiplier 3, length 24, My Discriminator 77, 10 ms both
        // ways, no echo.
        let mut bytes = vec![0x20, 0x40, 3, 24, 0, 0, 0, 77];
        bytes.extend_from_slice(&your_discriminator.to_be_bytes());
        bytes.extend_from_slice(&10_000u32.to_be_bytes());
        bytes.extend_from_slice(&10_000u32.to_be_bytes());
        bytes.extend_from_slice(&[0; 4]);
        assert!(Repr::parse(&Packet::new_checked(&bytes[..]).unwrap()).is_ok());
        let mut buf = [0u8; RX_BUF];
        buf[..bytes.len()].copy_from_slice(&bytes);
        BfdRx {
            ifindex,
            src: "192.0.2.1".parse().unwrap(),
            src_port: 49_200,
            dst: Some("192.0.2.2".parse().unwrap()),
            ttl: Some(ttl),
            len: bytes.len(),
            truncated: false,
            buf,
        }
    }

    #[test]
    fn a_datagram_belongs_to_the_interface_it_arrived_on_if_that_runs_bfd() {
        let p = peering();
        assert_eq!(p.arrival_iface(Some(9)), Some(3));
        assert_eq!(p.arrival_iface(Some(5)), Some(0));
        // An interface without BFD, one the daemon does not know, or no packet info.
        assert_eq!(p.arrival_iface(Some(7)), None);
        assert_eq!(p.arrival_iface(None), None);
    }

    #[test]
    fn a_control_packet_is_heard_as_it_came_and_nothing_else_is() {
        let rx = datagram(Some(9), 255, 1234);
        let h = heard(&rx).unwrap();
        assert_eq!(h.wire[..], rx.buf[..24]);
        assert_eq!((h.src_port, h.ifindex), (49_200, 9));
        assert_eq!(h.local, "192.0.2.2".parse::<IpAddr>().unwrap());
        // Longer than a Control packet without authentication, or not said where to.
        let mut long = datagram(Some(9), 255, 1234);
        long.len = 28;
        assert_eq!(heard(&long), None);
        let mut nowhere = datagram(Some(9), 255, 1234);
        nowhere.dst = None;
        assert_eq!(heard(&nowhere), None);
        assert_eq!(heard(&datagram(None, 255, 1234)), None);
    }

    /// Discriminators own distinct data-plane slots while slots are free; past that, a
    /// session still gets a unique discriminator, without a slot.
    #[test]
    fn discriminators_own_distinct_slots_while_there_are_slots() {
        // Start where the numbers wrap through 0, with the next candidate's slot owned by
        // another discriminator and the one after used without a slot.
        let mut next = 0xffff_fffe;
        let mut used = vec![
            (0xffff_fffe_u32.wrapping_add(MAX_BFD_SESSIONS), true),
            (0xffff_ffff, false),
        ];
        let mut owned_slots = std::collections::BTreeSet::new();
        owned_slots.insert(bfd_slot(used[0].0));
        for _ in 0..(MAX_BFD_SESSIONS + 3) {
            let (d, owned) = pick_discriminator(&mut next, &used);
            assert!(
                !used.iter().any(|&(u, _)| u == d.get()),
                "discriminator {d} given twice"
            );
            if owned {
                assert!(
                    owned_slots.insert(bfd_slot(d.get())),
                    "slot of {d} given twice"
                );
            }
            used.push((d.get(), owned));
        }
        assert_eq!(owned_slots.len(), MAX_BFD_SESSIONS as usize);
        assert_eq!(used.iter().filter(|u| !u.1).count(), 1 + 4);
    }

    #[test]
    fn datagrams_from_interfaces_without_bfd_are_dropped_and_counted() {
        let mut p = peering();
        let now = Time::from_duration(std::time::Duration::from_secs(1));
        // The GTSM check comes first, whatever the interface.
        assert!(p.on_packet(now, &datagram(Some(7), 254, 0)).is_empty());
        // A session's first packets (Your Discriminator 0), and later ones.
        for ifindex in [Some(7), None, Some(9)] {
            assert!(p.on_packet(now, &datagram(ifindex, 255, 0)).is_empty());
            assert!(p.on_packet(now, &datagram(ifindex, 255, 1234)).is_empty());
        }
        let d = p.status().dropped;
        assert_eq!(
            (d.bad_ttl, d.no_session, d.unknown_discriminator),
            (1, 3, 3),
            "{d:?}"
        );
    }
}
