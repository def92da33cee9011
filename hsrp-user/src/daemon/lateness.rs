//! How late the loop serves the groups' timers (hellos above all): the time from a group's
//! deadline to the wake-up that handles it, in a fixed histogram (constant memory and
//! time per sample). Logged when the daemon stops; `cargo xtask bench scale` reports it.

use std::fmt;
use std::time::Duration;

/// Bucket width.
const STEP_US: u64 = 50;
/// Buckets up to 100 ms; later samples land in the last one (the maximum stays exact).
const BUCKETS: usize = 2000;

#[derive(Clone, Debug)]
pub struct Lateness {
    buckets: Vec<u64>,
    count: u64,
    max: Duration,
}

impl Default for Lateness {
    fn default() -> Self {
        Lateness {
            buckets: vec![0; BUCKETS],
            count: 0,
            max: Duration::ZERO,
        }
    }
}

impl Lateness {
    /// Samples recorded.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The largest sample (exact).
    pub fn max(&self) -> Duration {
        self.max
    }

    pub fn record(&mut self, late: Duration) {
        let i = (late.as_micros() / u128::from(STEP_US)).min(BUCKETS as u128 - 1) as usize;
        self.buckets[i] += 1;
        self.count += 1;
        self.max = self.max.max(late);
    }

    /// Upper edge of the bucket holding quantile `q` (nearest rank), or the maximum if
    /// smaller; zero without samples.
    pub fn quantile(&self, q: f64) -> Duration {
        if self.count == 0 {
            return Duration::ZERO;
        }
        let rank = ((q * self.count as f64).ceil() as u64).clamp(1, self.count);
        let mut seen = 0;
        for (i, n) in self.buckets.iter().enumerate() {
            seen += n;
            if seen >= rank {
                if i == BUCKETS - 1 {
                    return self.max;
                }
                let edge = Duration::from_micros((i as u64 + 1) * STEP_US);
                return edge.min(self.max);
            }
        }
        self.max
    }
}

impl fmt::Display for Lateness {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        write!(
            f,
            "timer lateness over {} group wake-ups: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            self.count,
            ms(self.quantile(0.5)),
            ms(self.quantile(0.99)),
            ms(self.max)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_come_from_the_buckets_and_the_max_is_exact() {
        let mut l = Lateness::default();
        assert_eq!(l.quantile(0.99), Duration::ZERO);
        for _ in 0..98 {
            l.record(Duration::from_micros(120));
        }
        l.record(Duration::from_millis(3));
        l.record(Duration::from_secs(2)); // past the last bucket
        assert_eq!(l.count, 100);
        assert_eq!(l.quantile(0.5), Duration::from_micros(150));
        assert_eq!(l.quantile(0.99), Duration::from_micros(3050));
        assert_eq!(l.quantile(1.0), Duration::from_secs(2));
        let text = l.to_string();
        assert!(text.contains("100 group wake-ups"), "{text}");
        assert!(
            text.contains("p99 3.05 ms") && text.contains("max 2000.00 ms"),
            "{text}"
        );
    }
}
