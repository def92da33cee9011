//! HSRPv2: a sequence of TLVs `type(1) len(1) value(len)`. Group State (1), Interface State
//! (2), Text Authentication (3), MD5 Authentication (4, see `auth`); unknown types are
//! skipped by their length.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::auth::TEXT_LEN;
use super::v1::{opcode_from_wire, opcode_to_wire};
use super::{check_len, check_room, Error, Field};
use crate::proto::{MacAddr, Opcode, State, Version};

pub const TLV_GROUP_STATE: u8 = hsrp_ebpf::proto::TLV_GROUP_STATE;
pub const TLV_INTERFACE_STATE: u8 = hsrp_ebpf::proto::TLV_INTERFACE_STATE;
pub const TLV_TEXT_AUTH: u8 = hsrp_ebpf::proto::TLV_TEXT_AUTH;
pub const TLV_MD5_AUTH: u8 = super::auth::MD5_TLV_TYPE;

/// Value length of the Group State TLV.
pub const GROUP_STATE_VALUE_LEN: u8 = hsrp_ebpf::proto::GROUP_STATE_VALUE_LEN;
pub const GROUP_STATE_TLV_LEN: usize = 2 + GROUP_STATE_VALUE_LEN as usize;
pub const INTERFACE_STATE_VALUE_LEN: u8 = hsrp_ebpf::proto::INTERFACE_STATE_VALUE_LEN;
pub const INTERFACE_STATE_TLV_LEN: usize = 2 + INTERFACE_STATE_VALUE_LEN as usize;
pub const TEXT_AUTH_VALUE_LEN: u8 = TEXT_LEN as u8;
pub const TEXT_AUTH_TLV_LEN: usize = 2 + TEXT_LEN;

/// Offsets inside a TLV, header included (as in docs/protocol.md §3).
mod field {
    use super::Field;
    pub const TYPE: usize = 0;
    pub const LEN: usize = 1;
    pub const VALUE: usize = 2;

    pub const VERSION: usize = 2;
    pub const OPCODE: usize = 3;
    pub const STATE: usize = 4;
    pub const IP_VERSION: usize = 5;
    pub const GROUP: Field = 6..8;
    pub const IDENTIFIER: Field = 8..14;
    pub const PRIORITY: Field = 14..18;
    pub const HELLO: Field = 18..22;
    pub const HOLD: Field = 22..26;
    pub const VIP: Field = 26..42;

    pub const ACTIVE: Field = 2..4;
    pub const PASSIVE: Field = 4..6;

    pub const TEXT: Field = 2..10;
}

/// v2 state code (0..6) to `State`.
pub fn state_from_wire(v: u8) -> Result<State, Error> {
    Ok(match v {
        0 => State::Disabled,
        1 => State::Initial,
        2 => State::Learn,
        3 => State::Listen,
        4 => State::Speak,
        5 => State::Standby,
        6 => State::Active,
        _ => {
            return Err(Error::BadState {
                version: Version::V2,
                value: v,
            })
        }
    })
}

pub fn state_to_wire(s: State) -> u8 {
    match s {
        State::Disabled => 0,
        State::Initial => 1,
        State::Learn => 2,
        State::Listen => 3,
        State::Speak => 4,
        State::Standby => 5,
        State::Active => 6,
    }
}

fn be16(b: &[u8]) -> u16 {
    u16::from_be_bytes([b[0], b[1]])
}
fn be32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

/// A checked view of one TLV: header present and the value fits in the buffer.
#[derive(Debug, Clone, Copy)]
pub struct Tlv<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Tlv<T> {
    pub fn new_unchecked(buffer: T) -> Self {
        Tlv { buffer }
    }

    /// `buffer` starts at the TLV, which is at offset `at` of the payload.
    pub fn new_checked(buffer: T, at: usize) -> Result<Self, Error> {
        let b = buffer.as_ref();
        check_len("TLV header", at, b, 2)?;
        check_len("TLV value", at, b, 2 + b[field::LEN] as usize)?;
        Ok(Tlv { buffer })
    }

    pub fn tlv_type(&self) -> u8 {
        self.buffer.as_ref()[field::TYPE]
    }
    pub fn value_len(&self) -> u8 {
        self.buffer.as_ref()[field::LEN]
    }
    /// Header plus value.
    pub fn total_len(&self) -> usize {
        2 + self.value_len() as usize
    }
    /// The TLV, header included, without whatever follows it.
    pub fn bytes(&self) -> &[u8] {
        &self.buffer.as_ref()[..self.total_len()]
    }
    pub fn value(&self) -> &[u8] {
        &self.buffer.as_ref()[field::VALUE..self.total_len()]
    }

    /// Check the value length is exactly `expected`.
    pub fn check_value_len(&self, at: usize, expected: u8) -> Result<(), Error> {
        if self.value_len() != expected {
            return Err(Error::BadTlvLength {
                tlv_type: self.tlv_type(),
                at,
                len: self.value_len() as usize,
                expected: expected as usize,
            });
        }
        Ok(())
    }
}

/// Walk the TLVs of `payload[start..]`, yielding `(offset, tlv)`; a truncated TLV yields one
/// error and ends the walk.
pub fn tlvs(payload: &[u8], start: usize) -> TlvIter<'_> {
    TlvIter {
        payload,
        at: start,
        failed: false,
    }
}

pub struct TlvIter<'a> {
    payload: &'a [u8],
    at: usize,
    failed: bool,
}

impl<'a> Iterator for TlvIter<'a> {
    type Item = Result<(usize, Tlv<&'a [u8]>), Error>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.at >= self.payload.len() {
            return None;
        }
        let at = self.at;
        match Tlv::new_checked(&self.payload[at..], at) {
            Ok(tlv) => {
                self.at += tlv.total_len();
                Some(Ok((at, tlv)))
            }
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}

/// A checked view of a Group State TLV (42 bytes, header included).
#[derive(Debug, Clone, Copy)]
pub struct GroupState<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> GroupState<T> {
    pub fn new_unchecked(buffer: T) -> Self {
        GroupState { buffer }
    }

    pub fn new_checked(buffer: T, at: usize) -> Result<Self, Error> {
        let tlv = Tlv::new_checked(buffer.as_ref(), at)?;
        tlv.check_value_len(at, GROUP_STATE_VALUE_LEN)?;
        check_len("Group State TLV", at, buffer.as_ref(), GROUP_STATE_TLV_LEN)?;
        Ok(GroupState { buffer })
    }

    fn b(&self) -> &[u8] {
        self.buffer.as_ref()
    }
    pub fn version(&self) -> u8 {
        self.b()[field::VERSION]
    }
    pub fn opcode(&self) -> u8 {
        self.b()[field::OPCODE]
    }
    pub fn state(&self) -> u8 {
        self.b()[field::STATE]
    }
    pub fn ip_version(&self) -> u8 {
        self.b()[field::IP_VERSION]
    }
    pub fn group(&self) -> u16 {
        be16(&self.b()[field::GROUP])
    }
    pub fn identifier(&self) -> MacAddr {
        let mut m = [0u8; 6];
        m.copy_from_slice(&self.b()[field::IDENTIFIER]);
        MacAddr(m)
    }
    pub fn priority(&self) -> u32 {
        be32(&self.b()[field::PRIORITY])
    }
    pub fn hello_time(&self) -> u32 {
        be32(&self.b()[field::HELLO])
    }
    pub fn hold_time(&self) -> u32 {
        be32(&self.b()[field::HOLD])
    }
    /// The raw 16 VIP bytes (an IPv4 VIP uses the first 4; the rest may be garbage).
    pub fn virtual_ip_bytes(&self) -> [u8; 16] {
        let mut v = [0u8; 16];
        v.copy_from_slice(&self.b()[field::VIP]);
        v
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> GroupState<T> {
    fn m(&mut self) -> &mut [u8] {
        self.buffer.as_mut()
    }
    pub fn set_header(&mut self) {
        self.m()[field::TYPE] = TLV_GROUP_STATE;
        self.m()[field::LEN] = GROUP_STATE_VALUE_LEN;
    }
    pub fn set_version(&mut self, v: u8) {
        self.m()[field::VERSION] = v;
    }
    pub fn set_opcode(&mut self, v: u8) {
        self.m()[field::OPCODE] = v;
    }
    pub fn set_state(&mut self, v: u8) {
        self.m()[field::STATE] = v;
    }
    pub fn set_ip_version(&mut self, v: u8) {
        self.m()[field::IP_VERSION] = v;
    }
    pub fn set_group(&mut self, v: u16) {
        self.m()[field::GROUP].copy_from_slice(&v.to_be_bytes());
    }
    pub fn set_identifier(&mut self, v: MacAddr) {
        self.m()[field::IDENTIFIER].copy_from_slice(&v.0);
    }
    pub fn set_priority(&mut self, v: u32) {
        self.m()[field::PRIORITY].copy_from_slice(&v.to_be_bytes());
    }
    pub fn set_hello_time(&mut self, v: u32) {
        self.m()[field::HELLO].copy_from_slice(&v.to_be_bytes());
    }
    pub fn set_hold_time(&mut self, v: u32) {
        self.m()[field::HOLD].copy_from_slice(&v.to_be_bytes());
    }
    pub fn set_virtual_ip_bytes(&mut self, v: &[u8; 16]) {
        self.m()[field::VIP].copy_from_slice(v);
    }
}

/// The meaning of a Group State TLV.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupStateRepr {
    pub opcode: Opcode,
    pub state: State,
    /// 0-4095.
    pub group: u16,
    /// The sender's interface MAC.
    pub identifier: MacAddr,
    /// u32 on the wire; 0-255 used.
    pub priority: u32,
    /// Milliseconds.
    pub hello_ms: u32,
    /// Milliseconds.
    pub hold_ms: u32,
    /// The address family here is the TLV's IP version field. An IPv4 VIP ignores the 12
    /// trailing bytes (IOS garbage) and is emitted with zeros there.
    pub virtual_ip: IpAddr,
}

impl GroupStateRepr {
    pub const MAX_GROUP: u16 = hsrp_ebpf::proto::MAX_GROUP_V2;

    pub fn parse<T: AsRef<[u8]>>(tlv: &GroupState<T>, at: usize) -> Result<Self, Error> {
        if tlv.version() != 2 {
            return Err(Error::BadVersion {
                at: at + field::VERSION,
                value: tlv.version(),
            });
        }
        let vip = tlv.virtual_ip_bytes();
        let virtual_ip = match tlv.ip_version() {
            4 => IpAddr::V4(Ipv4Addr::new(vip[0], vip[1], vip[2], vip[3])),
            6 => IpAddr::V6(Ipv6Addr::from(vip)),
            v => {
                return Err(Error::BadField {
                    what: "Group State IP version",
                    value: v as u32,
                })
            }
        };
        if tlv.group() > Self::MAX_GROUP {
            return Err(Error::BadField {
                what: "HSRPv2 group",
                value: tlv.group() as u32,
            });
        }
        Ok(GroupStateRepr {
            opcode: opcode_from_wire(Version::V2, tlv.opcode())?,
            state: state_from_wire(tlv.state())?,
            group: tlv.group(),
            identifier: tlv.identifier(),
            priority: tlv.priority(),
            hello_ms: tlv.hello_time(),
            hold_ms: tlv.hold_time(),
            virtual_ip,
        })
    }

    pub const fn buffer_len(&self) -> usize {
        GROUP_STATE_TLV_LEN
    }

    pub fn emit(&self, buf: &mut [u8]) -> Result<(), Error> {
        check_room(buf, GROUP_STATE_TLV_LEN)?;
        if self.group > Self::MAX_GROUP {
            return Err(Error::Unencodable {
                what: "HSRPv2 group",
                why: "above 4095",
            });
        }
        let mut t = GroupState::new_unchecked(&mut buf[..GROUP_STATE_TLV_LEN]);
        t.set_header();
        t.set_version(2);
        t.set_opcode(opcode_to_wire(self.opcode));
        t.set_state(state_to_wire(self.state));
        t.set_group(self.group);
        t.set_identifier(self.identifier);
        t.set_priority(self.priority);
        t.set_hello_time(self.hello_ms);
        t.set_hold_time(self.hold_ms);
        let mut vip = [0u8; 16];
        match self.virtual_ip {
            IpAddr::V4(a) => {
                t.set_ip_version(4);
                vip[..4].copy_from_slice(&a.octets());
            }
            IpAddr::V6(a) => {
                t.set_ip_version(6);
                vip = a.octets();
            }
        }
        t.set_virtual_ip_bytes(&vip);
        Ok(())
    }
}

/// Parse an Interface State TLV's value: (active groups, passive groups).
pub fn parse_interface_state<T: AsRef<[u8]>>(tlv: &Tlv<T>, at: usize) -> Result<(u16, u16), Error> {
    tlv.check_value_len(at, INTERFACE_STATE_VALUE_LEN)?;
    let b = tlv.bytes();
    Ok((be16(&b[field::ACTIVE]), be16(&b[field::PASSIVE])))
}

pub fn emit_interface_state(active: u16, passive: u16, buf: &mut [u8]) -> Result<(), Error> {
    check_room(buf, INTERFACE_STATE_TLV_LEN)?;
    buf[field::TYPE] = TLV_INTERFACE_STATE;
    buf[field::LEN] = INTERFACE_STATE_VALUE_LEN;
    buf[field::ACTIVE].copy_from_slice(&active.to_be_bytes());
    buf[field::PASSIVE].copy_from_slice(&passive.to_be_bytes());
    Ok(())
}

/// Parse a Text Authentication TLV's 8 bytes.
pub fn parse_text_auth<T: AsRef<[u8]>>(tlv: &Tlv<T>, at: usize) -> Result<[u8; TEXT_LEN], Error> {
    tlv.check_value_len(at, TEXT_AUTH_VALUE_LEN)?;
    let mut t = [0u8; TEXT_LEN];
    t.copy_from_slice(&tlv.bytes()[field::TEXT]);
    Ok(t)
}

pub fn emit_text_auth(text: &[u8; TEXT_LEN], buf: &mut [u8]) -> Result<(), Error> {
    check_room(buf, TEXT_AUTH_TLV_LEN)?;
    buf[field::TYPE] = TLV_TEXT_AUTH;
    buf[field::LEN] = TEXT_AUTH_VALUE_LEN;
    buf[field::TEXT].copy_from_slice(text);
    Ok(())
}

/// The authentication a v2 packet carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthRepr {
    None,
    Text([u8; TEXT_LEN]),
    Md5(super::auth::Md5Repr),
}

impl AuthRepr {
    pub fn buffer_len(&self) -> usize {
        match self {
            AuthRepr::None => 0,
            AuthRepr::Text(_) => TEXT_AUTH_TLV_LEN,
            AuthRepr::Md5(_) => super::auth::MD5_TLV_LEN,
        }
    }
    pub fn kind(&self) -> &'static str {
        match self {
            AuthRepr::None => "no",
            AuthRepr::Text(_) => "text",
            AuthRepr::Md5(_) => "MD5",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// ndpi_hsrp2.pcap frame 2: group 103, Active, prio 110, VIP 10.52.253.126, text "cisco".
    static PACKET: [u8; 52] = [
        0x01, 0x28, 0x02, 0x00, 0x06, 0x04, 0x00, 0x67, 0x70, 0x0f, 0x6a, 0xef, 0xf5, 0xbf, 0x00,
        0x00, 0x00, 0x6e, 0x00, 0x00, 0x0b, 0xb8, 0x00, 0x00, 0x27, 0x10, 0x0a, 0x34, 0xfd, 0x7e,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0x08, 0x63,
        0x69, 0x73, 0x63, 0x6f, 0x00, 0x00, 0x00,
    ];

    fn repr() -> GroupStateRepr {
        GroupStateRepr {
            opcode: Opcode::Hello,
            state: State::Active,
            group: 103,
            identifier: MacAddr([0x70, 0x0f, 0x6a, 0xef, 0xf5, 0xbf]),
            priority: 110,
            hello_ms: 3000,
            hold_ms: 10000,
            virtual_ip: IpAddr::V4(Ipv4Addr::new(10, 52, 253, 126)),
        }
    }

    #[test]
    fn deconstruct_parse_emit() {
        let t = GroupState::new_checked(&PACKET[..], 0).unwrap();
        assert_eq!(t.version(), 2);
        assert_eq!(t.state(), 6);
        assert_eq!(t.ip_version(), 4);
        assert_eq!(t.group(), 103);
        assert_eq!(t.priority(), 110);
        assert_eq!(t.hello_time(), 3000);
        assert_eq!(t.hold_time(), 10000);
        assert_eq!(GroupStateRepr::parse(&t, 0).unwrap(), repr());
        let mut out = [0xeeu8; 42];
        repr().emit(&mut out).unwrap();
        assert_eq!(out[..], PACKET[..42]);
        let (at, text) = tlvs(&PACKET, 0).nth(1).unwrap().unwrap();
        assert_eq!(at, 42);
        assert_eq!(&parse_text_auth(&text, at).unwrap(), b"cisco\0\0\0");
    }

    #[test]
    fn ipv4_vip_garbage_is_ignored() {
        let mut p = PACKET;
        p[30..42].copy_from_slice(&[0xde; 12]);
        let t = GroupState::new_checked(&p[..], 0).unwrap();
        assert_eq!(GroupStateRepr::parse(&t, 0).unwrap(), repr());
    }

    #[test]
    fn truncated_tlv_is_an_error() {
        let r: Vec<_> = tlvs(&PACKET[..50], 0).collect();
        assert_eq!(r.len(), 2);
        assert!(matches!(r[1], Err(Error::Truncated { at: 42, .. })));
    }
}
