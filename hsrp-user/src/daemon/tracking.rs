//! Tracked objects at run time: facts go into the `Tracker` (netlink events, lookups and
//! the background probes below), the changes it reports go to the groups that track them,
//! and delayed changes are applied when due.
//!
//! Probes are tokio tasks for the objects no netlink event reports (`ip routing` needs the
//! forwarding sysctl, which has no event here; scripts run as child processes with a
//! timeout, files are read): each sends `(generation, object, up)` to the
//! loop after every check, so nothing in the loop ever waits for one. A reload starts a new
//! generation; facts of the old one are dropped.

use std::process::Stdio;
use std::time::Duration;

use log::{debug, info, warn};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::Daemon;
use std::collections::BTreeMap;

use crate::config::{IpSla, SlaSource, TrackKind, IMPLICIT_TRACK_BASE};
use crate::control::{TrackPending, TrackStatus, TrackedBy};
use crate::fsm;
use crate::fsm::Event;
use crate::net::icmp::{EchoSocket, EchoSource};
use crate::net::Netlink;
use crate::track::probe::SlaCode;
use crate::track::probe::{file_state, RiseFall};
use crate::track::{TrackChange, Tracker};

/// How often an `ip routing` object is checked.
const IP_ROUTING_EVERY: Duration = Duration::from_secs(1);
/// Facts waiting for the loop; a probe waits when it is full.
const FACT_QUEUE: usize = 256;

/// A probe's finding: (generation, object, up).
pub(super) type Fact = (u64, u32, bool);

/// The running probes of one configuration.
pub(super) struct Probes {
    generation: u64,
    tx: mpsc::Sender<Fact>,
    pub(super) rx: mpsc::Receiver<Fact>,
    tasks: Vec<JoinHandle<()>>,
    /// The daemon's netlink connection, asked by the `ip routing` probes.
    netlink: Netlink,
}

impl Drop for Probes {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl Probes {
    pub(super) fn new(netlink: Netlink) -> Probes {
        let (tx, rx) = mpsc::channel(FACT_QUEUE);
        Probes {
            generation: 0,
            tx,
            rx,
            tasks: Vec::new(),
            netlink,
        }
    }

    /// Stops the probes of the previous configuration and starts those of `tracker` (with
    /// the IP SLA operations its objects track).
    pub(super) fn restart(&mut self, tracker: &Tracker, slas: &BTreeMap<u32, IpSla>) {
        for t in self.tasks.drain(..) {
            t.abort();
        }
        self.generation += 1;
        // One task per tracked operation, reporting to every object that tracks it.
        let mut by_op: BTreeMap<u32, Vec<(u32, bool)>> = BTreeMap::new();
        for (object, kind) in tracker.kinds() {
            if let TrackKind::IpSla {
                operation,
                reachability,
            } = kind
            {
                by_op
                    .entry(*operation)
                    .or_default()
                    .push((object, *reachability));
            }
        }
        for (op, objects) in by_op {
            let Some(sla) = slas.get(&op).cloned() else {
                continue; // refused by the configuration check
            };
            let tx = self.tx.clone();
            self.tasks
                .push(tokio::spawn(run_ip_sla(tx, self.generation, sla, objects)));
        }
        for (object, kind) in tracker.kinds() {
            let task = match kind.clone() {
                TrackKind::Script {
                    path,
                    interval_s,
                    rise,
                    fall,
                    timeout_s,
                } => {
                    let every = Duration::from_secs(interval_s.into());
                    let limit = Duration::from_secs(timeout_s.into());
                    let rf = RiseFall::new(rise.into(), fall.into());
                    tokio::spawn(run_script(
                        self.tx.clone(),
                        self.generation,
                        object,
                        path,
                        every,
                        limit,
                        rf,
                    ))
                }
                TrackKind::File { path, interval_s } => {
                    let every = Duration::from_secs(interval_s.into());
                    tokio::spawn(watch_file(
                        self.tx.clone(),
                        self.generation,
                        object,
                        path,
                        every,
                    ))
                }
                _ => continue,
            };
            self.tasks.push(task);
        }
        for (object, name) in tracker.ip_routing() {
            let tx = self.tx.clone();
            let generation = self.generation;
            let netlink = self.netlink.clone();
            self.tasks.push(tokio::spawn(async move {
                let mut every = tokio::time::interval(IP_ROUTING_EVERY);
                loop {
                    every.tick().await;
                    let up = ip_routing_up(&netlink, &name).await;
                    if tx.send((generation, object, up)).await.is_err() {
                        return;
                    }
                }
            }));
        }
    }

    /// Whether a fact belongs to the running configuration.
    pub(super) fn current(&self, generation: u64) -> bool {
        generation == self.generation
    }
}

/// Runs an IP SLA `icmp-echo` operation every `frequency`: one echo, its return code, and
/// the state each tracking object makes of it.
async fn run_ip_sla(
    tx: mpsc::Sender<Fact>,
    generation: u64,
    sla: IpSla,
    objects: Vec<(u32, bool)>,
) {
    let Some(target) = sla.target else { return };
    let source = match &sla.source {
        SlaSource::Any => EchoSource::Any,
        SlaSource::Interface(i) => EchoSource::Interface(i.clone()),
        SlaSource::Address(a) => EchoSource::Address(*a),
    };
    // Tells this operation's replies from other operations' (a raw socket sees them all).
    let ident = (std::process::id() as u16).rotate_left(8) ^ (sla.id as u16);
    let timeout = Duration::from_millis(sla.timeout_ms.into());
    let threshold = Duration::from_millis(sla.threshold_ms.into());
    let mut tick = tokio::time::interval(Duration::from_secs(sla.frequency_s.into()));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut socket: Option<EchoSocket> = None;
    let mut last_error: Option<String> = None;
    loop {
        tick.tick().await;
        if socket.is_none() {
            match EchoSocket::open(target, &source, ident) {
                Ok(s) => socket = Some(s),
                Err(e) => note_error(&mut last_error, sla.id, e.to_string()),
            }
        }
        let rtt = match socket.as_mut() {
            Some(s) => match s.echo(timeout).await {
                Ok(rtt) => rtt,
                Err(e) => {
                    // Re-opened at the next probe (the source interface may come back).
                    note_error(&mut last_error, sla.id, e.to_string());
                    socket = None;
                    None
                }
            },
            None => None,
        };
        let code = SlaCode::of(rtt, threshold);
        debug!("ip sla {}: {code:?} ({rtt:?})", sla.id);
        for (object, reachability) in &objects {
            if tx
                .send((generation, *object, code.tracked_up(*reachability)))
                .await
                .is_err()
            {
                return;
            }
        }
    }
}

/// Logs an operation's socket error once until it changes.
fn note_error(last: &mut Option<String>, op: u32, e: String) {
    if last.as_ref() != Some(&e) {
        warn!("ip sla {op}: {e}; counted as a timeout");
        *last = Some(e);
    }
}

/// Runs a tracked script every `every`, never more than one at a time: a run that outlasts
/// `limit` is killed and counts as a failure. The loop only ever sees the facts.
async fn run_script(
    tx: mpsc::Sender<Fact>,
    generation: u64,
    object: u32,
    path: String,
    every: Duration,
    limit: Duration,
    mut rf: RiseFall,
) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let success = match script_once(&path, limit).await {
            Ok(ok) => ok,
            Err(why) => {
                warn!("track {object}: script {path}: {why}");
                false
            }
        };
        let up = rf.record(success);
        if tx.send((generation, object, up)).await.is_err() {
            return;
        }
    }
}

/// One run: Ok(exited 0), Ok(false) for another exit, Err when it could not run or was
/// killed at the timeout.
async fn script_once(path: &str, limit: Duration) -> Result<bool, String> {
    let mut child = tokio::process::Command::new(path)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot run it: {e}"))?;
    match tokio::time::timeout(limit, child.wait()).await {
        Ok(Ok(status)) => Ok(status.success()),
        Ok(Err(e)) => Err(format!("waiting for it: {e}")),
        Err(_) => {
            let _ = child.kill().await;
            Err(format!("killed after the {} s timeout", limit.as_secs()))
        }
    }
}

/// Reads a tracked file every `every` (see `track::probe::file_state`); a missing file
/// or other contents count as down, said once per distinct reason.
async fn watch_file(
    tx: mpsc::Sender<Fact>,
    generation: u64,
    object: u32,
    path: String,
    every: Duration,
) {
    let mut tick = tokio::time::interval(every);
    let mut last_problem: Option<String> = None;
    loop {
        tick.tick().await;
        let (up, problem) = match tokio::fs::read_to_string(&path).await {
            Ok(text) => match file_state(&text) {
                Some(up) => (up, None),
                None => (
                    false,
                    Some(format!("contents {:?} are not up/1 or down/0", text.trim())),
                ),
            },
            Err(e) => (false, Some(format!("cannot read it: {e}"))),
        };
        if problem != last_problem {
            if let Some(p) = &problem {
                warn!("track {object}: file {path}: {p}; counted as down");
            }
            last_problem = problem;
        }
        if tx.send((generation, object, up)).await.is_err() {
            return;
        }
    }
}

/// IOS `ip routing` state of an interface: line protocol up, an IPv4 address, and IPv4
/// forwarding on for it.
async fn ip_routing_up(netlink: &Netlink, name: &str) -> bool {
    let info = match netlink.interface_info(name).await {
        Ok(info) => info,
        Err(e) => {
            debug!("ip routing of {name}: {e}");
            return false;
        }
    };
    let forwarding = crate::net::ipv4_forwarding_on(name).unwrap_or(false);
    info.oper_up && !info.ipv4.is_empty() && forwarding
}

impl Daemon {
    /// A fact about leaf object `object`; the groups hear of every resulting change.
    pub(super) async fn track_fact(&mut self, object: u32, up: bool) {
        let now = self.now();
        for change in self.tracker.set(now, object, up) {
            self.apply_track(change).await;
        }
    }

    /// A probe's fact, unless it is from a configuration that is gone.
    pub(super) async fn on_probe(&mut self, (generation, object, up): Fact) {
        if self.probes.current(generation) {
            self.track_fact(object, up).await;
            self.advertise().await;
        }
    }

    /// Delayed changes (`delay up/down`) that are due.
    pub(super) async fn track_timers(&mut self) {
        let now = self.now();
        for change in self.tracker.poll(now) {
            self.apply_track(change).await;
        }
    }

    /// Tells the groups tracking `change.object` about it.
    pub(super) async fn apply_track(&mut self, change: TrackChange) {
        // An operator's `hsrpd control track` override hides the object's own changes.
        if self.track_masked(change.object, change.up) {
            return;
        }
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
}

impl Daemon {
    /// The tracked objects for `hsrpd status --track`.
    pub(super) fn track_status(&self) -> Vec<TrackStatus> {
        let now = self.now();
        self.tracker
            .objects()
            .into_iter()
            .map(|(spec, info)| {
                let tracked_by = self
                    .groups
                    .iter()
                    .flat_map(|g| {
                        g.fsm
                            .config()
                            .tracks
                            .iter()
                            .filter(|t| t.object == spec.id)
                            .map(|t| TrackedBy {
                                interface: g.key.iface.clone(),
                                group: g.key.group,
                                action: match t.action {
                                    fsm::TrackAction::Decrement(d) => format!("decrement {d}"),
                                    fsm::TrackAction::Shutdown => "shutdown".into(),
                                },
                            })
                    })
                    .collect();
                let mut kind = spec.kind.describe();
                if spec.id >= IMPLICIT_TRACK_BASE {
                    kind.push_str(" (from `standby G track IF`)");
                }
                TrackStatus {
                    object: spec.id,
                    kind,
                    state: match info.up {
                        Some(true) => "up",
                        Some(false) => "down",
                        None => "unknown",
                    }
                    .into(),
                    changes: info.changes,
                    last_change_s: info
                        .last_change
                        .map(|t| now.saturating_since(t).as_secs_f64()),
                    delay_up_s: spec.delay_up_s,
                    delay_down_s: spec.delay_down_s,
                    pending: info.pending.map(|(up, at)| TrackPending {
                        up,
                        in_ms: u64::try_from(at.saturating_since(now).as_millis())
                            .unwrap_or(u64::MAX),
                    }),
                    tracked_by,
                }
            })
            .collect()
    }
}
