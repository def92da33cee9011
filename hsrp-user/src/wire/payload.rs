//! One whole HSRP UDP payload of either version, faithful to the wire (v2 priority as u32,
//! the text field as received, MD5 TLV fields), and its mapping to `proto::GroupMessage`.

use std::net::{IpAddr, Ipv4Addr};

use super::auth::{self, Md5Repr, MD5_TLV_LEN};
use super::v1::{self, AdvertiseRepr};
use super::v2::{self, AuthRepr, GroupStateRepr};
use super::{check_room, AuthError, Error};
use crate::proto::{Auth, GroupMessage, Version};

/// What a v2 packet is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum V2Body {
    Group(GroupStateRepr),
    InterfaceState { active: u16, passive: u16 },
}

/// An HSRP UDP payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repr {
    /// v1 Hello/Coup/Resign, with the MD5 TLV when one follows the 20 bytes.
    V1 { msg: v1::Repr, md5: Option<Md5Repr> },
    /// v1 Advertise (opcode 3).
    V1Advertise(AdvertiseRepr),
    /// v2 TLV sequence: one Group State or Interface State TLV and its authentication.
    V2 { body: V2Body, auth: AuthRepr },
}

impl Repr {
    /// Parse a payload. The version comes from the first byte (v1: 0; v2: a TLV type 1-4).
    pub fn parse(payload: &[u8]) -> Result<Repr, Error> {
        super::check_len("HSRP payload", 0, payload, 1)?;
        match payload[0] {
            0 => parse_v1(payload),
            1..=4 => parse_v2(payload),
            value => Err(Error::BadVersion { at: 0, value }),
        }
    }

    pub fn version(&self) -> Version {
        match self {
            Repr::V1 { .. } | Repr::V1Advertise(_) => Version::V1,
            Repr::V2 { .. } => Version::V2,
        }
    }

    /// Bytes `emit` writes.
    pub fn buffer_len(&self) -> usize {
        match self {
            Repr::V1 { md5, .. } => v1::PACKET_LEN + md5.map_or(0, |_| MD5_TLV_LEN),
            Repr::V1Advertise(_) => v1::ADVERTISE_LEN,
            Repr::V2 { body, auth } => {
                let b = match body {
                    V2Body::Group(_) => v2::GROUP_STATE_TLV_LEN,
                    V2Body::InterfaceState { .. } => v2::INTERFACE_STATE_TLV_LEN,
                };
                b + auth.buffer_len()
            }
        }
    }

    /// Offset of the MD5 TLV in the emitted/parsed payload, if there is one.
    pub fn md5_tlv_offset(&self) -> Option<usize> {
        match self {
            Repr::V1 { md5: Some(_), .. } => Some(v1::PACKET_LEN),
            Repr::V2 {
                auth: AuthRepr::Md5(_),
                ..
            } => Some(self.buffer_len() - MD5_TLV_LEN),
            _ => None,
        }
    }

    /// The MD5 TLV, if any.
    pub fn md5(&self) -> Option<&Md5Repr> {
        match self {
            Repr::V1 { md5: Some(m), .. } => Some(m),
            Repr::V2 {
                auth: AuthRepr::Md5(m),
                ..
            } => Some(m),
            _ => None,
        }
    }

    /// Write the payload as is (an MD5 digest is written as held; see `emit_signed`).
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, Error> {
        let len = self.buffer_len();
        check_room(buf, len)?;
        match self {
            Repr::V1 { msg, md5 } => {
                msg.emit(&mut v1::Packet::new_unchecked(&mut buf[..v1::PACKET_LEN]))?;
                if let Some(m) = md5 {
                    m.emit(&mut buf[v1::PACKET_LEN..len])?;
                }
            }
            Repr::V1Advertise(a) => a.emit(buf)?,
            Repr::V2 { body, auth } => {
                let at = match body {
                    V2Body::Group(g) => {
                        g.emit(buf)?;
                        v2::GROUP_STATE_TLV_LEN
                    }
                    V2Body::InterfaceState { active, passive } => {
                        v2::emit_interface_state(*active, *passive, buf)?;
                        v2::INTERFACE_STATE_TLV_LEN
                    }
                };
                match auth {
                    AuthRepr::None => {}
                    AuthRepr::Text(t) => v2::emit_text_auth(t, &mut buf[at..])?,
                    AuthRepr::Md5(m) => m.emit(&mut buf[at..])?,
                }
            }
        }
        Ok(len)
    }

    /// Emit, then compute the MD5 digest with `auth`'s key when the payload has an MD5 TLV.
    pub fn emit_signed(&self, auth: &Auth, buf: &mut [u8]) -> Result<usize, Error> {
        let len = self.emit(buf)?;
        if let Some(at) = self.md5_tlv_offset() {
            let Auth::Md5 { key, .. } = auth else {
                return Err(Error::Unencodable {
                    what: "MD5 authentication TLV",
                    why: "no MD5 key given",
                });
            };
            auth::sign(key, &mut buf[..len], at);
        }
        Ok(len)
    }

    /// Whether the MD5 digest verifies with `key` (`None` when there is no MD5 TLV).
    /// `payload` must be the bytes this `Repr` was parsed from.
    pub fn verify_md5(&self, payload: &[u8], key: &[u8]) -> Option<bool> {
        let m = self.md5()?;
        let at = md5_offset_in(payload)?;
        Some(auth::md5_verifies(
            key,
            payload,
            at + auth::DIGEST_OFFSET,
            &m.digest,
        ))
    }

    /// Check the authentication of a parsed group message against the configuration.
    /// `payload` must be the bytes this `Repr` was parsed from (MD5 hashes them as received).
    pub fn check_auth(&self, payload: &[u8], auth: &Auth) -> Result<(), AuthError> {
        self.check_auth_at(payload, md5_offset_in(payload), auth)
    }

    /// [`Repr::check_auth`] with the MD5 TLV's offset in `payload` already found.
    pub(crate) fn check_auth_at(
        &self,
        payload: &[u8],
        md5_at: Option<usize>,
        auth: &Auth,
    ) -> Result<(), AuthError> {
        let (text, md5, kind) = match self {
            Repr::V1 { msg, md5: Some(m) } => (Some(&msg.auth_data), Some(m), "MD5"),
            Repr::V1 { msg, md5: None } => {
                let kind = if msg.auth_data == [0; 8] {
                    "no"
                } else {
                    "text"
                };
                (Some(&msg.auth_data), None, kind)
            }
            Repr::V2 { auth: a, .. } => match a {
                AuthRepr::None => (None, None, a.kind()),
                AuthRepr::Text(t) => (Some(t), None, a.kind()),
                AuthRepr::Md5(m) => (None, Some(m), a.kind()),
            },
            // Advertise is never authenticated.
            Repr::V1Advertise(_) => return Ok(()),
        };
        let mismatch = |expected| AuthError::KindMismatch {
            expected,
            got: kind,
        };
        match auth {
            Auth::None => match kind {
                "no" => Ok(()),
                _ => Err(mismatch("no")),
            },
            Auth::Text(_) | Auth::DefaultText => {
                let configured = auth.text().unwrap_or_default();
                match (text, md5) {
                    (Some(t), None) if auth::text_matches(t, configured) => Ok(()),
                    (Some(_), None) if kind == "text" => Err(AuthError::TextMismatch),
                    _ => Err(mismatch("text")),
                }
            }
            Auth::Md5 { key, key_id } => {
                let (Some(m), Some(at)) = (md5, md5_at) else {
                    return Err(mismatch("MD5"));
                };
                if m.key_id != *key_id {
                    return Err(AuthError::KeyIdMismatch {
                        expected: *key_id,
                        got: m.key_id,
                    });
                }
                if auth::md5_verifies(key, payload, at + auth::DIGEST_OFFSET, &m.digest) {
                    Ok(())
                } else {
                    Err(AuthError::DigestMismatch)
                }
            }
        }
    }

    /// The version-independent message, for Hello/Coup/Resign payloads (`None` for
    /// Advertise and Interface State). Errors on values `GroupMessage` cannot hold
    /// (v2 priority above 255).
    pub fn group_message(&self) -> Option<Result<GroupMessage, Error>> {
        match self {
            Repr::V1 { msg, .. } => Some(Ok(GroupMessage {
                version: Version::V1,
                opcode: msg.opcode,
                state: msg.state,
                group: msg.group as u16,
                priority: msg.priority,
                hello_ms: msg.hello_time as u32 * 1000,
                hold_ms: msg.hold_time as u32 * 1000,
                vip: nonzero(IpAddr::V4(msg.virtual_ip)),
                identifier: None,
            })),
            Repr::V2 {
                body: V2Body::Group(g),
                ..
            } => Some(match u8::try_from(g.priority) {
                Ok(priority) => Ok(GroupMessage {
                    version: Version::V2,
                    opcode: g.opcode,
                    state: g.state,
                    group: g.group,
                    priority,
                    hello_ms: g.hello_ms,
                    hold_ms: g.hold_ms,
                    vip: nonzero(g.virtual_ip),
                    identifier: Some(g.identifier),
                }),
                Err(_) => Err(Error::BadField {
                    what: "HSRPv2 priority (0-255)",
                    value: g.priority,
                }),
            }),
            _ => None,
        }
    }

    /// Build the payload for a group message. Timers: v1 carries whole seconds, so
    /// millisecond values are rounded up (at least 1 s, at most 255 s). v2 without a VIP
    /// takes its address family from `sender`; a v2 message without an identifier sends
    /// zeros there. The MD5 TLV gets `sender` (IPv6: its low 32 bits) and a zero digest
    /// until `emit_signed`.
    pub fn from_group_message(
        msg: &GroupMessage,
        auth: &Auth,
        sender: IpAddr,
    ) -> Result<Repr, Error> {
        let md5 = match auth {
            Auth::Md5 { key_id, .. } => Some(Md5Repr {
                sender: md5_sender(sender),
                key_id: *key_id,
                digest: [0; 16],
            }),
            _ => None,
        };
        let text = match auth.text() {
            Some(t) => Some(auth::text_field(t)?),
            None => None,
        };
        match msg.version {
            Version::V1 => {
                let group = u8::try_from(msg.group).map_err(|_| Error::Unencodable {
                    what: "HSRPv1 group",
                    why: "above 255",
                })?;
                let virtual_ip = match msg.vip {
                    None => Ipv4Addr::UNSPECIFIED,
                    Some(IpAddr::V4(a)) => a,
                    Some(IpAddr::V6(_)) => {
                        return Err(Error::Unencodable {
                            what: "HSRPv1 virtual IP",
                            why: "v1 is IPv4 only",
                        })
                    }
                };
                Ok(Repr::V1 {
                    msg: v1::Repr {
                        opcode: msg.opcode,
                        state: msg.state,
                        hello_time: ms_to_secs(msg.hello_ms),
                        hold_time: ms_to_secs(msg.hold_ms),
                        priority: msg.priority,
                        group,
                        auth_data: text.unwrap_or([0; 8]),
                        virtual_ip,
                    },
                    md5,
                })
            }
            Version::V2 => {
                let virtual_ip = match (msg.vip, sender) {
                    (Some(v), s) if v.is_ipv4() != s.is_ipv4() => {
                        return Err(Error::Unencodable {
                            what: "HSRPv2 virtual IP",
                            why: "address family differs from the sender's",
                        })
                    }
                    (Some(v), _) => v,
                    (None, IpAddr::V4(_)) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
                    (None, IpAddr::V6(_)) => IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED),
                };
                let auth = match (text, md5) {
                    (_, Some(m)) => AuthRepr::Md5(m),
                    (Some(t), None) => AuthRepr::Text(t),
                    (None, None) => AuthRepr::None,
                };
                Ok(Repr::V2 {
                    body: V2Body::Group(GroupStateRepr {
                        opcode: msg.opcode,
                        state: msg.state,
                        group: msg.group,
                        identifier: msg.identifier.unwrap_or_default(),
                        priority: msg.priority as u32,
                        hello_ms: msg.hello_ms,
                        hold_ms: msg.hold_ms,
                        virtual_ip,
                    }),
                    auth,
                })
            }
        }
    }
}

/// Where the MD5 TLV sits in a payload as received (unknown TLVs may precede it).
pub(crate) fn md5_offset_in(payload: &[u8]) -> Option<usize> {
    let start = if payload.first() == Some(&0) {
        v1::PACKET_LEN
    } else {
        0
    };
    v2::tlvs(payload, start)
        .filter_map(Result::ok)
        .find(|(_, tlv)| tlv.tlv_type() == auth::MD5_TLV_TYPE)
        .map(|(at, _)| at)
}

fn nonzero(a: IpAddr) -> Option<IpAddr> {
    if a.is_unspecified() {
        None
    } else {
        Some(a)
    }
}

fn ms_to_secs(ms: u32) -> u8 {
    ms.div_ceil(1000).clamp(1, 255) as u8
}

/// The MD5 TLV's sender field: the IPv4 address, or the low 32 bits of an IPv6 source.
pub fn md5_sender(sender: IpAddr) -> Ipv4Addr {
    match sender {
        IpAddr::V4(a) => a,
        IpAddr::V6(a) => {
            let o = a.octets();
            Ipv4Addr::new(o[12], o[13], o[14], o[15])
        }
    }
}

fn parse_v1(payload: &[u8]) -> Result<Repr, Error> {
    // Advertise is recognised by its opcode before the 20-byte length check (it is 16).
    if payload.len() >= 2 && payload[1] == v1::OPCODE_ADVERTISE {
        let adv = v1::Advertise::new_checked(payload)?;
        return Ok(Repr::V1Advertise(AdvertiseRepr::parse(&adv)?));
    }
    let packet = v1::Packet::new_checked(payload)?;
    let msg = v1::Repr::parse(&packet)?;
    // What follows the 20 bytes is a TLV sequence in which only MD5 is understood.
    let mut md5 = None;
    for item in v2::tlvs(payload, v1::PACKET_LEN) {
        let (at, tlv) = item?;
        if tlv.tlv_type() == auth::MD5_TLV_TYPE {
            if md5.is_some() {
                return Err(dup(tlv.tlv_type(), at));
            }
            md5 = Some(Md5Repr::parse(tlv.bytes(), at)?);
        }
    }
    Ok(Repr::V1 { msg, md5 })
}

fn dup(tlv_type: u8, at: usize) -> Error {
    Error::UnexpectedTlv {
        tlv_type,
        at,
        why: "a duplicate",
    }
}

fn parse_v2(payload: &[u8]) -> Result<Repr, Error> {
    let mut body = None;
    let mut auth = AuthRepr::None;
    for item in v2::tlvs(payload, 0) {
        let (at, tlv) = item?;
        match tlv.tlv_type() {
            v2::TLV_GROUP_STATE | v2::TLV_INTERFACE_STATE if body.is_some() => {
                return Err(Error::UnexpectedTlv {
                    tlv_type: tlv.tlv_type(),
                    at,
                    why: "a second Group/Interface State TLV (one per packet)",
                })
            }
            v2::TLV_GROUP_STATE => {
                let gs = v2::GroupState::new_checked(tlv.bytes(), at)?;
                body = Some(V2Body::Group(GroupStateRepr::parse(&gs, at)?));
            }
            v2::TLV_INTERFACE_STATE => {
                let (active, passive) = v2::parse_interface_state(&tlv, at)?;
                body = Some(V2Body::InterfaceState { active, passive });
            }
            v2::TLV_TEXT_AUTH | v2::TLV_MD5_AUTH if auth != AuthRepr::None => {
                return Err(Error::UnexpectedTlv {
                    tlv_type: tlv.tlv_type(),
                    at,
                    why: "a second authentication TLV",
                })
            }
            v2::TLV_TEXT_AUTH => auth = AuthRepr::Text(v2::parse_text_auth(&tlv, at)?),
            v2::TLV_MD5_AUTH => auth = AuthRepr::Md5(Md5Repr::parse(tlv.bytes(), at)?),
            _ => {} // unknown: skipped by length
        }
    }
    match body {
        Some(body) => Ok(Repr::V2 { body, auth }),
        None => Err(Error::NoMessage),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::{MacAddr, Opcode, State};

    fn v2_hello() -> [u8; 52] {
        let r = Repr::V2 {
            body: V2Body::Group(GroupStateRepr {
                opcode: Opcode::Hello,
                state: State::Active,
                group: 5,
                identifier: MacAddr([2, 0, 0, 0, 0, 1]),
                priority: 100,
                hello_ms: 3000,
                hold_ms: 10000,
                virtual_ip: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
            }),
            auth: AuthRepr::Text(*b"cisco\0\0\0"),
        };
        let mut b = [0u8; 52];
        r.emit(&mut b).unwrap();
        b
    }

    #[test]
    fn typed_errors_name_what_and_where() {
        assert!(matches!(
            Repr::parse(&[]),
            Err(Error::Truncated { at: 0, .. })
        ));
        assert_eq!(
            Repr::parse(&[9, 0]),
            Err(Error::BadVersion { at: 0, value: 9 })
        );
        let mut p = v2_hello();
        p[43] = 9; // text TLV length
        assert!(matches!(
            Repr::parse(&p),
            Err(Error::Truncated { at: 42, .. }) | Err(Error::BadTlvLength { at: 42, .. })
        ));
        let mut p = v2_hello();
        p[5] = 5; // IP version
        assert!(matches!(
            Repr::parse(&p),
            Err(Error::BadField { value: 5, .. })
        ));
        let mut p = v2_hello();
        p[2] = 3; // Group State version
        assert_eq!(Repr::parse(&p), Err(Error::BadVersion { at: 2, value: 3 }));
        let mut p = v2_hello();
        p[4] = 7;
        assert_eq!(
            Repr::parse(&p),
            Err(Error::BadState {
                version: Version::V2,
                value: 7
            })
        );
        let mut p = v2_hello();
        p[14..18].copy_from_slice(&256u32.to_be_bytes());
        let e = crate::wire::decode_payload(&p, &Auth::DefaultText).unwrap_err();
        assert!(!e.is_auth() && matches!(e, Error::BadField { value: 256, .. }));
    }

    #[test]
    fn unknown_tlvs_are_skipped_and_md5_found_after_them() {
        let key = b"k3y";
        let auth = Auth::Md5 {
            key: key.to_vec(),
            key_id: 0,
        };
        let msg = Repr::parse(&v2_hello())
            .unwrap()
            .group_message()
            .unwrap()
            .unwrap();
        let mut p = [0u8; 80];
        let n =
            crate::wire::encode_group(&msg, &auth, "10.0.0.2".parse().unwrap(), &mut p).unwrap();
        // Insert an unknown TLV (type 9, 3 bytes) between Group State and MD5, re-sign.
        let mut q = p[..42].to_vec();
        q.extend([9, 3, 0xaa, 0xbb, 0xcc]);
        q.extend(&p[42..n]);
        auth::sign(key, &mut q, 47);
        assert_eq!(
            crate::wire::decode_payload(&q, &auth),
            Ok(crate::wire::Decoded::Group(msg))
        );
        // A second Group State TLV is refused.
        let mut d = p[..42].to_vec();
        d.extend(&p[..42]);
        assert!(matches!(
            Repr::parse(&d),
            Err(Error::UnexpectedTlv { at: 42, .. })
        ));
    }
}
