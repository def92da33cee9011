//! hsrpd: a Cisco-compatible HSRP gateway for Linux. This library is what the `hsrpd`
//! binary and the tests use.
//!
//! - `proto`: the protocol's vocabulary (states, opcodes, messages).
//! - `wire`: the codec (HSRP v1/v2, authentication, the frames hsrpd sends, BFD).
//! - `fsm`: the per-group state machine, pure (no I/O, no clock).
//! - `bfd`: the BFD session state machine for HSRP BFD peering, pure like `fsm`.
//! - `sim`: a simulated LAN in virtual time that drives `fsm` through `wire`.
//! - `config`: the IOS-syntax configuration parser.
//! - `fastpath`, `accepted_flow`: whether XDP may forward under the netfilter rules (pure).
//! - `dataplane`: loading the XDP program, its maps, the Active flip.
//! - `net`: every socket, netlink conversation and interface query of the daemon.
//! - `nexthop_cache`: keeping the XDP next-hop cache correct (policy pure, I/O at the edge).
//! - `sentinel`: the process that sends the Resigns of a daemon that died.
//! - `track`: tracking objects (links, routes) and their changes.
//! - `decode`: `hsrpd decode` (pcap reader).
//! - `import`: `hsrpd import` (a Cisco running-config to an hsrpd configuration).
//! - `privileges`: dropping the capabilities `hsrpd run` no longer needs.
//! - `manual`: man pages and completions from the CLI definition; exit statuses.

/// `hsrpd --version`: the release and which XDP object the binary embeds (a sha256 prefix
/// of its bytes, from build.rs; `none` for a build with `HSRP_ALLOW_NO_XDP=1`).
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (XDP object ",
    env!("HSRP_XDP_OBJECT_ID"),
    ")"
);

pub mod accepted_flow;
pub mod bfd;
pub mod config;
pub mod control;
pub mod daemon;
pub mod dataplane;
pub mod decode;
pub mod fastpath;
pub mod fsm;
pub mod import;
pub mod logging;
pub mod manual;
pub mod net;
pub mod nexthop_cache;
pub mod privileges;
pub mod proto;
pub mod sentinel;
pub mod sim;
pub mod track;
pub mod wire;
