//! The daemon (`hsrpd run`): thin I/O around the pure state machines.
//!
//! One tokio current-thread runtime and one loop that waits, with `select!`, on: frames
//! from the packet sockets (a task per interface feeds a channel), the earliest deadline of
//! all groups and interfaces, signals, netlink events (tracking, interface up/down) and
//! status requests. Each wake-up feeds events to `fsm::Group`s and carries out the actions
//! they return (`actions`): frames on the wire, the one-map-write flip, gratuitous ARP/NA,
//! log lines.
//!
//! - `startup`: interfaces, data plane, sockets, groups; refuses a second instance.
//! - `rx`: Ethernet/IP/UDP framing of received HSRP, and of Router Solicitations.
//! - `actions`: executing `fsm::Action`s, v1 Advertise / v2 Interface State.
//! - `reload`: SIGHUP.
//! - `status`: the snapshot for `hsrpd status`.
//! - `handover`: graceful stop, forwarding until the new Active has taken over.
//! - `schedule`: deadline order and group lookup, so a wake-up costs O(log groups);
//!   `lateness`: how late timers are served.
//! - `groups`: configuration → state machine; `xdp_probe`: is an interface taken.
//! - `bfd`: HSRP BFD peering, BFD sessions to the Active/Standby peers of the groups.
//! - `ra`: Router Advertisements of the IPv6 groups this router is Active for, periodic
//!   and in answer to Router Solicitations.
//! - `sentinel`: a small process spawned first, before any data-plane or socket fd exists,
//!   that holds the ready-built Resign frames of the Active groups and sends them if the
//!   daemon dies without a clean stop (SIGKILL, panic, abort), so the Standby takes over at
//!   once rather than after the hold time; `last_words`: keeping those frames current.

mod actions;
mod bfd;
pub mod groups;
mod handover;
mod last_words;
mod lateness;
pub mod nexthop_cache;
pub mod ra;
mod reload;
pub mod rx;
mod schedule;
pub mod sentinel;
mod startup;
mod status;
mod xdp_probe;

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use log::{debug, info, warn};
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::config::{Config, GroupSpec, InterfaceConfig};
use crate::control;
use crate::dataplane::maps::DataplaneMaps;
use crate::dataplane::{AttachMode, Dataplane};
use crate::fsm::{Advertiser, Event, Group, Time};
use crate::net::{InterfaceInfo, NetEvent, NetWatcher, Netlink, PacketSocket};
use crate::proto::{Auth, MacAddr};
use crate::track::Tracker;
use crate::wire::{self, Decoded};

use groups::GroupKey;

/// Received frames waiting for the loop; beyond this the rx tasks wait (backpressure).
const FRAME_QUEUE: usize = 1024;
/// Frames handled in one pass of the loop at most (timers and signals wait no longer).
const FRAME_BATCH: usize = 64;
/// Bound on one rx task's consecutive hard errors before it gives up on its socket.
const MAX_RX_ERRORS: u32 = 100;

/// Entry point of `hsrpd run`: loads the configuration, runs until SIGTERM/SIGINT, and
/// exits 0 after a clean stop (Resign sent, maps cleared, XDP detached).
pub fn run(config: &Path, socket: &Path) -> Result<ExitCode> {
    run_with(config, socket, RunOptions::default())
}

/// Switches of `hsrpd run` beyond the configuration file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunOptions {
    /// Keep the XDP next-hop cache (`nexthop_cache`); off: every forwarded frame takes
    /// the fib lookup.
    pub nexthop_cache: bool,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            nexthop_cache: true,
        }
    }
}

/// [`run`] with explicit [`RunOptions`].
pub fn run_with(config: &Path, socket: &Path, options: RunOptions) -> Result<ExitCode> {
    let cfg = crate::config::load(config).map_err(|e| anyhow::anyhow!("{e}"))?;
    // First, while no data-plane or socket descriptor exists and no thread runs.
    let sentinel = match sentinel::Sentinel::spawn() {
        Ok(s) => Some(s),
        Err(e) => {
            warn!("{e:#}: the Standby will take the hold time to notice if hsrpd dies");
            None
        }
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
    runtime.block_on(async {
        let (ctl_tx, ctl_rx) = mpsc::channel(16);
        let (frame_tx, frame_rx) = mpsc::channel(FRAME_QUEUE);
        // Signals first: a SIGTERM during start-up must still stop us cleanly.
        let mut signals = Signals::new()?;
        let mut frame_rx = frame_rx;
        let listener = control::bind(socket)?;
        let mut daemon = Daemon::start(config, cfg, frame_tx, options).await?;
        daemon.sentinel = sentinel;
        let server = tokio::spawn(control::serve(listener, ctl_tx));
        let result = daemon.serve(&mut signals, &mut frame_rx, ctl_rx).await;
        server.abort();
        daemon.stop(&mut frame_rx, &mut signals).await;
        let _ = std::fs::remove_file(socket);
        result.map(|()| ExitCode::SUCCESS)
    })
}

struct Signals {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
    hup: tokio::signal::unix::Signal,
}

impl Signals {
    fn new() -> Result<Signals> {
        Ok(Signals {
            term: signal(SignalKind::terminate()).context("installing the SIGTERM handler")?,
            int: signal(SignalKind::interrupt()).context("installing the SIGINT handler")?,
            hup: signal(SignalKind::hangup()).context("installing the SIGHUP handler")?,
        })
    }
}

/// One interface hsrpd runs groups on.
struct Iface {
    cfg: InterfaceConfig,
    info: InterfaceInfo,
    socket: Arc<PacketSocket>,
    rx_task: JoinHandle<()>,
    mode: AttachMode,
    /// Line protocol as last seen (groups run only while it is up).
    up: bool,
    advertiser: Advertiser,
    /// A group of this interface changed state since its counts were last looked at.
    counts_dirty: bool,
}

impl Iface {
    /// The address v1 Advertise / v2 Interface State go out from.
    fn advertise_ip(&self) -> Option<IpAddr> {
        self.info
            .ipv4
            .first()
            .map(|a| IpAddr::V4(a.addr))
            .or(self.info.ipv6_link_local.map(IpAddr::V6))
    }
}

/// One group at run time.
struct GroupRt {
    key: GroupKey,
    /// Index into `Daemon::ifaces`.
    iface: usize,
    spec: GroupSpec,
    fsm: Group,
    /// What a received message may be signed with (the configured auth, key-chain keys).
    auths: Vec<Auth>,
    /// The virtual MAC installed in the maps and the NIC filter.
    vmac: MacAddr,
    /// Virtual addresses installed in the VIP map.
    vips: Vec<IpAddr>,
    /// IPv6 groups: when the next Router Advertisement is due (running while Active).
    ra: ra::RaSchedule,
}

struct Daemon {
    config_path: PathBuf,
    config: Config,
    start: Instant,
    /// Keeps the program attached; dropped last, which detaches it.
    dataplane: Option<Dataplane>,
    maps: DataplaneMaps,
    netlink: Netlink,
    watcher: NetWatcher,
    tracker: Tracker,
    ifaces: Vec<Iface>,
    groups: Vec<GroupRt>,
    /// While set, `execute` leaves the data plane of a group leaving Active as it is (a
    /// graceful stop hands over first, see `handover`).
    keep_data_plane: bool,
    schedule: schedule::Schedule,
    index: schedule::GroupIndex,
    /// The IPv6 groups (the only ones with Router Advertisements).
    ipv6_groups: Vec<usize>,
    /// Scratch list of due groups, reused across wake-ups.
    due: Vec<usize>,
    lateness: lateness::Lateness,
    /// Sends the Active groups' Resign if the daemon dies (`sentinel`).
    sentinel: Option<sentinel::Sentinel>,
    /// Keeps the XDP next-hop cache correct (None: the cache is off).
    nexthop: Option<nexthop_cache::NexthopKeeper>,
    /// Per group, the Resign last handed to the sentinel (`None`: not Active).
    last_words: Vec<Option<crate::proto::GroupMessage>>,
    /// Some group's last words may have changed: rewrite them at the end of the iteration.
    last_words_dirty: bool,
    /// HSRP BFD peering: the sessions, and the datagrams their listeners receive.
    bfd: bfd::Peering,
    bfd_rx: mpsc::Receiver<bfd::BfdRx>,
}

/// What a received frame is to the groups (`Daemon::classify`).
enum Received {
    Ignored,
    /// A valid Router Solicitation: the IPv6 Actives of the interface answer it.
    Solicitation(rx::Solicitation),
    /// An authenticated message for group `gi`.
    Message {
        gi: usize,
        from: IpAddr,
        msg: crate::proto::GroupMessage,
    },
    /// A message for group `gi` that none of its keys authenticates.
    AuthFailed {
        gi: usize,
        from: IpAddr,
        error: String,
    },
}

impl Daemon {
    /// Virtual time of the state machines: time since start.
    fn now(&self) -> Time {
        Time::since(self.start, Instant::now())
    }

    fn instant(&self, t: Time) -> tokio::time::Instant {
        tokio::time::Instant::from_std(self.start + t.as_duration())
    }

    fn next_deadline(&self) -> Option<Time> {
        let ifaces = self
            .ifaces
            .iter()
            .filter_map(|i| i.advertiser.next_deadline());
        ifaces
            .chain(self.schedule.next())
            .chain(self.ra_deadline())
            .chain(self.bfd.next_deadline())
            .min()
    }

    /// Rebuilds the schedule, the group lookup and the IPv6 list from the groups (after
    /// groups were added or removed).
    fn reindex(&mut self) {
        self.schedule.clear(self.groups.len());
        for (gi, g) in self.groups.iter().enumerate() {
            self.schedule.set(gi, g.fsm.next_deadline());
        }
        self.index
            .rebuild(self.groups.iter().enumerate().map(|(gi, g)| {
                (
                    (g.iface, g.key.group, g.key.ipv6, g.fsm.config().version),
                    gi,
                )
            }));
        self.ipv6_groups = (0..self.groups.len())
            .filter(|&gi| self.groups[gi].key.ipv6)
            .collect();
        for iface in &mut self.ifaces {
            iface.counts_dirty = true;
        }
    }

    async fn serve(
        &mut self,
        signals: &mut Signals,
        frames: &mut mpsc::Receiver<(usize, Vec<u8>)>,
        mut requests: mpsc::Receiver<control::Request>,
    ) -> Result<()> {
        info!(
            "running: {} interface(s), {} group(s), status on the control socket",
            self.ifaces.len(),
            self.groups.len()
        );
        loop {
            let wake = match self.next_deadline() {
                Some(t) => self.instant(t),
                None => tokio::time::Instant::now() + Duration::from_secs(3600),
            };
            tokio::select! {
                biased;
                _ = signals.term.recv() => {
                    info!("SIGTERM: stopping");
                    return Ok(());
                }
                _ = signals.int.recv() => {
                    info!("SIGINT: stopping");
                    return Ok(());
                }
                _ = signals.hup.recv() => {
                    self.reload().await;
                    // Groups may be gone, re-keyed or re-signed.
                    self.last_words_dirty = true;
                }
                Some((iface, frame)) = frames.recv() => {
                    self.on_frame(iface, &frame).await;
                    // Whatever else is queued, before the next wait: one pass of the loop
                    // per burst rather than per frame.
                    for _ in 0..FRAME_BATCH {
                        match frames.try_recv() {
                            Ok((iface, frame)) => self.on_frame(iface, &frame).await,
                            Err(_) => break,
                        }
                    }
                }
                Some(event) = self.watcher.recv() => self.on_net_event(event).await,
                Some(rx) = self.bfd_rx.recv() => self.on_bfd_packet(rx).await,
                Some(reply) = requests.recv() => {
                    let _ = reply.send(self.snapshot());
                }
                _ = tokio::time::sleep_until(wake) => self.on_timers().await,
            }
            self.sync_last_words();
        }
    }

    /// Wakes every group whose deadline has passed, then the interface announcements.
    async fn on_timers(&mut self) {
        let now = self.now();
        let mut due = std::mem::take(&mut self.due);
        due.clear();
        self.schedule.due(now, &mut due);
        for &gi in &due {
            if let Some(t) = self.groups[gi].fsm.next_deadline().filter(|t| *t <= now) {
                self.lateness.record(now.saturating_since(t));
                self.feed(gi, Event::Timer).await;
            }
        }
        self.due = due;
        self.on_bfd_timers(now).await;
        self.ra_timers().await;
        self.advertise().await;
    }

    /// One received frame on interface `iface`.
    async fn on_frame(&mut self, iface: usize, frame: &[u8]) {
        match self.classify(iface, frame) {
            Received::Ignored => return,
            Received::Solicitation(rs) => return self.on_solicitation(iface, rs),
            Received::Message { gi, from, msg } => {
                self.feed(gi, Event::Received { from, msg }).await
            }
            Received::AuthFailed { gi, from, error } => {
                let g = &self.groups[gi];
                let n = g.fsm.auth_failures() + 1;
                // First failure, then every power of two: visible, never a log flood.
                if n.is_power_of_two() {
                    warn!(
                        "{} grp {}: message from {from} ignored: {error} ({n} failure(s) so far)",
                        g.key.iface, g.key.group,
                    );
                }
                self.feed(gi, Event::AuthFailed { from }).await;
            }
        }
        self.advertise().await;
    }

    /// What a frame received on interface `iface` is to the groups: a message for one of
    /// them (authenticated with one of the keys it accepts), a failed authentication, or
    /// nothing of ours.
    fn classify(&self, iface: usize, frame: &[u8]) -> Received {
        let name = &self.ifaces[iface].cfg.name;
        let d = match rx::parse_frame(frame) {
            Ok(rx::Frame::Hsrp(d)) => d,
            Ok(rx::Frame::RouterSolicitation(rs)) => return Received::Solicitation(rs),
            Err(e) => {
                debug!("{name}: ignored frame: {e}");
                return Received::Ignored;
            }
        };
        let msg = match wire::Repr::parse(d.payload).map(|r| r.group_message()) {
            Ok(Some(Ok(m))) => m,
            // Advertise / Interface State: nothing for the groups.
            Ok(None) => return Received::Ignored,
            Ok(Some(Err(e))) | Err(e) => {
                debug!("{name}: malformed HSRP from {}: {e}", d.src_ip);
                return Received::Ignored;
            }
        };
        let ipv6 = d.src_ip.is_ipv6();
        let Some(gi) = self.index.get(&(iface, msg.group, ipv6, msg.version)) else {
            return Received::Ignored; // not a group of ours
        };
        let from = d.src_ip;
        let mut auth_error = None;
        for auth in &self.groups[gi].auths {
            match wire::decode_payload(d.payload, auth) {
                Ok(Decoded::Group(msg)) => return Received::Message { gi, from, msg },
                Ok(_) => return Received::Ignored,
                Err(e) if e.is_auth() => auth_error = Some(e),
                Err(e) => {
                    debug!("{name}: malformed HSRP from {from}: {e}");
                    return Received::Ignored;
                }
            }
        }
        Received::AuthFailed {
            gi,
            from,
            error: auth_error.map(|e| e.to_string()).unwrap_or_default(),
        }
    }

    /// Links (interface up/down, tracked interfaces) and routes (tracked prefixes).
    async fn on_net_event(&mut self, event: NetEvent) {
        self.follow_forwarding_targets(&event);
        match &event {
            NetEvent::Link {
                ifindex, oper_up, ..
            } => self.set_link(*ifindex, *oper_up).await,
            NetEvent::LinkRemoved { ifindex, .. } => self.set_link(*ifindex, false).await,
            NetEvent::Resync => {
                for i in 0..self.ifaces.len() {
                    let name = self.ifaces[i].cfg.name.clone();
                    let up = match self.netlink.interface_info(&name).await {
                        Ok(info) => info.oper_up,
                        Err(_) => false,
                    };
                    let ifindex = self.ifaces[i].info.ifindex;
                    self.set_link(ifindex, up).await;
                }
                self.refresh_tracks().await;
            }
            _ => {}
        }
        let effect = self.tracker.on_event(&event);
        for change in effect.changes {
            self.apply_track(change).await;
        }
        for (object, prefix) in effect.recheck {
            let up = match self.netlink.route_exists(prefix).await {
                Ok(up) => up,
                Err(e) => {
                    warn!("track {object}: cannot look up route {prefix}: {e}");
                    continue;
                }
            };
            if let Some(change) = self.tracker.set(object, up) {
                self.apply_track(change).await;
            }
        }
        self.advertise().await;
    }

    /// The devmap of redirect targets follows the namespace's interfaces (loopback
    /// excepted): a link that appears after start becomes a next hop the fast path can
    /// redirect to, instead of every frame routed to it going the slow path. (The kernel
    /// drops a devmap entry itself when its device goes away; removing it here too keeps
    /// the map honest if the ifindex is reused by a device we have not seen yet.)
    fn follow_forwarding_targets(&mut self, event: &NetEvent) {
        match event {
            NetEvent::Link { ifindex, name, .. } if name != "lo" => {
                if let Err(e) = self.maps.add_tx_port(*ifindex) {
                    debug!("{name}: not a forwarding target: {e:#}");
                }
            }
            NetEvent::LinkRemoved { ifindex, name } => {
                if let Err(e) = self.maps.remove_tx_port(*ifindex) {
                    warn!("{name}: removing the forwarding target: {e:#}");
                }
            }
            NetEvent::Resync => startup::add_forwarding_targets(&mut self.maps),
            _ => {}
        }
    }

    /// An HSRP interface's line protocol, as netlink reports it.
    async fn set_link(&mut self, ifindex: u32, up: bool) {
        let Some(i) = self.ifaces.iter().position(|f| f.info.ifindex == ifindex) else {
            return;
        };
        if self.ifaces[i].up == up {
            return;
        }
        self.ifaces[i].up = up;
        info!(
            "{}: line protocol {}",
            self.ifaces[i].cfg.name,
            if up { "up" } else { "down" }
        );
        let event = if up {
            Event::InterfaceUp
        } else {
            Event::InterfaceDown
        };
        for gi in 0..self.groups.len() {
            if self.groups[gi].iface == i {
                self.feed(gi, event.clone()).await;
            }
        }
    }

    /// Reads every tracked object's state afresh and tells the groups what changed.
    async fn refresh_tracks(&mut self) {
        for (object, name) in self.tracker.interfaces() {
            let up = match self.netlink.interface_info(&name).await {
                Ok(info) => info.oper_up,
                Err(e) => {
                    debug!("track {object}: {e}");
                    false
                }
            };
            if let Some(change) = self.tracker.set(object, up) {
                self.apply_track(change).await;
            }
        }
        for (object, prefix) in self.tracker.routes() {
            match self.netlink.route_exists(prefix).await {
                Ok(up) => {
                    if let Some(change) = self.tracker.set(object, up) {
                        self.apply_track(change).await;
                    }
                }
                Err(e) => warn!("track {object}: cannot look up route {prefix}: {e}"),
            }
        }
    }

    async fn apply_track(&mut self, change: crate::track::TrackChange) {
        info!(
            "track {} is now {}",
            change.object,
            if change.up { "up" } else { "down" }
        );
        for gi in 0..self.groups.len() {
            if self.groups[gi]
                .fsm
                .config()
                .tracks
                .iter()
                .any(|t| t.object == change.object)
            {
                let event = Event::Track {
                    object: change.object,
                    up: change.up,
                };
                self.feed(gi, event).await;
            }
        }
    }

    /// Feeds one event to one group and carries out what it says.
    async fn feed(&mut self, gi: usize, event: Event) {
        let now = self.now();
        let peer_before = bfd::bfd_peer(&self.groups[gi].fsm);
        let actions = self.groups[gi].fsm.handle(now, event);
        self.schedule.set(gi, self.groups[gi].fsm.next_deadline());
        self.execute(gi, actions).await;
        // Only a change of the group's BFD peer can change the interface's sessions (a
        // scan of the interface's groups, so not on every hello).
        if bfd::bfd_peer(&self.groups[gi].fsm) != peer_before {
            self.sync_bfd_peers(self.groups[gi].iface);
        }
    }

    /// Graceful stop: Resign every Active group on the wire, keep forwarding until the
    /// Standby has taken over (`handover`), clear the maps, detach.
    async fn stop(&mut self, frames: &mut mpsc::Receiver<(usize, Vec<u8>)>, signals: &mut Signals) {
        self.resign_and_hand_over(frames, signals).await;
        let now = self.now();
        self.bfd.shutdown(now);
        // Resigned on the wire and handed over: the sentinel has nothing left to say.
        if let Some(s) = self.sentinel.take() {
            s.disarm();
        }
        if let Some(keeper) = self.nexthop.take() {
            keeper.stop().await;
        }
        if let Err(e) = self.maps.reset() {
            warn!("clearing the data plane maps: {e:#}");
        }
        for iface in &self.ifaces {
            iface.rx_task.abort();
        }
        // Dropping the data plane detaches XDP from every interface and removes the pins.
        drop(self.dataplane.take());
        info!("{}", self.lateness);
        info!("stopped: groups resigned, maps cleared, XDP detached");
    }
}
