//! Transmit jitter (RFC 5880 §6.8.7): each interval is reduced randomly to 75-100 % of its
//! value, or to 75-90 % when the detect multiplier is 1 (so that one late packet can not
//! exceed the peer's detection time). The random draw comes from the caller
//! (`fsm::JitterSource`), so tests are deterministic.
//!
//! The jittered time is then moved onto a millisecond grid, inside the same allowed range:
//! sessions whose packets fall due in the same millisecond go out in one wake-up of the
//! daemon instead of one each. Each wake-up costs two context switches and the peer's
//! wake-up, which at 32 sessions x 10 ms was most of the cost when the loop woke at each
//! exact deadline (real-time mode).

use std::time::Duration;

use crate::fsm::Time;

/// The grids transmit times are moved onto: the coarse one where its step fits in the
/// allowed range, else the fine one (tokio's timer resolution) where that fits, else none.
/// The range then holds one or two points of the grid (two from a wake-up on the grid, one
/// from one late by more than the range's excess over the step), the random draw choosing
/// among them. 2 ms at 10 ms x 3 (7.5-10 ms: points at 8 and 10 ms) halves the wake-ups of
/// a 1 ms grid, which measured 10-20 % less CPU for 32 sessions; 10 ms at multiplier 1
/// (7.5-9 ms) takes 1 ms, where 2 ms would leave a single interval of 8 ms.
pub const TX_GRID_COARSE: Duration = Duration::from_millis(2);
pub const TX_GRID: Duration = Duration::from_millis(1);

/// The interval to wait for one random draw `r` (uniform over `u32`).
pub fn jittered(interval: Duration, detect_mult: u8, r: u32) -> Duration {
    // The interval is scaled to top% - span% * r / 2^32, i.e. into (75 %, top %].
    let (top, span) = if detect_mult == 1 {
        (90, 15)
    } else {
        (100, 25)
    };
    let n = interval.as_nanos();
    let cut = n * span * u128::from(r) / ((u128::from(u32::MAX) + 1) * 100);
    let kept = n * top / 100 - cut;
    Duration::from_nanos(u64::try_from(kept).unwrap_or(u64::MAX))
}

/// The time of the next periodic packet after one sent at `now`: jittered, then on the
/// grid the allowed range suits ([`TX_GRID_COARSE`], [`TX_GRID`]) (the first grid point at or after the
/// jittered time, or the last before it, whichever stays inside the range; the jittered
/// time itself when no grid suits, as with intervals of a few milliseconds).
pub fn next_transmit(now: Time, interval: Duration, detect_mult: u8, r: u32) -> Time {
    let at = now + jittered(interval, detect_mult, r);
    let lowest = (now + jittered(interval, detect_mult, u32::MAX))
        .as_duration()
        .as_nanos();
    let highest = (now + jittered(interval, detect_mult, 0))
        .as_duration()
        .as_nanos();
    let Some(grid) = [TX_GRID_COARSE, TX_GRID]
        .map(|g| g.as_nanos())
        .into_iter()
        .find(|&g| g <= highest - lowest)
    else {
        return at;
    };
    let t = at.as_duration().as_nanos();
    let down = t - t % grid;
    let up = if t.is_multiple_of(grid) {
        t
    } else {
        down + grid
    };
    let on =
        |n: u128| Time::from_duration(Duration::from_nanos(u64::try_from(n).unwrap_or(u64::MAX)));
    // With the step no longer than the range, `down` is in range whenever `up` is not.
    if up <= highest {
        on(up)
    } else {
        on(down)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transmit_times_sit_on_the_grid_inside_the_allowed_range() {
        let interval = Duration::from_millis(10);
        for (k, now_us) in [0u64, 1, 999, 1_000, 123_457, 5_000_501]
            .into_iter()
            .enumerate()
        {
            let now = Time::from_duration(Duration::from_micros(now_us));
            for mult in [1u8, 3] {
                for r in [
                    0,
                    1,
                    u32::MAX / 3,
                    1 << 31,
                    u32::MAX - 7,
                    u32::MAX,
                    0x9e37_79b9 ^ k as u32,
                ] {
                    let t = next_transmit(now, interval, mult, r);
                    let wait = t.saturating_since(now);
                    // 2 ms fits in the 2.5 ms range of multiplier 3, only 1 ms in the
                    // 1.5 ms range of multiplier 1.
                    let grid = if mult == 1 { TX_GRID } else { TX_GRID_COARSE };
                    assert_eq!(
                        t.as_duration().as_nanos() % grid.as_nanos(),
                        0,
                        "{now_us} {mult} {r}"
                    );
                    assert!(
                        wait >= jittered(interval, mult, u32::MAX),
                        "{now_us} {mult} {r}: {wait:?}"
                    );
                    assert!(
                        wait <= jittered(interval, mult, 0),
                        "{now_us} {mult} {r}: {wait:?}"
                    );
                }
            }
        }
    }

    /// From a wake-up on the grid at 10 ms x 3, both points of the range occur, and
    /// nothing else.
    #[test]
    fn both_points_of_a_two_point_range_are_drawn() {
        let now = Time::from_millis(1_000);
        let iv = Duration::from_millis(10);
        let mut seen = std::collections::BTreeSet::new();
        for k in 0..64u32 {
            let t = next_transmit(now, iv, 3, k.wrapping_mul(0x0400_0000));
            seen.insert(t.saturating_since(now).as_millis());
        }
        assert_eq!(seen.into_iter().collect::<Vec<_>>(), vec![8, 10]);
        // Multiplier 1 (7.5-9 ms): the 2 ms grid would leave 8 ms alone; the 1 ms grid
        // has 8 and 9.
        let mut seen = std::collections::BTreeSet::new();
        for k in 0..64u32 {
            let t = next_transmit(now, iv, 1, k.wrapping_mul(0x0400_0000));
            seen.insert(t.saturating_since(now).as_millis());
        }
        assert_eq!(seen.into_iter().collect::<Vec<_>>(), vec![8, 9]);
    }

    #[test]
    fn a_range_without_a_grid_point_keeps_the_jittered_time() {
        // 2 ms at multiplier 1: 1.5-1.8 ms from 0.1 ms is 1.6-1.9 ms, no whole millisecond.
        let now = Time::from_duration(Duration::from_micros(100));
        let iv = Duration::from_millis(2);
        let r = 1 << 31;
        assert_eq!(next_transmit(now, iv, 1, r), now + jittered(iv, 1, r));
    }

    #[test]
    fn bounds() {
        let i = Duration::from_millis(100);
        assert_eq!(jittered(i, 3, 0), i);
        let low = jittered(i, 3, u32::MAX);
        assert!(low > Duration::from_millis(75) && low < Duration::from_micros(75_001));
        assert_eq!(jittered(i, 1, 0), Duration::from_millis(90));
        let low = jittered(i, 1, u32::MAX);
        assert!(low > Duration::from_millis(75) && low < Duration::from_micros(75_001));
        assert_eq!(jittered(i, 3, 1 << 31), Duration::from_micros(87_500));
    }
}
