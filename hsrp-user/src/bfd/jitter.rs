//! Transmit jitter (RFC 5880 §6.8.7): each interval is reduced randomly to 75-100 % of its
//! value, or to 75-90 % when the detect multiplier is 1 (so that one late packet can not
//! exceed the peer's detection time). The random draw comes from the caller
//! (`fsm::JitterSource`), so tests are deterministic.

use std::time::Duration;

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

#[cfg(test)]
mod tests {
    use super::*;

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
