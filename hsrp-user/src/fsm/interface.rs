//! Per-interface bookkeeping for the v1 Advertise / v2 Interface State messages: how many
//! groups on the interface are Active and how many are passive (running but not Active),
//! and when to announce it (on every change, and every 30 s while not dormant).

use std::time::Duration;

use super::time::Time;
use crate::proto::State;

/// How often the interface state is repeated while nothing changes (docs/protocol.md §4).
pub const ADVERTISE_INTERVAL: Duration = Duration::from_secs(30);

/// Group counts of one interface.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct InterfaceCounts {
    pub active: u16,
    pub passive: u16,
}

/// The interface as a whole, as v1 Advertise encodes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InterfaceRole {
    /// No group running.
    Dormant,
    /// Groups running, none Active.
    Passive,
    /// At least one group Active.
    Active,
}

impl InterfaceCounts {
    /// Count the states of all groups on one interface.
    pub fn of<I: IntoIterator<Item = State>>(states: I) -> InterfaceCounts {
        let mut c = InterfaceCounts::default();
        for s in states {
            match s {
                State::Active => c.active = c.active.saturating_add(1),
                State::Learn | State::Listen | State::Speak | State::Standby => {
                    c.passive = c.passive.saturating_add(1)
                }
                State::Initial | State::Disabled => {}
            }
        }
        c
    }

    pub fn role(&self) -> InterfaceRole {
        if self.active > 0 {
            InterfaceRole::Active
        } else if self.passive > 0 {
            InterfaceRole::Passive
        } else {
            InterfaceRole::Dormant
        }
    }
}

/// Decides when one interface announces its counts.
#[derive(Clone, Debug, Default)]
pub struct Advertiser {
    last: Option<(Time, InterfaceCounts)>,
}

impl Advertiser {
    /// Call after every batch of group events and at `next_deadline`: returns the counts to
    /// send now, if any (a change, or the periodic repeat while not dormant).
    pub fn poll(&mut self, now: Time, counts: InterfaceCounts) -> Option<InterfaceCounts> {
        let send = match self.last {
            None => counts.role() != InterfaceRole::Dormant,
            Some((at, last)) => {
                last != counts
                    || (counts.role() != InterfaceRole::Dormant && now >= at + ADVERTISE_INTERVAL)
            }
        };
        if send {
            self.last = Some((now, counts));
            Some(counts)
        } else {
            None
        }
    }

    /// When the periodic repeat is due.
    pub fn next_deadline(&self) -> Option<Time> {
        match self.last {
            Some((at, c)) if c.role() != InterfaceRole::Dormant => Some(at + ADVERTISE_INTERVAL),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_role() {
        let c = InterfaceCounts::of([State::Active, State::Standby, State::Listen, State::Initial]);
        assert_eq!(
            c,
            InterfaceCounts {
                active: 1,
                passive: 2
            }
        );
        assert_eq!(c.role(), InterfaceRole::Active);
        assert_eq!(
            InterfaceCounts::of([State::Speak]).role(),
            InterfaceRole::Passive
        );
        assert_eq!(
            InterfaceCounts::of([State::Initial]).role(),
            InterfaceRole::Dormant
        );
    }

    #[test]
    fn advertiser_sends_on_change_and_every_30s() {
        let mut a = Advertiser::default();
        let passive = InterfaceCounts {
            active: 0,
            passive: 1,
        };
        let active = InterfaceCounts {
            active: 1,
            passive: 0,
        };
        assert_eq!(a.poll(Time::ZERO, InterfaceCounts::default()), None);
        assert_eq!(a.poll(Time::from_secs(1), passive), Some(passive));
        assert_eq!(a.poll(Time::from_secs(2), passive), None);
        assert_eq!(a.next_deadline(), Some(Time::from_secs(31)));
        assert_eq!(a.poll(Time::from_secs(31), passive), Some(passive));
        assert_eq!(a.poll(Time::from_secs(32), active), Some(active));
        let dormant = InterfaceCounts::default();
        assert_eq!(a.poll(Time::from_secs(33), dormant), Some(dormant));
        assert_eq!(a.next_deadline(), None);
        assert_eq!(a.poll(Time::from_secs(100), dormant), None);
    }
}
