//! The indexes that keep one wake-up of the loop independent of the number of groups: the
//! groups' deadlines in order (the next wake-up, and which groups are due, without asking
//! every group) and the lookup of a received message's group. With a thousand groups at
//! 100 ms hellos the loop wakes some ten thousand times a second; scanning every group on
//! each wake-up is what made such a daemon fall behind its own hellos.

use std::collections::{BTreeSet, HashMap};

use crate::fsm::Time;
use crate::proto::Version;

/// Group indices ordered by their next deadline.
#[derive(Debug, Default)]
pub struct Schedule {
    order: BTreeSet<(Time, usize)>,
    /// Each group's entry in `order`, by group index.
    at: Vec<Option<Time>>,
}

impl Schedule {
    /// Records group `gi`'s next deadline (None: it needs no timer).
    pub fn set(&mut self, gi: usize, deadline: Option<Time>) {
        if gi >= self.at.len() {
            self.at.resize(gi + 1, None);
        }
        if self.at[gi] == deadline {
            return;
        }
        if let Some(old) = self.at[gi] {
            self.order.remove(&(old, gi));
        }
        if let Some(t) = deadline {
            self.order.insert((t, gi));
        }
        self.at[gi] = deadline;
    }

    /// Forgets everything, for `len` groups (after groups were added or removed).
    pub fn clear(&mut self, len: usize) {
        self.order.clear();
        self.at.clear();
        self.at.resize(len, None);
    }

    /// The earliest deadline of all groups.
    pub fn next(&self) -> Option<Time> {
        self.order.first().map(|(t, _)| *t)
    }

    /// Appends to `out` the groups whose deadline is at or before `now`, earliest first.
    pub fn due(&self, now: Time, out: &mut Vec<usize>) {
        out.extend(
            self.order
                .iter()
                .take_while(|(t, _)| *t <= now)
                .map(|(_, gi)| *gi),
        );
    }
}

/// What identifies a received message's group: interface index, group number, address
/// family (IPv6?) and version.
pub type GroupAddress = (usize, u16, bool, Version);

/// Received message → group index.
#[derive(Debug, Default)]
pub struct GroupIndex {
    map: HashMap<GroupAddress, usize>,
}

impl GroupIndex {
    pub fn rebuild(&mut self, groups: impl IntoIterator<Item = (GroupAddress, usize)>) {
        self.map.clear();
        for (addr, gi) in groups {
            // The first group wins, as the linear search it replaces did.
            self.map.entry(addr).or_insert(gi);
        }
    }

    pub fn get(&self, addr: &GroupAddress) -> Option<usize> {
        self.map.get(addr).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn t(ms: u64) -> Time {
        Time::ZERO + Duration::from_millis(ms)
    }

    #[test]
    fn keeps_one_entry_per_group_in_deadline_order() {
        let mut s = Schedule::default();
        s.set(0, Some(t(30)));
        s.set(1, Some(t(10)));
        s.set(2, Some(t(20)));
        assert_eq!(s.next(), Some(t(10)));
        // Moving a deadline replaces the group's entry.
        s.set(1, Some(t(40)));
        s.set(2, None);
        assert_eq!(s.next(), Some(t(30)));
        let mut due = Vec::new();
        s.due(t(35), &mut due);
        assert_eq!(due, [0]);
        due.clear();
        s.due(t(40), &mut due);
        assert_eq!(due, [0, 1]);
        // Two groups with the same deadline are both kept.
        s.set(5, Some(t(30)));
        due.clear();
        s.due(t(30), &mut due);
        assert_eq!(due, [0, 5]);
        s.clear(3);
        assert_eq!(s.next(), None);
    }

    #[test]
    fn finds_groups_by_interface_number_family_and_version() {
        let mut idx = GroupIndex::default();
        idx.rebuild([
            ((0, 1, false, Version::V2), 0),
            ((0, 1, true, Version::V2), 1),
            ((1, 1, false, Version::V1), 2),
            ((0, 1, false, Version::V2), 3),
        ]);
        assert_eq!(idx.get(&(0, 1, false, Version::V2)), Some(0));
        assert_eq!(idx.get(&(0, 1, true, Version::V2)), Some(1));
        assert_eq!(idx.get(&(1, 1, false, Version::V1)), Some(2));
        assert_eq!(idx.get(&(1, 1, false, Version::V2)), None);
    }
}
