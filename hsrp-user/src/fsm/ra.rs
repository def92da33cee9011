//! The Router Advertisement schedule of an IPv6 group (RFC 4861 §6.2.4-6.2.6), pure like
//! the rest of the state machine: `Group` runs one while Active and says when an RA goes
//! out (`Action::Ra`); the driver builds and sends it.
//!
//! - Entering Active: an RA at once (after the flip, the unsolicited NAs and the first
//!   hello), then `INITIAL_RAS - 1` more `INITIAL_INTERVAL` apart (so a lost one does not
//!   leave hosts without a router), then one every [`max_interval`]·U(⅓, 1)
//!   (MinRtrAdvInterval..MaxRtrAdvInterval).
//! - A Router Solicitation on the interface (§6.2.6): the next RA is moved up to a random
//!   0-500 ms later, at least 3 s after the previous RA; several RSs before it goes out
//!   share it, and the periodic schedule continues from it ([`RaSchedule::solicit`]).
//! - Leaving Active for Initial (shutdown, interface down, tracking shutdown, maintenance):
//!   one final RA with router lifetime 0, *before* the Resign, so the Standby's first RA
//!   (which follows the Resign) is the last word hosts hear. Then silence.
//! - Leaving Active for Speak (deposed by a Coup or a higher-priority Active): silence, no
//!   final RA. Another router *is* the virtual router now; its RA went out before ours
//!   could, and a lifetime-0 RA from the same link-local would make hosts delete the
//!   default route the new Active just gave them (docs/ipv6.md).

use std::time::Duration;

use super::time::Time;

/// IOS's default `standby G ipv6 ra-lifetime`, seconds.
pub const DEFAULT_RA_LIFETIME_S: u16 = 1800;
/// RAs sent quickly after entering Active (RFC 4861 MAX_INITIAL_RTR_ADVERTISEMENTS).
pub const INITIAL_RAS: u8 = 3;
/// Spacing of those first RAs: RFC 4861's MIN_DELAY_BETWEEN_RAS, and the pace of the
/// repeated gratuitous ARP (docs/protocol.md §6).
pub const INITIAL_INTERVAL: Duration = Duration::from_secs(3);
/// IOS's default `ipv6 nd ra interval`.
pub const MAX_INTERVAL_CAP: Duration = Duration::from_secs(200);
/// RFC 4861 MAX_RA_DELAY_TIME: an RA answering a Router Solicitation waits a random time
/// up to this, so the routers of a link do not all answer at once.
pub const MAX_RA_DELAY: Duration = Duration::from_millis(500);
/// RFC 4861 MIN_DELAY_BETWEEN_RAS: the least gap between two RAs to all-nodes.
pub const MIN_DELAY_BETWEEN_RAS: Duration = Duration::from_secs(3);
/// RFC 4861 §6.2.1: MaxRtrAdvInterval is at least 4 s.
pub const MIN_MAX_INTERVAL: Duration = Duration::from_secs(4);

/// MaxRtrAdvInterval for a router lifetime: a third of it (RFC 4861's default lifetime is
/// 3 × MaxRtrAdvInterval, so two RAs may be lost before hosts drop the router), within
/// 4-200 s.
pub fn max_interval(lifetime_s: u16) -> Duration {
    (Duration::from_secs(lifetime_s.into()) / 3).clamp(MIN_MAX_INTERVAL, MAX_INTERVAL_CAP)
}

/// When a group's next RA is due. Pure: the caller supplies time and randomness.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RaSchedule {
    next: Option<Time>,
    initial_left: u8,
    /// When the last RA (to all-nodes, as every RA of ours) went out.
    last_sent: Option<Time>,
    /// `next` answers a Router Solicitation: later ones do not move it (RFC 4861 §6.2.6:
    /// one RA for several RSs, its delay relative to the first).
    solicited: bool,
}

impl RaSchedule {
    /// Entering Active: the first RA is due now.
    pub fn start(&mut self, now: Time) {
        self.next = Some(now);
        self.initial_left = INITIAL_RAS;
        self.solicited = false;
    }

    /// Leaving Active; returns whether RAs were being sent.
    pub fn stop(&mut self) -> bool {
        self.initial_left = 0;
        self.solicited = false;
        self.next.take().is_some()
    }

    /// A Router Solicitation arrived at `now` (RFC 4861 §6.2.6): the next RA goes out
    /// after a random delay in [0, [`MAX_RA_DELAY`]] (`random` picks it), but no sooner
    /// than [`MIN_DELAY_BETWEEN_RAS`] after the last RA, and never later than the RA
    /// already scheduled. A solicited RA already pending answers this RS too. The RA then
    /// counts as the periodic one: `poll` schedules the next from it. Returns when the
    /// answer goes out; `None` when not advertising (not Active): the RS is ignored.
    pub fn solicit(&mut self, now: Time, random: u32) -> Option<Time> {
        let next = self.next?;
        if self.solicited {
            return Some(next);
        }
        let delay = MAX_RA_DELAY.mul_f64(f64::from(random) / f64::from(u32::MAX));
        let mut at = now + delay;
        if let Some(last) = self.last_sent {
            at = at.max(last + MIN_DELAY_BETWEEN_RAS);
        }
        if at < next {
            self.next = Some(at);
            self.solicited = true;
        }
        self.next
    }

    pub fn running(&self) -> bool {
        self.next.is_some()
    }

    pub fn next_deadline(&self) -> Option<Time> {
        self.next
    }

    /// True when an RA is due at `now`; then the next one is scheduled (`random` picks
    /// the periodic interval in [⅓, 1] × [`max_interval`]).
    pub fn poll(&mut self, now: Time, lifetime_s: u16, random: u32) -> bool {
        match self.next {
            Some(t) if t <= now => {
                self.last_sent = Some(now);
                self.solicited = false;
                self.initial_left = self.initial_left.saturating_sub(1);
                let gap = if self.initial_left > 0 {
                    INITIAL_INTERVAL
                } else {
                    let max = max_interval(lifetime_s);
                    let min = max / 3;
                    min + (max - min).mul_f64(f64::from(random) / f64::from(u32::MAX))
                };
                self.next = Some(now + gap);
                true
            }
            _ => false,
        }
    }
}

/// What the driver does about an IPv6 group's Router Advertisements.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RaAction {
    /// Send an RA to all-nodes with this router lifetime (the interface's prefixes read
    /// afresh).
    Advertise { lifetime_s: u16 },
    /// Left Active for good: the final RA, router lifetime 0, at once (no refresh: it must
    /// not wait).
    Withdraw,
    /// Deposed by another Active: RAs stop without a final one.
    Silence,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_bursts_then_settles_into_the_periodic_interval() {
        let mut s = RaSchedule::default();
        assert!(!s.poll(Time::ZERO, 1800, 0));
        s.start(Time::from_secs(10));
        assert!(s.poll(Time::from_secs(10), 1800, 0));
        assert_eq!(s.next_deadline(), Some(Time::from_secs(13)));
        assert!(!s.poll(Time::from_secs(12), 1800, 0));
        assert!(s.poll(Time::from_secs(13), 1800, 0));
        assert_eq!(s.next_deadline(), Some(Time::from_secs(16)));
        // The third initial RA, then the periodic one: [66.66 s, 200 s] for lifetime 1800.
        assert!(s.poll(Time::from_secs(16), 1800, u32::MAX));
        assert_eq!(s.next_deadline(), Some(Time::from_secs(216)));
        assert!(s.poll(Time::from_secs(216), 1800, 0));
        let next = s
            .next_deadline()
            .unwrap()
            .saturating_since(Time::from_secs(216));
        assert!(next.as_millis().abs_diff(66_666) < 2, "{next:?}");
        assert!(s.stop());
        assert!(!s.running() && !s.stop());
    }

    /// Active since 10 s, the initial burst (10, 13, 16 s) over; the periodic RA at 216 s.
    fn settled() -> RaSchedule {
        let mut s = RaSchedule::default();
        s.start(Time::from_secs(10));
        for t in [10, 13, 16] {
            assert!(s.poll(Time::from_secs(t), 1800, u32::MAX));
        }
        assert_eq!(s.next_deadline(), Some(Time::from_secs(216)));
        s
    }

    #[test]
    fn solicited_ra_goes_out_within_the_random_delay() {
        for (random, want_ms) in [(0, 30_000), (u32::MAX / 2, 30_250), (u32::MAX, 30_500)] {
            let mut s = settled();
            let at = s.solicit(Time::from_secs(30), random);
            let due = s.next_deadline().unwrap();
            assert_eq!(at, Some(due));
            assert!(
                due.as_duration().as_millis().abs_diff(want_ms) <= 1,
                "random {random}: {due:?}"
            );
            let before = due.as_duration() - Duration::from_millis(1);
            assert!(!s.poll(Time::from_duration(before), 1800, 0));
            assert!(s.poll(due, 1800, u32::MAX), "random {random}");
            // The solicited RA counts as the periodic one: the next is up to 200 s later.
            assert_eq!(s.next_deadline(), Some(due + MAX_INTERVAL_CAP));
        }
    }

    #[test]
    fn solicited_ra_waits_three_seconds_after_the_last_ra() {
        let mut s = settled();
        // 1 s after the third initial RA (16 s): not before 19 s, whatever the delay.
        assert_eq!(s.solicit(Time::from_secs(17), 0), Some(Time::from_secs(19)));
        assert!(!s.poll(Time::from_millis(18_999), 1800, 0));
        assert!(s.poll(Time::from_secs(19), 1800, 0));
        // And after that solicited RA: the next RS 1 s later waits for 22 s too.
        assert_eq!(
            s.solicit(Time::from_secs(20), u32::MAX),
            Some(Time::from_secs(22))
        );
        // During the initial burst the scheduled RA (3 s after the last) already answers.
        let mut b = RaSchedule::default();
        b.start(Time::ZERO);
        assert!(b.poll(Time::ZERO, 1800, 0));
        assert_eq!(b.solicit(Time::from_secs(1), 0), Some(Time::from_secs(3)));
        assert_eq!(b.next_deadline(), Some(Time::from_secs(3)));
    }

    #[test]
    fn several_solicitations_cost_one_ra() {
        let mut s = settled();
        let first = s.solicit(Time::from_secs(30), u32::MAX).unwrap();
        // Later RSs, even with a shorter random delay, neither add an RA nor move it.
        for (ms, random) in [(30_100, 0), (30_200, u32::MAX), (30_499, 0)] {
            assert_eq!(s.solicit(Time::from_millis(ms), random), Some(first));
        }
        let sent = (30_000..31_000)
            .step_by(10)
            .filter(|&ms| s.poll(Time::from_millis(ms), 1800, 0))
            .count();
        assert_eq!(sent, 1);
        assert!(s.next_deadline().unwrap() > Time::from_secs(90));
        // The next RS after it was sent is answered again (rate-limited: 3 s after).
        assert_eq!(
            s.solicit(Time::from_secs(31), 0),
            Some(Time::from_millis(33_500))
        );
    }

    #[test]
    fn solicitations_are_ignored_unless_advertising() {
        let mut s = RaSchedule::default();
        assert_eq!(s.solicit(Time::from_secs(5), 0), None);
        assert_eq!(s, RaSchedule::default());
        let mut s = settled();
        assert!(s.stop());
        let stopped = s.clone();
        assert_eq!(s.solicit(Time::from_secs(30), 0), None);
        assert_eq!(s, stopped);
        assert!(!s.poll(Time::from_secs(300), 1800, 0));
        // A solicitation pending when the group left Active is forgotten with it.
        let mut s = settled();
        s.solicit(Time::from_secs(30), 0);
        s.stop();
        s.start(Time::from_secs(40));
        assert_eq!(s.next_deadline(), Some(Time::from_secs(40)));
        assert!(s.poll(Time::from_secs(40), 1800, 0));
        assert_eq!(s.solicit(Time::from_secs(41), 0), Some(Time::from_secs(43)));
    }

    #[test]
    fn interval_follows_the_lifetime() {
        assert_eq!(max_interval(1800), Duration::from_secs(200));
        assert_eq!(max_interval(30), Duration::from_secs(10));
        assert_eq!(max_interval(12), Duration::from_secs(4));
        assert_eq!(max_interval(0), Duration::from_secs(4));
    }
}
