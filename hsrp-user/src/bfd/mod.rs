//! BFD (RFC 5880 asynchronous mode, single hop per RFC 5881) for HSRP BFD peering: a pure
//! session core in the manner of `fsm`. No sockets, no clock, no RNG: the driver feeds
//! `Session::handle(now, event)`, carries out the returned `Action`s (send a Control
//! packet, report a state change) and wakes the session with `Event::Timer` at
//! `Session::next_deadline()`. The packet codec is `wire::bfd`.
//!
//! - `config`: a session's intervals and multiplier, and their validation.
//! - `session`: the state machine (`Session`, `Event`, `Action`).
//! - `jitter`: the §6.8.7 transmit jitter, from an injected random source.
//!
//! Not implemented, on purpose: authentication (packets with the A bit are refused by the
//! codec), the Echo function (we advertise Required Min Echo RX Interval 0, which tells the
//! peer not to send echoes), and Demand mode (we never set the D bit; a peer that sets it is
//! honoured as RFC 5880 §6.8.7 requires: periodic packets stop while both sides are Up).

pub mod config;
pub mod jitter;
pub mod session;

pub use config::{ConfigError, SessionConfig};
pub use session::{Action, Counters, Event, Session, SessionStatus, SLOW_TX_INTERVAL};
