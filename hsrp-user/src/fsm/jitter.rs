//! Hello jitter comes from outside: the state machine owns no RNG, so tests stay
//! deterministic and the daemon decides where randomness comes from.

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
pub fn jittered(hello: std::time::Duration, r: u32) -> std::time::Duration {
    let max = hello.as_nanos() * u128::from(MAX_JITTER_PERCENT) / 100;
    let cut = max * u128::from(r) / (u128::from(u32::MAX) + 1);
    // cut < max <= hello / 5, so the result stays at least 80 % of hello.
    hello - std::time::Duration::from_nanos(cut as u64)
}
