//! What a BFD session is configured with: `bfd interval MS min_rx MS multiplier N` on the
//! interface, in the units of the wire (the core keeps `Duration`s).

use std::time::Duration;

/// The local parameters of one session (RFC 5880 §6.8.1 bfd.DesiredMinTxInterval,
/// bfd.RequiredMinRxInterval, bfd.DetectMult).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionConfig {
    /// How often we would like to send once Up (the packets go at least this far apart).
    pub desired_min_tx: Duration,
    /// The shortest interval between received packets we can handle.
    pub required_min_rx: Duration,
    /// Detection time multiplier the peer applies to our transmit interval.
    pub detect_mult: u8,
}

impl Default for SessionConfig {
    /// IOS's usual figures: 50 ms, 50 ms, multiplier 3.
    fn default() -> Self {
        SessionConfig {
            desired_min_tx: Duration::from_millis(50),
            required_min_rx: Duration::from_millis(50),
            detect_mult: 3,
        }
    }
}

/// Why a `SessionConfig` is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("BFD {what} must be between 1 µs and {max} µs, got {got} µs")]
    Interval {
        what: &'static str,
        got: u128,
        max: u32,
    },
    #[error("BFD detect multiplier must be at least 1")]
    ZeroMultiplier,
}

impl SessionConfig {
    /// Intervals must be non-zero (a zero Required Min RX would tell the peer to stop
    /// sending, a zero TX is meaningless) and fit the 32-bit microsecond fields.
    pub fn validate(&self) -> Result<(), ConfigError> {
        for (what, d) in [
            ("desired min TX interval", self.desired_min_tx),
            ("required min RX interval", self.required_min_rx),
        ] {
            let us = d.as_micros();
            if us == 0 || us > u128::from(u32::MAX) {
                return Err(ConfigError::Interval {
                    what,
                    got: us,
                    max: u32::MAX,
                });
            }
        }
        if self.detect_mult == 0 {
            return Err(ConfigError::ZeroMultiplier);
        }
        Ok(())
    }
}
