//! The daemon (`hsrpd run`): thin I/O around the pure state machines.
//!
//! One tokio current-thread runtime and one loop that waits, with `select!`, on: frames
//! from the packet sockets (`receive`: a task per interface feeds them in bursts through a
//! channel), the earliest deadline of all groups and interfaces, signals, netlink events
//! (tracking, interface up/down) and status requests. Each wake-up feeds events to
//! `fsm::Group`s and carries out the actions they return (`actions`): frames on the wire,
//! the one-map-write flip, gratuitous ARP/NA, log lines.
//!
//! - `startup`: interfaces, data plane, sockets, groups; refuses a second instance.
//! - `actions`: executing `fsm::Action`s, v1 Advertise / v2 Interface State.
//! - `reload`: SIGHUP.
//! - `status`: the snapshot for `hsrpd status`.
//! - `handover`: graceful stop, forwarding until the new Active has taken over.
//! - `table`: the groups and their indexes (`schedule`: deadline order and group
//!   lookup, so a wake-up costs O(log groups));
//!   `lateness`: how late timers are served; `tx_batch`: the hellos of one wake-up sent
//!   with one system call; `receive`: the frames received, one system call and one
//!   message to the loop per burst.
//! - `groups`: configuration → state machine.
//! - `service`: systemd readiness, watchdog and stop notifications.
//! - `bfd`: HSRP BFD peering, BFD sessions to the Active/Standby peers of the groups.
//! - `ra`: Router Advertisements of the IPv6 groups this router is Active for, periodic
//!   and in answer to Router Solicitations.
//! - `operator`: what the operator sees and does while it runs: state changes to the
//!   notify program (`notify`) and the events stream, control commands (maintenance,
//!   temporary priority, forced tracks, reload).
//! - `aux`: the loop's runtime and the `hsrpd-aux` runtime of the slow work (status socket,
//!   metrics endpoint, next-hop cache, configuration loading) that must not delay a hello; `realtime`: the
//!   opt-in SCHED_FIFO + mlockall mode of the timer thread, whose wake-ups then come from a
//!   timerfd (`precise_timer`) rather than tokio's millisecond timer wheel.
//! - `last_words`: keeping current the Resign frames of the Active groups that the
//!   sentinel (`crate::sentinel`, a small process spawned first, before any data-plane or
//!   socket fd exists) sends if the daemon dies without a clean stop (SIGKILL, panic,
//!   abort), so the Standby takes over at once rather than after the hold time.

mod accept;
pub mod accepted_flows;
mod actions;
mod allocator;
mod aux;
mod bfd;
mod bfd_offload;
pub mod fast_path;
mod follow;
pub mod groups;
mod handover;
mod keys;
mod last_words;
mod lateness;
mod notify;
mod operator;
mod precise_timer;
pub mod ra;
pub mod realtime;
mod receive;
mod reload;
mod schedule;
mod service;
mod startup;
mod status;
mod table;
mod tracking;
mod tx_batch;

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

use crate::config::{Config, InterfaceConfig, LoadError};
use crate::control;
use crate::dataplane::maps::DataplaneMaps;
use crate::dataplane::{AttachMode, Dataplane};
use crate::fsm::{Advertiser, Event, Time};
use crate::net::{InterfaceInfo, NetEvent, NetWatcher, Netlink, PacketSocket};
use crate::track::Tracker;
use crate::wire::{self, rx, Decoded};

use table::{GroupRt, GroupTable};

/// Received BFD datagrams waiting for the loop; beyond this the listener tasks wait
/// (backpressure).
const FRAME_QUEUE: usize = 1024;
/// Received bursts of HSRP frames waiting for the loop (`receive::FrameBatch`, up to a few
/// hundred frames each), beyond which the rx tasks wait.
const BURST_QUEUE: usize = 256;
/// Frames from which one pass of the loop stops taking more (timers and signals wait no
/// longer than that and one more burst).
const FRAME_BATCH: usize = 64;
/// Room for one frame read by the loop itself (HSRP frames are far smaller).
const RX_FRAME: usize = 2048;

/// The received frames, in bursts (`receive`).
type FrameRx = mpsc::Receiver<receive::FrameBatch>;

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
    /// Group of the control socket (mode 0660), when not the daemon's own.
    pub socket_gid: Option<u32>,
    /// `--realtime[=N]`: real-time mode at priority N whatever the configuration says.
    pub realtime: Option<u8>,
    /// `--metrics-listen`: serve `GET /metrics` (Prometheus) on this address.
    pub metrics_listen: Option<std::net::SocketAddr>,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            nexthop_cache: true,
            socket_gid: None,
            realtime: None,
            metrics_listen: None,
        }
    }
}

/// [`run`] with explicit [`RunOptions`].
pub fn run_with(config: &Path, socket: &Path, options: RunOptions) -> Result<ExitCode> {
    let cfg = match load_config(config)? {
        Ok(cfg) => cfg,
        Err(code) => return Ok(code),
    };
    // First, while no data-plane or socket descriptor exists and no thread runs.
    let sentinel = spawn_sentinel();
    realtime::bound_memory();
    allocator::fix_thresholds();
    // What every thread keeps once start-up is done (see `privileges`); real-time mode
    // keeps what it needs to be changed by a reload.
    let keep = crate::privileges::runtime_set(options.realtime.or(cfg.realtime).is_some());
    let aux = aux::aux_runtime(keep)?;
    let runtime = aux::timer_runtime(keep)?;
    runtime.block_on(async {
        let (ctl_tx, ctl_rx) = mpsc::channel(16);
        let (cmd_tx, cmd_rx) = mpsc::channel(16);
        let (frame_tx, frame_rx) = mpsc::channel(BURST_QUEUE);
        // Signals first: a SIGTERM during start-up must still stop us cleanly.
        let signals = Signals::new()?;
        let listener = {
            // Registered with the aux runtime, which serves it.
            let _aux = aux.handle().enter();
            control::bind(socket)?
        };
        control::set_access(socket, options.socket_gid)?;
        // Bound before the capabilities are dropped (a port below 1024 needs
        // CAP_NET_BIND_SERVICE, which only start-up may have).
        let metrics = match options.metrics_listen {
            Some(addr) => {
                let _aux = aux.handle().enter();
                Some(control::metrics_http::bind(addr)?)
            }
            None => None,
        };
        let mut daemon = Daemon::start(config, cfg, frame_tx, options, aux.handle()).await?;
        daemon.last_words.sentinel = sentinel;
        daemon.accept_start();
        let realtime = daemon.settle_privileges(keep);
        let ops = control::ops::Ops {
            events: Some(daemon.operator.bus.clone()),
            commands: Some(cmd_tx),
        };
        let metrics = metrics.map(|listener| {
            info!(
                "metrics: http://{}{}",
                listener
                    .local_addr()
                    .map_or_else(|_| "?".into(), |a| a.to_string()),
                control::metrics_http::PATH
            );
            aux.spawn(control::metrics_http::serve(listener, ctl_tx.clone()))
        });
        let mut helpers = vec![
            aux.spawn(control::serve_with(listener, ctl_tx, ops)),
            aux.spawn(realtime::watch_demotion()),
        ];
        helpers.extend(metrics);
        let inputs = Inputs {
            signals,
            frames: frame_rx,
            requests: ctl_rx,
            commands: cmd_rx,
        };
        let result = daemon.run_until_stopped(realtime, inputs, &helpers).await;
        let _ = std::fs::remove_file(socket);
        result.map(|()| ExitCode::SUCCESS)
    })
}

/// The configuration, or the exit code that says why there is none to run (EX_CONFIG:
/// the unit's RestartPreventExitStatus= stops restarts that cannot help).
fn load_config(path: &Path) -> Result<std::result::Result<Config, ExitCode>> {
    match crate::config::load(path) {
        Ok(cfg) => Ok(Ok(cfg)),
        Err(e @ (LoadError::Read { .. } | LoadError::Invalid(_))) => {
            // One line per problem, each a journal record of its own.
            for line in e.to_string().lines() {
                eprintln!("{}hsrpd: error: {line}", crate::logging::error_prefix());
            }
            Ok(Err(ExitCode::from(crate::manual::exit::CONFIG)))
        }
        Err(e) => Err(anyhow::anyhow!("{e}")),
    }
}

/// The sentinel (`crate::sentinel`), spawned before any data-plane or socket descriptor
/// exists and before any thread runs; without it hsrpd runs on, warned.
fn spawn_sentinel() -> Option<crate::sentinel::Sentinel> {
    match crate::sentinel::Sentinel::spawn() {
        Ok(s) => Some(s),
        Err(e) => {
            warn!("{e:#}: the Standby will take the hold time to notice if hsrpd dies");
            None
        }
    }
}

/// What the loop waits on besides its own timers, netlink and probes.
struct Inputs {
    signals: Signals,
    frames: FrameRx,
    requests: mpsc::Receiver<control::Request>,
    commands: mpsc::Receiver<control::ops::CommandRequest>,
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

/// The data plane as the daemon holds it: the program, its maps, and the keepers that
/// write to them from the aux runtime.
struct DataPlane {
    /// Keeps the program attached; dropped last (in `Daemon::stop`), which detaches it.
    program: Option<Dataplane>,
    maps: DataplaneMaps,
    /// Keeps the XDP next-hop cache correct (None: the cache is off).
    nexthop: Option<crate::nexthop_cache::NexthopKeeper>,
    /// Keeps forwarding in XDP or in the kernel as the netfilter hooks require.
    fast_path: Option<fast_path::FastPathKeeper>,
}

struct Daemon {
    config_path: PathBuf,
    config: Config,
    start: Instant,
    /// The XDP program, its maps and their keepers.
    dp: DataPlane,
    netlink: Netlink,
    watcher: NetWatcher,
    tracker: Tracker,
    /// Background checks of tracked objects (`tracking`).
    probes: tracking::Probes,
    /// When key chain lifetimes are next looked at (`keys`).
    key_deadline: Option<Time>,
    ifaces: Vec<Iface>,
    groups: GroupTable,
    /// Scratch list of due groups, reused across wake-ups.
    due: Vec<usize>,
    lateness: lateness::Lateness,
    /// Notify program, events stream, operator commands (`operator`).
    operator: operator::Operator,
    /// The sentinel and the Resigns it was last handed (`last_words`).
    last_words: last_words::LastWords,
    /// The slow-work runtime (`aux`).
    aux: tokio::runtime::Handle,
    /// Real-time mode of the timer thread, as applied.
    realtime: realtime::Realtime,
    /// The loop's wake-up timer in real-time mode (None: tokio's).
    precise: Option<precise_timer::PreciseTimer>,
    /// Configurations read on SIGHUP by the aux runtime, waiting to be applied.
    loaded: reload::Loaded,
    /// HSRP BFD peering: the sessions, and the datagrams their listeners receive.
    bfd: bfd::Peering,
    bfd_rx: mpsc::Receiver<bfd::BfdBatch>,
    /// Group messages of the wake-up being served, sent together (`tx_batch`).
    tx: tx_batch::TxBatch,
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
    /// Real-time mode as configured, then this thread keeps what the runtimes' threads
    /// kept from their start (CAP_IPC_LOCK in real-time mode for memory locked with
    /// MCL_FUTURE): everything that needs the start-up privileges is done.
    fn settle_privileges(&mut self, keep: &'static [u32]) -> Result<()> {
        let wanted = self.realtime.wanted(self.config.realtime);
        let realtime = self.set_realtime(wanted);
        match crate::privileges::drop_to(keep) {
            Ok(()) => debug!("capabilities reduced to {}", crate::privileges::names(keep)),
            Err(e) => warn!("cannot drop capabilities: {e}; running with all of them"),
        }
        realtime
    }

    /// Serves until SIGTERM / SIGINT (unless real-time mode failed: `realtime`), then stops
    /// the `helpers` (tasks on the aux runtime) and the daemon cleanly.
    async fn run_until_stopped(
        &mut self,
        realtime: Result<()>,
        mut inputs: Inputs,
        helpers: &[JoinHandle<()>],
    ) -> Result<()> {
        let manager = service::ServiceManager::from_env();
        let result = match realtime {
            Ok(()) => {
                manager.ready(&format!("running {} group(s)", self.groups.len()));
                self.serve(
                    &mut inputs.signals,
                    &mut inputs.frames,
                    inputs.requests,
                    inputs.commands,
                    &manager,
                )
                .await
            }
            Err(e) => Err(e),
        };
        manager.stopping();
        for task in helpers {
            task.abort();
        }
        self.stop(&mut inputs.frames, &mut inputs.signals).await;
        result
    }

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
            .chain(self.groups.next_deadline())
            .chain(self.tracker.next_deadline())
            .chain(self.key_deadline)
            .chain(self.bfd.next_deadline())
            .min()
    }

    /// After groups were added or removed: the table's indexes, and every interface's
    /// counts.
    fn reindex(&mut self) {
        self.groups.reindex();
        for iface in &mut self.ifaces {
            iface.counts_dirty = true;
        }
    }

    async fn serve(
        &mut self,
        signals: &mut Signals,
        frames: &mut FrameRx,
        mut requests: mpsc::Receiver<control::Request>,
        mut commands: mpsc::Receiver<control::ops::CommandRequest>,
        manager: &service::ServiceManager,
    ) -> Result<()> {
        // Without a watchdog the branch is disabled; the period only has to be valid.
        let period = manager.watchdog_period();
        let mut watchdog = tokio::time::interval(period.unwrap_or(Duration::from_secs(3600)));
        watchdog.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
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
                // Before frames: a flood keeps the frame branch ready, and a loop that
                // still turns is alive; only a loop stuck in one wake-up misses a ping.
                _ = watchdog.tick(), if period.is_some() => manager.watchdog(),
                _ = signals.hup.recv() => self.begin_reload(),
                Some(loaded) = self.loaded.rx.recv() => {
                    self.reload(loaded).await;
                    // Groups may be gone, re-keyed or re-signed.
                    self.last_words.dirty = true;
                }
                Some(batch) = frames.recv() => self.on_frame_bursts(&batch, frames).await,
                Some(event) = self.watcher.recv() => {
                    self.catch_up(frames).await;
                    self.on_net_event(event).await
                }
                Some(fact) = self.probes.rx.recv() => {
                    self.catch_up(frames).await;
                    self.on_probe(fact).await
                }
                Some(batch) = self.bfd_rx.recv() => {
                    self.catch_up(frames).await;
                    self.on_bfd_bursts(batch).await;
                }
                Some(reply) = requests.recv() => {
                    let _ = reply.send(self.snapshot());
                }
                Some(command) = commands.recv() => {
                    self.catch_up(frames).await;
                    self.on_command(command).await
                }
                _ = precise_timer::sleep_until(self.precise.as_ref(), wake) => {
                    self.on_timers(frames).await
                }
            }
            self.sync_last_words();
        }
    }

    /// Wakes every group whose deadline has passed, then the interface announcements.
    async fn on_timers(&mut self, frames: &mut FrameRx) {
        self.catch_up(frames).await;
        let now = self.now();
        let mut due = std::mem::take(&mut self.due);
        due.clear();
        self.groups.due(now, &mut due);
        self.begin_tx_batch();
        for &gi in &due {
            if let Some(t) = self.groups[gi].fsm.next_deadline().filter(|t| *t <= now) {
                self.lateness.record(now.saturating_since(t));
                self.feed(gi, Event::Timer).await;
            }
        }
        self.end_tx_batch().await;
        self.due = due;
        self.key_timers(now).await;
        self.track_timers().await;
        self.on_bfd_timers(now).await;
        self.advertise().await;
    }

    /// Before anything that runs the groups' state machines (each event expires their
    /// timers first): when a peer's silence is due to be judged, the frames that arrived
    /// meanwhile are read first, at their arrival times. Whichever wakes the loop first
    /// after a stall (a timer, a netlink event, a probe's result, a BFD packet, a
    /// command), a hello waiting in a socket is never taken for silence.
    async fn catch_up(&mut self, frames: &mut FrameRx) {
        let now = self.now();
        let mut due = std::mem::take(&mut self.due);
        due.clear();
        self.groups.due(now, &mut due);
        let late = self.silence_due(&due, now);
        self.due = due;
        if late {
            self.read_waiting_frames(frames).await;
        }
    }

    /// True when one of the groups `due` would judge a peer's silence (its Active or
    /// Standby timer ran out).
    fn silence_due(&self, due: &[usize], now: Time) -> bool {
        due.iter().any(|&gi| {
            self.groups[gi]
                .fsm
                .silence_deadline()
                .is_some_and(|t| t <= now)
        })
    }

    /// The frames that already arrived: those the rx tasks queued, then what waits in the
    /// sockets, each fed at the time it arrived. The rx tasks run on the loop's thread, so
    /// a loop woken late (a busy host) would otherwise take a peer's hellos waiting in the
    /// socket for its silence and take over; fed at their arrival, they restart the timer
    /// as they would have on time, and a peer that really fell silent is still judged so.
    async fn read_waiting_frames(&mut self, frames: &mut FrameRx) {
        while let Ok(batch) = frames.try_recv() {
            self.on_frames(&batch).await;
        }
        // Rare (a hold time ran out), so a buffer of its own rather than one kept around.
        let mut buf = vec![0u8; RX_FRAME];
        for iface in 0..self.ifaces.len() {
            let socket = self.ifaces[iface].socket.clone();
            for _ in 0..FRAME_QUEUE {
                match socket.try_recv(&mut buf) {
                    Ok(Some((n, stamp))) => {
                        let at = self.arrival(stamp);
                        self.on_frame_at(iface, &buf[..n], at).await;
                    }
                    Ok(None) => break,
                    // The rx task meets the same error and deals with it.
                    Err(e) => {
                        debug!("{e}");
                        break;
                    }
                }
            }
        }
    }

    /// The loop's time of a wall-clock arrival stamp: now, less the stamp's age (no stamp,
    /// or one from the future after a clock step, counts as now).
    fn arrival(&self, stamp: Option<std::time::SystemTime>) -> Time {
        receive::arrival_at(self.now(), std::time::SystemTime::now(), stamp)
    }

    /// The burst `first`, then whatever else is queued, before the next wait: one pass of
    /// the loop per burst rather than per frame.
    async fn on_frame_bursts(&mut self, first: &receive::FrameBatch, frames: &mut FrameRx) {
        let mut handled = self.on_frames(first).await;
        while handled < FRAME_BATCH {
            match frames.try_recv() {
                Ok(batch) => handled += self.on_frames(&batch).await,
                Err(_) => break,
            }
        }
    }

    /// The frames of one burst, in order, each fed at the time it arrived: a loop that
    /// woke late (a stalled process) and found the receive task's burst first must not
    /// take the peer's hellos in it for silence, which a timer expired at the time of
    /// reading would do. Returns how many.
    async fn on_frames(&mut self, batch: &receive::FrameBatch) -> usize {
        // One reading of both clocks per burst: the frames' ages differ by their stamps.
        let (now, wall) = (self.now(), std::time::SystemTime::now());
        for frame in batch.frames() {
            let at = receive::arrival_at(now, wall, frame.at);
            self.on_frame_at(batch.iface, frame.data, at).await;
        }
        batch.len()
    }

    /// One received frame on interface `iface` that arrived at `at`.
    async fn on_frame_at(&mut self, iface: usize, frame: &[u8], at: Time) {
        match self.classify(iface, frame) {
            Received::Ignored => return,
            Received::Solicitation(rs) => self.on_solicitation(iface, rs).await,
            Received::Message { gi, from, msg } => {
                self.feed_at(gi, at, Event::Received { from, msg }).await
            }
            Received::AuthFailed { gi, from, error } => {
                let g = &self.groups[gi];
                let n = g.fsm.auth_failures() + 1;
                // First failure, then every power of two: visible, never a log flood.
                if n.is_power_of_two() {
                    warn!(
                        "{}: message from {from} ignored: {error} ({n} failure(s) so far)",
                        g.key,
                    );
                }
                self.feed_at(gi, at, Event::AuthFailed { from }).await;
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
        // Parsed once; each accepted key is then checked without parsing again.
        let payload = match wire::Payload::parse(d.payload) {
            Ok(p) => p,
            Err(e) => {
                debug!("{name}: malformed HSRP from {}: {e}", d.src_ip);
                return Received::Ignored;
            }
        };
        let msg = match payload.repr().group_message() {
            Some(Ok(m)) => m,
            // Advertise / Interface State: nothing for the groups.
            None => return Received::Ignored,
            Some(Err(e)) => {
                debug!("{name}: malformed HSRP from {}: {e}", d.src_ip);
                return Received::Ignored;
            }
        };
        let ipv6 = d.src_ip.is_ipv6();
        let Some(gi) = self.groups.find(iface, msg.group, ipv6, msg.version) else {
            return Received::Ignored; // not a group of ours
        };
        let from = d.src_ip;
        let mut auth_error = None;
        for auth in &self.groups[gi].auths {
            match payload.decode(auth) {
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
        let effect = self.tracker.on_event(self.now(), &event);
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
            self.track_fact(object, up).await;
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
                if let Err(e) = self.dp.maps.add_tx_port(*ifindex) {
                    debug!("{name}: not a forwarding target: {e:#}");
                }
            }
            NetEvent::LinkRemoved { ifindex, name } => {
                if let Err(e) = self.dp.maps.remove_tx_port(*ifindex) {
                    warn!("{name}: removing the forwarding target: {e:#}");
                }
            }
            NetEvent::Resync => startup::add_forwarding_targets(&mut self.dp.maps),
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
            self.track_fact(object, up).await;
        }
        for (object, prefix) in self.tracker.routes() {
            match self.netlink.route_exists(prefix).await {
                Ok(up) => self.track_fact(object, up).await,
                Err(e) => warn!("track {object}: cannot look up route {prefix}: {e}"),
            }
        }
    }

    /// Feeds one event to one group and carries out what it says; a state change drives
    /// the groups following it in the same step.
    async fn feed(&mut self, gi: usize, event: Event) {
        let now = self.now();
        self.feed_at(gi, now, event).await;
    }

    /// [`Daemon::feed`] of an event that happened at `at` (a frame that waited).
    async fn feed_at(&mut self, gi: usize, at: Time, event: Event) {
        let before = self.groups[gi].fsm.state();
        self.feed_one_at(gi, at, event).await;
        if self.groups[gi].fsm.state() != before {
            self.drive_followers(gi).await;
        }
    }

    /// [`Daemon::feed`] without the followers.
    async fn feed_one(&mut self, gi: usize, event: Event) {
        let now = self.now();
        self.feed_one_at(gi, now, event).await;
    }

    async fn feed_one_at(&mut self, gi: usize, now: Time, event: Event) {
        let peer_before = bfd::bfd_peer(&self.groups[gi].fsm);
        let actions = self.groups.handle(gi, now, event);
        self.execute(gi, actions).await;
        // Only a change of the group's BFD peer can change the interface's sessions (a
        // scan of the interface's groups, so not on every hello).
        if bfd::bfd_peer(&self.groups[gi].fsm) != peer_before {
            self.sync_bfd_peers(self.groups[gi].iface);
        }
    }

    /// Graceful stop: Resign every Active group on the wire, keep forwarding until the
    /// Standby has taken over (`handover`), clear the maps, detach.
    async fn stop(&mut self, frames: &mut FrameRx, signals: &mut Signals) {
        self.resign_and_hand_over(frames, signals).await;
        let now = self.now();
        self.bfd.shutdown(now);
        // Resigned on the wire and handed over: the sentinel has nothing left to say.
        if let Some(s) = self.last_words.sentinel.take() {
            s.disarm();
        }
        if let Some(keeper) = self.dp.nexthop.take() {
            keeper.stop().await;
        }
        drop(self.dp.fast_path.take());
        if let Err(e) = self.dp.maps.reset() {
            warn!("clearing the data plane maps: {e:#}");
        }
        self.accept_remove_all();
        for iface in &self.ifaces {
            iface.rx_task.abort();
        }
        // Dropping the data plane detaches XDP from every interface and removes the pins.
        drop(self.dp.program.take());
        self.operator.finish().await;
        info!("{}", self.lateness);
        info!("stopped: groups resigned, maps cleared, XDP detached");
    }
}
