//! HSRPv1 payloads (RFC 2281 packet, Advertise, MD5 TLV appended): the first byte is forced
//! to version 0 so every input exercises the v1 parser; decoded under each kind of auth.
#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut payload = data.to_vec();
    if let Some(first) = payload.first_mut() {
        *first = 0;
    }
    common::check_payload(&payload);
});
