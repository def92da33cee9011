//! hsrpd: a Cisco-compatible HSRP gateway for Linux. This library is what the `hsrpd`
//! binary and the tests use.
//!
//! - `proto`: the protocol's vocabulary (states, opcodes, messages).
//! - `wire`: the codec (HSRP v1/v2, authentication, the frames hsrpd sends, BFD).
//! - `fsm`: the per-group state machine, pure (no I/O, no clock).
//! - `bfd`: the BFD session state machine for HSRP BFD peering, pure like `fsm`.
//! - `sim`: a simulated LAN in virtual time that drives `fsm` through `wire`.
//! - `config`: the IOS-syntax configuration parser.
//! - `dataplane`: loading the XDP program, its maps, the Active flip.
//! - `net`: packet sockets and netlink.
//! - `track`: tracking objects (links, routes) and their changes.
//! - `decode`: `hsrpd decode` (pcap reader).

pub mod bfd;
pub mod config;
pub mod control;
pub mod daemon;
pub mod dataplane;
pub mod decode;
pub mod fsm;
pub mod logging;
pub mod net;
pub mod proto;
pub mod sim;
pub mod track;
pub mod wire;
