//! HSRPv1 (RFC 2281): the 20-byte Hello/Coup/Resign packet and Cisco's 16-byte Advertise
//! (opcode 3). The optional MD5 TLV that may follow is handled by `payload`.

use std::net::Ipv4Addr;

use super::auth::TEXT_LEN;
use super::{check_len, check_room, Error, Field};
use crate::proto::{Opcode, State, Version};

/// Length of a Hello/Coup/Resign packet without MD5.
pub const PACKET_LEN: usize = hsrp_ebpf::proto::V1_PACKET_LEN;
/// Length of an Advertise packet.
pub const ADVERTISE_LEN: usize = hsrp_ebpf::proto::V1_ADVERTISE_LEN;
/// Wire opcode of Advertise.
pub const OPCODE_ADVERTISE: u8 = hsrp_ebpf::proto::V1_OPCODE_ADVERTISE;

mod field {
    use super::Field;
    pub const VERSION: usize = 0;
    pub const OPCODE: usize = 1;
    pub const STATE: usize = 2;
    pub const HELLO: usize = 3;
    pub const HOLD: usize = 4;
    pub const PRIORITY: usize = 5;
    pub const GROUP: usize = 6;
    pub const RESERVED: usize = 7;
    pub const AUTH: Field = 8..16;
    pub const VIP: Field = 16..20;

    // Advertise
    pub const ADV_TYPE: Field = 2..4;
    pub const ADV_LEN: Field = 4..6;
    pub const ADV_STATE: usize = 6;
    pub const ADV_RESERVED1: usize = 7;
    pub const ADV_ACTIVE: Field = 8..10;
    pub const ADV_PASSIVE: Field = 10..12;
    pub const ADV_RESERVED2: Field = 12..16;
}

/// v1 state code to `State` (0,1,2,4,8,16).
pub fn state_from_wire(v: u8) -> Result<State, Error> {
    Ok(match v {
        0 => State::Initial,
        1 => State::Learn,
        2 => State::Listen,
        4 => State::Speak,
        8 => State::Standby,
        16 => State::Active,
        _ => {
            return Err(Error::BadState {
                version: Version::V1,
                value: v,
            })
        }
    })
}

/// `State` to its v1 code; v1 has no code for Disabled.
pub fn state_to_wire(s: State) -> Result<u8, Error> {
    Ok(match s {
        State::Initial => 0,
        State::Learn => 1,
        State::Listen => 2,
        State::Speak => 4,
        State::Standby => 8,
        State::Active => 16,
        State::Disabled => {
            return Err(Error::Unencodable {
                what: "HSRPv1 state",
                why: "v1 has no code for Disabled",
            })
        }
    })
}

/// Wire opcode (0..2) to `Opcode`, shared by v1 and v2.
pub(crate) fn opcode_from_wire(version: Version, v: u8) -> Result<Opcode, Error> {
    match v {
        0 => Ok(Opcode::Hello),
        1 => Ok(Opcode::Coup),
        2 => Ok(Opcode::Resign),
        _ => Err(Error::BadOpcode { version, value: v }),
    }
}

pub(crate) fn opcode_to_wire(o: Opcode) -> u8 {
    match o {
        Opcode::Hello => 0,
        Opcode::Coup => 1,
        Opcode::Resign => 2,
    }
}

fn be16(b: &[u8]) -> u16 {
    u16::from_be_bytes([b[0], b[1]])
}

/// A checked view of a v1 Hello/Coup/Resign packet (the first 20 bytes of the payload).
#[derive(Debug, Clone, Copy)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    pub fn new_unchecked(buffer: T) -> Self {
        Packet { buffer }
    }

    /// Check that the 20 fixed bytes are present.
    pub fn new_checked(buffer: T) -> Result<Self, Error> {
        check_len("HSRPv1 packet", 0, buffer.as_ref(), PACKET_LEN)?;
        Ok(Packet { buffer })
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
    pub fn hello_time(&self) -> u8 {
        self.b()[field::HELLO]
    }
    pub fn hold_time(&self) -> u8 {
        self.b()[field::HOLD]
    }
    pub fn priority(&self) -> u8 {
        self.b()[field::PRIORITY]
    }
    pub fn group(&self) -> u8 {
        self.b()[field::GROUP]
    }
    pub fn reserved(&self) -> u8 {
        self.b()[field::RESERVED]
    }
    pub fn auth_data(&self) -> [u8; TEXT_LEN] {
        let mut t = [0u8; TEXT_LEN];
        t.copy_from_slice(&self.b()[field::AUTH]);
        t
    }
    pub fn virtual_ip(&self) -> Ipv4Addr {
        let v = &self.b()[field::VIP];
        Ipv4Addr::new(v[0], v[1], v[2], v[3])
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    fn m(&mut self) -> &mut [u8] {
        self.buffer.as_mut()
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
    pub fn set_hello_time(&mut self, v: u8) {
        self.m()[field::HELLO] = v;
    }
    pub fn set_hold_time(&mut self, v: u8) {
        self.m()[field::HOLD] = v;
    }
    pub fn set_priority(&mut self, v: u8) {
        self.m()[field::PRIORITY] = v;
    }
    pub fn set_group(&mut self, v: u8) {
        self.m()[field::GROUP] = v;
    }
    pub fn set_reserved(&mut self, v: u8) {
        self.m()[field::RESERVED] = v;
    }
    pub fn set_auth_data(&mut self, v: &[u8; TEXT_LEN]) {
        self.m()[field::AUTH].copy_from_slice(v);
    }
    pub fn set_virtual_ip(&mut self, v: Ipv4Addr) {
        self.m()[field::VIP].copy_from_slice(&v.octets());
    }
}

/// The meaning of a v1 Hello/Coup/Resign (without the optional MD5 TLV).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Repr {
    pub opcode: Opcode,
    pub state: State,
    /// Seconds.
    pub hello_time: u8,
    /// Seconds.
    pub hold_time: u8,
    pub priority: u8,
    pub group: u8,
    /// The text authentication field as received: NUL-padded text, all zero with MD5.
    pub auth_data: [u8; TEXT_LEN],
    /// 0.0.0.0 when the sender has no VIP configured or learned.
    pub virtual_ip: Ipv4Addr,
}

impl Repr {
    pub fn parse<T: AsRef<[u8]>>(packet: &Packet<T>) -> Result<Repr, Error> {
        if packet.version() != 0 {
            return Err(Error::BadVersion {
                at: 0,
                value: packet.version(),
            });
        }
        Ok(Repr {
            opcode: opcode_from_wire(Version::V1, packet.opcode())?,
            state: state_from_wire(packet.state())?,
            hello_time: packet.hello_time(),
            hold_time: packet.hold_time(),
            priority: packet.priority(),
            group: packet.group(),
            auth_data: packet.auth_data(),
            virtual_ip: packet.virtual_ip(),
        })
    }

    pub const fn buffer_len(&self) -> usize {
        PACKET_LEN
    }

    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Packet<T>) -> Result<(), Error> {
        check_room(packet.buffer.as_ref(), PACKET_LEN)?;
        packet.set_version(0);
        packet.set_opcode(opcode_to_wire(self.opcode));
        packet.set_state(state_to_wire(self.state)?);
        packet.set_hello_time(self.hello_time);
        packet.set_hold_time(self.hold_time);
        packet.set_priority(self.priority);
        packet.set_group(self.group);
        packet.set_reserved(0);
        packet.set_auth_data(&self.auth_data);
        packet.set_virtual_ip(self.virtual_ip);
        Ok(())
    }
}

/// The state an Advertise reports for the interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AdvState {
    Dormant,
    Passive,
    Active,
}

impl AdvState {
    pub fn from_wire(v: u8) -> Result<AdvState, Error> {
        match v {
            1 => Ok(AdvState::Dormant),
            2 => Ok(AdvState::Passive),
            3 => Ok(AdvState::Active),
            _ => Err(Error::BadField {
                what: "Advertise state",
                value: v as u32,
            }),
        }
    }
    pub fn to_wire(self) -> u8 {
        match self {
            AdvState::Dormant => 1,
            AdvState::Passive => 2,
            AdvState::Active => 3,
        }
    }
}

/// A checked view of a v1 Advertise (opcode 3, 16 bytes).
#[derive(Debug, Clone, Copy)]
pub struct Advertise<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Advertise<T> {
    pub fn new_unchecked(buffer: T) -> Self {
        Advertise { buffer }
    }
    pub fn new_checked(buffer: T) -> Result<Self, Error> {
        check_len("HSRPv1 Advertise", 0, buffer.as_ref(), ADVERTISE_LEN)?;
        Ok(Advertise { buffer })
    }
    fn b(&self) -> &[u8] {
        self.buffer.as_ref()
    }
    pub fn adv_type(&self) -> u16 {
        be16(&self.b()[field::ADV_TYPE])
    }
    pub fn adv_length(&self) -> u16 {
        be16(&self.b()[field::ADV_LEN])
    }
    pub fn state(&self) -> u8 {
        self.b()[field::ADV_STATE]
    }
    pub fn active_groups(&self) -> u16 {
        be16(&self.b()[field::ADV_ACTIVE])
    }
    pub fn passive_groups(&self) -> u16 {
        be16(&self.b()[field::ADV_PASSIVE])
    }
}

/// The meaning of a v1 Advertise. Both reserved fields are ignored on read (IOS leaves
/// garbage in the last one) and sent as zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AdvertiseRepr {
    pub state: AdvState,
    pub active_groups: u16,
    pub passive_groups: u16,
}

impl AdvertiseRepr {
    /// The only advertisement type seen or defined.
    pub const TYPE_INTERFACE_STATE: u16 = 1;
    /// The length field: bytes from the type field to the end.
    pub const LENGTH: u16 = (ADVERTISE_LEN - 2) as u16;

    pub fn parse<T: AsRef<[u8]>>(adv: &Advertise<T>) -> Result<AdvertiseRepr, Error> {
        let b = adv.b();
        if b[field::VERSION] != 0 {
            return Err(Error::BadVersion {
                at: 0,
                value: b[field::VERSION],
            });
        }
        if b[field::OPCODE] != OPCODE_ADVERTISE {
            return Err(Error::BadOpcode {
                version: Version::V1,
                value: b[field::OPCODE],
            });
        }
        if adv.adv_type() != Self::TYPE_INTERFACE_STATE {
            return Err(Error::BadField {
                what: "Advertise type",
                value: adv.adv_type() as u32,
            });
        }
        if adv.adv_length() != Self::LENGTH {
            return Err(Error::BadField {
                what: "Advertise length",
                value: adv.adv_length() as u32,
            });
        }
        Ok(AdvertiseRepr {
            state: AdvState::from_wire(adv.state())?,
            active_groups: adv.active_groups(),
            passive_groups: adv.passive_groups(),
        })
    }

    pub const fn buffer_len(&self) -> usize {
        ADVERTISE_LEN
    }

    /// Write the 16 bytes at the start of `buf`.
    pub fn emit(&self, buf: &mut [u8]) -> Result<(), Error> {
        check_room(buf, ADVERTISE_LEN)?;
        let b = &mut buf[..ADVERTISE_LEN];
        b[field::VERSION] = 0;
        b[field::OPCODE] = OPCODE_ADVERTISE;
        b[field::ADV_TYPE].copy_from_slice(&Self::TYPE_INTERFACE_STATE.to_be_bytes());
        b[field::ADV_LEN].copy_from_slice(&Self::LENGTH.to_be_bytes());
        b[field::ADV_STATE] = self.state.to_wire();
        b[field::ADV_RESERVED1] = 0;
        b[field::ADV_ACTIVE].copy_from_slice(&self.active_groups.to_be_bytes());
        b[field::ADV_PASSIVE].copy_from_slice(&self.passive_groups.to_be_bytes());
        b[field::ADV_RESERVED2].fill(0);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// docs/protocol.md §2: default hello, group 1, prio 100, Active, VIP 192.168.0.1.
    static HELLO: [u8; 20] = [
        0x00, 0x00, 0x10, 0x03, 0x0a, 0x64, 0x01, 0x00, 0x63, 0x69, 0x73, 0x63, 0x6f, 0x00, 0x00,
        0x00, 0xc0, 0xa8, 0x00, 0x01,
    ];

    fn hello_repr() -> Repr {
        Repr {
            opcode: Opcode::Hello,
            state: State::Active,
            hello_time: 3,
            hold_time: 10,
            priority: 100,
            group: 1,
            auth_data: *b"cisco\0\0\0",
            virtual_ip: Ipv4Addr::new(192, 168, 0, 1),
        }
    }

    #[test]
    fn deconstruct() {
        let p = Packet::new_checked(&HELLO[..]).unwrap();
        assert_eq!(p.version(), 0);
        assert_eq!(p.opcode(), 0);
        assert_eq!(p.state(), 16);
        assert_eq!(p.hello_time(), 3);
        assert_eq!(p.hold_time(), 10);
        assert_eq!(p.priority(), 100);
        assert_eq!(p.group(), 1);
        assert_eq!(&p.auth_data(), b"cisco\0\0\0");
        assert_eq!(p.virtual_ip(), Ipv4Addr::new(192, 168, 0, 1));
    }

    #[test]
    fn construct() {
        let mut buf = [0xaau8; 20];
        let mut p = Packet::new_unchecked(&mut buf[..]);
        p.set_version(0);
        p.set_opcode(0);
        p.set_state(16);
        p.set_hello_time(3);
        p.set_hold_time(10);
        p.set_priority(100);
        p.set_group(1);
        p.set_reserved(0);
        p.set_auth_data(b"cisco\0\0\0");
        p.set_virtual_ip(Ipv4Addr::new(192, 168, 0, 1));
        assert_eq!(buf, HELLO);
    }

    #[test]
    fn parse_and_emit() {
        let p = Packet::new_checked(&HELLO[..]).unwrap();
        assert_eq!(Repr::parse(&p).unwrap(), hello_repr());
        let mut buf = [0xaau8; 20];
        hello_repr()
            .emit(&mut Packet::new_unchecked(&mut buf[..]))
            .unwrap();
        assert_eq!(buf, HELLO);
    }

    #[test]
    fn rejects_truncated_and_bad_state() {
        assert!(matches!(
            Packet::new_checked(&HELLO[..19]),
            Err(Error::Truncated {
                need: 20,
                have: 19,
                ..
            })
        ));
        let mut bad = HELLO;
        bad[2] = 3;
        let p = Packet::new_checked(&bad[..]).unwrap();
        assert_eq!(
            Repr::parse(&p),
            Err(Error::BadState {
                version: Version::V1,
                value: 3
            })
        );
    }

    /// tcpdump_HSRP_coup.pcap frame 8: Passive, 0 active, 1 passive, garbage 0x6f reserved.
    #[test]
    fn advertise_with_garbage() {
        let raw = [
            0x00, 0x03, 0x00, 0x01, 0x00, 0x0e, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x6f, 0x00,
            0x00, 0x00,
        ];
        let a = AdvertiseRepr::parse(&Advertise::new_checked(&raw[..]).unwrap()).unwrap();
        assert_eq!(
            a,
            AdvertiseRepr {
                state: AdvState::Passive,
                active_groups: 0,
                passive_groups: 1
            }
        );
        let mut out = [0xffu8; 16];
        a.emit(&mut out).unwrap();
        assert_eq!(out[..12], raw[..12]);
        assert_eq!(out[12..], [0, 0, 0, 0]);
    }
}
