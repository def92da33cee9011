//! The keeper's decisions, pure: which rules and routes a per-destination cache would get
//! wrong, what a notification asks for, when to dump again, and the cache's on/off state
//! with the reason it is off. The keeper (`super`) feeds it notifications and dump results
//! and carries out what it says on the maps.

use std::time::{Duration, Instant};

use crate::net::{RouteShape, RoutingChange, RoutingEntry, RuleShape};

/// Wait after a trigger before re-reading rules and routes: a burst of changes (a routing
/// daemon installing many routes) costs one dump.
pub const REDUMP_DELAY: Duration = Duration::from_millis(20);
/// Least time between the end of one dump and the start of the next, and the least
/// multiple of the last dump's duration: on a router with a full table and multipath
/// routes, every route change asks for a dump, and these bound the work to a small share
/// of a core (the cache stays off meanwhile, which is the safe side).
const REDUMP_SPACING: Duration = Duration::from_secs(1);
const REDUMP_SPACING_FACTOR: u32 = 10;

/// What one notification asks of the keeper.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Reaction {
    Nothing,
    /// Invalidate the cache.
    Bump,
    /// Invalidate, and re-read rules and routes (the cache may have to go off or on).
    BumpAndRedump,
}

/// Why the cache must be off.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Blocker {
    pub reason: String,
    /// A route (not a rule) is the reason.
    pub by_route: bool,
}

/// The result of reading the rules and routes.
#[derive(Debug)]
pub(super) enum Dump {
    /// Nothing a per-destination cache would get wrong.
    Clear,
    Blocked(Blocker),
    /// The dump failed or timed out: the reason in words.
    Failed(String),
}

/// What the keeper must do to the maps after [`CacheState::dumped`].
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Turn {
    /// Turn the cache on with a fresh generation; `was_off` is the reason it was off, for
    /// the log (`None`: it was on).
    On { was_off: Option<String> },
    /// Turn it off (see [`CacheState::turn_off`] for the announcement).
    Off { announce: Option<String> },
}

/// On, or off with a reason.
#[derive(Debug, Default)]
pub(super) struct CacheState {
    /// Why the cache is off (None: on).
    off_reason: Option<String>,
    /// Off because of a route (not a rule): any route event may end it.
    by_route: bool,
    /// End and duration of the last dump (for [`REDUMP_SPACING`]).
    last_dump: Option<(Instant, Duration)>,
    /// The generation at the last prune.
    pruned_gen: Option<u32>,
}

impl CacheState {
    pub fn is_on(&self) -> bool {
        self.off_reason.is_none()
    }

    /// What `change` asks for in the current state.
    pub fn react(&self, change: &RoutingChange) -> Reaction {
        match change {
            // Notifications were lost: anything may have changed.
            RoutingChange::Overrun | RoutingChange::Rule => Reaction::BumpAndRedump,
            RoutingChange::Route(r) => {
                if route_blocker(r).is_some() || self.by_route {
                    Reaction::BumpAndRedump
                } else {
                    Reaction::Bump
                }
            }
            RoutingChange::Neighbour | RoutingChange::Link | RoutingChange::Address => {
                Reaction::Bump
            }
            RoutingChange::Other => Reaction::Nothing,
        }
    }

    /// When to dump after a trigger at `now`: [`REDUMP_DELAY`] later (a burst of
    /// changes costs one dump), but not sooner than [`REDUMP_SPACING`], or ten times the
    /// last dump's duration, after the last dump ended.
    pub fn next_redump(&self, now: Instant) -> Instant {
        redump_time(now, self.last_dump)
    }

    /// Records a dump that ran from `started` to `ended` and decides the cache's state.
    pub fn dumped(&mut self, started: Instant, ended: Instant, dump: Dump) -> Turn {
        self.last_dump = Some((ended, ended - started));
        match dump {
            Dump::Clear => {
                self.by_route = false;
                Turn::On {
                    was_off: self.off_reason.take(),
                }
            }
            Dump::Blocked(Blocker { reason, by_route }) => Turn::Off {
                announce: self.turn_off(reason, by_route),
            },
            Dump::Failed(reason) => Turn::Off {
                announce: self.turn_off(reason, false),
            },
        }
    }

    /// The cache is off for `reason`; returns the status line to announce ("off: ...")
    /// when the reason is new, `None` when it is the same as before.
    pub fn turn_off(&mut self, reason: String, by_route: bool) -> Option<String> {
        let announce =
            (self.off_reason.as_deref() != Some(reason.as_str())).then(|| format!("off: {reason}"));
        self.off_reason = Some(reason);
        self.by_route = by_route;
        announce
    }

    /// Whether a prune pass is due at generation `gen` (only when it has moved since the
    /// last pass); [`CacheState::pruned`] records a pass.
    pub fn prune_due(&self, gen: u32) -> bool {
        self.pruned_gen != Some(gen)
    }

    pub fn pruned(&mut self, gen: u32) {
        self.pruned_gen = Some(gen);
    }
}

/// See [`CacheState::next_redump`]; `last_dump` is (end, duration) of the last dump.
fn redump_time(now: Instant, last_dump: Option<(Instant, Duration)>) -> Instant {
    let soonest = now + REDUMP_DELAY;
    match last_dump {
        Some((end, took)) => soonest.max(end + REDUMP_SPACING.max(took * REDUMP_SPACING_FACTOR)),
        None => soonest,
    }
}

/// Why a dumped entry makes the cache wrong, or `None`.
pub(super) fn blocker(entry: &RoutingEntry) -> Option<Blocker> {
    match entry {
        RoutingEntry::Rule(r) => rule_blocker(r).map(|reason| Blocker {
            reason,
            by_route: false,
        }),
        RoutingEntry::Route(r) => route_blocker(r).map(|reason| Blocker {
            reason,
            by_route: true,
        }),
    }
}

/// The kernel's default rules: (priority, table) of `from all lookup local/main/default`.
const DEFAULT_RULES: [(u32, u32); 3] = [(0, 255), (32766, 254), (32767, 253)];

/// Why `rule` makes the cache wrong (anything but a default rule), or `None`.
fn rule_blocker(rule: &RuleShape) -> Option<String> {
    let plain = rule.to_table
        && rule.src_len == 0
        && rule.dst_len == 0
        && rule.tos == 0
        && !rule.invert
        && rule.selector.is_none();
    if plain && DEFAULT_RULES.contains(&(rule.priority, rule.table)) {
        return None;
    }
    Some(format!(
        "a policy routing rule (priority {}, table {}, {}, {}{})",
        rule.priority,
        rule.table,
        rule.family,
        rule.action,
        rule.selector
            .as_ref()
            .map(|s| format!(", {s}"))
            .unwrap_or_default()
    ))
}

/// Why `route` makes the cache wrong (multipath, nexthop object, source-specific), or
/// `None`. Cached clones (PMTU and redirect exceptions) are not routes.
fn route_blocker(route: &RouteShape) -> Option<String> {
    if route.cloned {
        return None;
    }
    let what = if route.source_prefix_len != 0 {
        "a source-specific route"
    } else if route.multipath {
        "a multipath route"
    } else if route.nexthop_object {
        "a route using a nexthop object"
    } else {
        return None;
    };
    Some(format!(
        "{what} ({}/{} in table {})",
        route.destination.as_deref().unwrap_or("default"),
        route.prefix_len,
        route.table,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

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

    fn rule(priority: u32, table: u32) -> RuleShape {
        RuleShape {
            family: "Inet".into(),
            action: "ToTable".into(),
            to_table: true,
            priority,
            table,
            ..RuleShape::default()
        }
    }

    #[test]
    fn only_the_default_rules_keep_the_cache_on() {
        for (p, t) in DEFAULT_RULES {
            assert_eq!(rule_blocker(&rule(p, t)), None, "{p} {t}");
        }
        // Another table, or a default table at another priority.
        assert_eq!(
            rule_blocker(&rule(100, 100)).unwrap(),
            "a policy routing rule (priority 100, table 100, Inet, ToTable)"
        );
        assert!(rule_blocker(&rule(100, 254)).is_some());
        // A selector, a source prefix, an inversion or another action on a default rule.
        let mark = RuleShape {
            selector: Some("FwMark(1)".into()),
            ..rule(32766, 254)
        };
        assert!(rule_blocker(&mark).unwrap().ends_with(", FwMark(1))"));
        for r in [
            RuleShape {
                src_len: 24,
                ..rule(32766, 254)
            },
            RuleShape {
                invert: true,
                ..rule(32766, 254)
            },
            RuleShape {
                tos: 4,
                ..rule(32766, 254)
            },
            RuleShape {
                to_table: false,
                action: "Blackhole".into(),
                ..rule(32766, 254)
            },
        ] {
            assert!(rule_blocker(&r).is_some(), "{r:?}");
        }
    }

    fn route() -> RouteShape {
        RouteShape {
            destination: Some("Inet(10.9.9.0)".into()),
            prefix_len: 24,
            table: 254,
            ..RouteShape::default()
        }
    }

    #[test]
    fn multipath_nexthop_objects_and_source_routes_turn_the_cache_off() {
        assert_eq!(route_blocker(&route()), None);
        let mp = RouteShape {
            multipath: true,
            ..route()
        };
        assert_eq!(
            route_blocker(&mp).unwrap(),
            "a multipath route (Inet(10.9.9.0)/24 in table 254)"
        );
        let nh = RouteShape {
            nexthop_object: true,
            ..route()
        };
        assert!(route_blocker(&nh).unwrap().contains("nexthop object"));
        let src = RouteShape {
            source_prefix_len: 64,
            ..route()
        };
        assert!(route_blocker(&src).unwrap().contains("source-specific"));
        let default = RouteShape {
            destination: None,
            prefix_len: 0,
            ..mp.clone()
        };
        assert!(route_blocker(&default)
            .unwrap()
            .contains("(default/0 in table 254)"));
        // A cached clone is not a route.
        let clone = RouteShape { cloned: true, ..mp };
        assert_eq!(route_blocker(&clone), None);
    }

    #[test]
    fn notifications_bump_and_only_suspicious_ones_ask_for_a_dump() {
        let on = CacheState::default();
        assert_eq!(on.react(&RoutingChange::Link), Reaction::Bump);
        assert_eq!(on.react(&RoutingChange::Neighbour), Reaction::Bump);
        assert_eq!(on.react(&RoutingChange::Address), Reaction::Bump);
        assert_eq!(on.react(&RoutingChange::Route(route())), Reaction::Bump);
        assert_eq!(on.react(&RoutingChange::Other), Reaction::Nothing);
        assert_eq!(on.react(&RoutingChange::Rule), Reaction::BumpAndRedump);
        assert_eq!(on.react(&RoutingChange::Overrun), Reaction::BumpAndRedump);
        let mp = RoutingChange::Route(RouteShape {
            multipath: true,
            ..route()
        });
        assert_eq!(on.react(&mp), Reaction::BumpAndRedump);
        // Off because of a route: any route event may end it.
        let mut off = CacheState::default();
        off.turn_off("a multipath route".into(), true);
        assert_eq!(
            off.react(&RoutingChange::Route(route())),
            Reaction::BumpAndRedump
        );
        // Off because of a rule: a plain route changes nothing about that.
        let mut off = CacheState::default();
        off.turn_off("a policy routing rule".into(), false);
        assert_eq!(off.react(&RoutingChange::Route(route())), Reaction::Bump);
    }

    #[test]
    fn dumps_turn_the_cache_off_and_on_and_announce_only_new_reasons() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let mut s = CacheState::default();
        let blocked = |by_route| {
            Dump::Blocked(Blocker {
                reason: "a multipath route (x)".into(),
                by_route,
            })
        };
        assert_eq!(
            s.dumped(t0, t0 + ms(2), Dump::Clear),
            Turn::On { was_off: None }
        );
        assert!(s.is_on());
        assert_eq!(
            s.dumped(t0, t0 + ms(2), blocked(true)),
            Turn::Off {
                announce: Some("off: a multipath route (x)".into())
            }
        );
        assert!(!s.is_on());
        // The same reason again: off, silently.
        assert_eq!(
            s.dumped(t0, t0 + ms(2), blocked(true)),
            Turn::Off { announce: None }
        );
        assert_eq!(
            s.react(&RoutingChange::Route(route())),
            Reaction::BumpAndRedump
        );
        // A failed dump is another reason, and not a route's.
        assert_eq!(
            s.dumped(t0, t0 + ms(2), Dump::Failed("timed out".into())),
            Turn::Off {
                announce: Some("off: timed out".into())
            }
        );
        assert_eq!(s.react(&RoutingChange::Route(route())), Reaction::Bump);
        // Clear again: on, with the last reason for the log.
        assert_eq!(
            s.dumped(t0, t0 + ms(400), Dump::Clear),
            Turn::On {
                was_off: Some("timed out".into())
            }
        );
        assert!(s.is_on());
        // The 400 ms dump spaces the next one by ten times its cost.
        assert_eq!(s.next_redump(t0 + ms(400)), t0 + ms(4400));
    }

    #[test]
    fn pruning_waits_for_the_generation_to_move() {
        let mut s = CacheState::default();
        assert!(s.prune_due(5));
        s.pruned(5);
        assert!(!s.prune_due(5));
        assert!(s.prune_due(6));
    }

    #[test]
    fn the_first_blocking_entry_names_its_kind() {
        assert_eq!(blocker(&RoutingEntry::Route(route())), None);
        assert_eq!(blocker(&RoutingEntry::Rule(rule(0, 255))), None);
        assert!(blocker(&RoutingEntry::Rule(rule(5, 100))).is_some_and(|b| !b.by_route));
        let mp = RouteShape {
            multipath: true,
            ..route()
        };
        assert!(blocker(&RoutingEntry::Route(mp)).is_some_and(|b| b.by_route));
    }
}
