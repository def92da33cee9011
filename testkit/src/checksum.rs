//! The Internet checksum (RFC 1071) from scratch, for building frames and for checking the
//! ones the XDP program rewrote with incremental updates.

/// The 16-bit one's-complement sum of `data` as big-endian words (an odd last byte padded
/// with zero), not yet folded.
pub fn sum16(data: &[u8]) -> u32 {
    data.chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)])))
        .sum()
}

/// Folds the carries of a [`sum16`] back into 16 bits.
pub fn fold(mut s: u32) -> u16 {
    while s > 0xffff {
        s = (s & 0xffff) + (s >> 16);
    }
    s as u16
}

/// Internet checksum of `data`, with the checksum field zeroed by the caller.
pub fn csum(data: &[u8]) -> u16 {
    !fold(sum16(data))
}

/// The UDP / ICMPv6 checksum of `l4` over the pseudo-header of `src`, `dst` and `next`
/// (the upper-layer protocol), with the checksum field in `l4` zeroed by the caller. Both
/// address families: the pseudo-header sums to the same value whichever layout it has.
pub fn pseudo_csum(src: &[u8], dst: &[u8], next: u8, l4: &[u8]) -> u16 {
    let s = sum16(src) + sum16(dst) + l4.len() as u32 + u32::from(next) + sum16(l4);
    !fold(s)
}

/// True when the IPv4 header at the start of `ip` (20 bytes, no options) has a correct
/// checksum: a correct header sums to 0xffff.
pub fn ipv4_csum_ok(ip: &[u8]) -> bool {
    fold(sum16(&ip[..20])) == 0xffff
}

/// True when the ICMPv6 / UDP checksum of the IPv6 packet `ipv6` (starting at its header)
/// is correct.
pub fn l4v6_csum_ok(ipv6: &[u8]) -> bool {
    let len = usize::from(u16::from_be_bytes([ipv6[4], ipv6[5]]));
    let s = sum16(&ipv6[8..40]) + len as u32 + u32::from(ipv6[6]) + sum16(&ipv6[40..40 + len]);
    fold(s) == 0xffff
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_captured_ipv4_header_checksums_to_its_recorded_value() {
        // A real header (from a capture) whose checksum field, zeroed here, was 0xb861.
        let mut hdr = [
            0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0x00, 0x00, 0xc0, 0xa8,
            0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7,
        ];
        assert_eq!(csum(&hdr), 0xb861);
        assert!(!ipv4_csum_ok(&hdr));
        hdr[10..12].copy_from_slice(&0xb861u16.to_be_bytes());
        assert!(ipv4_csum_ok(&hdr));
    }

    #[test]
    fn an_odd_length_is_padded_with_zero() {
        assert_eq!(sum16(&[0x12, 0x34, 0x56]), 0x1234 + 0x5600);
        assert_eq!(fold(0x1_fffe), 0xffff);
    }
}
