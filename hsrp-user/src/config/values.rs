//! Parsers for the values that appear in configuration lines. Each returns the reason on
//! failure; the caller adds the file, line and text.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::proto::MacAddr;

/// A decimal number in `lo..=hi`; otherwise `"{what} must be {lo}-{hi}"`.
pub(crate) fn number(token: &str, lo: u32, hi: u32, what: &str) -> Result<u32, String> {
    match token.parse::<u32>() {
        Ok(n) if (lo..=hi).contains(&n) && token.bytes().all(|b| b.is_ascii_digit()) => Ok(n),
        _ => Err(format!("{what} must be {lo}-{hi}")),
    }
}

/// True for a token made only of decimal digits (a group number, not a keyword).
pub(crate) fn is_decimal(token: &str) -> bool {
    !token.is_empty() && token.bytes().all(|b| b.is_ascii_digit())
}

/// A dotted-quad IPv4 address.
pub(crate) fn ipv4(token: &str, what: &str) -> Result<Ipv4Addr, String> {
    token
        .parse::<Ipv4Addr>()
        .map_err(|_| format!("`{token}` is not an IPv4 {what}"))
}

/// A dotted-quad netmask with contiguous ones; returns the prefix length.
pub(crate) fn netmask(token: &str) -> Result<u8, String> {
    let m = u32::from(ipv4(token, "netmask")?);
    let len = m.leading_ones();
    if m.checked_shl(len).unwrap_or(0) != 0 {
        return Err(format!("netmask {token} is not contiguous"));
    }
    Ok(len as u8)
}

/// `A.B.C.D/LEN` or `X::Y/LEN`.
pub(crate) fn prefix(token: &str) -> Result<(IpAddr, u8), String> {
    let bad = || format!("`{token}` is not a prefix (A.B.C.D/LEN or X::Y/LEN)");
    let (addr, len) = token.split_once('/').ok_or_else(bad)?;
    let addr: IpAddr = addr.parse().map_err(|_| bad())?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    if !is_decimal(len) {
        return Err(bad());
    }
    let len = number(len, 0, max, "prefix length")?;
    Ok((addr, len as u8))
}

/// `X::Y/LEN` for an IPv6 virtual address, or a bare `fe80::X` link-local.
pub(crate) enum Ipv6Vip {
    LinkLocal(Ipv6Addr),
    Global(Ipv6Addr, u8),
}

pub(crate) fn ipv6_vip(token: &str) -> Result<Ipv6Vip, String> {
    let (addr_text, len) = match token.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (token, None),
    };
    let addr: Ipv6Addr = addr_text.parse().map_err(|_| {
        format!("`{token}` is not an IPv6 address (X::Y/LEN, fe80::Y or autoconfig)")
    })?;
    if addr.is_unspecified() || addr.is_multicast() || addr.is_loopback() {
        return Err(format!("{addr} cannot be a virtual address"));
    }
    let link_local = addr.segments()[0] & 0xffc0 == 0xfe80;
    match (link_local, len) {
        (true, None) => Ok(Ipv6Vip::LinkLocal(addr)),
        (true, Some(_)) => Err("a link-local virtual address takes no prefix length".into()),
        (false, None) => Err(format!(
            "global IPv6 virtual address needs a prefix length ({addr}/64)"
        )),
        (false, Some(l)) => Ok(Ipv6Vip::Global(
            addr,
            number(l, 1, 128, "prefix length")? as u8,
        )),
    }
}

/// Cisco `HHHH.HHHH.HHHH` (or `aa:bb:cc:dd:ee:ff`), unicast.
pub(crate) fn mac(token: &str) -> Result<MacAddr, String> {
    let bad = || format!("`{token}` is not a MAC address (HHHH.HHHH.HHHH)");
    let mut bytes = [0u8; 6];
    let dotted: Vec<&str> = token.split('.').collect();
    let coloned: Vec<&str> = token.split(':').collect();
    if dotted.len() == 3 {
        for (i, part) in dotted.iter().enumerate() {
            if part.is_empty() || part.len() > 4 || !part.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(bad());
            }
            let v = u16::from_str_radix(part, 16).map_err(|_| bad())?;
            bytes[2 * i..2 * i + 2].copy_from_slice(&v.to_be_bytes());
        }
    } else if coloned.len() == 6 {
        for (i, part) in coloned.iter().enumerate() {
            if part.len() != 2 || !part.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(bad());
            }
            bytes[i] = u8::from_str_radix(part, 16).map_err(|_| bad())?;
        }
    } else {
        return Err(bad());
    }
    if bytes[0] & 1 != 0 {
        return Err(format!("{token} is a multicast MAC address"));
    }
    if bytes == [0; 6] {
        return Err("the all-zero MAC address cannot be a virtual MAC".into());
    }
    Ok(MacAddr(bytes))
}

/// A Linux interface name: 1-15 bytes, no '/', no whitespace, not "." or "..".
pub(crate) fn interface_name(token: &str) -> Result<String, String> {
    let ok = !token.is_empty()
        && token.len() <= 15
        && token != "."
        && token != ".."
        && !token.contains('/')
        && !token.contains(':')
        && token.bytes().all(|b| b.is_ascii_graphic());
    if ok {
        Ok(token.to_string())
    } else {
        Err(format!(
            "`{token}` is not a Linux interface name (use the name `ip link` shows: at most 15 characters, no '/' or ':')"
        ))
    }
}
