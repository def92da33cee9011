//! Embeds the XDP object in `hsrpd`, so the daemon is one file. `cargo xtask build` builds
//! the object first (nightly, bpfel-unknown-none); a plain host `cargo build` without it
//! still succeeds, embeds nothing and warns, and loading then fails at run time with a
//! message naming the fix.

use std::path::PathBuf;

const DEFAULT_OBJECT: &str = "../target/bpf/bpfel-unknown-none/release/hsrp";

fn main() {
    println!("cargo:rerun-if-env-changed=HSRP_EBPF_OBJECT");
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let object = match std::env::var_os("HSRP_EBPF_OBJECT") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => manifest.join(DEFAULT_OBJECT),
    };
    // Also covers "the object appears later": cargo re-runs this script while it is missing.
    println!("cargo:rerun-if-changed={}", object.display());

    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("set by cargo")).join("hsrp-ebpf.o");
    let bytes = match std::fs::read(&object) {
        Ok(bytes) => bytes,
        Err(e) => {
            println!(
                "cargo:warning=hsrpd is built without its XDP object ({}: {e}); \
                 build with `cargo xtask build`",
                object.display()
            );
            Vec::new()
        }
    };
    // Rewrite only on change, so an unchanged object does not dirty the crate.
    if std::fs::read(&out).ok().as_deref() != Some(bytes.as_slice()) {
        std::fs::write(&out, &bytes).unwrap_or_else(|e| panic!("write {}: {e}", out.display()));
    }
}
