//! The logic of tracked objects, pure: lists (`track N list boolean {and|or}`, `track N list
//! threshold {weight|percentage}`) computed from their members, and `delay up S down S`
//! holding back a change until the new state has lasted that long. Driven like the state
//! machines: facts about the leaf objects come in with [`Evaluator::set_leaf`], time with
//! [`Evaluator::poll`] at [`Evaluator::next_deadline`]; out come the objects whose (delayed)
//! state changed. No I/O and no clock, so delays are tested in virtual time.

use std::collections::BTreeMap;
use std::time::Duration;

use super::TrackChange;
use crate::fsm::Time;

/// How a boolean list combines its members.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BoolOp {
    And,
    Or,
}

/// How an object's raw state is found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rule {
    /// Set from outside (interface, route, script, file, IP SLA).
    Leaf,
    /// Up when all (`And`) or any (`Or`) member is up; `true` in a member negates it (`not`).
    Boolean {
        op: BoolOp,
        members: Vec<(u32, bool)>,
    },
    /// The weight of the up members (or their percentage of all members) against two
    /// thresholds: up at `>= up`, down at `<= down`, unchanged between (hysteresis).
    Threshold {
        percentage: bool,
        members: Vec<(u32, u32)>,
        up: u32,
        down: u32,
    },
}

/// One object as the evaluator needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectDef {
    pub id: u32,
    pub rule: Rule,
    /// `delay up S`: a change to up waits this long (and is dropped if undone meanwhile).
    pub delay_up: Duration,
    /// `delay down S`: the same for a change to down.
    pub delay_down: Duration,
}

/// What `show track` prints about one object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ObjectInfo {
    /// `None` until first evaluated.
    pub up: Option<bool>,
    pub changes: u64,
    pub last_change: Option<Time>,
    /// A change waiting for its delay: (new state, when).
    pub pending: Option<(bool, Time)>,
}

#[derive(Clone, Debug)]
struct Object {
    def: ObjectDef,
    /// The undelayed state: a leaf's last fact, a list's computed value.
    raw: Option<bool>,
    info: ObjectInfo,
}

/// Every object of a configuration.
#[derive(Clone, Debug, Default)]
pub struct Evaluator {
    objects: BTreeMap<u32, Object>,
    /// For each object, the lists that have it as a member.
    dependents: BTreeMap<u32, Vec<u32>>,
}

impl Evaluator {
    /// Refuses lists that name undefined objects or contain themselves (directly or not).
    pub fn new(defs: Vec<ObjectDef>) -> Result<Evaluator, String> {
        let mut e = Evaluator::default();
        for def in defs {
            let info = ObjectInfo {
                up: None,
                changes: 0,
                last_change: None,
                pending: None,
            };
            e.objects.insert(
                def.id,
                Object {
                    def,
                    raw: None,
                    info,
                },
            );
        }
        for (id, o) in &e.objects {
            for m in members(&o.def.rule) {
                if !e.objects.contains_key(&m) {
                    return Err(format!("track {id}: object {m} is not defined"));
                }
                e.dependents.entry(m).or_default().push(*id);
            }
        }
        for id in e.objects.keys() {
            if e.reaches(*id, *id) {
                return Err(format!(
                    "track {id} is a member of itself (through its lists)"
                ));
            }
        }
        Ok(e)
    }

    /// True when `to` is reachable from `from` through the member relation (one step at
    /// least); bounded by the number of objects.
    fn reaches(&self, from: u32, to: u32) -> bool {
        let mut seen = std::collections::BTreeSet::new();
        let mut stack: Vec<u32> = self.dependents.get(&from).cloned().unwrap_or_default();
        while let Some(id) = stack.pop() {
            if id == to {
                return true;
            }
            if seen.insert(id) {
                stack.extend(self.dependents.get(&id).into_iter().flatten());
            }
        }
        false
    }

    /// The state the groups see (unevaluated objects count as up, as a group assumes
    /// before it hears otherwise).
    pub fn is_up(&self, id: u32) -> bool {
        self.objects
            .get(&id)
            .and_then(|o| o.info.up)
            .unwrap_or(true)
    }

    pub fn info(&self, id: u32) -> Option<ObjectInfo> {
        self.objects.get(&id).map(|o| o.info)
    }

    pub fn ids(&self) -> impl Iterator<Item = u32> + '_ {
        self.objects.keys().copied()
    }

    /// A new fact about a leaf object; returns the objects whose state changed now.
    pub fn set_leaf(&mut self, now: Time, id: u32, up: bool) -> Vec<TrackChange> {
        let mut out = Vec::new();
        match self.objects.get_mut(&id) {
            Some(o) if o.def.rule == Rule::Leaf => o.raw = Some(up),
            _ => return out,
        }
        self.settle(now, id, &mut out);
        out
    }

    /// The earliest pending delayed change.
    pub fn next_deadline(&self) -> Option<Time> {
        self.objects
            .values()
            .filter_map(|o| o.info.pending.map(|(_, t)| t))
            .min()
    }

    /// Applies the delayed changes due at `now`.
    pub fn poll(&mut self, now: Time) -> Vec<TrackChange> {
        let mut out = Vec::new();
        let due: Vec<u32> = self
            .objects
            .iter()
            .filter(|(_, o)| o.info.pending.is_some_and(|(_, t)| t <= now))
            .map(|(id, _)| *id)
            .collect();
        for id in due {
            let Some((up, _)) = self
                .objects
                .get_mut(&id)
                .and_then(|o| o.info.pending.take())
            else {
                continue;
            };
            self.change(now, id, up, &mut out);
        }
        out
    }

    /// Object `id`'s raw state may have changed: start, cancel or apply its change.
    fn settle(&mut self, now: Time, id: u32, out: &mut Vec<TrackChange>) {
        let Some(o) = self.objects.get_mut(&id) else {
            return;
        };
        let Some(raw) = o.raw else { return };
        match o.info.up {
            // The first value is the starting state, never delayed.
            None => self.change(now, id, raw, out),
            Some(state) if state == raw => o.info.pending = None,
            Some(_) => {
                let delay = if raw {
                    o.def.delay_up
                } else {
                    o.def.delay_down
                };
                if delay.is_zero() {
                    self.change(now, id, raw, out);
                } else if o.info.pending.map(|(up, _)| up) != Some(raw) {
                    o.info.pending = Some((raw, now + delay));
                }
            }
        }
    }

    /// Object `id` takes state `up` now; the lists it is a member of are recomputed.
    fn change(&mut self, now: Time, id: u32, up: bool, out: &mut Vec<TrackChange>) {
        let Some(o) = self.objects.get_mut(&id) else {
            return;
        };
        let before = o.info.up;
        o.info.pending = None;
        if before == Some(up) {
            return;
        }
        o.info.up = Some(up);
        if before.is_some() {
            o.info.changes += 1;
            o.info.last_change = Some(now);
        }
        // Groups start with every object up: a first state of up is no news to them.
        if before.is_some() || !up {
            out.push(TrackChange { object: id, up });
        }
        // Acyclic (checked in `new`), so this recursion ends within the object count.
        for list in self.dependents.get(&id).cloned().unwrap_or_default() {
            let raw = self.compute(list);
            if let Some(l) = self.objects.get_mut(&list) {
                l.raw = raw.or(l.raw);
            }
            self.settle(now, list, out);
        }
    }

    /// A list's value from its members' states; `None` until every member has one.
    fn compute(&self, id: u32) -> Option<bool> {
        let o = self.objects.get(&id)?;
        let state = |m: u32| self.objects.get(&m).and_then(|o| o.info.up);
        match &o.def.rule {
            Rule::Leaf => o.raw,
            Rule::Boolean { op, members } => {
                let values: Option<Vec<bool>> = members
                    .iter()
                    .map(|(m, not)| state(*m).map(|up| up != *not))
                    .collect();
                let values = values?;
                Some(match op {
                    BoolOp::And => values.iter().all(|v| *v),
                    BoolOp::Or => values.iter().any(|v| *v),
                })
            }
            Rule::Threshold {
                percentage,
                members,
                up,
                down,
            } => {
                let mut total = 0u64;
                let mut have = 0u64;
                for (m, w) in members {
                    let w = if *percentage { 1 } else { u64::from(*w) };
                    total += w;
                    if state(*m)? {
                        have += w;
                    }
                }
                let value = if *percentage {
                    (have * 100).checked_div(total).unwrap_or(0)
                } else {
                    have
                };
                if value >= u64::from(*up) {
                    Some(true)
                } else if value <= u64::from(*down) {
                    Some(false)
                } else {
                    // Between the thresholds: unchanged; a list never evaluated starts down.
                    Some(o.raw.unwrap_or(false))
                }
            }
        }
    }
}

fn members(rule: &Rule) -> Vec<u32> {
    match rule {
        Rule::Leaf => Vec::new(),
        Rule::Boolean { members, .. } => members.iter().map(|(m, _)| *m).collect(),
        Rule::Threshold { members, .. } => members.iter().map(|(m, _)| *m).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaf(id: u32) -> ObjectDef {
        ObjectDef {
            id,
            rule: Rule::Leaf,
            delay_up: Duration::ZERO,
            delay_down: Duration::ZERO,
        }
    }

    fn at(s: u64) -> Time {
        Time::ZERO + Duration::from_secs(s)
    }

    fn ch(object: u32, up: bool) -> TrackChange {
        TrackChange { object, up }
    }

    #[test]
    fn boolean_and_with_not() {
        let list = ObjectDef {
            id: 10,
            rule: Rule::Boolean {
                op: BoolOp::And,
                members: vec![(1, false), (2, true)],
            },
            ..leaf(10)
        };
        let mut e = Evaluator::new(vec![leaf(1), leaf(2), list]).unwrap();
        assert_eq!(e.set_leaf(at(0), 1, true), vec![]);
        assert!(
            e.info(10).unwrap().up.is_none(),
            "not every member known yet"
        );
        // 1 up AND NOT 2(down) = up: first state up is no news.
        assert_eq!(e.set_leaf(at(0), 2, false), vec![ch(2, false)]);
        assert_eq!(e.info(10).unwrap().up, Some(true));
        assert_eq!(e.set_leaf(at(1), 2, true), vec![ch(2, true), ch(10, false)]);
        assert_eq!(
            e.set_leaf(at(2), 1, false),
            vec![ch(1, false)],
            "still down"
        );
        assert_eq!(
            e.set_leaf(at(3), 2, false),
            vec![ch(2, false)],
            "1 is down: and stays down"
        );
        assert_eq!(e.set_leaf(at(4), 1, true), vec![ch(1, true), ch(10, true)]);
        assert_eq!(e.info(10).unwrap().changes, 2);
        assert_eq!(e.info(10).unwrap().last_change, Some(at(4)));
    }

    #[test]
    fn boolean_or() {
        let list = ObjectDef {
            rule: Rule::Boolean {
                op: BoolOp::Or,
                members: vec![(1, false), (2, false)],
            },
            ..leaf(10)
        };
        let mut e = Evaluator::new(vec![leaf(1), leaf(2), list]).unwrap();
        e.set_leaf(at(0), 1, true);
        e.set_leaf(at(0), 2, true);
        assert!(e.is_up(10));
        assert_eq!(e.set_leaf(at(1), 1, false), vec![ch(1, false)]);
        assert_eq!(
            e.set_leaf(at(2), 2, false),
            vec![ch(2, false), ch(10, false)]
        );
        assert!(!e.is_up(10));
    }

    #[test]
    fn threshold_weight_has_hysteresis() {
        // Weights 10, 20, 30; up at >= 40, down at <= 20.
        let list = ObjectDef {
            rule: Rule::Threshold {
                percentage: false,
                members: vec![(1, 10), (2, 20), (3, 30)],
                up: 40,
                down: 20,
            },
            ..leaf(10)
        };
        let mut e = Evaluator::new(vec![leaf(1), leaf(2), leaf(3), list]).unwrap();
        for id in 1..=3 {
            e.set_leaf(at(0), id, true);
        }
        assert!(e.is_up(10), "60 >= 40");
        e.set_leaf(at(1), 3, false);
        assert!(e.is_up(10), "30: between, unchanged");
        assert_eq!(
            e.set_leaf(at(2), 1, false),
            vec![ch(1, false), ch(10, false)],
            "20 <= 20"
        );
        e.set_leaf(at(3), 1, true);
        assert!(!e.is_up(10), "30: between, stays down");
        assert_eq!(e.set_leaf(at(4), 3, true), vec![ch(3, true), ch(10, true)]);
    }

    #[test]
    fn threshold_percentage_counts_members() {
        let list = ObjectDef {
            rule: Rule::Threshold {
                percentage: true,
                members: vec![(1, 99), (2, 1), (3, 1), (4, 1)],
                up: 75,
                down: 50,
            },
            ..leaf(10)
        };
        let mut e = Evaluator::new(vec![leaf(1), leaf(2), leaf(3), leaf(4), list]).unwrap();
        for id in 1..=4 {
            e.set_leaf(at(0), id, true);
        }
        assert!(e.is_up(10));
        e.set_leaf(at(1), 1, false);
        assert!(e.is_up(10), "75 % is still up (weights do not count)");
        e.set_leaf(at(1), 2, false);
        assert!(!e.is_up(10), "50 %");
    }

    #[test]
    fn delays_hold_back_changes_and_drop_flaps_in_virtual_time() {
        let mut one = leaf(1);
        one.delay_down = Duration::from_secs(5);
        one.delay_up = Duration::from_secs(10);
        let mut e = Evaluator::new(vec![one]).unwrap();
        assert_eq!(e.set_leaf(at(0), 1, true), vec![], "first state: at once");
        assert_eq!(e.set_leaf(at(100), 1, false), vec![]);
        assert_eq!(e.next_deadline(), Some(at(105)));
        assert_eq!(e.poll(at(104)), vec![]);
        assert!(e.is_up(1));
        // A flap shorter than the delay never shows.
        assert_eq!(e.set_leaf(at(104), 1, true), vec![]);
        assert_eq!(e.next_deadline(), None);
        assert_eq!(e.poll(at(106)), vec![]);
        assert!(e.is_up(1));
        // A real outage shows after 5 s, the recovery after 10 s.
        e.set_leaf(at(200), 1, false);
        e.set_leaf(at(201), 1, false);
        assert_eq!(
            e.next_deadline(),
            Some(at(205)),
            "a repeated fact does not restart it"
        );
        assert_eq!(e.poll(at(205)), vec![ch(1, false)]);
        e.set_leaf(at(300), 1, true);
        assert_eq!(e.poll(at(309)), vec![]);
        assert_eq!(e.poll(at(310)), vec![ch(1, true)]);
        assert_eq!(e.info(1).unwrap().changes, 2);
    }

    #[test]
    fn a_list_with_a_delay_delays_its_own_change() {
        let list = ObjectDef {
            id: 10,
            rule: Rule::Boolean {
                op: BoolOp::And,
                members: vec![(1, false)],
            },
            delay_up: Duration::ZERO,
            delay_down: Duration::from_secs(3),
        };
        let mut e = Evaluator::new(vec![leaf(1), list]).unwrap();
        e.set_leaf(at(0), 1, true);
        assert_eq!(e.set_leaf(at(10), 1, false), vec![ch(1, false)]);
        assert!(e.is_up(10));
        assert_eq!(e.poll(at(13)), vec![ch(10, false)]);
    }

    #[test]
    fn undefined_members_and_cycles_are_refused() {
        let bad = ObjectDef {
            rule: Rule::Boolean {
                op: BoolOp::And,
                members: vec![(7, false)],
            },
            ..leaf(10)
        };
        assert!(Evaluator::new(vec![bad]).unwrap_err().contains("object 7"));
        let a = ObjectDef {
            rule: Rule::Boolean {
                op: BoolOp::Or,
                members: vec![(11, false)],
            },
            ..leaf(10)
        };
        let b = ObjectDef {
            rule: Rule::Boolean {
                op: BoolOp::Or,
                members: vec![(10, false)],
            },
            ..leaf(11)
        };
        assert!(Evaluator::new(vec![a, b])
            .unwrap_err()
            .contains("member of itself"));
    }
}
