//! Cisco "type 7" key strings: what `service password-encryption` makes of a key in
//! `show running-config`. It is a reversible scramble (a fixed 53-byte pad, XORed from an
//! offset given by the first two digits), not encryption; hsrpd refuses it in its own
//! configuration, so `hsrpd import` turns it back into the clear key the peers use.

const PAD: &[u8; 53] = b"dsfd;kfoA,.iyewrkldJKDHSUBsgvca69834ncxv9873254k;fg87";

/// The clear text of a type 7 string (`094F471A1A0A` → `cisco`).
pub fn decode(scrambled: &str) -> Result<String, String> {
    let bad = || "not a valid type 7 string (two decimal digits, then hex pairs)".to_string();
    let s = scrambled.as_bytes();
    if s.len() < 4 || !s.len().is_multiple_of(2) || !s.is_ascii() {
        return Err(bad());
    }
    let offset: usize = scrambled[..2].parse().map_err(|_| bad())?;
    if offset >= PAD.len() {
        return Err(bad());
    }
    let mut clear = Vec::with_capacity(s.len() / 2 - 1);
    for (i, pair) in scrambled.as_bytes()[2..].chunks(2).enumerate() {
        let hex = std::str::from_utf8(pair).map_err(|_| bad())?;
        let byte = u8::from_str_radix(hex, 16).map_err(|_| bad())?;
        clear.push(byte ^ PAD[(offset + i) % PAD.len()]);
    }
    String::from_utf8(clear)
        .ok()
        .filter(|c| c.bytes().all(|b| b.is_ascii_graphic()))
        .ok_or_else(|| "type 7 string does not decode to printable text".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_strings_decode() {
        // The same key scrambled from different offsets, as different IOS boxes print it.
        for s in [
            "094F471A1A0A",
            "02050D480809",
            "0822455D0A16",
            "1511021F0725",
        ] {
            assert_eq!(decode(s).as_deref(), Ok("cisco"), "{s}");
        }
    }

    #[test]
    fn garbage_is_refused() {
        for s in [
            "",
            "09",
            "094F471A1A0",
            "ZZ4F471A1A0A",
            "994F471A1A0A",
            "09GG471A1A0A",
        ] {
            assert!(decode(s).is_err(), "{s}");
        }
    }
}
