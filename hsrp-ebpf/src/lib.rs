//! Types shared by the XDP program and userspace. `#[repr(C)]`, no_std, compiled by both
//! sides so the layout of every map key and value cannot drift.
#![cfg_attr(not(test), no_std)]

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    pub packets: u64,
}
