//! Virtual time for the state machine: a `Duration` since an arbitrary epoch chosen by the
//! driver. The daemon maps tokio `Instant`s onto it (`Time::since(start, now)`), tests and the
//! simulation advance it by hand, so nothing in `fsm` ever reads a clock.

use std::fmt;
use std::ops::{Add, AddAssign};
use std::time::Duration;

/// A point in (virtual) time.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Time(Duration);

impl Time {
    /// The epoch.
    pub const ZERO: Time = Time(Duration::ZERO);

    /// `d` after the epoch.
    pub const fn from_duration(d: Duration) -> Time {
        Time(d)
    }

    pub const fn from_millis(ms: u64) -> Time {
        Time(Duration::from_millis(ms))
    }

    pub const fn from_secs(s: u64) -> Time {
        Time(Duration::from_secs(s))
    }

    /// The time of `now` relative to `start` (for drivers using `std`/tokio instants).
    pub fn since(start: std::time::Instant, now: std::time::Instant) -> Time {
        Time(now.saturating_duration_since(start))
    }

    /// Time since the epoch.
    pub const fn as_duration(self) -> Duration {
        self.0
    }

    /// `self - earlier`, or zero if `earlier` is later.
    pub fn saturating_since(self, earlier: Time) -> Duration {
        self.0.saturating_sub(earlier.0)
    }
}

impl Add<Duration> for Time {
    type Output = Time;
    fn add(self, d: Duration) -> Time {
        // Saturate rather than panic: a hostile hold time can not crash the daemon.
        Time(self.0.checked_add(d).unwrap_or(Duration::MAX))
    }
}

impl AddAssign<Duration> for Time {
    fn add_assign(&mut self, d: Duration) {
        *self = *self + d;
    }
}

impl fmt::Debug for Time {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for Time {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "t={:.3}s", self.0.as_secs_f64())
    }
}
