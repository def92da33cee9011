//! Tracking objects (`track N interface IF {line-protocol | ip routing}`, `track N ip route P
//! reachability`, `track N list ...`): their up/down state and the changes the groups must
//! hear about (`fsm::Event::Track`). The priority arithmetic itself lives in the state
//! machine; the list and delay logic in `eval`; this module maps facts onto objects and
//! answers "which object changed, and is it up now".
//!
//! Kept free of sockets: the daemon feeds it facts (a link's state, whether a route exists)
//! and asks which prefixes to look up again after a route event, so it is unit-tested
//! without a kernel.

pub mod eval;
pub mod probe;

use std::collections::BTreeMap;
use std::time::Duration;

use crate::config::{TrackKind, TrackSpec};
use crate::fsm::Time;
use crate::net::{IpPrefix, NetEvent};

use eval::{BoolOp, Evaluator, ObjectDef, ObjectInfo, Rule};

/// One object changed state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TrackChange {
    pub object: u32,
    pub up: bool,
}

/// What a netlink event means for the tracked objects.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Effect {
    /// Objects whose state the event decided on its own.
    pub changes: Vec<TrackChange>,
    /// Route objects whose prefix the event touched: the caller looks each up again
    /// (`Netlink::route_exists`) and reports it with [`Tracker::set`], because one route of
    /// several going away does not make the prefix unreachable.
    pub recheck: Vec<(u32, IpPrefix)>,
}

/// The tracked objects of one configuration and their last known state.
#[derive(Clone, Debug, Default)]
pub struct Tracker {
    specs: BTreeMap<u32, TrackSpec>,
    eval: Evaluator,
}

/// How the evaluator sees a configured object.
fn object_def(s: &TrackSpec) -> ObjectDef {
    let rule = match &s.kind {
        TrackKind::ListBoolean { and, members } => Rule::Boolean {
            op: if *and { BoolOp::And } else { BoolOp::Or },
            members: members.clone(),
        },
        TrackKind::ListThreshold {
            percentage,
            members,
            thresholds,
        } => {
            let (up, down) = thresholds.unwrap_or((1, 0));
            Rule::Threshold {
                percentage: *percentage,
                members: members.clone(),
                up,
                down,
            }
        }
        _ => Rule::Leaf,
    };
    ObjectDef {
        id: s.id,
        rule,
        delay_up: Duration::from_secs(s.delay_up_s.into()),
        delay_down: Duration::from_secs(s.delay_down_s.into()),
    }
}

impl Tracker {
    /// Objects of a configuration, none evaluated yet. The configuration was checked
    /// (members defined, no cycles); should the evaluator still refuse it, the lists are
    /// left out with an error logged and the leaf objects kept.
    pub fn new(specs: &BTreeMap<u32, TrackSpec>) -> Tracker {
        let defs: Vec<ObjectDef> = specs.values().map(object_def).collect();
        let eval = Evaluator::new(defs.clone()).unwrap_or_else(|e| {
            log::error!("tracking lists not evaluated: {e}");
            let leaves = defs.into_iter().filter(|d| d.rule == Rule::Leaf).collect();
            Evaluator::new(leaves).unwrap_or_default()
        });
        Tracker {
            specs: specs.clone(),
            eval,
        }
    }

    /// The last known state of `object` (unknown objects and unevaluated ones count as up,
    /// which is what a group assumes before it hears otherwise).
    pub fn is_up(&self, object: u32) -> bool {
        self.eval.is_up(object)
    }

    /// Every object and its state, for status and for re-syncing groups after a reload.
    pub fn states(&self) -> Vec<TrackChange> {
        self.eval
            .ids()
            .map(|object| TrackChange {
                object,
                up: self.is_up(object),
            })
            .collect()
    }

    /// What `show track` prints: each object's configuration and state.
    pub fn objects(&self) -> Vec<(&TrackSpec, ObjectInfo)> {
        self.specs
            .iter()
            .filter_map(|(id, s)| self.eval.info(*id).map(|i| (s, i)))
            .collect()
    }

    fn leaves_where<T>(&self, f: impl Fn(&TrackKind) -> Option<T>) -> Vec<(u32, T)> {
        self.specs
            .iter()
            .filter_map(|(id, s)| f(&s.kind).map(|t| (*id, t)))
            .collect()
    }

    /// Every object's kind.
    pub fn kinds(&self) -> impl Iterator<Item = (u32, &TrackKind)> {
        self.specs.iter().map(|(id, s)| (*id, &s.kind))
    }

    /// The line-protocol objects: (object, interface name).
    pub fn interfaces(&self) -> Vec<(u32, String)> {
        self.leaves_where(|k| match k {
            TrackKind::Interface { name } => Some(name.clone()),
            _ => None,
        })
    }

    /// The `ip routing` objects: (object, interface name).
    pub fn ip_routing(&self) -> Vec<(u32, String)> {
        self.leaves_where(|k| match k {
            TrackKind::IpRouting { name } => Some(name.clone()),
            _ => None,
        })
    }

    /// The route objects: (object, prefix, host bits cleared as the kernel keys routes).
    pub fn routes(&self) -> Vec<(u32, IpPrefix)> {
        self.leaves_where(|k| match k {
            TrackKind::Route { prefix, prefix_len } => IpPrefix::new(*prefix, *prefix_len),
            _ => None,
        })
    }

    /// Records a fact about leaf `object` at `now`; returns the objects that changed (the
    /// object itself unless delayed, and the lists it completes or flips).
    pub fn set(&mut self, now: Time, object: u32, up: bool) -> Vec<TrackChange> {
        self.eval.set_leaf(now, object, up)
    }

    /// When a delayed change is due.
    pub fn next_deadline(&self) -> Option<Time> {
        self.eval.next_deadline()
    }

    /// The delayed changes due at `now`.
    pub fn poll(&mut self, now: Time) -> Vec<TrackChange> {
        self.eval.poll(now)
    }

    /// What a netlink event changes. `Resync` (the kernel dropped events) asks for every
    /// route object to be looked up again; links come back as `Link` events of their own
    /// only when they change, so the caller re-reads links on `Resync` too.
    pub fn on_event(&mut self, now: Time, event: &NetEvent) -> Effect {
        let mut effect = Effect::default();
        match event {
            NetEvent::Link { name, oper_up, .. } => {
                for (id, n) in self.interfaces() {
                    if &n == name {
                        effect.changes.extend(self.set(now, id, *oper_up));
                    }
                }
            }
            NetEvent::LinkRemoved { name, .. } => {
                for (id, n) in self.interfaces() {
                    if &n == name {
                        effect.changes.extend(self.set(now, id, false));
                    }
                }
            }
            NetEvent::RouteAdded { prefix, .. } | NetEvent::RouteRemoved { prefix, .. } => {
                effect.recheck = self
                    .routes()
                    .into_iter()
                    .filter(|(_, p)| p == prefix)
                    .collect();
            }
            NetEvent::Resync => effect.recheck = self.routes(),
            NetEvent::AddressAdded { .. } | NetEvent::AddressRemoved { .. } => {}
        }
        effect
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn specs() -> BTreeMap<u32, TrackSpec> {
        let mut m = BTreeMap::new();
        m.insert(
            1,
            TrackSpec::new(
                1,
                1,
                TrackKind::Interface {
                    name: "eth1".into(),
                },
            ),
        );
        m.insert(
            2,
            TrackSpec::new(
                2,
                2,
                TrackKind::Route {
                    prefix: "10.9.0.0".parse().unwrap(),
                    prefix_len: 16,
                },
            ),
        );
        m
    }

    fn link(name: &str, up: bool) -> NetEvent {
        NetEvent::Link {
            ifindex: 3,
            name: name.into(),
            admin_up: true,
            oper_up: up,
            carrier: up,
        }
    }

    #[test]
    fn first_evaluation_reports_only_down_objects() {
        let mut t = Tracker::new(&specs());
        assert!(t.is_up(1));
        assert_eq!(t.set(Time::ZERO, 1, true), vec![]);
        assert_eq!(
            t.set(Time::ZERO, 2, false),
            vec![TrackChange {
                object: 2,
                up: false
            }]
        );
        assert!(!t.is_up(2));
        assert_eq!(
            t.set(Time::ZERO, 9, false),
            vec![],
            "unknown objects are ignored"
        );
    }

    #[test]
    fn link_events_change_interface_objects_once() {
        let mut t = Tracker::new(&specs());
        let e = t.on_event(Time::ZERO, &link("eth1", false));
        assert_eq!(
            e.changes,
            vec![TrackChange {
                object: 1,
                up: false
            }]
        );
        assert_eq!(t.on_event(Time::ZERO, &link("eth1", false)).changes, vec![]);
        assert_eq!(t.on_event(Time::ZERO, &link("eth2", true)).changes, vec![]);
        let e = t.on_event(Time::ZERO, &link("eth1", true));
        assert_eq!(
            e.changes,
            vec![TrackChange {
                object: 1,
                up: true
            }]
        );
        let e = t.on_event(
            Time::ZERO,
            &NetEvent::LinkRemoved {
                ifindex: 3,
                name: "eth1".into(),
            },
        );
        assert_eq!(
            e.changes,
            vec![TrackChange {
                object: 1,
                up: false
            }]
        );
    }

    #[test]
    fn route_events_ask_for_a_recheck_of_the_matching_prefix_only() {
        let mut t = Tracker::new(&specs());
        let p: IpPrefix = "10.9.0.0/16".parse().unwrap();
        let other: IpPrefix = "10.8.0.0/16".parse().unwrap();
        let e = t.on_event(
            Time::ZERO,
            &NetEvent::RouteRemoved {
                prefix: p,
                table: 254,
            },
        );
        assert_eq!(e.recheck, vec![(2, p)]);
        assert!(e.changes.is_empty());
        let e = t.on_event(
            Time::ZERO,
            &NetEvent::RouteAdded {
                prefix: other,
                table: 254,
                usable: true,
            },
        );
        assert!(e.recheck.is_empty());
        assert_eq!(
            t.on_event(Time::ZERO, &NetEvent::Resync).recheck,
            vec![(2, p)]
        );
    }
}
