//! Router Advertisements of IPv6 groups: the Active advertises the virtual router (source
//! = the virtual link-local, Ethernet source = the vMAC) so hosts take it as their default
//! gateway, and a failover is invisible to them (same router address, same MAC).
//!
//! - Entering Active: an RA at once (after the unsolicited NAs), then `INITIAL_RAS - 1`
//!   more `INITIAL_INTERVAL` apart (RFC 4861 §6.2.4: the first few go out quickly, so a
//!   lost one does not leave hosts without a router), then one every
//!   [`max_interval`]·U(⅓, 1) (§6.2.4's MinRtrAdvInterval..MaxRtrAdvInterval).
//! - A Router Solicitation on the interface (RFC 4861 §6.2.6): the next RA is moved up to
//!   a random 0-500 ms later, at least 3 s after the previous RA; several RSs before it
//!   goes out share it, and the periodic schedule continues from it
//!   ([`RaSchedule::solicit`]). It goes to all-nodes, as every RA of ours.
//! - Leaving Active for Initial (shutdown, interface down, tracking shutdown, group
//!   removed): one final RA with router lifetime 0, sent *before* the Resign, so the
//!   Standby's first RA (which follows the Resign) is the last word hosts hear. Then silence.
//! - Leaving Active for Speak (deposed by a Coup or a higher-priority Active): silence,
//!   no final RA. Another router *is* the virtual router now; its RA went out before ours
//!   could, and a lifetime-0 RA from the same link-local would make hosts delete the
//!   default route the new Active just gave them (docs/ipv6.md).
//!
//! Prefixes advertised: every global prefix of the interface (read afresh from netlink at
//! each RA, so addresses added later are announced) and the prefixes of the group's
//! `standby G ipv6 X::Y/L` addresses; on-link, autonomous when /64. The router lifetime is
//! `standby G ipv6 ra-lifetime S` (default 1800 s, as IOS).

use std::net::{IpAddr, Ipv6Addr};
use std::time::Duration;

use log::{debug, warn};

use super::{rx, Daemon};
use crate::fsm::{Action, Time};
use crate::proto::State;
use crate::wire::frame::ALL_NODES;
use crate::wire::{self, PrefixInfo, RaRepr};

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

/// Room for an RA frame with [`wire::ra::MAX_PREFIXES`] prefixes.
const RA_FRAME_BUF: usize = 14 + 40 + wire::ra::HEADER_LEN + 16 + 16 * 32;

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

/// What the actions of one `fsm` step mean for the RAs of an IPv6 group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RaTransition {
    /// Entered Active: start advertising.
    Start,
    /// Left Active for good (Initial): the final RA, then silence.
    Withdraw,
    /// Deposed by another Active (Speak): silence, no final RA.
    Quiet,
}

/// The RA transition in a list of actions, if any.
pub fn transition(actions: &[Action]) -> Option<RaTransition> {
    actions.iter().find_map(|a| match a {
        Action::StateChanged { to, .. } if *to == State::Active => Some(RaTransition::Start),
        Action::StateChanged { from, to, .. } if *from == State::Active => {
            Some(if *to == State::Speak {
                RaTransition::Quiet
            } else {
                RaTransition::Withdraw
            })
        }
        _ => None,
    })
}

impl Daemon {
    /// Before group `gi` carries out `actions`: on leaving Active, the final RA goes out
    /// first (ahead of the Resign), or the RAs just stop. Returns the transition, for
    /// [`Daemon::ra_after`].
    pub(super) async fn ra_before(
        &mut self,
        gi: usize,
        actions: &[Action],
    ) -> Option<RaTransition> {
        if !self.groups[gi].key.ipv6 {
            return None;
        }
        let t = transition(actions);
        let up = self.ifaces[self.groups[gi].iface].up;
        match t {
            Some(RaTransition::Withdraw) if self.groups[gi].ra.stop() && up => {
                self.send_ra(gi, 0, false).await;
            }
            Some(RaTransition::Quiet) if self.groups[gi].ra.stop() => {
                let g = &self.groups[gi];
                debug!(
                    "{} grp {}: RAs stop (another router is Active now; no final RA)",
                    g.key.iface, g.key.group
                );
            }
            _ => {}
        }
        t
    }

    /// After group `gi` carried out its actions (the map flip and the NAs): on entering
    /// Active, the first RA at once.
    pub(super) async fn ra_after(&mut self, gi: usize, t: Option<RaTransition>) {
        if t == Some(RaTransition::Start) {
            let now = self.now();
            self.groups[gi].ra.start(now);
            self.ra_timers().await;
        }
    }

    /// A valid Router Solicitation on interface `iface`: each IPv6 group Active there
    /// moves its next RA up (`RaSchedule::solicit`); the loop's next wake-up sends it.
    /// Groups not Active (and IPv4 groups, which have no RAs) ignore it.
    pub(super) fn on_solicitation(&mut self, iface: usize, rs: rx::Solicitation) {
        let now = self.now();
        for k in 0..self.ipv6_groups.len() {
            let gi = self.ipv6_groups[k];
            let g = &mut self.groups[gi];
            if g.iface != iface {
                continue;
            }
            if let Some(at) = g.ra.solicit(now, rand::random()) {
                debug!(
                    "{} grp {}: Router Solicitation from {} ({}): RA in {} ms",
                    g.key.iface,
                    g.key.group,
                    rs.src_ip,
                    rs.src_mac,
                    at.saturating_since(now).as_millis()
                );
            }
        }
    }

    /// Sends every RA that is due.
    pub(super) async fn ra_timers(&mut self) {
        let now = self.now();
        for k in 0..self.ipv6_groups.len() {
            let gi = self.ipv6_groups[k];
            let lifetime = self.groups[gi].spec.ra_lifetime_s();
            if self.groups[gi].ra.poll(now, lifetime, rand::random()) {
                self.send_ra(gi, lifetime, true).await;
            }
        }
    }

    /// The earliest RA deadline of all groups.
    pub(super) fn ra_deadline(&self) -> Option<Time> {
        self.ipv6_groups
            .iter()
            .filter_map(|&gi| self.groups[gi].ra.next_deadline())
            .min()
    }

    /// One RA of group `gi` with `lifetime_s` to all-nodes. `refresh`: read the interface's
    /// prefixes from netlink first (the final RA skips that: it must not wait).
    async fn send_ra(&mut self, gi: usize, lifetime_s: u16, refresh: bool) {
        let i = self.groups[gi].iface;
        if refresh {
            match self.netlink.interface_info(&self.ifaces[i].cfg.name).await {
                Ok(info) => {
                    // Only what the RA reads; the rest of `info` keeps its meaning.
                    self.ifaces[i].info.ipv6_global = info.ipv6_global;
                    self.ifaces[i].info.mtu = info.mtu;
                }
                Err(e) => debug!("{}: prefixes not refreshed: {e:#}", self.ifaces[i].cfg.name),
            }
        }
        let g = &self.groups[gi];
        let iface = &self.ifaces[i];
        let vmac = g.fsm.virtual_mac();
        let src = match g.fsm.vip() {
            Some(IpAddr::V6(ll)) => ll,
            _ => wire::virtual_link_local(vmac),
        };
        let globals = iface
            .info
            .ipv6_global
            .iter()
            .map(|a| (a.addr, a.prefix_len));
        let prefixes =
            prefixes(globals.chain(g.spec.ipv6_vips.iter().map(|p| (p.addr, p.prefix_len))));
        let ra = RaRepr::virtual_router(vmac, lifetime_s, Some(iface.info.mtu), prefixes);
        let mut buf = [0u8; RA_FRAME_BUF];
        match wire::router_advertisement(vmac, src, ALL_NODES, &ra, &mut buf) {
            Ok(n) => match iface.socket.send(&buf[..n]).await {
                Ok(_) => debug!(
                    "{} grp {}: RA from {src} lifetime {lifetime_s} s, {} prefix(es)",
                    g.key.iface,
                    g.key.group,
                    ra.prefixes.len()
                ),
                Err(e) => warn!("{} grp {}: sending an RA: {e}", g.key.iface, g.key.group),
            },
            Err(e) => warn!(
                "{} grp {}: cannot build an RA: {e}",
                g.key.iface, g.key.group
            ),
        }
    }
}

/// The Prefix Information options for these addresses: one per distinct prefix, link-local
/// and multicast left out, at most [`wire::ra::MAX_PREFIXES`].
pub fn prefixes(addrs: impl Iterator<Item = (Ipv6Addr, u8)>) -> Vec<PrefixInfo> {
    let mut out: Vec<PrefixInfo> = Vec::new();
    for (addr, len) in addrs {
        let link_local = addr.segments()[0] & 0xffc0 == 0xfe80;
        if link_local || addr.is_multicast() || out.len() == wire::ra::MAX_PREFIXES {
            continue;
        }
        if let Some(p) = PrefixInfo::of_address(addr, len) {
            if !out.iter().any(|o| (o.prefix, o.len) == (p.prefix, p.len)) {
                out.push(p);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config;
    use crate::proto::MacAddr;

    fn changed(from: State, to: State) -> Action {
        Action::StateChanged {
            from,
            to,
            reason: String::new(),
        }
    }

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

    #[test]
    fn transitions() {
        use State::*;
        assert_eq!(
            transition(&[changed(Standby, Active)]),
            Some(RaTransition::Start)
        );
        assert_eq!(
            transition(&[changed(Active, Initial)]),
            Some(RaTransition::Withdraw)
        );
        assert_eq!(
            transition(&[changed(Active, Speak)]),
            Some(RaTransition::Quiet)
        );
        assert_eq!(transition(&[changed(Listen, Speak)]), None);
        assert_eq!(transition(&[]), None);
    }

    #[test]
    fn prefixes_are_distinct_and_global() {
        let addrs = [
            ("2001:db8::2", 64),
            ("2001:db8::1", 64),
            ("fe80::1", 64),
            ("fd00:1::1", 48),
        ];
        let p = prefixes(addrs.iter().map(|(a, l)| (a.parse().unwrap(), *l)));
        let got: Vec<String> = p
            .iter()
            .map(|p| format!("{}/{}", p.prefix, p.len))
            .collect();
        assert_eq!(got, ["2001:db8::/64", "fd00:1::/48"]);
        assert!(p[0].autonomous && !p[1].autonomous);
        let many = (0..40u16).map(|i| (Ipv6Addr::new(0x2001, 0xdb8, i, 0, 0, 0, 0, 1), 64));
        assert_eq!(prefixes(many).len(), wire::ra::MAX_PREFIXES);
        // Sixteen prefixes fit the frame buffer.
        let ra = RaRepr::virtual_router(
            MacAddr::default(),
            1,
            Some(1500),
            prefixes((0..16u16).map(|i| (Ipv6Addr::new(0x2001, 0xdb8, i, 0, 0, 0, 0, 1), 64))),
        );
        let mut buf = [0u8; RA_FRAME_BUF];
        assert!(wire::router_advertisement(
            MacAddr::default(),
            Ipv6Addr::LOCALHOST,
            ALL_NODES,
            &ra,
            &mut buf
        )
        .is_ok());
    }

    #[test]
    fn ra_lifetime_is_configurable_per_ipv6_group() {
        let text = "interface eth0\n standby version 2\n standby 1 ipv6 autoconfig\n \
                    standby 1 ipv6 ra-lifetime 30\n standby 2 ipv6 autoconfig\n";
        let cfg = config::parse(text, "t.conf").unwrap();
        let groups: Vec<_> = cfg.groups().map(|(_, g)| g.ra_lifetime_s()).collect();
        assert_eq!(groups, [30, config::DEFAULT_RA_LIFETIME_S]);
        for (bad, want) in [
            (
                "standby 1 ipv6 ra-lifetime 5",
                "t.conf:4: standby 1 ipv6 ra-lifetime 5: RA lifetime must be 12-9000",
            ),
            ("standby 1 ipv6 ra-lifetime 9001", "9000"),
            ("standby 1 ipv6 ra-lifetime", "incomplete"),
            ("standby 1 ipv6 ra-lifetime 30 40", "unexpected `40`"),
        ] {
            let text =
                format!("interface eth0\n standby version 2\n standby 1 ipv6 autoconfig\n {bad}\n");
            let err = config::parse(&text, "t.conf").unwrap_err().to_string();
            assert!(err.contains(want), "{bad}: {err}");
        }
        let v4 = "interface eth0\n standby version 2\n standby 1 ip 10.0.0.1\n \
                  standby 1 ipv6 ra-lifetime 30\n";
        let err = config::parse(v4, "t.conf").unwrap_err().to_string();
        assert!(err.contains("IPv4 group"), "{err}");
    }
}
