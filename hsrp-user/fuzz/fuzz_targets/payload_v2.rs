//! HSRPv2 payloads (TLV sequences: Group State, Interface State, Text and MD5 auth, unknown
//! TLVs): the first byte is forced to a TLV type 1-4 so every input reaches the v2 parser.
#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut payload = data.to_vec();
    if let Some(first) = payload.first_mut() {
        *first = 1 + (*first & 3);
    }
    common::check_payload(&payload);
});
