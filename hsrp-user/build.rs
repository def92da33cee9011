//! Embeds the XDP object in `hsrpd`, so the daemon is one file. `cargo xtask build` builds
//! the object first (nightly, bpfel-unknown-none). Without it the host build fails, naming
//! the fix: an `hsrpd` that cannot load its data plane is not a daemon anyone should get
//! by accident. `HSRP_ALLOW_NO_XDP=1` opts out (embeds nothing, warns): for builds that
//! never load XDP (fuzzing, host-only checks on a machine without the nightly toolchain).
//!
//! Sets `HSRP_XDP_OBJECT_ID` for the crate: `sha256:` and the first 12 hex digits of the
//! embedded bytes, or `none`; `hsrpd --version` prints it, so an installed binary says
//! which data plane it carries.

use std::path::PathBuf;

use sha2::{Digest, Sha256};

const DEFAULT_OBJECT: &str = "../target/bpf/bpfel-unknown-none/release/hsrp";
const ALLOW_NO_XDP: &str = "HSRP_ALLOW_NO_XDP";

fn main() {
    println!("cargo:rerun-if-env-changed=HSRP_EBPF_OBJECT");
    // HSRP_ALLOW_NO_XDP needs no rerun-if-env-changed: it only matters while the object is
    // missing, and cargo re-runs this script every time while it is (see below). Declaring
    // it would rebuild the crate whenever one caller sets it and the next does not.
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
        Err(e) if std::env::var(ALLOW_NO_XDP).is_ok_and(|v| v == "1") => {
            println!(
                "cargo:warning=hsrpd is built without its XDP object ({}: {e}; \
                 {ALLOW_NO_XDP}=1); it cannot load its data plane",
                object.display()
            );
            Vec::new()
        }
        Err(e) => {
            eprintln!(
                "error: the XDP object {} is missing ({e}).\n\
                 Build it and hsrpd with `cargo xtask build` (it installs the nightly \
                 toolchain parts it needs), then run cargo again.\n\
                 To build hsrpd without its data plane anyway (fuzzing, host-only checks), \
                 set {ALLOW_NO_XDP}=1.",
                object.display()
            );
            std::process::exit(1);
        }
    };
    let id = if bytes.is_empty() {
        "none".to_string()
    } else {
        let digest = Sha256::digest(&bytes);
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        format!("sha256:{}", &hex[..12])
    };
    println!("cargo:rustc-env=HSRP_XDP_OBJECT_ID={id}");
    // Rewrite only on change, so an unchanged object does not dirty the crate.
    if std::fs::read(&out).ok().as_deref() != Some(bytes.as_slice()) {
        std::fs::write(&out, &bytes).unwrap_or_else(|e| panic!("write {}: {e}", out.display()));
    }
}
