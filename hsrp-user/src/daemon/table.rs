//! The groups at run time and everything that finds and wakes them: the deadline order
//! (`schedule`), the lookup of a received message's group, each master's followers and
//! the IPv6 groups. Feeding a group goes through [`GroupTable::handle`], so its place in
//! the schedule can never lag behind its state machine.

use std::ops::{Index, IndexMut};

use super::follow::followers_of;
use super::groups::GroupKey;
use super::schedule::{GroupIndex, Schedule};
use crate::config::GroupSpec;
use crate::fsm::{Action, Event, Group, GroupConfig, GroupConfigError, Time};
use crate::proto::{Auth, MacAddr, Version};

/// One group at run time.
pub(super) struct GroupRt {
    pub key: GroupKey,
    /// Index into `Daemon::ifaces`.
    pub iface: usize,
    pub spec: GroupSpec,
    pub fsm: Group,
    /// What a received message may be signed with (the configured auth, key-chain keys).
    pub auths: Vec<Auth>,
    /// The virtual MAC installed in the maps and the NIC filter.
    pub vmac: MacAddr,
    /// Virtual addresses installed in the VIP map.
    pub vips: Vec<std::net::IpAddr>,
    /// `key-string ... timeout S`: the previous key, still accepted until then.
    pub old_key: Option<(Auth, Time)>,
}

#[derive(Default)]
pub(super) struct GroupTable {
    groups: Vec<GroupRt>,
    schedule: Schedule,
    index: GroupIndex,
    /// Per group, the groups following it.
    followers: Vec<Vec<usize>>,
    /// The IPv6 groups (the only ones with Router Advertisements and Solicitations).
    ipv6: Vec<usize>,
}

impl GroupTable {
    pub fn len(&self) -> usize {
        self.groups.len()
    }

    pub fn iter(&self) -> impl Iterator<Item = &GroupRt> {
        self.groups.iter()
    }

    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut GroupRt> {
        self.groups.iter_mut()
    }

    /// Feeds one event to group `gi`'s state machine and keeps its deadline in order.
    pub fn handle(&mut self, gi: usize, now: Time, event: Event) -> Vec<Action> {
        let actions = self.groups[gi].fsm.handle(now, event);
        self.reschedule(gi);
        actions
    }

    /// New configuration for group `gi` (`Group::reconfigure`), its deadline kept in order.
    pub fn reconfigure(
        &mut self,
        gi: usize,
        now: Time,
        cfg: GroupConfig,
    ) -> Result<Vec<Action>, GroupConfigError> {
        let actions = self.groups[gi].fsm.reconfigure(now, cfg);
        self.reschedule(gi);
        actions
    }

    fn reschedule(&mut self, gi: usize) {
        self.schedule.set(gi, self.groups[gi].fsm.next_deadline());
    }

    /// Adds a group; [`GroupTable::reindex`] once all changes are made.
    pub fn push(&mut self, g: GroupRt) -> usize {
        self.groups.push(g);
        let gi = self.groups.len() - 1;
        self.reschedule(gi);
        gi
    }

    /// Removes a group. Indices after it move down: until [`GroupTable::reindex`] no
    /// follower is driven and no timer is due (their entries would name the wrong groups).
    pub fn remove(&mut self, gi: usize) -> GroupRt {
        self.followers.clear();
        self.schedule.clear(self.groups.len() - 1);
        self.groups.remove(gi)
    }

    /// Rebuilds the schedule, the lookup, the followers and the IPv6 list (after groups
    /// were added or removed).
    pub fn reindex(&mut self) {
        self.schedule.clear(self.groups.len());
        for (gi, g) in self.groups.iter().enumerate() {
            self.schedule.set(gi, g.fsm.next_deadline());
        }
        self.index
            .rebuild(self.groups.iter().enumerate().map(|(gi, g)| {
                (
                    (g.iface, g.key.group, g.key.ipv6, g.fsm.config().version),
                    gi,
                )
            }));
        self.ipv6 = (0..self.groups.len())
            .filter(|&gi| self.groups[gi].key.ipv6)
            .collect();
        let names: Vec<Option<&str>> = self.groups.iter().map(|g| g.spec.name.as_deref()).collect();
        let follows: Vec<Option<&str>> = self
            .groups
            .iter()
            .map(|g| g.spec.follow.as_deref())
            .collect();
        self.followers = followers_of(&names, &follows);
    }

    /// The group a received message is for: interface, group number, family, version.
    pub fn find(&self, iface: usize, group: u16, ipv6: bool, version: Version) -> Option<usize> {
        self.index.get(&(iface, group, ipv6, version))
    }

    /// The earliest deadline of all groups.
    pub fn next_deadline(&self) -> Option<Time> {
        self.schedule.next()
    }

    /// Appends to `out` the groups whose deadline is at or before `now`, earliest first.
    pub fn due(&self, now: Time, out: &mut Vec<usize>) {
        self.schedule.due(now, out);
    }

    /// The groups following group `gi` (none while indices are being changed).
    pub fn followers(&self, gi: usize) -> &[usize] {
        self.followers.get(gi).map_or(&[], Vec::as_slice)
    }

    pub fn ipv6(&self) -> &[usize] {
        &self.ipv6
    }
}

impl Index<usize> for GroupTable {
    type Output = GroupRt;
    fn index(&self, gi: usize) -> &GroupRt {
        &self.groups[gi]
    }
}

impl IndexMut<usize> for GroupTable {
    fn index_mut(&mut self, gi: usize) -> &mut GroupRt {
        &mut self.groups[gi]
    }
}
