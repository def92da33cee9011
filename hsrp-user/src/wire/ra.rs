//! ICMPv6 Router Advertisement (RFC 4861 §4.2), as the Active of an IPv6 group sends it
//! from the virtual link-local and the vMAC, so hosts take the virtual router as their
//! default gateway (docs/protocol.md §6).
//!
//! smoltcp's idiom: `RaPacket` is a checked view over the ICMPv6 message (header and the
//! option area), `RaRepr` the meaning with `parse`/`emit`/`buffer_len`; `router_advertisement`
//! writes the whole Ethernet frame (IPv6 hop limit 255, checksum computed).
//!
//! Options emitted, in this order: Source Link-Layer Address (the vMAC), MTU (when given),
//! one Prefix Information per prefix. Options the parser does not know are skipped, as
//! RFC 4861 §4.6 requires; a zero option length is an error (it would loop forever).

use std::net::Ipv6Addr;

use super::frame::icmpv6_multicast_frame;
use super::nd::{check_type_and_code, for_each_option};
use super::{check_len, check_room, Error, Field};
use crate::proto::MacAddr;

/// ICMPv6 type of a Router Advertisement.
pub const ICMPV6_ROUTER_ADVERTISEMENT: u8 = 134;
/// Fixed part of the RA before the options.
pub const HEADER_LEN: usize = 16;
/// Source Link-Layer Address option for Ethernet: type, length 1, six bytes of MAC.
pub const SLLA_OPTION_LEN: usize = 8;
pub const MTU_OPTION_LEN: usize = 8;
pub const PREFIX_OPTION_LEN: usize = 32;
/// Prefix options `emit` accepts: more would not fit a 1280-byte minimum MTU with room to
/// spare, and no LAN segment needs that many.
pub const MAX_PREFIXES: usize = 16;

/// Cisco's and RFC 4861's defaults for an advertised prefix (30 days valid, 7 preferred).
pub const DEFAULT_VALID_LIFETIME_S: u32 = 2_592_000;
pub const DEFAULT_PREFERRED_LIFETIME_S: u32 = 604_800;
/// The hop limit hosts are told to use (Linux's and IOS's default).
pub const DEFAULT_CUR_HOP_LIMIT: u8 = 64;

const OPT_SLLA: u8 = 1;
const OPT_PREFIX: u8 = 3;
const OPT_MTU: u8 = 5;
const FLAG_ON_LINK: u8 = 0x80;
const FLAG_AUTONOMOUS: u8 = 0x40;

mod field {
    use super::Field;
    pub const TYPE: usize = 0;
    pub const CODE: usize = 1;
    pub const CHECKSUM: Field = 2..4;
    pub const CUR_HOP_LIMIT: usize = 4;
    pub const FLAGS: usize = 5;
    pub const ROUTER_LIFETIME: Field = 6..8;
    pub const REACHABLE: Field = 8..12;
    pub const RETRANS: Field = 12..16;
    pub const OPTIONS: usize = 16;
}

/// One Prefix Information option (RFC 4861 §4.6.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PrefixInfo {
    /// The prefix, host bits zero.
    pub prefix: Ipv6Addr,
    pub len: u8,
    /// L: hosts treat the prefix as on-link.
    pub on_link: bool,
    /// A: hosts may form addresses in it (SLAAC; needs a /64).
    pub autonomous: bool,
    pub valid_s: u32,
    pub preferred_s: u32,
}

impl PrefixInfo {
    /// The prefix of `addr/len` with the defaults: on-link, autonomous when it is a /64,
    /// Cisco's lifetimes. `None` for a length over 128.
    pub fn of_address(addr: Ipv6Addr, len: u8) -> Option<PrefixInfo> {
        if len > 128 {
            return None;
        }
        let mask = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
        Some(PrefixInfo {
            prefix: Ipv6Addr::from(u128::from(addr) & mask),
            len,
            on_link: true,
            autonomous: len == 64,
            valid_s: DEFAULT_VALID_LIFETIME_S,
            preferred_s: DEFAULT_PREFERRED_LIFETIME_S,
        })
    }
}

/// A checked view over a Router Advertisement (ICMPv6 header on).
#[derive(Debug, Clone, Copy)]
pub struct RaPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> RaPacket<T> {
    /// Checks that the fixed header is there; options are checked while they are read.
    pub fn new_checked(buffer: T) -> Result<Self, Error> {
        check_len("router advertisement", 0, buffer.as_ref(), HEADER_LEN)?;
        Ok(RaPacket { buffer })
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
    pub fn cur_hop_limit(&self) -> u8 {
        self.b()[field::CUR_HOP_LIMIT]
    }
    pub fn flags(&self) -> u8 {
        self.b()[field::FLAGS]
    }
    pub fn router_lifetime(&self) -> u16 {
        let c = &self.b()[field::ROUTER_LIFETIME];
        u16::from_be_bytes([c[0], c[1]])
    }
    pub fn reachable_ms(&self) -> u32 {
        be32(&self.b()[field::REACHABLE])
    }
    pub fn retrans_ms(&self) -> u32 {
        be32(&self.b()[field::RETRANS])
    }
    pub fn options(&self) -> &[u8] {
        &self.b()[field::OPTIONS..]
    }
}

fn be32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

/// What a Router Advertisement says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RaRepr {
    pub cur_hop_limit: u8,
    /// M and O flags and the router preference, as the byte on the wire (0 here).
    pub flags: u8,
    /// Seconds; 0 = "I am not a default router" (the final RA on leaving Active).
    pub router_lifetime_s: u16,
    pub reachable_ms: u32,
    pub retrans_ms: u32,
    pub source_mac: Option<MacAddr>,
    pub mtu: Option<u32>,
    pub prefixes: Vec<PrefixInfo>,
}

impl RaRepr {
    /// The advertisement of a virtual router: default hop limit, no M/O flags, medium
    /// preference, reachable/retrans unspecified (0: hosts keep their own).
    pub fn virtual_router(
        vmac: MacAddr,
        router_lifetime_s: u16,
        mtu: Option<u32>,
        prefixes: Vec<PrefixInfo>,
    ) -> RaRepr {
        RaRepr {
            cur_hop_limit: DEFAULT_CUR_HOP_LIMIT,
            flags: 0,
            router_lifetime_s,
            reachable_ms: 0,
            retrans_ms: 0,
            source_mac: Some(vmac),
            mtu,
            prefixes,
        }
    }

    /// Reads an RA; the checksum is not checked here (it needs the IPv6 addresses).
    pub fn parse<T: AsRef<[u8]>>(p: &RaPacket<T>) -> Result<RaRepr, Error> {
        check_type_and_code(
            p.msg_type(),
            p.code(),
            ICMPV6_ROUTER_ADVERTISEMENT,
            "ICMPv6 type (want 134, Router Advertisement)",
        )?;
        let mut repr = RaRepr {
            cur_hop_limit: p.cur_hop_limit(),
            flags: p.flags(),
            router_lifetime_s: p.router_lifetime(),
            reachable_ms: p.reachable_ms(),
            retrans_ms: p.retrans_ms(),
            source_mac: None,
            mtu: None,
            prefixes: Vec::new(),
        };
        for_each_option(p.options(), field::OPTIONS, |kind, off, o| {
            let len = o.len();
            match (kind, len) {
                (OPT_SLLA, SLLA_OPTION_LEN) => {
                    let mut m = [0u8; 6];
                    m.copy_from_slice(&o[2..8]);
                    repr.source_mac = Some(MacAddr(m));
                }
                (OPT_MTU, MTU_OPTION_LEN) => repr.mtu = Some(be32(&o[4..8])),
                (OPT_PREFIX, PREFIX_OPTION_LEN) => {
                    let mut a = [0u8; 16];
                    a.copy_from_slice(&o[16..32]);
                    repr.prefixes.push(PrefixInfo {
                        prefix: Ipv6Addr::from(a),
                        len: o[2],
                        on_link: o[3] & FLAG_ON_LINK != 0,
                        autonomous: o[3] & FLAG_AUTONOMOUS != 0,
                        valid_s: be32(&o[4..8]),
                        preferred_s: be32(&o[8..12]),
                    });
                }
                (OPT_SLLA | OPT_MTU | OPT_PREFIX, _) => {
                    return Err(Error::BadTlvLength {
                        tlv_type: kind,
                        at: off,
                        len,
                        expected: match kind {
                            OPT_PREFIX => PREFIX_OPTION_LEN,
                            _ => 8,
                        },
                    })
                }
                _ => {} // RFC 4861 §4.6: unknown options are skipped
            }
            Ok(())
        })?;
        Ok(repr)
    }

    /// Length of the ICMPv6 message `emit` writes.
    pub fn buffer_len(&self) -> usize {
        HEADER_LEN
            + self.source_mac.map_or(0, |_| SLLA_OPTION_LEN)
            + self.mtu.map_or(0, |_| MTU_OPTION_LEN)
            + self.prefixes.len() * PREFIX_OPTION_LEN
    }

    /// Writes the ICMPv6 message with a zero checksum into `buf` (at least `buffer_len`
    /// bytes); returns its length.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, Error> {
        if self.prefixes.len() > MAX_PREFIXES {
            return Err(Error::Unencodable {
                what: "router advertisement",
                why: "more than 16 prefixes",
            });
        }
        let n = self.buffer_len();
        check_room(buf, n)?;
        let b = &mut buf[..n];
        b[field::TYPE] = ICMPV6_ROUTER_ADVERTISEMENT;
        b[field::CODE] = 0;
        b[field::CHECKSUM].fill(0);
        b[field::CUR_HOP_LIMIT] = self.cur_hop_limit;
        b[field::FLAGS] = self.flags;
        b[field::ROUTER_LIFETIME].copy_from_slice(&self.router_lifetime_s.to_be_bytes());
        b[field::REACHABLE].copy_from_slice(&self.reachable_ms.to_be_bytes());
        b[field::RETRANS].copy_from_slice(&self.retrans_ms.to_be_bytes());
        let mut at = field::OPTIONS;
        if let Some(mac) = self.source_mac {
            let o = &mut b[at..at + SLLA_OPTION_LEN];
            o[0] = OPT_SLLA;
            o[1] = 1;
            o[2..8].copy_from_slice(&mac.0);
            at += SLLA_OPTION_LEN;
        }
        if let Some(mtu) = self.mtu {
            let o = &mut b[at..at + MTU_OPTION_LEN];
            o[0] = OPT_MTU;
            o[1] = 1;
            o[2..4].fill(0);
            o[4..8].copy_from_slice(&mtu.to_be_bytes());
            at += MTU_OPTION_LEN;
        }
        for p in &self.prefixes {
            let o = &mut b[at..at + PREFIX_OPTION_LEN];
            o[0] = OPT_PREFIX;
            o[1] = 4;
            o[2] = p.len;
            o[3] = if p.on_link { FLAG_ON_LINK } else { 0 }
                | if p.autonomous { FLAG_AUTONOMOUS } else { 0 };
            o[4..8].copy_from_slice(&p.valid_s.to_be_bytes());
            o[8..12].copy_from_slice(&p.preferred_s.to_be_bytes());
            o[12..16].fill(0);
            o[16..32].copy_from_slice(&p.prefix.octets());
            at += PREFIX_OPTION_LEN;
        }
        Ok(n)
    }
}

/// The complete frame of a Router Advertisement: from `src_mac` / `src_ip` (the vMAC and
/// the virtual link-local) to `dst_ip` (ff02::1 for the periodic ones), hop limit 255,
/// ICMPv6 checksum computed. Returns the frame length.
pub fn router_advertisement(
    src_mac: MacAddr,
    src_ip: Ipv6Addr,
    dst_ip: Ipv6Addr,
    ra: &RaRepr,
    buf: &mut [u8],
) -> Result<usize, Error> {
    if !dst_ip.is_multicast() {
        return Err(Error::Unencodable {
            what: "router advertisement",
            why: "hsrpd sends RAs to a multicast address only",
        });
    }
    icmpv6_multicast_frame(src_mac, src_ip, dst_ip, ra.buffer_len(), buf, |icmp| {
        ra.emit(icmp).map(drop)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::frame::pseudo_checksum;
    use crate::wire::frame::ALL_NODES;
    use std::net::IpAddr;

    const VMAC: MacAddr = MacAddr([0x00, 0x05, 0x73, 0xa0, 0x00, 0x01]);

    /// An RA as radvd sends it for 2001:db8::/64 (lifetime 1800, SLLA, MTU 1500), written
    /// out by hand from RFC 4861's layout: the four smoltcp directions against it.
    static RA_BYTES: [u8; 64] = [
        0x86, 0x00, 0x00, 0x00, // type 134, code 0, checksum (zero: not part of the repr)
        0x40, 0x00, 0x07, 0x08, // hop limit 64, flags 0, lifetime 1800
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // reachable, retrans
        0x01, 0x01, 0x00, 0x05, 0x73, 0xa0, 0x00, 0x01, // SLLA
        0x05, 0x01, 0x00, 0x00, 0x00, 0x00, 0x05, 0xdc, // MTU 1500
        0x03, 0x04, 0x40, 0xc0, 0x00, 0x27, 0x8d, 0x00, // prefix /64 L A, valid 2592000
        0x00, 0x09, 0x3a, 0x80, 0x00, 0x00, 0x00, 0x00, // preferred 604800, reserved
        0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, // 2001:db8::
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    ];

    fn repr() -> RaRepr {
        RaRepr::virtual_router(
            VMAC,
            1800,
            Some(1500),
            vec![PrefixInfo::of_address("2001:db8::5".parse().unwrap(), 64).unwrap()],
        )
    }

    #[test]
    fn deconstruct() {
        let p = RaPacket::new_checked(&RA_BYTES[..]).unwrap();
        assert_eq!(p.msg_type(), 134);
        assert_eq!(p.cur_hop_limit(), 64);
        assert_eq!(p.router_lifetime(), 1800);
        assert_eq!(p.reachable_ms(), 0);
        assert_eq!(p.options().len(), 48);
    }

    #[test]
    fn parse_and_emit_round_trip_the_bytes() {
        let p = RaPacket::new_checked(&RA_BYTES[..]).unwrap();
        assert_eq!(RaRepr::parse(&p).unwrap(), repr());
        let mut buf = [0u8; 64];
        assert_eq!(repr().emit(&mut buf).unwrap(), 64);
        assert_eq!(buf, RA_BYTES);
    }

    #[test]
    fn frame_has_a_valid_checksum_and_hop_limit_255() {
        let ll = crate::wire::virtual_link_local(VMAC);
        let mut f = [0u8; 200];
        let n = router_advertisement(VMAC, ll, ALL_NODES, &repr(), &mut f).unwrap();
        assert_eq!(n, 14 + 40 + 64);
        assert_eq!(&f[0..6], &[0x33, 0x33, 0, 0, 0, 1]);
        assert_eq!(&f[6..12], &VMAC.0);
        assert_eq!(f[14 + 7], 255);
        assert_eq!(f[14 + 6], 58);
        // Summing the pseudo-header and the message with its checksum in gives 0.
        let icmp = &f[54..n];
        assert_eq!(
            pseudo_checksum(IpAddr::V6(ll), IpAddr::V6(ALL_NODES), 58, icmp),
            0
        );
    }

    #[test]
    fn bad_input_is_an_error_never_a_panic() {
        for cut in 0..RA_BYTES.len() {
            let r = RaPacket::new_checked(&RA_BYTES[..cut]).and_then(|p| RaRepr::parse(&p));
            // Cuts at option boundaries leave a valid, shorter RA.
            if ![16, 24, 32].contains(&cut) {
                assert!(r.is_err(), "cut at {cut}");
            }
        }
        let mut zero = RA_BYTES;
        zero[17] = 0;
        let p = RaPacket::new_checked(&zero[..]).unwrap();
        assert!(RaRepr::parse(&p).is_err());
        let mut na = RA_BYTES;
        na[0] = 136;
        let p = RaPacket::new_checked(&na[..]).unwrap();
        assert!(RaRepr::parse(&p).is_err());
        let mut small = [0u8; 63];
        assert!(matches!(
            repr().emit(&mut small),
            Err(Error::BufferTooSmall { need: 64, .. })
        ));
        let ll = crate::wire::virtual_link_local(VMAC);
        let mut f = [0u8; 200];
        assert!(router_advertisement(VMAC, ll, ll, &repr(), &mut f).is_err());
    }

    #[test]
    fn unknown_options_are_skipped() {
        let mut b = RA_BYTES.to_vec();
        b.extend_from_slice(&[25, 1, 0, 0, 0, 0, 0, 0]); // RDNSS-like, length 1
        let p = RaPacket::new_checked(&b[..]).unwrap();
        assert_eq!(RaRepr::parse(&p).unwrap(), repr());
    }

    #[test]
    fn prefix_of_address_clears_host_bits() {
        let p = PrefixInfo::of_address("2001:db8:1:2:3:4:5:6".parse().unwrap(), 48).unwrap();
        assert_eq!(p.prefix, "2001:db8:1::".parse::<Ipv6Addr>().unwrap());
        assert!(p.on_link && !p.autonomous);
        assert!(PrefixInfo::of_address(Ipv6Addr::UNSPECIFIED, 129).is_none());
        assert_eq!(
            PrefixInfo::of_address("::1".parse().unwrap(), 0)
                .unwrap()
                .prefix,
            Ipv6Addr::UNSPECIFIED
        );
    }
}
