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

use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result};
use futures::channel::mpsc::UnboundedReceiver;
use futures::{StreamExt, TryStreamExt};
use log::{debug, info, warn};
use rtnetlink::packet_core::{NetlinkMessage, NetlinkPayload};
use rtnetlink::packet_route::route::{RouteAttribute, RouteFlags, RouteMessage};
use rtnetlink::packet_route::rule::{RuleAction, RuleAttribute, RuleFlags, RuleMessage};
use rtnetlink::packet_route::{AddressFamily, RouteNetlinkMessage};
use rtnetlink::sys::SocketAddr;
use rtnetlink::{Handle, IpVersion, MulticastGroup};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::dataplane::nexthop::NexthopMaps;

/// Wait after a trigger before re-reading rules and routes: a burst of changes (a routing
/// daemon installing many routes) costs one dump.
pub const REDUMP_DELAY: Duration = Duration::from_millis(20);
/// Least time between the end of one dump and the start of the next, and the least
/// multiple of the last dump's duration: on a router with a full table and multipath
/// routes, every route change asks for a dump, and these bound the work to a small share
/// of a core (the cache stays off meanwhile, which is the safe side).
const REDUMP_SPACING: Duration = Duration::from_secs(1);
const REDUMP_SPACING_FACTOR: u32 = 10;
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
        let (connection, handle, messages) = rtnetlink::new_multicast_connection(&[
            MulticastGroup::Link,
            MulticastGroup::Neigh,
            MulticastGroup::Ipv4Ifaddr,
            MulticastGroup::Ipv6Ifaddr,
            MulticastGroup::Ipv4Route,
            MulticastGroup::Ipv6Route,
            MulticastGroup::Ipv4Rule,
            MulticastGroup::Ipv6Rule,
        ])
        .context("subscribing to netlink events for the next-hop cache")?;
        let connection = tokio::spawn(connection);
        let status = CacheStatus::default();
        status.set("off: reading the routing state".into());
        let mut keeper = Keeper {
            maps,
            status: status.clone(),
            handle,
            off_reason: None,
            route_reason: false,
            connection,
            last_dump: None,
            pruned_gen: None,
        };
        keeper.maps.clear()?;
        keeper.redump().await;
        Ok(NexthopKeeper {
            task: Some(tokio::spawn(keeper.run(messages))),
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
    handle: Handle,
    /// Why the cache is off (None: on).
    off_reason: Option<String>,
    /// Off because of a route (not a rule): any route event may end it.
    route_reason: bool,
    connection: JoinHandle<()>,
    /// End and duration of the last dump (for [`REDUMP_SPACING`]).
    last_dump: Option<(Instant, Duration)>,
    /// The generation at the last prune.
    pruned_gen: Option<u32>,
}

impl Drop for Keeper {
    fn drop(&mut self) {
        // Nobody keeps the cache correct any more.
        self.status.set("off: stopped".into());
        if let Err(e) = self.maps.off() {
            warn!("next-hop cache: cannot turn it off: {e:#}");
        }
        self.connection.abort();
    }
}

type Messages = UnboundedReceiver<(NetlinkMessage<RouteNetlinkMessage>, SocketAddr)>;

/// What one notification asks of the keeper.
#[derive(Debug, PartialEq, Eq)]
enum Reaction {
    Nothing,
    /// Invalidate the cache.
    Bump,
    /// Invalidate, and re-read rules and routes (the cache may have to go off or on).
    BumpAndRedump,
}

impl Keeper {
    async fn run(mut self, mut messages: Messages) {
        let mut redump_at: Option<Instant> = None;
        let mut prune = tokio::time::interval(PRUNE_INTERVAL);
        prune.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut refresh = tokio::time::interval(REFRESH_INTERVAL);
        refresh.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let deadline = redump_at;
            tokio::select! {
                msg = messages.next() => {
                    let Some((msg, _)) = msg else {
                        self.set_off("the netlink notification socket closed".into(), false);
                        // Nothing will turn it on again: stay here until stopped.
                        std::future::pending::<()>().await;
                        return;
                    };
                    match self.react(&msg) {
                        Reaction::Nothing => {}
                        Reaction::Bump => self.bump(),
                        Reaction::BumpAndRedump => {
                            self.bump();
                            redump_at.get_or_insert_with(|| self.next_redump(Instant::now()));
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

    fn react(&self, msg: &NetlinkMessage<RouteNetlinkMessage>) -> Reaction {
        let m = match &msg.payload {
            NetlinkPayload::InnerMessage(m) => m,
            // Notifications were lost: anything may have changed.
            NetlinkPayload::Overrun(_) => return Reaction::BumpAndRedump,
            _ => return Reaction::Nothing,
        };
        match m {
            RouteNetlinkMessage::NewRule(_) | RouteNetlinkMessage::DelRule(_) => {
                Reaction::BumpAndRedump
            }
            RouteNetlinkMessage::NewRoute(r) | RouteNetlinkMessage::DelRoute(r) => {
                if route_blocker(r).is_some() || self.route_reason {
                    Reaction::BumpAndRedump
                } else {
                    Reaction::Bump
                }
            }
            RouteNetlinkMessage::NewNeighbour(_)
            | RouteNetlinkMessage::DelNeighbour(_)
            | RouteNetlinkMessage::NewLink(_)
            | RouteNetlinkMessage::DelLink(_)
            | RouteNetlinkMessage::NewAddress(_)
            | RouteNetlinkMessage::DelAddress(_) => Reaction::Bump,
            _ => Reaction::Nothing,
        }
    }

    /// When to dump after a trigger at `now`: [`REDUMP_DELAY`] later (a burst of
    /// changes costs one dump), but not sooner than [`REDUMP_SPACING`], or ten times the
    /// last dump's duration, after the last dump ended.
    fn next_redump(&self, now: Instant) -> Instant {
        redump_time(now, self.last_dump)
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
        if self.pruned_gen == Some(gen) {
            return;
        }
        match self.maps.prune_stale() {
            Ok(n) => {
                debug!("next-hop cache: removed {n} entries of old generations");
                self.pruned_gen = Some(gen);
            }
            Err(e) => warn!("next-hop cache: {e:#}"),
        }
    }

    /// One write: every entry becomes stale (no-op while off).
    fn bump(&mut self) {
        if self.off_reason.is_some() {
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
        let started = Instant::now();
        let verdict = tokio::time::timeout(DUMP_TIMEOUT, blockers(&self.handle)).await;
        let end = Instant::now();
        self.last_dump = Some((end, end - started));
        match verdict {
            Ok(Ok(None)) => {
                self.route_reason = false;
                let was_off = self.off_reason.take();
                match self.maps.bump() {
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
                }
            }
            Ok(Ok(Some(Blocker { reason, by_route }))) => {
                self.set_off(reason, by_route);
                true
            }
            Ok(Err(e)) => {
                self.set_off(format!("cannot read the routing state: {e:#}"), false);
                false
            }
            Err(_) => {
                self.set_off("reading the routing state timed out".into(), false);
                false
            }
        }
    }

    fn set_off(&mut self, reason: String, by_route: bool) {
        if let Err(e) = self.maps.off() {
            warn!("next-hop cache: cannot turn it off: {e:#}");
        }
        if self.off_reason.as_deref() != Some(reason.as_str()) {
            info!("next-hop cache off: {reason}");
            self.status.set(format!("off: {reason}"));
        }
        self.off_reason = Some(reason);
        self.route_reason = by_route;
    }
}

/// See [`Keeper::next_redump`]; `last_dump` is (end, duration) of the last dump.
fn redump_time(now: Instant, last_dump: Option<(Instant, Duration)>) -> Instant {
    let soonest = now + REDUMP_DELAY;
    match last_dump {
        Some((end, took)) => soonest.max(end + REDUMP_SPACING.max(took * REDUMP_SPACING_FACTOR)),
        None => soonest,
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Why the cache must be off.
#[derive(Debug, PartialEq, Eq)]
struct Blocker {
    reason: String,
    /// A route (not a rule) is the reason.
    by_route: bool,
}

/// The first rule or route (IPv4, then IPv6) that a per-destination cache would get
/// wrong; `None` if there is none.
async fn blockers(handle: &Handle) -> Result<Option<Blocker>> {
    for version in [IpVersion::V4, IpVersion::V6] {
        let mut rules = handle.rule().get(version.clone()).execute();
        while let Some(rule) = rules.try_next().await.context("dumping rules")? {
            if let Some(reason) = rule_blocker(&rule) {
                return Ok(Some(Blocker {
                    reason,
                    by_route: false,
                }));
            }
        }
    }
    for family in [AddressFamily::Inet, AddressFamily::Inet6] {
        let mut query = RouteMessage::default();
        query.header.address_family = family;
        let mut routes = handle.route().get(query).execute();
        while let Some(route) = routes.try_next().await.context("dumping routes")? {
            if let Some(reason) = route_blocker(&route) {
                return Ok(Some(Blocker {
                    reason,
                    by_route: true,
                }));
            }
        }
    }
    Ok(None)
}

/// The kernel's default rules: (priority, table) of `from all lookup local/main/default`.
const DEFAULT_RULES: [(u32, u32); 3] = [(0, 255), (32766, 254), (32767, 253)];

/// Why `rule` makes the cache wrong (anything but a default rule), or `None`.
fn rule_blocker(rule: &RuleMessage) -> Option<String> {
    let h = &rule.header;
    let mut priority = 0;
    let mut table = u32::from(h.table);
    let mut selector = None;
    for attr in &rule.attributes {
        match attr {
            RuleAttribute::Priority(p) => priority = *p,
            RuleAttribute::Table(t) => table = *t,
            RuleAttribute::Protocol(_) => {}
            // -1 is "not set" (the kernel reports it on every rule).
            RuleAttribute::SuppressPrefixLen(u32::MAX)
            | RuleAttribute::SuppressIfGroup(u32::MAX) => {}
            other => selector = Some(other),
        }
    }
    let plain = h.action == RuleAction::ToTable
        && h.src_len == 0
        && h.dst_len == 0
        && h.tos == 0
        && !h.flags.contains(RuleFlags::Invert)
        && selector.is_none();
    if plain && DEFAULT_RULES.contains(&(priority, table)) {
        return None;
    }
    Some(format!(
        "a policy routing rule (priority {priority}, table {table}, {:?}, {:?}{})",
        h.family,
        h.action,
        selector.map(|s| format!(", {s:?}")).unwrap_or_default()
    ))
}

/// Why `route` makes the cache wrong (multipath, nexthop object, source-specific), or
/// `None`. Cached clones (PMTU and redirect exceptions) are not routes.
fn route_blocker(route: &RouteMessage) -> Option<String> {
    if route.header.flags.contains(RouteFlags::Cloned) {
        return None;
    }
    let what = if route.header.source_prefix_length != 0 {
        "a source-specific route"
    } else if route
        .attributes
        .iter()
        .any(|a| matches!(a, RouteAttribute::MultiPath(_)))
    {
        "a multipath route"
    } else if route
        .attributes
        .iter()
        .any(|a| matches!(a, RouteAttribute::NhId(_)))
    {
        "a route using a nexthop object"
    } else {
        return None;
    };
    let dst = route.attributes.iter().find_map(|a| match a {
        RouteAttribute::Destination(d) => Some(format!("{d:?}")),
        _ => None,
    });
    Some(format!(
        "{what} ({}/{} in table {})",
        dst.unwrap_or_else(|| "default".into()),
        route.header.destination_prefix_length,
        route
            .attributes
            .iter()
            .find_map(|a| match a {
                RouteAttribute::Table(t) => Some(*t),
                _ => None,
            })
            .unwrap_or(u32::from(route.header.table)),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rtnetlink::packet_route::route::{RouteAddress, RouteNextHop};

    #[test]
    fn dumps_are_debounced_and_spaced_by_their_own_cost() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        // First trigger: after the debounce delay only.
        assert_eq!(redump_time(t0, None), t0 + REDUMP_DELAY);
        // A cheap dump 5 ms ago: the next one waits for the 1 s spacing.
        assert_eq!(
            redump_time(t0, Some((t0 - ms(5), ms(3)))),
            t0 - ms(5) + ms(1000)
        );
        // A 400 ms dump (a full table): ten times that after it ended.
        assert_eq!(redump_time(t0, Some((t0, ms(400)))), t0 + ms(4000));
        // Long after the last dump: the debounce delay again.
        assert_eq!(
            redump_time(t0 + ms(60_000), Some((t0, ms(400)))),
            t0 + ms(60_000) + REDUMP_DELAY
        );
    }

    fn rule(priority: u32, table: u32) -> RuleMessage {
        let mut r = RuleMessage::default();
        r.header.family = AddressFamily::Inet;
        r.header.action = RuleAction::ToTable;
        r.header.table = if table < 256 { table as u8 } else { 252 };
        r.attributes.push(RuleAttribute::Priority(priority));
        r.attributes.push(RuleAttribute::Table(table));
        r.attributes
            .push(RuleAttribute::SuppressPrefixLen(u32::MAX));
        r
    }

    #[test]
    fn only_the_default_rules_keep_the_cache_on() {
        for (p, t) in DEFAULT_RULES {
            assert_eq!(rule_blocker(&rule(p, t)), None, "{p} {t}");
        }
        // Another table, or a default table at another priority.
        assert!(rule_blocker(&rule(100, 100)).is_some());
        assert!(rule_blocker(&rule(100, 254)).is_some());
        // A selector on a default rule.
        let mut from = rule(32766, 254);
        from.header.src_len = 24;
        from.attributes
            .push(RuleAttribute::Source("10.0.0.0".parse().unwrap()));
        assert!(rule_blocker(&from).is_some());
        let mut suppress = rule(32766, 254);
        suppress
            .attributes
            .push(RuleAttribute::SuppressPrefixLen(0));
        assert!(rule_blocker(&suppress).is_some());
        let mut mark = rule(32766, 254);
        mark.attributes.push(RuleAttribute::FwMark(1));
        assert!(rule_blocker(&mark).is_some());
        let mut not = rule(32766, 254);
        not.header.flags = RuleFlags::Invert;
        assert!(rule_blocker(&not).is_some());
    }

    fn route() -> RouteMessage {
        let mut r = RouteMessage::default();
        r.header.address_family = AddressFamily::Inet;
        r.header.destination_prefix_length = 24;
        r.attributes
            .push(RouteAttribute::Destination(RouteAddress::Inet(
                "10.9.9.0".parse().unwrap(),
            )));
        r
    }

    #[test]
    fn multipath_nexthop_objects_and_source_routes_turn_the_cache_off() {
        assert_eq!(route_blocker(&route()), None);
        let mut mp = route();
        mp.attributes
            .push(RouteAttribute::MultiPath(vec![RouteNextHop::default()]));
        assert!(route_blocker(&mp).unwrap().contains("multipath"));
        let mut nh = route();
        nh.attributes.push(RouteAttribute::NhId(7));
        assert!(route_blocker(&nh).unwrap().contains("nexthop object"));
        let mut src = route();
        src.header.source_prefix_length = 64;
        assert!(route_blocker(&src).unwrap().contains("source-specific"));
        // A cached clone is not a route.
        let mut clone = mp.clone();
        clone.header.flags = RouteFlags::Cloned;
        assert_eq!(route_blocker(&clone), None);
    }
}
