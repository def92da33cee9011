//! Tracked objects at run time: facts go into the `Tracker` (netlink events, lookups and
//! the background probes below), the changes it reports go to the groups that track them,
//! and delayed changes are applied when due.
//!
//! Probes are tokio tasks for the objects no netlink event reports (`ip routing` needs the
//! forwarding sysctl, which has no event here): each sends `(generation, object, up)` to the
//! loop after every check, so nothing in the loop ever waits for one. A reload starts a new
//! generation; facts of the old one are dropped.

use std::time::Duration;

use log::{debug, info};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::Daemon;
use crate::fsm::Event;
use crate::net::Netlink;
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
}

impl Drop for Probes {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl Probes {
    pub(super) fn new() -> Probes {
        let (tx, rx) = mpsc::channel(FACT_QUEUE);
        Probes {
            generation: 0,
            tx,
            rx,
            tasks: Vec::new(),
        }
    }

    /// Stops the probes of the previous configuration and starts those of `tracker`.
    pub(super) fn restart(&mut self, tracker: &Tracker) {
        for t in self.tasks.drain(..) {
            t.abort();
        }
        self.generation += 1;
        for (object, name) in tracker.ip_routing() {
            let tx = self.tx.clone();
            let generation = self.generation;
            self.tasks.push(tokio::spawn(async move {
                let netlink = match Netlink::connect() {
                    Ok(n) => n,
                    Err(e) => {
                        log::error!("track {object}: cannot watch {name}: {e}");
                        return;
                    }
                };
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
    let forwarding = crate::net::ipv4_forwarding(name).unwrap_or(false);
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
