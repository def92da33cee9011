//! What Router Solicitations and Advertisements share (RFC 4861 §4): the ICMPv6 type and
//! code check, and the walk over the options that follow the fixed header.

use super::{check_len, Error};

/// Checks the ICMPv6 type and code of a neighbour-discovery message (`what` names it in
/// errors, e.g. "Router Advertisement").
pub(super) fn check_type_and_code(
    msg_type: u8,
    code: u8,
    want: u8,
    what: &'static str,
) -> Result<(), Error> {
    if msg_type != want {
        return Err(Error::BadField {
            what,
            value: msg_type.into(),
        });
    }
    if code != 0 {
        return Err(Error::BadField {
            what: "neighbour discovery code (want 0)",
            value: code.into(),
        });
    }
    Ok(())
}

/// Calls `f(kind, offset, option)` for each option in `opts` (which start at byte `base` of
/// the message), each option whole (type and length bytes included). A truncated option
/// or one of length 0 is an error (§4.6); what an option means is `f`'s business, and
/// unknown kinds are for it to skip.
pub(super) fn for_each_option(
    opts: &[u8],
    base: usize,
    mut f: impl FnMut(u8, usize, &[u8]) -> Result<(), Error>,
) -> Result<(), Error> {
    let mut at = 0;
    // Bounded: every iteration consumes at least 8 bytes (zero lengths are rejected).
    while at < opts.len() {
        let off = base + at;
        check_len("ND option header", off, &opts[at..], 2)?;
        let (kind, units) = (opts[at], usize::from(opts[at + 1]));
        if units == 0 {
            return Err(Error::BadField {
                what: "ND option length 0 for option type",
                value: kind.into(),
            });
        }
        let len = units * 8;
        check_len("ND option", off, &opts[at..], len)?;
        f(kind, off, &opts[at..at + len])?;
        at += len;
    }
    Ok(())
}
