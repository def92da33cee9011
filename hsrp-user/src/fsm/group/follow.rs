//! Following groups (IOS "client groups", `standby G follow NAME`): a group whose state is
//! driven by its master group's state changes instead of by an election of its own. It
//! ignores received messages, runs no Active/Standby/preempt timers, and sends no hellos but
//! the periodic MAC refresh hellos of an Active follower (`standby mac-refresh S`), which
//! keep the switches' MAC tables pointing at the vMAC. It is Active exactly when its master
//! is Active (and its own interface is up); the driver feeds the master's new state in the
//! same step as the master's own actions, so both vMACs flip together.

use super::{Action, Group, Time};
use crate::proto::State;

impl Group {
    /// True for a following group.
    pub fn follows(&self) -> bool {
        self.cfg.follow.is_some()
    }

    /// The master group's state as this follower last heard it (`Initial` before any).
    pub fn master_state(&self) -> State {
        self.master_state
    }

    pub(super) fn on_master_state(&mut self, now: Time, state: State, out: &mut Vec<Action>) {
        if !self.follows() || state == self.master_state {
            return;
        }
        self.master_state = state;
        self.mirror_master(now, "master group changed state", out);
    }

    /// Takes the master's state (Initial while this group cannot run: interface down,
    /// shut down, or a shutdown track down).
    pub(super) fn mirror_master(&mut self, now: Time, why: &str, out: &mut Vec<Action>) {
        let target = if self.can_run() {
            self.master_state
        } else {
            State::Initial
        };
        if target == self.state {
            return;
        }
        let master = self.cfg.follow.as_ref().map_or("", |f| f.master.as_str());
        let reason = format!(
            "{why}: following group {master}, which is {}",
            self.master_state
        );
        if target == State::Initial {
            self.go_initial(now, reason, false, out);
        } else {
            self.set_state(now, target, reason, out);
        }
    }

    /// The next refresh hello of an Active follower, `standby mac-refresh` from now (none
    /// with `standby mac-refresh 0`).
    pub(super) fn start_mac_refresh(&mut self, now: Time) {
        self.hello_timer = self
            .cfg
            .follow
            .as_ref()
            .and_then(|f| f.mac_refresh)
            .filter(|_| self.state == State::Active)
            .map(|every| now + every);
    }
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};
    use std::time::Duration;

    use super::*;
    use crate::fsm::{Event, Follow, GroupConfig, NoJitter};
    use crate::proto::{GroupMessage, MacAddr, Opcode, Version};

    fn follower(mac_refresh: Option<Duration>) -> Group {
        let mut c = GroupConfig::new(7, Version::V2);
        c.vip = Some(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 7)));
        c.follow = Some(Follow {
            master: "MASTER".into(),
            mac_refresh,
        });
        let ip = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2));
        Group::new(c, ip, MacAddr([2, 0, 0, 0, 0, 2]), Box::new(NoJitter)).unwrap()
    }

    fn at(ms: u64) -> Time {
        Time::ZERO + Duration::from_millis(ms)
    }

    fn hellos(actions: &[Action]) -> usize {
        actions
            .iter()
            .filter(|a| matches!(a, Action::Send { .. }))
            .count()
    }

    #[test]
    fn a_follower_is_active_exactly_when_its_master_is() {
        let mut g = follower(Some(Duration::from_secs(10)));
        assert!(
            g.handle(at(0), Event::InterfaceUp).is_empty(),
            "master still Initial"
        );
        assert_eq!(g.state(), State::Initial);
        g.handle(
            at(1),
            Event::MasterState {
                state: State::Listen,
            },
        );
        assert_eq!(g.state(), State::Listen);
        assert_eq!(g.next_deadline(), None, "no election timers of its own");
        let a = g.handle(
            at(2),
            Event::MasterState {
                state: State::Active,
            },
        );
        assert_eq!(g.state(), State::Active);
        assert!(a.contains(&Action::SetActive {
            active: true,
            vip: g.vip(),
            vmac: g.virtual_mac()
        }));
        assert!(a.iter().any(|a| matches!(a, Action::SendGratuitous { .. })));
        assert_eq!(hellos(&a), 0, "becoming Active sends no hello of its own");
        let a = g.handle(
            at(3),
            Event::MasterState {
                state: State::Speak,
            },
        );
        assert_eq!(g.state(), State::Speak);
        assert!(a
            .iter()
            .any(|a| matches!(a, Action::SetActive { active: false, .. })));
        assert_eq!(hellos(&a), 0);
        assert!(g
            .handle(
                at(4),
                Event::MasterState {
                    state: State::Speak
                }
            )
            .is_empty());
    }

    #[test]
    fn an_active_follower_sends_only_its_mac_refresh_hellos_from_the_vmac() {
        let mut g = follower(Some(Duration::from_secs(10)));
        g.handle(at(0), Event::InterfaceUp);
        g.handle(
            at(0),
            Event::MasterState {
                state: State::Active,
            },
        );
        let mut sent = Vec::new();
        let mut t = at(0);
        for _ in 0..100 {
            let Some(next) = g.next_deadline() else { break };
            if next > at(35_000) {
                break;
            }
            t = next;
            for a in g.handle(t, Event::Timer) {
                if let Action::Send { msg, from_vmac } = a {
                    sent.push((t, msg.opcode, msg.state, from_vmac));
                }
            }
        }
        assert!(t <= at(35_000));
        let times: Vec<Time> = sent.iter().map(|s| s.0).collect();
        assert_eq!(times, vec![at(10_000), at(20_000), at(30_000)]);
        assert!(sent
            .iter()
            .all(|s| (s.1, s.2, s.3) == (Opcode::Hello, State::Active, true)));
        // Leaving Active stops them; no Resign either (no messages of its own).
        let a = g.handle(
            at(36_000),
            Event::MasterState {
                state: State::Initial,
            },
        );
        assert_eq!(hellos(&a), 0);
        assert_eq!(g.next_deadline(), None);
    }

    #[test]
    fn mac_refresh_zero_means_no_hellos_at_all() {
        let mut g = follower(None);
        g.handle(at(0), Event::InterfaceUp);
        g.handle(
            at(0),
            Event::MasterState {
                state: State::Active,
            },
        );
        assert_eq!(g.state(), State::Active);
        // Only the repeated gratuitous announcement is left to do.
        let due = g.next_deadline().unwrap();
        let a = g.handle(due, Event::Timer);
        assert!(a.iter().all(|a| matches!(a, Action::SendGratuitous { .. })));
        assert_eq!(g.next_deadline(), None);
    }

    #[test]
    fn a_follower_ignores_the_election_on_the_wire_and_its_interface_rules() {
        let mut g = follower(Some(Duration::from_secs(10)));
        g.handle(at(0), Event::InterfaceUp);
        g.handle(
            at(0),
            Event::MasterState {
                state: State::Standby,
            },
        );
        let msg = GroupMessage {
            version: Version::V2,
            opcode: Opcode::Coup,
            state: State::Active,
            group: 7,
            priority: 255,
            hello_ms: 3000,
            hold_ms: 10_000,
            vip: g.vip(),
            identifier: Some(MacAddr([2, 0, 0, 0, 0, 9])),
        };
        let from = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 9));
        assert!(g.handle(at(1), Event::Received { from, msg }).is_empty());
        assert_eq!(g.state(), State::Standby);
        // Its own interface going down wins over the master's state, and coming back
        // takes the master's state again.
        g.handle(
            at(2),
            Event::MasterState {
                state: State::Active,
            },
        );
        let a = g.handle(at(3), Event::InterfaceDown);
        assert_eq!(g.state(), State::Initial);
        assert_eq!(hellos(&a), 0, "no Resign from a follower");
        g.handle(at(4), Event::InterfaceUp);
        assert_eq!(g.state(), State::Active);
    }
}
