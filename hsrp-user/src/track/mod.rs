//! Tracking objects (`track N interface IF line-protocol`, `track N ip route P
//! reachability`): their up/down state, kept from netlink, and the changes the groups must
//! hear about (`fsm::Event::Track`). The priority arithmetic itself lives in the state
//! machine; this module only answers "which object changed, and is it up now".
//!
//! Kept free of sockets: the daemon feeds it facts (a link's state, whether a route exists)
//! and asks which prefixes to look up again after a route event, so it is unit-tested
//! without a kernel.

use std::collections::BTreeMap;

use crate::config::{TrackKind, TrackSpec};
use crate::net::{IpPrefix, NetEvent};

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
    objects: BTreeMap<u32, Object>,
}

#[derive(Clone, Debug)]
struct Object {
    kind: TrackKind,
    /// `None` until first evaluated. Groups start with every object up, so an object first
    /// found down is a change and one first found up is not.
    up: Option<bool>,
}

impl Tracker {
    /// Objects of a configuration, none evaluated yet.
    pub fn new(specs: &BTreeMap<u32, TrackSpec>) -> Tracker {
        let objects = specs
            .iter()
            .map(|(id, s)| {
                (
                    *id,
                    Object {
                        kind: s.kind.clone(),
                        up: None,
                    },
                )
            })
            .collect();
        Tracker { objects }
    }

    /// The last known state of `object` (unknown objects and unevaluated ones count as up,
    /// which is what a group assumes before it hears otherwise).
    pub fn is_up(&self, object: u32) -> bool {
        self.objects.get(&object).and_then(|o| o.up).unwrap_or(true)
    }

    /// Every object and its state, for status and for re-syncing groups after a reload.
    pub fn states(&self) -> Vec<TrackChange> {
        self.objects
            .keys()
            .map(|&object| TrackChange {
                object,
                up: self.is_up(object),
            })
            .collect()
    }

    /// The interface objects: (object, interface name).
    pub fn interfaces(&self) -> Vec<(u32, String)> {
        self.objects
            .iter()
            .filter_map(|(id, o)| match &o.kind {
                TrackKind::Interface { name } => Some((*id, name.clone())),
                TrackKind::Route { .. } => None,
            })
            .collect()
    }

    /// The route objects: (object, prefix, host bits cleared as the kernel keys routes).
    pub fn routes(&self) -> Vec<(u32, IpPrefix)> {
        self.objects
            .iter()
            .filter_map(|(id, o)| match &o.kind {
                TrackKind::Route { prefix, prefix_len } => {
                    IpPrefix::new(*prefix, *prefix_len).map(|p| (*id, p))
                }
                TrackKind::Interface { .. } => None,
            })
            .collect()
    }

    /// Records the state of `object`; returns the change if it is one.
    pub fn set(&mut self, object: u32, up: bool) -> Option<TrackChange> {
        let o = self.objects.get_mut(&object)?;
        let before = o.up.unwrap_or(true);
        o.up = Some(up);
        (before != up).then_some(TrackChange { object, up })
    }

    /// What a netlink event changes. `Resync` (the kernel dropped events) asks for every
    /// route object to be looked up again; links come back as `Link` events of their own
    /// only when they change, so the caller re-reads links on `Resync` too.
    pub fn on_event(&mut self, event: &NetEvent) -> Effect {
        let mut effect = Effect::default();
        match event {
            NetEvent::Link { name, oper_up, .. } => {
                for (id, n) in self.interfaces() {
                    if &n == name {
                        effect.changes.extend(self.set(id, *oper_up));
                    }
                }
            }
            NetEvent::LinkRemoved { name, .. } => {
                for (id, n) in self.interfaces() {
                    if &n == name {
                        effect.changes.extend(self.set(id, false));
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
            TrackSpec {
                id: 1,
                line: 1,
                kind: TrackKind::Interface {
                    name: "eth1".into(),
                },
            },
        );
        m.insert(
            2,
            TrackSpec {
                id: 2,
                line: 2,
                kind: TrackKind::Route {
                    prefix: "10.9.0.0".parse().unwrap(),
                    prefix_len: 16,
                },
            },
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
        assert_eq!(t.set(1, true), None);
        assert_eq!(
            t.set(2, false),
            Some(TrackChange {
                object: 2,
                up: false
            })
        );
        assert!(!t.is_up(2));
        assert_eq!(t.set(9, false), None, "unknown objects are ignored");
    }

    #[test]
    fn link_events_change_interface_objects_once() {
        let mut t = Tracker::new(&specs());
        let e = t.on_event(&link("eth1", false));
        assert_eq!(
            e.changes,
            vec![TrackChange {
                object: 1,
                up: false
            }]
        );
        assert_eq!(t.on_event(&link("eth1", false)).changes, vec![]);
        assert_eq!(t.on_event(&link("eth2", true)).changes, vec![]);
        let e = t.on_event(&link("eth1", true));
        assert_eq!(
            e.changes,
            vec![TrackChange {
                object: 1,
                up: true
            }]
        );
        let e = t.on_event(&NetEvent::LinkRemoved {
            ifindex: 3,
            name: "eth1".into(),
        });
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
        let e = t.on_event(&NetEvent::RouteRemoved {
            prefix: p,
            table: 254,
        });
        assert_eq!(e.recheck, vec![(2, p)]);
        assert!(e.changes.is_empty());
        let e = t.on_event(&NetEvent::RouteAdded {
            prefix: other,
            table: 254,
            usable: true,
        });
        assert!(e.recheck.is_empty());
        assert_eq!(t.on_event(&NetEvent::Resync).recheck, vec![(2, p)]);
    }
}
