//! Hand-over without loss ("draining"). A Resign makes the Standby take over at once, but
//! until the new Active has flipped its data plane and its gratuitous ARP has moved the
//! vMAC on the switch, frames for the VIP still reach this router. So an Active group with
//! a known Standby that resigns for good (`Event::HandOver`, a graceful stop) or for
//! maintenance (`Event::Maintenance(true)`) keeps its data plane forwarding after the
//! Resign until the new Active's hello is heard plus [`DRAIN_GRACE`] (for its gratuitous
//! ARP and the frames already on their way here), bounded by the hold time (the Standby
//! takes over by then even if the Resign was lost) and by [`DRAIN_CAP`], so a stop never
//! hangs. Then `SetActive(false)` and `Action::Drained`.

use std::net::IpAddr;
use std::time::Duration;

use super::{Action, Group, Time};
use crate::proto::{GroupMessage, Opcode, State};

/// No hand-over waits longer than this for a takeover, whatever the hold time.
pub const DRAIN_CAP: Duration = Duration::from_secs(3);
/// Slack on top of the hold time: the new Active's wake-up and its first hello.
pub const DRAIN_HOLD_SLACK: Duration = Duration::from_millis(20);
/// After the new Active's hello: it sends its gratuitous ARP right after the hello, and
/// frames the switch sent here before the ARP moved the vMAC are still in flight.
pub const DRAIN_GRACE: Duration = Duration::from_millis(20);

/// A resigned group still forwarding until its successor has taken over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Drain {
    /// When the Resign went out.
    since: Time,
    /// When the data plane stops forwarding (moved up when the successor is heard).
    pub(super) until: Time,
    /// The new Active, and when its hello was heard.
    heard: Option<(IpAddr, Time)>,
}

impl Group {
    /// True while the group has resigned but still forwards (see the module).
    pub fn draining(&self) -> bool {
        self.drain.is_some()
    }

    /// Before an Active resigns: drain if a Standby is known to take over.
    pub(super) fn start_drain(&mut self, now: Time) {
        if self.state != State::Active || !self.data_plane_active || self.standby.is_none() {
            return;
        }
        let bound = self
            .timers()
            .hold
            .saturating_add(DRAIN_HOLD_SLACK)
            .min(DRAIN_CAP);
        self.drain = Some(Drain {
            since: now,
            until: now + bound,
            heard: None,
        });
    }

    /// A message heard while draining: the new Active's hello starts the grace.
    pub(super) fn drain_heard(&mut self, now: Time, from: std::net::IpAddr, msg: &GroupMessage) {
        let Some(d) = self.drain.as_mut() else {
            return;
        };
        let successor = msg.opcode == Opcode::Hello
            && msg.state == State::Active
            && msg.group == self.cfg.group
            && msg.version == self.cfg.version
            && from != self.local_ip
            && from.is_ipv6() == self.local_ip.is_ipv6();
        if successor && d.heard.is_none() {
            d.heard = Some((from, now));
            d.until = d.until.min(now + DRAIN_GRACE);
        }
    }

    /// The drain is over (its deadline passed): the data plane stops forwarding.
    pub(super) fn end_drain(&mut self, now: Time, out: &mut Vec<Action>) {
        let Some(d) = self.drain.take() else {
            return;
        };
        self.set_data_plane(false, out);
        // With no successor heard, the time waited is the bound, not how late the driver
        // came to end it (a late wake-up is not a longer wait for a takeover).
        let (to, at) = match d.heard {
            Some((ip, at)) => (Some(ip), at),
            None => (None, d.until.min(now)),
        };
        out.push(Action::Drained {
            to,
            after: at.saturating_since(d.since),
        });
    }
}
