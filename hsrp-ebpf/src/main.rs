//! The `hsrp` XDP program (built for `bpfel-unknown-none`). On the host this binary is
//! empty, so a plain `cargo build` of the workspace works.
#![cfg_attr(target_arch = "bpf", no_std)]
#![cfg_attr(target_arch = "bpf", no_main)]

#[cfg(target_arch = "bpf")]
mod xdp;

#[cfg(not(target_arch = "bpf"))]
fn main() {}
