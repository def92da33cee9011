//! Virtual MAC addresses and the IPv6 virtual link-local (docs/protocol.md §1, §6).

use std::net::Ipv6Addr;

use crate::proto::{MacAddr, Version};

/// The virtual MAC of a group: v1 0000.0c07.acXX (group 0-255), v2/IPv4 0000.0c9f.fXXX,
/// v2/IPv6 0005.73a0.0XXX (group 0-4095). Out-of-range groups are masked to the field
/// (v1: low 8 bits, v2: low 12 bits); the configuration rejects them before this point.
/// v1 has no IPv6, so `ipv6` is ignored for v1.
pub fn vmac(version: Version, ipv6: bool, group: u16) -> MacAddr {
    match (version, ipv6) {
        (Version::V1, _) => MacAddr([0x00, 0x00, 0x0c, 0x07, 0xac, group as u8]),
        (Version::V2, false) => {
            let g = group & 0x0fff;
            MacAddr([0x00, 0x00, 0x0c, 0x9f, 0xf0 | (g >> 8) as u8, g as u8])
        }
        (Version::V2, true) => {
            let g = group & 0x0fff;
            MacAddr([0x00, 0x05, 0x73, 0xa0, (g >> 8) as u8, g as u8])
        }
    }
}

/// fe80:: + the vMAC with ff:fe in the middle; the U/L bit is NOT flipped (Cisco's way, so
/// group 16 gives fe80::5:73ff:fea0:10).
pub fn virtual_link_local(vmac: MacAddr) -> Ipv6Addr {
    let m = vmac.0;
    Ipv6Addr::from([
        0xfe, 0x80, 0, 0, 0, 0, 0, 0, m[0], m[1], m[2], 0xff, 0xfe, m[3], m[4], m[5],
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vmacs() {
        assert_eq!(vmac(Version::V1, false, 1).to_string(), "00:00:0c:07:ac:01");
        assert_eq!(
            vmac(Version::V2, false, 103).to_string(),
            "00:00:0c:9f:f0:67"
        );
        assert_eq!(
            vmac(Version::V2, false, 4095).to_string(),
            "00:00:0c:9f:ff:ff"
        );
        assert_eq!(vmac(Version::V2, true, 16).to_string(), "00:05:73:a0:00:10");
        assert_eq!(
            vmac(Version::V2, true, 4095).to_string(),
            "00:05:73:a0:0f:ff"
        );
    }

    #[test]
    fn link_local_keeps_ul_bit() {
        let ll = virtual_link_local(vmac(Version::V2, true, 16));
        assert_eq!(ll, "fe80::5:73ff:fea0:10".parse::<Ipv6Addr>().unwrap());
    }
}
