//! The HSRP codec, in smoltcp's idiom: checked views over byte buffers (`v1::Packet`,
//! `v2::Tlv`, `auth::Md5Tlv`, ...) and plain `Repr` values with `parse`/`emit`.
//!
//! - `v1`: the 20-byte RFC 2281 packet and Cisco's Advertise (opcode 3).
//! - `v2`: the TLV sequence (Group State, Interface State, Text and MD5 authentication).
//! - `auth`: text authentication and keyed MD5 (docs/protocol.md §3.3).
//! - `payload`: one whole HSRP UDP payload of either version (`Repr`).
//! - `addr`: virtual MACs and the IPv6 virtual link-local.
//! - `frame`: the complete Ethernet frames hsrpd sends (HSRP, gratuitous ARP, unsolicited NA).
//! - `ra`: the ICMPv6 Router Advertisement an IPv6 group's Active sends.
//! - `rs`: the ICMPv6 Router Solicitation it answers; `nd`: what the two share.
//! - `bfd`: BFD Control packets (RFC 5880/5881), the payload of HSRP BFD peering.
//!
//! The receive path (`decode_payload`) never allocates and never panics: every malformed input
//! is an `Error` naming what was wrong and where.

pub mod addr;
pub mod auth;
pub mod bfd;
pub mod echo;
pub mod frame;
mod nd;
pub mod payload;
pub mod ra;
pub mod rs;
pub mod rx;
pub mod v1;
pub mod v2;

use std::net::IpAddr;

use crate::proto::{self, Version};

pub use addr::{virtual_link_local, vmac};
pub use frame::{gratuitous_arp, hsrp_frame, unsolicited_na};
pub use payload::{Repr, V2Body};
pub use ra::{router_advertisement, PrefixInfo, RaRepr};
pub use rs::{router_solicitation, RsPacket, RsRepr};
pub use v1::{AdvState, AdvertiseRepr};

/// UDP port of HSRPv1 and HSRPv2 over IPv4 (shared with the XDP filter, like every
/// constant from `hsrp_ebpf::proto`).
pub const PORT_V4: u16 = hsrp_ebpf::proto::PORT_V4;
/// UDP port of HSRPv2 over IPv6.
pub const PORT_V6: u16 = hsrp_ebpf::proto::PORT_V6;
/// Longest payload `encode_group` produces (v2 Group State + MD5 TLVs).
pub const MAX_PAYLOAD_LEN: usize = v2::GROUP_STATE_TLV_LEN + auth::MD5_TLV_LEN;

/// A byte range inside a header.
pub(crate) type Field = core::ops::Range<usize>;

/// Why an authentication check failed (the message itself was well formed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("expected {expected} authentication, message carries {got}")]
    KindMismatch {
        expected: &'static str,
        got: &'static str,
    },
    #[error("authentication text does not match")]
    TextMismatch,
    #[error("MD5 key ID {got} does not match the configured {expected}")]
    KeyIdMismatch { expected: u32, got: u32 },
    #[error("MD5 digest does not verify")]
    DigestMismatch,
}

/// Everything that can go wrong while parsing or emitting. `Copy` and allocation-free so the
/// receive path can return it per packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error("truncated {what} at offset {at}: need {need} bytes, have {have}")]
    Truncated {
        what: &'static str,
        at: usize,
        need: usize,
        have: usize,
    },
    #[error("bad version {value} at offset {at} (v1 starts with 0, v2 with a TLV type 1-4)")]
    BadVersion { at: usize, value: u8 },
    #[error("bad {version:?} opcode {value}")]
    BadOpcode { version: Version, value: u8 },
    #[error("bad {version:?} state {value}")]
    BadState { version: Version, value: u8 },
    #[error("bad {what} {value}")]
    BadField { what: &'static str, value: u32 },
    #[error("bad length {len} of TLV type {tlv_type} at offset {at} (expected {expected})")]
    BadTlvLength {
        tlv_type: u8,
        at: usize,
        len: usize,
        expected: usize,
    },
    #[error("bad authentication algorithm {value} at offset {at} (only 1 = MD5 exists)")]
    BadAuthAlgorithm { at: usize, value: u8 },
    #[error("TLV type {tlv_type} at offset {at} is {why}")]
    UnexpectedTlv {
        tlv_type: u8,
        at: usize,
        why: &'static str,
    },
    #[error("HSRPv2 packet has neither a Group State nor an Interface State TLV")]
    NoMessage,
    #[error("authentication failed: {0}")]
    Auth(AuthError),
    #[error("output buffer too small: need {need} bytes, have {have}")]
    BufferTooSmall { need: usize, have: usize },
    #[error("cannot encode {what}: {why}")]
    Unencodable {
        what: &'static str,
        why: &'static str,
    },
}

impl Error {
    /// True when the message was well formed but failed authentication (log differently:
    /// Cisco routers silently ignore such peers, and so do we).
    pub fn is_auth(&self) -> bool {
        matches!(self, Error::Auth(_))
    }
}

impl From<AuthError> for Error {
    fn from(e: AuthError) -> Self {
        Error::Auth(e)
    }
}

/// Ensure `buf` has at least `need` bytes, as a `Truncated` error naming `what`.
pub(crate) fn check_len(
    what: &'static str,
    at: usize,
    buf: &[u8],
    need: usize,
) -> Result<(), Error> {
    if buf.len() < need {
        Err(Error::Truncated {
            what,
            at,
            need,
            have: buf.len(),
        })
    } else {
        Ok(())
    }
}

/// Ensure an output buffer has room for `need` bytes.
pub(crate) fn check_room(buf: &[u8], need: usize) -> Result<(), Error> {
    if buf.len() < need {
        Err(Error::BufferTooSmall {
            need,
            have: buf.len(),
        })
    } else {
        Ok(())
    }
}

/// One decoded, authenticated HSRP payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decoded {
    /// Hello, Coup or Resign for one group (v1 or v2).
    Group(proto::GroupMessage),
    /// v1 Advertise (opcode 3); never authenticated.
    Advertise(AdvertiseRepr),
    /// v2 Interface State TLV; never authenticated.
    InterfaceState { active: u16, passive: u16 },
}

/// Decode one HSRP UDP payload (v1 or v2; the version comes from the first byte) and check
/// its authentication against `auth`. A mismatch is `Err(Error::Auth(..))`, distinct from
/// the malformed-input errors (see `Error::is_auth`). No allocation.
///
/// Authentication rules: `Auth::Text`/`DefaultText` need the same NUL-padded text (v1 text
/// field, v2 Text TLV); `Auth::Md5` needs an MD5 TLV with the configured key ID whose digest
/// verifies over the bytes as received; `Auth::None` accepts only messages carrying no
/// authentication (v2 without an auth TLV, v1 with an all-zero text field and no MD5 TLV).
/// v1 Advertise and v2 Interface State are never authenticated and always accepted.
pub fn decode_payload(payload: &[u8], auth: &proto::Auth) -> Result<Decoded, Error> {
    Payload::parse(payload)?.decode(auth)
}

/// A received HSRP payload, parsed once: its authentication can then be checked against
/// each key a group accepts ([`Payload::decode`]) without parsing it again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Payload<'a> {
    bytes: &'a [u8],
    repr: Repr,
    /// Where the MD5 TLV is in `bytes` (its digest covers them as received).
    md5_at: Option<usize>,
}

impl<'a> Payload<'a> {
    pub fn parse(bytes: &'a [u8]) -> Result<Payload<'a>, Error> {
        let repr = Repr::parse(bytes)?;
        let md5_at = repr.md5().and_then(|_| payload::md5_offset_in(bytes));
        Ok(Payload {
            bytes,
            repr,
            md5_at,
        })
    }

    pub fn repr(&self) -> &Repr {
        &self.repr
    }

    /// The message, if `auth` authenticates it (the rules of [`decode_payload`]).
    pub fn decode(&self, auth: &proto::Auth) -> Result<Decoded, Error> {
        match &self.repr {
            Repr::V1Advertise(adv) => Ok(Decoded::Advertise(*adv)),
            Repr::V2 {
                body: V2Body::InterfaceState { active, passive },
                ..
            } => Ok(Decoded::InterfaceState {
                active: *active,
                passive: *passive,
            }),
            Repr::V1 { .. }
            | Repr::V2 {
                body: V2Body::Group(_),
                ..
            } => {
                // Well-formedness first, so a malformed packet is never reported as an
                // auth failure.
                let msg = self.repr.group_message().ok_or(Error::NoMessage)??;
                self.repr.check_auth_at(self.bytes, self.md5_at, auth)?;
                Ok(Decoded::Group(msg))
            }
        }
    }
}

/// Encode a group message as an HSRP UDP payload into `buf` and return its length.
/// `sender` is the interface address: it goes into the MD5 TLV (IPv6: the low 32 bits of the
/// link-local) and, for v2 without a VIP, gives the address family of the group.
pub fn encode_group(
    msg: &proto::GroupMessage,
    auth: &proto::Auth,
    sender: IpAddr,
    buf: &mut [u8],
) -> Result<usize, Error> {
    let repr = Repr::from_group_message(msg, auth, sender)?;
    repr.emit_signed(auth, buf)
}

/// Encode a v1 Advertise (never authenticated) into `buf`, return its length.
pub fn encode_advertise(adv: &AdvertiseRepr, buf: &mut [u8]) -> Result<usize, Error> {
    Repr::V1Advertise(*adv).emit_signed(&proto::Auth::None, buf)
}

/// Encode a v2 Interface State TLV (sent alone, unauthenticated) into `buf`.
pub fn encode_interface_state(active: u16, passive: u16, buf: &mut [u8]) -> Result<usize, Error> {
    Repr::V2 {
        body: V2Body::InterfaceState { active, passive },
        auth: v2::AuthRepr::None,
    }
    .emit_signed(&proto::Auth::None, buf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::{Auth, GroupMessage, Opcode, State, Version};

    fn md5(key: &str) -> Auth {
        Auth::Md5 {
            key: key.as_bytes().to_vec(),
            key_id: 7,
        }
    }

    #[test]
    fn a_payload_parsed_once_is_checked_against_each_key_in_turn() {
        let msg = GroupMessage {
            version: Version::V2,
            opcode: Opcode::Hello,
            state: State::Active,
            group: 3,
            priority: 120,
            hello_ms: 3000,
            hold_ms: 10_000,
            vip: Some("10.0.0.1".parse().unwrap()),
            identifier: Some(proto::MacAddr([2, 0, 0, 0, 0, 9])),
        };
        let sender = "10.0.0.9".parse().unwrap();
        let mut buf = [0u8; MAX_PAYLOAD_LEN];
        let n = encode_group(&msg, &md5("new-key"), sender, &mut buf).unwrap();
        let payload = Payload::parse(&buf[..n]).unwrap();
        assert_eq!(payload.repr().group_message(), Some(Ok(msg.clone())));
        // The keys a group accepts during a rollover, old first: the digest decides.
        let old = payload.decode(&md5("old-key")).unwrap_err();
        assert!(
            matches!(old, Error::Auth(AuthError::DigestMismatch)),
            "{old}"
        );
        assert_eq!(
            payload.decode(&md5("new-key")),
            Ok(Decoded::Group(msg.clone()))
        );
        assert!(payload.decode(&Auth::DefaultText).unwrap_err().is_auth());
        // The same verdicts as decoding from the bytes each time.
        for auth in [
            md5("old-key"),
            md5("new-key"),
            Auth::DefaultText,
            Auth::None,
        ] {
            assert_eq!(payload.decode(&auth), decode_payload(&buf[..n], &auth));
        }
        // A digest over other bytes than those parsed fails: the digest covers the bytes.
        let mut tampered = buf;
        tampered[10] ^= 1;
        let payload = Payload::parse(&tampered[..n]).unwrap();
        assert!(payload.decode(&md5("new-key")).unwrap_err().is_auth());
    }
}
