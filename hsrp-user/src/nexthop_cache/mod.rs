//! Keeps the XDP next-hop cache correct: every rtnetlink notification that can change
//! what `bpf_fib_lookup` answers (routes, neighbours, links, addresses, rules; IPv4 and
//! IPv6) bumps the cache generation with one map write, which makes every entry stale;
//! the program refills entries from fresh lookups.
//!
//! The cache is keyed by (ingress interface, destination) only, so it is turned off
//! (generation 0) while the kernel's state makes the answer depend on more than that:
//! - a policy routing rule other than the defaults (local, main, default tables): the
//!   lookup may depend on the source, mark, tos, ...;
//! - a multipath route or a route using a nexthop object (RTA_MULTIPATH / RTA_NH_ID):
//!   the kernel hashes each flow to one path;
//! - an IPv6 source-specific route (`from PREFIX`).
//!
//! The decision comes from a dump of the rules and routes at start, and again (debounced,
//! at most one dump per [`REDUMP_DELAY`]) after any rule event, any route event carrying
//! one of those attributes, any route event while off for a route, and after the
//! kernel dropped notifications. If the notification socket fails, the cache goes off for
//! good: without events it cannot be kept correct.
//!
//! No notification reaches us for a per-device `forwarding` sysctl change (netconf, which
//! our netlink crate cannot parse) or a PMTU exception learnt for forwarded traffic: for
//! those the generation also moves every [`REFRESH_INTERVAL`], which bounds how long a
//! cached hop can outlive them.
//!
//! `policy` makes every decision (pure, tested with plain values); this module is the
//! edge: notifications and dumps from `net::RoutingWatch`, writes to the maps, the log.

mod policy;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Result;
use log::{debug, info, warn};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::dataplane::nexthop::NexthopMaps;
use crate::net::RoutingWatch;
use policy::{CacheState, Dump, Reaction, Turn};

pub use policy::REDUMP_DELAY;

/// The generation also moves this often without any notification: the safety net for
/// the changes no notification reports to us (a per-device `forwarding` sysctl, PMTU
/// exceptions), which bounds how long a cached hop can outlive them. Costs one fresh
/// fib lookup per destination per interval.
pub const REFRESH_INTERVAL: Duration = Duration::from_secs(1);
/// How often entries of old generations are removed (see [`NexthopMaps::prune_stale`]);
/// only when the generation has moved since the last pass.
const PRUNE_INTERVAL: Duration = Duration::from_secs(30);
/// Bound on one dump of the rules and routes.
const DUMP_TIMEOUT: Duration = Duration::from_secs(5);
/// Retry delay after a failed dump (the cache stays off meanwhile).
const DUMP_RETRY: Duration = Duration::from_secs(1);

/// The running keeper. Dropping it (or [`NexthopKeeper::stop`]) turns the cache off.
pub struct NexthopKeeper {
    task: Option<JoinHandle<()>>,
    status: CacheStatus,
}

/// The cache's state in words, for `hsrpd status`: "on", or "off: REASON". Written by the
/// keeper's task, read by the status socket.
#[derive(Clone, Default)]
struct CacheStatus(Arc<Mutex<String>>);

impl CacheStatus {
    fn set(&self, s: String) {
        // A poisoned lock only means a panic elsewhere while holding it: keep going.
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = s;
    }

    fn get(&self) -> String {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl NexthopKeeper {
    /// Subscribes to the notifications, reads the rules and routes, clears the cache and
    /// turns it on (or leaves it off with the reason logged), then keeps it in a task.
    /// Must be called inside a tokio runtime, in the network namespace of the data plane.
    pub async fn start(mut maps: NexthopMaps) -> Result<NexthopKeeper> {
        // Off first: nothing is used while we read the state.
        maps.off()?;
        let watch = RoutingWatch::subscribe().map_err(|e| {
            anyhow::Error::new(e).context("subscribing to netlink events for the next-hop cache")
        })?;
        let status = CacheStatus::default();
        status.set("off: reading the routing state".into());
        let mut keeper = Keeper {
            maps,
            status: status.clone(),
            watch,
            state: CacheState::default(),
        };
        keeper.maps.clear()?;
        keeper.redump().await;
        Ok(NexthopKeeper {
            task: Some(tokio::spawn(keeper.run())),
            status,
        })
    }

    /// "on", or "off: REASON".
    pub fn status(&self) -> String {
        self.status.get()
    }

    /// Stops keeping the cache and turns it off; returns once it is off.
    pub async fn stop(mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            let _ = task.await; // the keeper's Drop has run
        }
    }
}

impl Drop for NexthopKeeper {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

struct Keeper {
    maps: NexthopMaps,
    status: CacheStatus,
    watch: RoutingWatch,
    state: CacheState,
}

impl Drop for Keeper {
    fn drop(&mut self) {
        // Nobody keeps the cache correct any more.
        self.status.set("off: stopped".into());
        if let Err(e) = self.maps.off() {
            warn!("next-hop cache: cannot turn it off: {e:#}");
        }
    }
}

impl Keeper {
    async fn run(mut self) {
        let mut redump_at: Option<Instant> = None;
        let mut prune = tokio::time::interval(PRUNE_INTERVAL);
        prune.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut refresh = tokio::time::interval(REFRESH_INTERVAL);
        refresh.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let deadline = redump_at;
            tokio::select! {
                change = self.watch.next() => {
                    let Some(change) = change else {
                        self.set_off("the netlink notification socket closed".into(), false);
                        // Nothing will turn it on again: stay here until stopped.
                        std::future::pending::<()>().await;
                        return;
                    };
                    match self.state.react(&change) {
                        Reaction::Nothing => {}
                        Reaction::Bump => self.bump(),
                        Reaction::BumpAndRedump => {
                            self.bump();
                            redump_at.get_or_insert_with(|| {
                                Instant::from_std(self.state.next_redump(std::time::Instant::now()))
                            });
                        }
                    }
                }
                () = sleep_until(deadline) => {
                    redump_at = None;
                    if !self.redump().await {
                        redump_at = Some(Instant::now() + DUMP_RETRY);
                    }
                }
                _ = prune.tick() => self.prune(),
                _ = refresh.tick() => self.bump(),
            }
        }
    }

    /// Removes entries of old generations when the generation has moved since the last
    /// pass.
    fn prune(&mut self) {
        let gen = match self.maps.generation() {
            Ok(g) => g,
            Err(e) => {
                warn!("next-hop cache: {e:#}");
                return;
            }
        };
        if !self.state.prune_due(gen) {
            return;
        }
        match self.maps.prune_stale() {
            Ok(n) => {
                debug!("next-hop cache: removed {n} entries of old generations");
                self.state.pruned(gen);
            }
            Err(e) => warn!("next-hop cache: {e:#}"),
        }
    }

    /// One write: every entry becomes stale (no-op while off).
    fn bump(&mut self) {
        if !self.state.is_on() {
            return;
        }
        if let Err(e) = self.maps.bump() {
            warn!("next-hop cache: cannot bump the generation: {e:#}");
            self.set_off(format!("cannot write the generation: {e:#}"), false);
        }
    }

    /// Reads rules and routes and turns the cache on or off. False if the dump failed
    /// (the cache is then off).
    async fn redump(&mut self) -> bool {
        let started = std::time::Instant::now();
        let read = tokio::time::timeout(DUMP_TIMEOUT, self.watch.find_in_dump(policy::blocker));
        let dump = match read.await {
            Ok(Ok(None)) => Dump::Clear,
            Ok(Ok(Some(blocker))) => Dump::Blocked(blocker),
            Ok(Err(e)) => Dump::Failed(format!("cannot read the routing state: {e:#}")),
            Err(_) => Dump::Failed("reading the routing state timed out".into()),
        };
        let failed = matches!(dump, Dump::Failed(_));
        match self.state.dumped(started, std::time::Instant::now(), dump) {
            Turn::On { was_off } => match self.maps.bump() {
                Ok(gen) => {
                    self.status.set("on".into());
                    if let Some(reason) = was_off {
                        info!("next-hop cache on (generation {gen}; was off: {reason})");
                    }
                    true
                }
                Err(e) => {
                    self.set_off(format!("cannot write the generation: {e:#}"), false);
                    false
                }
            },
            Turn::Off { announce } => {
                self.off(announce);
                !failed
            }
        }
    }

    fn set_off(&mut self, reason: String, by_route: bool) {
        let announce = self.state.turn_off(reason, by_route);
        self.off(announce);
    }

    /// Turns the map off, and logs and shows a new reason.
    fn off(&mut self, announce: Option<String>) {
        if let Err(e) = self.maps.off() {
            warn!("next-hop cache: cannot turn it off: {e:#}");
        }
        if let Some(status) = announce {
            info!("next-hop cache {status}");
            self.status.set(status);
        }
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
