//! ICMPv6 Router Solicitation (RFC 4861 §4.1): what a host sends (to ff02::2) when its
//! link comes up, so that routers answer with an RA at once instead of the host waiting
//! for the next periodic one. The Active of an IPv6 group answers for the virtual router
//! (`fsm::ra`, `daemon::ra`).
//!
//! smoltcp's idiom: `RsPacket` is a checked view over the ICMPv6 message, `RsRepr` the
//! meaning with `parse`/`emit`/`buffer_len`; `router_solicitation` writes a whole frame
//! (hsrpd never sends one; the tests and the lab use it to stand in for a host).
//!
//! `parse` checks what RFC 4861 §6.1.1 asks of the message itself (code 0, length ≥ 8,
//! every option of non-zero length); the IPv6-level checks (hop limit 255, checksum, no
//! Source Link-Layer Address option from the unspecified address) belong to the receive
//! framing, which has the IPv6 header (`wire::rx`), and use [`RsPacket::checksum_ok`]
//! and [`RsRepr::valid_from`].

use std::net::{IpAddr, Ipv6Addr};

use super::frame::{icmpv6_multicast_frame, pseudo_checksum};
use super::nd::{check_type_and_code, for_each_option};
use super::ra::SLLA_OPTION_LEN;
use super::{check_len, check_room, Error, Field};
use crate::proto::MacAddr;

/// ICMPv6 type of a Router Solicitation.
pub const ICMPV6_ROUTER_SOLICITATION: u8 = 133;
/// Fixed part of the RS before the options: type, code, checksum, 4 reserved bytes.
pub const HEADER_LEN: usize = 8;
/// Where hosts send Router Solicitations.
pub const ALL_ROUTERS: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 2);

const IPPROTO_ICMPV6: u8 = 58;
const OPT_SLLA: u8 = 1;

mod field {
    use super::Field;
    pub const TYPE: usize = 0;
    pub const CODE: usize = 1;
    pub const CHECKSUM: Field = 2..4;
    pub const RESERVED: Field = 4..8;
    pub const OPTIONS: usize = 8;
}

/// A checked view over a Router Solicitation (ICMPv6 header on).
#[derive(Debug, Clone, Copy)]
pub struct RsPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> RsPacket<T> {
    /// Checks that the fixed 8 bytes are there (RFC 4861 §6.1.1: ICMP length ≥ 8); options
    /// are checked while they are read.
    pub fn new_checked(buffer: T) -> Result<Self, Error> {
        check_len("router solicitation", 0, buffer.as_ref(), HEADER_LEN)?;
        Ok(RsPacket { buffer })
    }

    fn b(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    pub fn msg_type(&self) -> u8 {
        self.b()[field::TYPE]
    }
    pub fn code(&self) -> u8 {
        self.b()[field::CODE]
    }
    pub fn checksum(&self) -> u16 {
        let c = &self.b()[field::CHECKSUM];
        u16::from_be_bytes([c[0], c[1]])
    }
    pub fn options(&self) -> &[u8] {
        &self.b()[field::OPTIONS..]
    }

    /// Whether the ICMPv6 checksum verifies for a message from `src` to `dst`.
    pub fn checksum_ok(&self, src: Ipv6Addr, dst: Ipv6Addr) -> bool {
        // Summing the pseudo-header and the message with its checksum in gives 0.
        pseudo_checksum(IpAddr::V6(src), IpAddr::V6(dst), IPPROTO_ICMPV6, self.b()) == 0
    }
}

/// What a Router Solicitation says: only the sender's link-layer address, if it gave one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RsRepr {
    pub source_mac: Option<MacAddr>,
}

impl RsRepr {
    /// Reads an RS: type 133, code 0, options well formed (unknown ones skipped, RFC 4861
    /// §4.6; a zero option length is an error). The checksum is not checked here (it needs
    /// the IPv6 addresses: [`RsPacket::checksum_ok`]).
    pub fn parse<T: AsRef<[u8]>>(p: &RsPacket<T>) -> Result<RsRepr, Error> {
        check_type_and_code(
            p.msg_type(),
            p.code(),
            ICMPV6_ROUTER_SOLICITATION,
            "ICMPv6 type (want 133, Router Solicitation)",
        )?;
        let mut repr = RsRepr::default();
        for_each_option(p.options(), field::OPTIONS, |kind, _, o| {
            // An SLLA of another length is another link layer's: not ours to read, skip it.
            if kind == OPT_SLLA && o.len() == SLLA_OPTION_LEN {
                let mut m = [0u8; 6];
                m.copy_from_slice(&o[2..8]);
                repr.source_mac = Some(MacAddr(m));
            }
            Ok(())
        })?;
        Ok(repr)
    }

    /// RFC 4861 §6.1.1: a solicitation from the unspecified address must not carry a Source
    /// Link-Layer Address option.
    pub fn valid_from(&self, src: Ipv6Addr) -> bool {
        !(src.is_unspecified() && self.source_mac.is_some())
    }

    /// Length of the ICMPv6 message `emit` writes.
    pub fn buffer_len(&self) -> usize {
        HEADER_LEN + self.source_mac.map_or(0, |_| SLLA_OPTION_LEN)
    }

    /// Writes the ICMPv6 message with a zero checksum into `buf`; returns its length.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, Error> {
        let n = self.buffer_len();
        check_room(buf, n)?;
        let b = &mut buf[..n];
        b[field::TYPE] = ICMPV6_ROUTER_SOLICITATION;
        b[field::CODE] = 0;
        b[field::CHECKSUM].fill(0);
        b[field::RESERVED].fill(0);
        if let Some(mac) = self.source_mac {
            let o = &mut b[field::OPTIONS..field::OPTIONS + SLLA_OPTION_LEN];
            o[0] = OPT_SLLA;
            o[1] = 1;
            o[2..8].copy_from_slice(&mac.0);
        }
        Ok(n)
    }
}

/// The complete frame of a Router Solicitation from `src_mac` / `src_ip` to ff02::2, hop
/// limit 255, checksum computed (as a host sends it). Returns the frame length.
pub fn router_solicitation(
    src_mac: MacAddr,
    src_ip: Ipv6Addr,
    rs: &RsRepr,
    buf: &mut [u8],
) -> Result<usize, Error> {
    icmpv6_multicast_frame(src_mac, src_ip, ALL_ROUTERS, rs.buffer_len(), buf, |icmp| {
        rs.emit(icmp).map(drop)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOST_MAC: MacAddr = MacAddr([0x02, 0x00, 0x00, 0x00, 0x00, 0x42]);

    /// An RS as Linux sends it on link up, with an SLLA, written out by hand from RFC
    /// 4861's layout (checksum zero: not part of the repr).
    static RS_BYTES: [u8; 16] = [
        0x85, 0x00, 0x00, 0x00, // type 133, code 0, checksum
        0x00, 0x00, 0x00, 0x00, // reserved
        0x01, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x42, // SLLA
    ];

    fn repr() -> RsRepr {
        RsRepr {
            source_mac: Some(HOST_MAC),
        }
    }

    #[test]
    fn deconstruct() {
        let p = RsPacket::new_checked(&RS_BYTES[..]).unwrap();
        assert_eq!(p.msg_type(), 133);
        assert_eq!(p.code(), 0);
        assert_eq!(p.checksum(), 0);
        assert_eq!(p.options().len(), 8);
    }

    #[test]
    fn parse_and_emit_round_trip_the_bytes() {
        let p = RsPacket::new_checked(&RS_BYTES[..]).unwrap();
        assert_eq!(RsRepr::parse(&p).unwrap(), repr());
        let mut buf = [0u8; 16];
        assert_eq!(repr().emit(&mut buf).unwrap(), 16);
        assert_eq!(buf, RS_BYTES);
        // Without options (from the unspecified address): the 8-byte header alone.
        let p = RsPacket::new_checked(&RS_BYTES[..8]).unwrap();
        assert_eq!(RsRepr::parse(&p).unwrap(), RsRepr::default());
        assert_eq!(RsRepr::default().emit(&mut buf).unwrap(), 8);
        assert_eq!(buf[..8], RS_BYTES[..8]);
    }

    #[test]
    fn frame_has_a_valid_checksum_and_hop_limit_255() {
        let src: Ipv6Addr = "fe80::42".parse().unwrap();
        let mut f = [0u8; 100];
        let n = router_solicitation(HOST_MAC, src, &repr(), &mut f).unwrap();
        assert_eq!(n, 14 + 40 + 16);
        assert_eq!(&f[0..6], &[0x33, 0x33, 0, 0, 0, 2]);
        assert_eq!(&f[6..12], &HOST_MAC.0);
        assert_eq!(f[14 + 6], 58);
        assert_eq!(f[14 + 7], 255);
        assert_eq!(&f[14 + 24..14 + 40], &ALL_ROUTERS.octets());
        let p = RsPacket::new_checked(&f[54..n]).unwrap();
        assert!(p.checksum_ok(src, ALL_ROUTERS));
        assert!(!p.checksum_ok("fe80::43".parse().unwrap(), ALL_ROUTERS));
        let mut bad = f;
        bad[60] ^= 1;
        let p = RsPacket::new_checked(&bad[54..n]).unwrap();
        assert!(!p.checksum_ok(src, ALL_ROUTERS));
    }

    #[test]
    fn bad_input_is_an_error_never_a_panic() {
        for cut in 0..RS_BYTES.len() {
            let r = RsPacket::new_checked(&RS_BYTES[..cut]).and_then(|p| RsRepr::parse(&p));
            // A cut at the option boundary leaves a valid RS without options.
            assert_eq!(r.is_ok(), cut == 8, "cut at {cut}: {r:?}");
        }
        let mut zero = RS_BYTES;
        zero[9] = 0;
        let p = RsPacket::new_checked(&zero[..]).unwrap();
        assert!(matches!(RsRepr::parse(&p), Err(Error::BadField { .. })));
        let mut code = RS_BYTES;
        code[1] = 1;
        let p = RsPacket::new_checked(&code[..]).unwrap();
        assert!(matches!(
            RsRepr::parse(&p),
            Err(Error::BadField { value: 1, .. })
        ));
        let mut ra = RS_BYTES;
        ra[0] = 134;
        let p = RsPacket::new_checked(&ra[..]).unwrap();
        assert!(RsRepr::parse(&p).is_err());
        // An option claiming more than is there.
        let mut long = RS_BYTES;
        long[9] = 2;
        let p = RsPacket::new_checked(&long[..]).unwrap();
        assert!(matches!(RsRepr::parse(&p), Err(Error::Truncated { .. })));
        let mut small = [0u8; 15];
        assert!(matches!(
            repr().emit(&mut small),
            Err(Error::BufferTooSmall { need: 16, .. })
        ));
        // Every byte value in every position: errors or values, never a panic.
        for i in 0..RS_BYTES.len() {
            for v in 0..=255u8 {
                let mut b = RS_BYTES;
                b[i] = v;
                if let Ok(p) = RsPacket::new_checked(&b[..]) {
                    let _ = RsRepr::parse(&p);
                }
            }
        }
    }

    #[test]
    fn unknown_options_are_skipped_and_the_unspecified_source_has_no_slla() {
        let mut b = RS_BYTES[..8].to_vec();
        b.extend_from_slice(&[14, 1, 1, 2, 3, 4, 5, 6]); // a nonce option
        b.extend_from_slice(&[1, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]); // long SLLA
        let p = RsPacket::new_checked(&b[..]).unwrap();
        assert_eq!(RsRepr::parse(&p).unwrap(), RsRepr::default());
        assert!(RsRepr::default().valid_from(Ipv6Addr::UNSPECIFIED));
        assert!(!repr().valid_from(Ipv6Addr::UNSPECIFIED));
        assert!(repr().valid_from("fe80::42".parse().unwrap()));
    }
}
