//! Internet checksum helpers (RFC 1071 sums, RFC 1624 incremental updates). Values are the
//! big-endian 16-bit words as integers.

/// The checksum after one 16-bit word of the covered data changed from `old` to `new`:
/// HC' = ~(~HC + ~m + m') (RFC 1624, eqn. 3).
#[inline(always)]
pub fn replace16(check: u16, old: u16, new: u16) -> u16 {
    let sum = (!check as u32) + (!old as u32 & 0xffff) + new as u32;
    !fold(sum)
}

/// Folds a 32-bit one's complement accumulator to 16 bits.
#[inline(always)]
pub fn fold(mut sum: u32) -> u16 {
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    sum as u16
}

/// Adds the big-endian 16-bit words of `b` (an even number of bytes) to `sum`.
#[inline(always)]
pub fn add_words<const N: usize>(mut sum: u32, b: &[u8; N]) -> u32 {
    let mut at = 0;
    while at + 1 < N {
        sum += u16::from_be_bytes([b[at], b[at + 1]]) as u32;
        at += 2;
    }
    sum
}
