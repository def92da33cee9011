//! BFD Control packets (RFC 5880 §4.1), the UDP payload of single-hop BFD (RFC 5881, port
//! 3784). Same idiom as `v1`: a checked `Packet` view with named field ranges and a `Repr`
//! with `parse`/`emit`/`buffer_len`; malformed input is an `Error` value, never a panic.
//!
//! `Repr::parse` applies every check of RFC 5880 §6.8.6 that needs no session state
//! (version, length, detect multiplier, multipoint, discriminators). Authentication is not
//! implemented: a packet with the A bit set is refused with `Error::Authenticated` — RFC 5880
//! §6.8.6 says such a packet MUST be discarded when no authentication is in use — and the
//! caller counts it. Packets are therefore always emitted without the A bit and without an
//! authentication section.

use super::Field;

/// UDP destination port of single-hop BFD Control packets (RFC 5881 §4).
pub const PORT: u16 = hsrp_ebpf::bfd::PORT;
/// Length of a Control packet without authentication (the only kind emitted).
pub const PACKET_LEN: usize = hsrp_ebpf::bfd::CONTROL_LEN;
/// The protocol version this codec speaks.
pub const VERSION: u8 = 1;

mod field {
    use super::Field;
    /// Version (3 high bits) and Diagnostic (5 low bits).
    pub const VERS_DIAG: usize = 0;
    /// State (2 high bits) and the P, F, C, A, D, M flags.
    pub const STATE_FLAGS: usize = 1;
    pub const DETECT_MULT: usize = 2;
    pub const LENGTH: usize = 3;
    pub const MY_DISCR: Field = 4..8;
    pub const YOUR_DISCR: Field = 8..12;
    pub const DESIRED_MIN_TX: Field = 12..16;
    pub const REQUIRED_MIN_RX: Field = 16..20;
    pub const REQUIRED_MIN_ECHO_RX: Field = 20..24;
}

mod flag {
    pub const POLL: u8 = 0x20;
    pub const FINAL: u8 = 0x10;
    pub const CPI: u8 = 0x08;
    pub const AUTH: u8 = 0x04;
    pub const DEMAND: u8 = 0x02;
    pub const MULTIPOINT: u8 = 0x01;
}

/// Why a BFD Control packet was refused. `Copy` and allocation-free: the receive path
/// returns one per dropped packet and counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error("truncated BFD Control packet: need {need} bytes, have {have}")]
    Truncated { need: usize, have: usize },
    #[error("bad BFD version {0} (only 1 exists)")]
    BadVersion(u8),
    #[error("BFD length field {length} is below 24 or beyond the {payload}-byte payload")]
    BadLength { length: u8, payload: usize },
    #[error("BFD detect multiplier is 0")]
    ZeroDetectMult,
    #[error("BFD multipoint bit set (reserved, must be 0)")]
    Multipoint,
    #[error("BFD My Discriminator is 0")]
    ZeroMyDiscriminator,
    #[error("BFD Your Discriminator is 0 in state {0:?} (allowed only in Down and AdminDown)")]
    ZeroYourDiscriminator(State),
    #[error("BFD authentication is not implemented: packet with the A bit refused")]
    Authenticated,
    #[error("output buffer too small for a BFD Control packet: need {need} bytes, have {have}")]
    BufferTooSmall { need: usize, have: usize },
}

/// Session state as carried on the wire (RFC 5880 §4.1, "Sta").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum State {
    AdminDown,
    Down,
    Init,
    Up,
}

impl State {
    pub fn from_wire(v: u8) -> State {
        match v & 3 {
            0 => State::AdminDown,
            1 => State::Down,
            2 => State::Init,
            _ => State::Up,
        }
    }
    pub fn to_wire(self) -> u8 {
        match self {
            State::AdminDown => 0,
            State::Down => 1,
            State::Init => 2,
            State::Up => 3,
        }
    }
}

/// Diagnostic code (RFC 5880 §4.1): why the sender's session last left Up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Diag {
    None,
    ControlDetectionExpired,
    EchoFailed,
    NeighborSignaledDown,
    ForwardingPlaneReset,
    PathDown,
    ConcatenatedPathDown,
    AdministrativelyDown,
    ReverseConcatenatedPathDown,
    /// 9-31: reserved; kept as received (the RFC does not ask to discard them).
    Reserved(u8),
}

impl Diag {
    pub fn from_wire(v: u8) -> Diag {
        match v & 0x1f {
            0 => Diag::None,
            1 => Diag::ControlDetectionExpired,
            2 => Diag::EchoFailed,
            3 => Diag::NeighborSignaledDown,
            4 => Diag::ForwardingPlaneReset,
            5 => Diag::PathDown,
            6 => Diag::ConcatenatedPathDown,
            7 => Diag::AdministrativelyDown,
            8 => Diag::ReverseConcatenatedPathDown,
            v => Diag::Reserved(v),
        }
    }
    pub fn to_wire(self) -> u8 {
        match self {
            Diag::None => 0,
            Diag::ControlDetectionExpired => 1,
            Diag::EchoFailed => 2,
            Diag::NeighborSignaledDown => 3,
            Diag::ForwardingPlaneReset => 4,
            Diag::PathDown => 5,
            Diag::ConcatenatedPathDown => 6,
            Diag::AdministrativelyDown => 7,
            Diag::ReverseConcatenatedPathDown => 8,
            Diag::Reserved(v) => v & 0x1f,
        }
    }
}

fn be32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

/// A checked view of a BFD Control packet: `new_checked` guarantees the 24 mandatory bytes.
#[derive(Debug, Clone, Copy)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    pub fn new_unchecked(buffer: T) -> Self {
        Packet { buffer }
    }

    /// Check that the 24 mandatory bytes are present.
    pub fn new_checked(buffer: T) -> Result<Self, Error> {
        let have = buffer.as_ref().len();
        if have < PACKET_LEN {
            return Err(Error::Truncated {
                need: PACKET_LEN,
                have,
            });
        }
        Ok(Packet { buffer })
    }

    fn b(&self) -> &[u8] {
        self.buffer.as_ref()
    }
    pub fn version(&self) -> u8 {
        self.b()[field::VERS_DIAG] >> 5
    }
    pub fn diag(&self) -> u8 {
        self.b()[field::VERS_DIAG] & 0x1f
    }
    pub fn state(&self) -> u8 {
        self.b()[field::STATE_FLAGS] >> 6
    }
    fn flag(&self, f: u8) -> bool {
        self.b()[field::STATE_FLAGS] & f != 0
    }
    pub fn poll(&self) -> bool {
        self.flag(flag::POLL)
    }
    pub fn final_(&self) -> bool {
        self.flag(flag::FINAL)
    }
    pub fn cpi(&self) -> bool {
        self.flag(flag::CPI)
    }
    pub fn auth(&self) -> bool {
        self.flag(flag::AUTH)
    }
    pub fn demand(&self) -> bool {
        self.flag(flag::DEMAND)
    }
    pub fn multipoint(&self) -> bool {
        self.flag(flag::MULTIPOINT)
    }
    pub fn detect_mult(&self) -> u8 {
        self.b()[field::DETECT_MULT]
    }
    pub fn length(&self) -> u8 {
        self.b()[field::LENGTH]
    }
    pub fn my_discriminator(&self) -> u32 {
        be32(&self.b()[field::MY_DISCR])
    }
    pub fn your_discriminator(&self) -> u32 {
        be32(&self.b()[field::YOUR_DISCR])
    }
    /// Microseconds.
    pub fn desired_min_tx(&self) -> u32 {
        be32(&self.b()[field::DESIRED_MIN_TX])
    }
    /// Microseconds.
    pub fn required_min_rx(&self) -> u32 {
        be32(&self.b()[field::REQUIRED_MIN_RX])
    }
    /// Microseconds.
    pub fn required_min_echo_rx(&self) -> u32 {
        be32(&self.b()[field::REQUIRED_MIN_ECHO_RX])
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    fn m(&mut self) -> &mut [u8] {
        self.buffer.as_mut()
    }
    pub fn set_version_diag(&mut self, version: u8, diag: u8) {
        self.m()[field::VERS_DIAG] = (version << 5) | (diag & 0x1f);
    }
    /// State and all six flags at once, flags as the raw low six bits.
    pub fn set_state_flags(&mut self, state: u8, flags: u8) {
        self.m()[field::STATE_FLAGS] = (state << 6) | (flags & 0x3f);
    }
    pub fn set_detect_mult(&mut self, v: u8) {
        self.m()[field::DETECT_MULT] = v;
    }
    pub fn set_length(&mut self, v: u8) {
        self.m()[field::LENGTH] = v;
    }
    pub fn set_my_discriminator(&mut self, v: u32) {
        self.m()[field::MY_DISCR].copy_from_slice(&v.to_be_bytes());
    }
    pub fn set_your_discriminator(&mut self, v: u32) {
        self.m()[field::YOUR_DISCR].copy_from_slice(&v.to_be_bytes());
    }
    pub fn set_desired_min_tx(&mut self, v: u32) {
        self.m()[field::DESIRED_MIN_TX].copy_from_slice(&v.to_be_bytes());
    }
    pub fn set_required_min_rx(&mut self, v: u32) {
        self.m()[field::REQUIRED_MIN_RX].copy_from_slice(&v.to_be_bytes());
    }
    pub fn set_required_min_echo_rx(&mut self, v: u32) {
        self.m()[field::REQUIRED_MIN_ECHO_RX].copy_from_slice(&v.to_be_bytes());
    }
}

/// The meaning of an unauthenticated BFD Control packet. Intervals in microseconds, as on
/// the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Repr {
    pub diag: Diag,
    pub state: State,
    pub poll: bool,
    pub final_: bool,
    /// Control Plane Independent (C bit). hsrpd sends 0: its BFD shares fate with the daemon.
    pub cpi: bool,
    /// Demand (D bit). hsrpd never sends it; a peer's is reported to the session.
    pub demand: bool,
    pub detect_mult: u8,
    pub my_discriminator: u32,
    pub your_discriminator: u32,
    pub desired_min_tx: u32,
    pub required_min_rx: u32,
    pub required_min_echo_rx: u32,
}

impl Repr {
    /// Parse and validate per RFC 5880 §6.8.6 (the checks that need no session).
    /// `packet`'s buffer must be the whole UDP payload, so the Length field can be checked
    /// against it; bytes beyond Length are ignored.
    pub fn parse<T: AsRef<[u8]>>(packet: &Packet<T>) -> Result<Repr, Error> {
        if packet.version() != VERSION {
            return Err(Error::BadVersion(packet.version()));
        }
        let payload = packet.b().len();
        let length = packet.length();
        if usize::from(length) < PACKET_LEN || usize::from(length) > payload {
            return Err(Error::BadLength { length, payload });
        }
        if packet.auth() {
            return Err(Error::Authenticated);
        }
        if packet.detect_mult() == 0 {
            return Err(Error::ZeroDetectMult);
        }
        if packet.multipoint() {
            return Err(Error::Multipoint);
        }
        if packet.my_discriminator() == 0 {
            return Err(Error::ZeroMyDiscriminator);
        }
        let state = State::from_wire(packet.state());
        if packet.your_discriminator() == 0 && !matches!(state, State::Down | State::AdminDown) {
            return Err(Error::ZeroYourDiscriminator(state));
        }
        Ok(Repr {
            diag: Diag::from_wire(packet.diag()),
            state,
            poll: packet.poll(),
            final_: packet.final_(),
            cpi: packet.cpi(),
            demand: packet.demand(),
            detect_mult: packet.detect_mult(),
            my_discriminator: packet.my_discriminator(),
            your_discriminator: packet.your_discriminator(),
            desired_min_tx: packet.desired_min_tx(),
            required_min_rx: packet.required_min_rx(),
            required_min_echo_rx: packet.required_min_echo_rx(),
        })
    }

    pub const fn buffer_len(&self) -> usize {
        PACKET_LEN
    }

    /// Write the 24 bytes at the start of the packet's buffer (A and M bits clear).
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Packet<T>) -> Result<(), Error> {
        let have = packet.b().len();
        if have < PACKET_LEN {
            return Err(Error::BufferTooSmall {
                need: PACKET_LEN,
                have,
            });
        }
        let flags = (if self.poll { flag::POLL } else { 0 })
            | (if self.final_ { flag::FINAL } else { 0 })
            | (if self.cpi { flag::CPI } else { 0 })
            | (if self.demand { flag::DEMAND } else { 0 });
        packet.set_version_diag(VERSION, self.diag.to_wire());
        packet.set_state_flags(self.state.to_wire(), flags);
        packet.set_detect_mult(self.detect_mult);
        packet.set_length(PACKET_LEN as u8);
        packet.set_my_discriminator(self.my_discriminator);
        packet.set_your_discriminator(self.your_discriminator);
        packet.set_desired_min_tx(self.desired_min_tx);
        packet.set_required_min_rx(self.required_min_rx);
        packet.set_required_min_echo_rx(self.required_min_echo_rx);
        Ok(())
    }

    /// Encode into a fresh 24-byte array (the transmit path's usual form).
    pub fn to_bytes(&self) -> [u8; PACKET_LEN] {
        let mut b = [0u8; PACKET_LEN];
        // Cannot fail: the buffer is exactly PACKET_LEN.
        let _ = self.emit(&mut Packet::new_unchecked(&mut b[..]));
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hand-checked against RFC 5880 §4.1: version 1, diag 1 (Control Detection Time
    /// Expired), state Up (3) with Poll set (0xc0 | 0x20 = 0xe0), detect mult 3, length 24,
    /// my discr 0x11223344, your discr 0x55667788, desired min TX 50 ms (50000 µs = 0xc350),
    /// required min RX 300 ms (0x000493e0), required min echo RX 0.
    static PACKET: [u8; 24] = [
        0x21, 0xe0, 0x03, 0x18, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x00, 0x00, 0xc3,
        0x50, 0x00, 0x04, 0x93, 0xe0, 0x00, 0x00, 0x00, 0x00,
    ];

    fn repr() -> Repr {
        Repr {
            diag: Diag::ControlDetectionExpired,
            state: State::Up,
            poll: true,
            final_: false,
            cpi: false,
            demand: false,
            detect_mult: 3,
            my_discriminator: 0x1122_3344,
            your_discriminator: 0x5566_7788,
            desired_min_tx: 50_000,
            required_min_rx: 300_000,
            required_min_echo_rx: 0,
        }
    }

    #[test]
    fn deconstruct() {
        let p = Packet::new_checked(&PACKET[..]).unwrap();
        assert_eq!(p.version(), 1);
        assert_eq!(p.diag(), 1);
        assert_eq!(p.state(), 3);
        assert!(p.poll());
        assert!(!p.final_() && !p.cpi() && !p.auth() && !p.demand() && !p.multipoint());
        assert_eq!(p.detect_mult(), 3);
        assert_eq!(p.length(), 24);
        assert_eq!(p.my_discriminator(), 0x1122_3344);
        assert_eq!(p.your_discriminator(), 0x5566_7788);
        assert_eq!(p.desired_min_tx(), 50_000);
        assert_eq!(p.required_min_rx(), 300_000);
        assert_eq!(p.required_min_echo_rx(), 0);
    }

    #[test]
    fn construct() {
        let mut buf = [0xaau8; 24];
        let mut p = Packet::new_unchecked(&mut buf[..]);
        p.set_version_diag(1, 1);
        p.set_state_flags(3, 0x20);
        p.set_detect_mult(3);
        p.set_length(24);
        p.set_my_discriminator(0x1122_3344);
        p.set_your_discriminator(0x5566_7788);
        p.set_desired_min_tx(50_000);
        p.set_required_min_rx(300_000);
        p.set_required_min_echo_rx(0);
        assert_eq!(buf, PACKET);
    }

    #[test]
    fn parse_and_emit() {
        let p = Packet::new_checked(&PACKET[..]).unwrap();
        assert_eq!(Repr::parse(&p).unwrap(), repr());
        let mut buf = [0xaau8; 24];
        repr()
            .emit(&mut Packet::new_unchecked(&mut buf[..]))
            .unwrap();
        assert_eq!(buf, PACKET);
        assert_eq!(repr().to_bytes(), PACKET);
        assert_eq!(repr().buffer_len(), 24);
    }

    /// A first packet of a session: Down, your discriminator 0, Final and C set.
    #[test]
    fn down_with_zero_your_discriminator_and_flags() {
        let mut b = PACKET;
        b[0] = 0x20; // diag 0
        b[1] = 0x40 | 0x10 | 0x08; // Down, F, C
        b[8..12].fill(0);
        let r = Repr::parse(&Packet::new_checked(&b[..]).unwrap()).unwrap();
        assert_eq!(r.state, State::Down);
        assert_eq!(r.diag, Diag::None);
        assert!(r.final_ && r.cpi && !r.poll && !r.demand);
        assert_eq!(r.your_discriminator, 0);
        assert_eq!(r.to_bytes(), b);
    }

    fn parse(b: &[u8]) -> Result<Repr, Error> {
        Repr::parse(&Packet::new_checked(b)?)
    }

    #[test]
    fn rfc5880_6_8_6_checks() {
        assert_eq!(
            parse(&PACKET[..23]),
            Err(Error::Truncated { need: 24, have: 23 })
        );
        let mut b = PACKET;
        b[0] = 0x41; // version 2
        assert_eq!(parse(&b), Err(Error::BadVersion(2)));
        let mut b = PACKET;
        b[3] = 23;
        assert_eq!(
            parse(&b),
            Err(Error::BadLength {
                length: 23,
                payload: 24
            })
        );
        let mut b = PACKET;
        b[3] = 25;
        assert_eq!(
            parse(&b),
            Err(Error::BadLength {
                length: 25,
                payload: 24
            })
        );
        let mut b = PACKET;
        b[1] |= 0x04;
        assert_eq!(parse(&b), Err(Error::Authenticated));
        let mut b = PACKET;
        b[2] = 0;
        assert_eq!(parse(&b), Err(Error::ZeroDetectMult));
        let mut b = PACKET;
        b[1] |= 0x01;
        assert_eq!(parse(&b), Err(Error::Multipoint));
        let mut b = PACKET;
        b[4..8].fill(0);
        assert_eq!(parse(&b), Err(Error::ZeroMyDiscriminator));
        for (sta, state) in [(2u8, State::Init), (3, State::Up)] {
            let mut b = PACKET;
            b[1] = sta << 6;
            b[8..12].fill(0);
            assert_eq!(parse(&b), Err(Error::ZeroYourDiscriminator(state)));
        }
        let mut b = PACKET;
        b[1] = 0; // AdminDown with your discr 0: valid
        b[8..12].fill(0);
        assert_eq!(parse(&b).unwrap().state, State::AdminDown);
    }

    /// Bytes after the Length field's end are ignored; a length beyond 24 (inside the
    /// payload) is accepted without the A bit.
    #[test]
    fn trailing_bytes_ignored() {
        let mut b = [0u8; 30];
        b[..24].copy_from_slice(&PACKET);
        assert_eq!(parse(&b).unwrap(), repr());
        b[3] = 30;
        assert_eq!(parse(&b).unwrap(), repr());
    }

    #[test]
    fn reserved_diag_kept() {
        let mut b = PACKET;
        b[0] = 0x20 | 17;
        assert_eq!(parse(&b).unwrap().diag, Diag::Reserved(17));
    }

    #[test]
    fn emit_refuses_short_buffer() {
        let mut b = [0u8; 10];
        assert_eq!(
            repr().emit(&mut Packet::new_unchecked(&mut b[..])),
            Err(Error::BufferTooSmall { need: 24, have: 10 })
        );
    }
}
