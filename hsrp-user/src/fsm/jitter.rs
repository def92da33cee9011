//! Hello jitter comes from outside: the state machine owns no RNG, so tests stay
//! deterministic and the daemon decides where randomness comes from.

use std::time::Duration;

use super::time::Time;

/// A source of random 32-bit values for hello jitter.
pub trait JitterSource: Send {
    fn next_u32(&mut self) -> u32;
}

/// Any `FnMut() -> u32` is a source (the daemon can pass `|| rand::random()`).
impl<F: FnMut() -> u32 + Send> JitterSource for F {
    fn next_u32(&mut self) -> u32 {
        self()
    }
}

/// No jitter at all: every hello exactly one hello time after the previous one.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoJitter;

impl JitterSource for NoJitter {
    fn next_u32(&mut self) -> u32 {
        0
    }
}

/// Cisco jitters hello intervals downward by up to about 20 % (docs/protocol.md §5).
pub const MAX_JITTER_PERCENT: u32 = 20;

/// The hello interval for one random draw: `hello` shortened by `r`'s share of 20 %.
pub fn jittered(hello: Duration, r: u32) -> Duration {
    let max = hello.as_nanos() * u128::from(MAX_JITTER_PERCENT) / 100;
    let cut = max * u128::from(r) / (u128::from(u32::MAX) + 1);
    // cut < max <= hello / 5, so the result stays at least 80 % of hello.
    hello - Duration::from_nanos(cut as u64)
}

/// Steps a hello deadline may snap to, largest first (whole milliseconds: the daemon's
/// timer resolves no finer).
const GRID_STEPS_MS: [u64; 4] = [16, 8, 4, 2];

/// How late after its deadline the daemon's timer typically fires: tokio's wheel rounds a
/// deadline up to its next whole millisecond, and the wake-up itself takes a few hundred
/// microseconds (`bench scale` measures a median lateness of 1.3-1.5 ms on the grid).
const TIMER_LATENESS: Duration = Duration::from_millis(2);

/// The grid hello deadlines of `hello` snap to: the largest step that fits four times into
/// the jitter range, so the draw stays spread over at least three points once the latest
/// is kept a timer's lateness inside; `None` when the range is too narrow for
/// two-millisecond steps (`timers msec 15` has a 3 ms range).
pub fn hello_grid(hello: Duration) -> Option<Duration> {
    let range = hello.as_nanos() * u128::from(MAX_JITTER_PERCENT) / 100;
    GRID_STEPS_MS
        .iter()
        .map(|&ms| Duration::from_millis(ms))
        .find(|g| g.as_nanos() * 4 <= range)
}

/// The next hello deadline for one random draw when the hellos of all groups snap to a
/// common grid: a multiple of [`hello_grid`] within `[now + 80 % of hello, now + hello -
/// 2 ms]` (the time a timer typically fires late), the latest for `r = 0` (as
/// [`jittered`]), earlier ones as `r` grows. Groups whose
/// deadlines coincide are served by one wake-up and leave in one batch, which is what
/// holds a thousand groups' cost down; the interval stays within Cisco's jitter range and
/// random over at least three points. Without a grid, [`jittered`].
pub fn next_hello(now: Time, hello: Duration, r: u32) -> Time {
    let Some(grid) = hello_grid(hello) else {
        return now + jittered(hello, r);
    };
    let g = grid.as_nanos();
    let range = hello.as_nanos() * u128::from(MAX_JITTER_PERCENT) / 100;
    let hi = (now + hello).as_duration().as_nanos();
    let lo = hi - range;
    // A timer fires late, and the next hello is drawn from that late moment: the latest
    // point keeps the typical lateness inside the range.
    let top = (hi - TIMER_LATENESS.as_nanos()) / g;
    let bottom = lo.div_ceil(g);
    // range - 2 ms >= 3 g (range >= 4 g, g >= 2 ms): at least three points to draw from.
    let points = top - bottom + 1;
    let k = top - points * u128::from(r) / (u128::from(u32::MAX) + 1);
    // Past u64 nanoseconds (585 years) the plain draw, which saturates, never goes back.
    match u64::try_from(k * g) {
        Ok(at) => Time::from_duration(Duration::from_nanos(at)),
        Err(_) => now + jittered(hello, r),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn the_grid_step_fits_four_times_into_the_jitter_range() {
        assert_eq!(hello_grid(3 * 1000 * MS), Some(16 * MS));
        assert_eq!(hello_grid(100 * MS), Some(4 * MS));
        assert_eq!(hello_grid(50 * MS), Some(2 * MS));
        assert_eq!(
            hello_grid(39 * MS),
            None,
            "7.8 ms range: under four 2 ms steps"
        );
        assert_eq!(hello_grid(15 * MS), None);
    }

    #[test]
    fn hellos_on_the_grid_stay_in_the_jitter_range_and_spread_over_it() {
        let hello = 100 * MS;
        for start_us in [0u64, 1, 999, 12_345, 1_000_003, 987_654_321] {
            let now = Time::from_duration(Duration::from_micros(start_us));
            let mut seen = std::collections::BTreeSet::new();
            for i in 0..=64u64 {
                let r =
                    u32::try_from((i * (u64::from(u32::MAX) + 1) / 65).min(u64::from(u32::MAX)))
                        .unwrap();
                let at = next_hello(now, hello, r);
                let iv = at.saturating_since(now);
                assert!(
                    iv >= 80 * MS && iv <= hello - 2 * MS,
                    "{start_us} us, r {r}: {iv:?}"
                );
                assert_eq!(
                    at.as_duration().as_nanos() % (4 * MS).as_nanos(),
                    0,
                    "{at:?}"
                );
                seen.insert(at);
            }
            assert!(seen.len() >= 4, "{start_us} us: {} points", seen.len());
            // r = 0 is the latest point that leaves a late timer's time in range.
            let latest = next_hello(now, hello, 0).saturating_since(now);
            assert!(
                latest > hello - 6 * MS && latest <= hello - 2 * MS,
                "{latest:?}"
            );
        }
    }

    #[test]
    fn without_a_grid_the_draw_is_the_plain_jitter() {
        let now = Time::from_millis(1234);
        assert_eq!(next_hello(now, 15 * MS, 0), now + 15 * MS);
        assert_eq!(
            next_hello(now, 15 * MS, u32::MAX / 2),
            now + jittered(15 * MS, u32::MAX / 2)
        );
    }

    #[test]
    fn a_deadline_beyond_the_clock_saturates_instead_of_going_back() {
        let now = Time::from_duration(Duration::from_nanos(u64::MAX - 1_000));
        for r in [0, u32::MAX / 2, u32::MAX] {
            assert!(next_hello(now, 100 * MS, r) >= now, "{r}");
        }
    }
}
