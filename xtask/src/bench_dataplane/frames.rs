//! The frames the benchmark sends and times, built with the tests' own frame code
//! (`hsrp_testkit::frames`).

use std::net::Ipv4Addr;

pub use hsrp_testkit::frames::*;

use super::*;

pub fn v4key(a: Ipv4Addr) -> [u8; 16] {
    let mut k = [0; 16];
    k[..4].copy_from_slice(&a.octets());
    k
}

/// A v2 Hello (Group State TLV) for 10.0.1.1, the payload of the control rows.
pub fn v2_hello() -> Vec<u8> {
    v2_group_state(4)
}

/// An HSRPv2 control frame to 224.0.0.102 with `payload`.
pub fn control_frame(payload: &[u8]) -> Vec<u8> {
    ipv4(
        [1, 0, 0x5e, 0, 0, 0x66],
        HOST_MAC,
        HOST4,
        Ipv4Addr::new(224, 0, 0, 102),
        1,
        17,
        &udp(1985, 1985, payload),
    )
}

/// A v2 Hello whose Group State TLV has the wrong length (dropped as malformed).
pub fn malformed_hello() -> Vec<u8> {
    let mut bad = v2_hello();
    bad[1] = 39;
    bad
}
