//! For the BPF target only: let LLVM use word-sized loads and stores on packet bytes
//! (`allows-misaligned-mem-access`, LLVM 22 / bpf-linker 0.13). Without it every u16/u32
//! field of a frame is read byte by byte (about three instructions per byte). The kernel
//! accepts misaligned packet access where the CPU does it efficiently (x86-64, arm64),
//! the platforms hsrpd targets; stack accesses stay aligned (the verifier checks them).
fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    if std::env::var("CARGO_CFG_TARGET_ARCH").as_deref() == Ok("bpf") {
        println!("cargo::rustc-link-arg-bins=--cpu-features=+allows-misaligned-mem-access");
    }
}
