//! HSRP authentication: the 8-byte text field/TLV and the keyed-MD5 TLV (docs/protocol.md §3.3),
//! which is the same 30 bytes in v1 (appended) and v2 (TLV type 4).

use std::net::Ipv4Addr;

use md5::{Digest, Md5};
use subtle::ConstantTimeEq;

use super::{check_len, check_room, Error, Field};

/// Length of the text authentication data (v1 field, v2 TLV value).
pub const TEXT_LEN: usize = 8;
/// TLV type of the MD5 authentication TLV.
pub const MD5_TLV_TYPE: u8 = hsrp_ebpf::proto::TLV_MD5_AUTH;
/// Value length of the MD5 TLV.
pub const MD5_VALUE_LEN: u8 = hsrp_ebpf::proto::MD5_VALUE_LEN;
/// Whole MD5 TLV, header included.
pub const MD5_TLV_LEN: usize = 2 + MD5_VALUE_LEN as usize;
/// The only algorithm HSRP defines.
pub const ALGORITHM_MD5: u8 = 1;

mod field {
    use super::Field;
    pub const TYPE: usize = 0;
    pub const LEN: usize = 1;
    pub const ALGORITHM: usize = 2;
    pub const PADDING: usize = 3;
    pub const FLAGS: Field = 4..6;
    pub const SENDER: Field = 6..10;
    pub const KEY_ID: Field = 10..14;
    pub const DIGEST: Field = 14..30;
}

/// Offset of the digest inside the MD5 TLV.
pub const DIGEST_OFFSET: usize = field::DIGEST.start;

/// Pad or validate text authentication into its 8 wire bytes (NUL-padded).
pub fn text_field(text: &[u8]) -> Result<[u8; TEXT_LEN], Error> {
    if text.len() > TEXT_LEN {
        return Err(Error::Unencodable {
            what: "authentication text",
            why: "longer than 8 bytes",
        });
    }
    let mut out = [0u8; TEXT_LEN];
    out[..text.len()].copy_from_slice(text);
    Ok(out)
}

/// Constant-time comparison of a received text field with the configured text.
pub fn text_matches(received: &[u8; TEXT_LEN], configured: &[u8]) -> bool {
    match text_field(configured) {
        Ok(expected) => bool::from(received.ct_eq(&expected)),
        Err(_) => false,
    }
}

/// A checked view of an MD5 authentication TLV (30 bytes, header included).
#[derive(Debug, Clone, Copy)]
pub struct Md5Tlv<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Md5Tlv<T> {
    /// Wrap without checks (use `new_checked` on untrusted input).
    pub fn new_unchecked(buffer: T) -> Self {
        Md5Tlv { buffer }
    }

    /// Wrap `buffer` (starting at offset `at` of the payload, for error messages), checking
    /// that the whole TLV is present and its type and length are right.
    pub fn new_checked(buffer: T, at: usize) -> Result<Self, Error> {
        let b = buffer.as_ref();
        check_len("MD5 authentication TLV", at, b, 2)?;
        if b[field::TYPE] != MD5_TLV_TYPE {
            return Err(Error::UnexpectedTlv {
                tlv_type: b[field::TYPE],
                at,
                why: "not an MD5 authentication TLV",
            });
        }
        if b[field::LEN] != MD5_VALUE_LEN {
            return Err(Error::BadTlvLength {
                tlv_type: MD5_TLV_TYPE,
                at,
                len: b[field::LEN] as usize,
                expected: MD5_VALUE_LEN as usize,
            });
        }
        check_len("MD5 authentication TLV", at, b, MD5_TLV_LEN)?;
        Ok(Md5Tlv { buffer })
    }

    pub fn algorithm(&self) -> u8 {
        self.buffer.as_ref()[field::ALGORITHM]
    }
    pub fn flags(&self) -> u16 {
        let b = &self.buffer.as_ref()[field::FLAGS];
        u16::from_be_bytes([b[0], b[1]])
    }
    pub fn sender(&self) -> Ipv4Addr {
        let b = &self.buffer.as_ref()[field::SENDER];
        Ipv4Addr::new(b[0], b[1], b[2], b[3])
    }
    pub fn key_id(&self) -> u32 {
        let b = &self.buffer.as_ref()[field::KEY_ID];
        u32::from_be_bytes([b[0], b[1], b[2], b[3]])
    }
    pub fn digest(&self) -> [u8; 16] {
        let mut d = [0u8; 16];
        d.copy_from_slice(&self.buffer.as_ref()[field::DIGEST]);
        d
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Md5Tlv<T> {
    fn b(&mut self) -> &mut [u8] {
        self.buffer.as_mut()
    }
    pub fn set_header(&mut self) {
        self.b()[field::TYPE] = MD5_TLV_TYPE;
        self.b()[field::LEN] = MD5_VALUE_LEN;
        self.b()[field::PADDING] = 0;
    }
    pub fn set_algorithm(&mut self, v: u8) {
        self.b()[field::ALGORITHM] = v;
    }
    pub fn set_flags(&mut self, v: u16) {
        self.b()[field::FLAGS].copy_from_slice(&v.to_be_bytes());
    }
    pub fn set_sender(&mut self, v: Ipv4Addr) {
        self.b()[field::SENDER].copy_from_slice(&v.octets());
    }
    pub fn set_key_id(&mut self, v: u32) {
        self.b()[field::KEY_ID].copy_from_slice(&v.to_be_bytes());
    }
    pub fn set_digest(&mut self, v: &[u8; 16]) {
        self.b()[field::DIGEST].copy_from_slice(v);
    }
}

/// The meaning of an MD5 TLV.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Md5Repr {
    /// IPv4 sender, or the low 32 bits of the IPv6 link-local source.
    pub sender: Ipv4Addr,
    /// 0 with a plain key-string.
    pub key_id: u32,
    /// As received (parse) or to be computed (see `sign`); zero before signing.
    pub digest: [u8; 16],
}

impl Md5Repr {
    /// Parse the TLV at offset `at` of the payload (`buf` starts at the TLV).
    pub fn parse(buf: &[u8], at: usize) -> Result<Md5Repr, Error> {
        let tlv = Md5Tlv::new_checked(buf, at)?;
        if tlv.algorithm() != ALGORITHM_MD5 {
            return Err(Error::BadAuthAlgorithm {
                at: at + field::ALGORITHM,
                value: tlv.algorithm(),
            });
        }
        Ok(Md5Repr {
            sender: tlv.sender(),
            key_id: tlv.key_id(),
            digest: tlv.digest(),
        })
    }

    pub const fn buffer_len(&self) -> usize {
        MD5_TLV_LEN
    }

    /// Write the whole TLV (header included) at the start of `buf`.
    pub fn emit(&self, buf: &mut [u8]) -> Result<(), Error> {
        check_room(buf, MD5_TLV_LEN)?;
        let mut tlv = Md5Tlv::new_unchecked(&mut buf[..MD5_TLV_LEN]);
        tlv.set_header();
        tlv.set_algorithm(ALGORITHM_MD5);
        tlv.set_flags(0);
        tlv.set_sender(self.sender);
        tlv.set_key_id(self.key_id);
        tlv.set_digest(&self.digest);
        Ok(())
    }
}

/// Keyed MD5 of an HSRP payload, the RFC 1828 envelope HSRP uses:
/// `MD5(K || MD5-padding(K) || M || K)`, where `M` is `payload` with the 16 digest bytes at
/// `digest_at` taken as zero. For |K| <= 55 the padded key is exactly one 64-byte block (the
/// construction of docs/protocol.md §3.3); longer keys pad to the next block boundary the
/// same way. Streams the payload, so it never copies or allocates.
pub fn md5_digest(key: &[u8], payload: &[u8], digest_at: usize) -> [u8; 16] {
    let mut h = Md5::new();
    h.update(key);
    // MD5's own padding of K: 0x80, zeros up to 56 mod 64, then the bit length (u64 LE).
    h.update([0x80u8]);
    let zeros = (55usize.wrapping_sub(key.len() % 64)) % 64;
    h.update(&[0u8; 64][..zeros]);
    h.update(((key.len() as u64) * 8).to_le_bytes());
    let end = (digest_at + 16).min(payload.len());
    let start = digest_at.min(payload.len());
    h.update(&payload[..start]);
    h.update(&[0u8; 16][..end - start]);
    h.update(&payload[end..]);
    h.update(key);
    h.finalize().into()
}

/// Constant-time check of a received digest.
pub fn md5_verifies(key: &[u8], payload: &[u8], digest_at: usize, received: &[u8; 16]) -> bool {
    bool::from(md5_digest(key, payload, digest_at).ct_eq(received))
}

/// Fill in the digest of an emitted payload whose MD5 TLV starts at `tlv_at`.
pub fn sign(key: &[u8], payload: &mut [u8], tlv_at: usize) {
    let at = tlv_at + DIGEST_OFFSET;
    let d = md5_digest(key, payload, at);
    payload[at..at + 16].copy_from_slice(&d);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_padding_is_one_block_for_short_keys() {
        // pad(K) must be 64 bytes for |K| <= 55: MD5 over pad(K) alone equals MD5 over the
        // explicit construction of docs/protocol.md §3.3.
        for klen in [0usize, 1, 8, 13, 55] {
            let key = vec![b'k'; klen];
            let mut explicit = key.clone();
            explicit.push(0x80);
            explicit.resize(56, 0);
            explicit.extend_from_slice(&((klen as u64) * 8).to_le_bytes());
            assert_eq!(explicit.len(), 64);
            let payload = [7u8; 50];
            let mut m = explicit.clone();
            let mut zeroed = payload;
            zeroed[34..50].fill(0);
            m.extend_from_slice(&zeroed);
            m.extend_from_slice(&key);
            let want: [u8; 16] = Md5::digest(&m).into();
            assert_eq!(md5_digest(&key, &payload, 34), want, "klen {klen}");
        }
    }

    #[test]
    fn text_field_pads_and_rejects_long() {
        assert_eq!(&text_field(b"cisco").unwrap(), b"cisco\0\0\0");
        assert!(text_field(b"123456789").is_err());
        assert!(text_matches(b"cisco\0\0\0", b"cisco"));
        assert!(!text_matches(b"cisco\0\0\0", b"cisc"));
    }
}
