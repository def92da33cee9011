//! The per-group HSRP state machine, pure in the quinn-proto manner: no sockets, no clock,
//! no RNG. The driver (the daemon with tokio, or `sim` in virtual time) feeds events with
//! `Group::handle(now, event)`, carries out the returned `Action`s, and wakes the group with
//! `Event::Timer` at `Group::next_deadline()`.
//!
//! - `config`: `GroupConfig` and its validation.
//! - `group`: the state machine (`Group`, `Event`, `Action`).
//! - `status`: what `show standby` prints.
//! - `ra`: the Router Advertisement schedule of an IPv6 group.
//! - `interface`: active/passive group counts per interface (Advertise, Interface State).
//! - `jitter`: the injected randomness of hello intervals.
//! - `time`: the virtual time type.

pub mod config;
pub mod group;
pub mod interface;
pub mod jitter;
pub mod ra;
pub mod status;
pub mod time;

pub use config::{
    Follow, GroupConfig, GroupConfigError, InitDelay, Preempt, Timers, Track, TrackAction,
};
pub use group::drain::{DRAIN_CAP, DRAIN_GRACE};
pub use group::{Action, Event, Group, PeerRole, GRATUITOUS_REPEAT};
pub use interface::{Advertiser, InterfaceCounts, InterfaceRole};
pub use jitter::{JitterSource, NoJitter};
pub use ra::{RaAction, RaSchedule};
pub use status::{RouterInfo, Status};
pub use time::Time;
