//! The protocol's vocabulary, shared by the codec (`wire`), the state machine (`fsm`), the
//! configuration and the daemon. Version-independent: `wire` maps these to and from the
//! exact v1/v2 encodings (e.g. the two different state numberings).

use std::fmt;
use std::net::IpAddr;

/// A MAC address.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct MacAddr(pub [u8; 6]);

impl MacAddr {
    pub const BROADCAST: MacAddr = MacAddr([0xff; 6]);
    /// Cisco's "all HSRP/CDP" multicast that gratuitous ARPs also go to.
    pub const CISCO_CDCDCD: MacAddr = MacAddr([0x01, 0x00, 0x0c, 0xcd, 0xcd, 0xcd]);
}

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            m[0], m[1], m[2], m[3], m[4], m[5]
        )
    }
}

impl fmt::Debug for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// HSRP protocol version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Version {
    V1,
    V2,
}

/// Message opcode (Advertise is a separate message kind, see `wire`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Opcode {
    Hello,
    Coup,
    Resign,
}

/// Group state, one type for both versions (v1 encodes 0,1,2,4,8,16; v2 encodes 1..6,
/// and 0 for Disabled which v1 has no code for). Ordered as RFC 2281 orders them.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum State {
    /// v2 only on the wire; the state machine never sits here (it uses Initial).
    Disabled,
    /// Spelled as `show standby` and `hsrpd status` print it, in JSON too.
    #[serde(rename = "Init", alias = "Initial")]
    Initial,
    Learn,
    Listen,
    Speak,
    Standby,
    Active,
}

impl State {
    /// The name `show standby` prints.
    pub fn name(self) -> &'static str {
        match self {
            State::Disabled => "Disabled",
            State::Initial => "Init",
            State::Learn => "Learn",
            State::Listen => "Listen",
            State::Speak => "Speak",
            State::Standby => "Standby",
            State::Active => "Active",
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A decoded, authenticated Hello/Coup/Resign for one group, whatever the version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupMessage {
    pub version: Version,
    pub opcode: Opcode,
    pub state: State,
    /// 0-255 in v1, 0-4095 in v2.
    pub group: u16,
    /// 0-255 (v2 carries a u32 on the wire; only 0-255 are used).
    pub priority: u8,
    /// Hello time in milliseconds (v1 carries seconds).
    pub hello_ms: u32,
    /// Hold time in milliseconds (v1 carries seconds).
    pub hold_ms: u32,
    /// The virtual IP carried in the message; `None` when it is 0.0.0.0 / `::`.
    pub vip: Option<IpAddr>,
    /// v2 only: the sender's interface MAC.
    pub identifier: Option<MacAddr>,
}

/// How a group authenticates its messages.
#[derive(Clone, PartialEq, Eq, Default)]
pub enum Auth {
    /// No authentication TLV/text at all (v2 may omit it; v1 always has the text field,
    /// and "cisco" is the default, see `Auth::default_text`).
    None,
    /// Plain text, at most 8 bytes, NUL-padded on the wire.
    Text(Vec<u8>),
    /// Keyed MD5 (docs/protocol.md §3.3).
    Md5 { key: Vec<u8>, key_id: u32 },
    /// Cisco default: text "cisco".
    #[default]
    DefaultText,
}

impl Auth {
    /// The text sent/expected for the text variants.
    pub fn text(&self) -> Option<&[u8]> {
        match self {
            Auth::Text(t) => Some(t),
            Auth::DefaultText => Some(b"cisco"),
            _ => None,
        }
    }
}

impl fmt::Debug for Auth {
    // Never print keys in logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Auth::None => f.write_str("None"),
            Auth::Text(_) | Auth::DefaultText => f.write_str("Text(..)"),
            Auth::Md5 { key_id, .. } => write!(f, "Md5 {{ key_id: {key_id}, .. }}"),
        }
    }
}
