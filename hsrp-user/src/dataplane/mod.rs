//! The XDP data plane from userspace: loading, attaching, pinning, the typed map API.
//!
//! - `loader`: the embedded object → kernel; attach/detach (native, generic fallback);
//!   map pins under /sys/fs/bpf/hsrpd; aya-log forwarding.
//! - `cli`: `hsrpd load` / `hsrpd unload`.
//! - `maps`: the typed map API; `vmac_table`: the direct-mapped `HSRP_VMAC` under it.
//! - `nexthop`: the next-hop cache maps (generation, entries); kept by
//!   `daemon::nexthop_cache`.

pub mod cli;
pub mod loader;
pub mod maps;
pub mod nexthop;
pub mod vmac_table;

pub use loader::{AttachMode, Dataplane, LoadOptions, DEFAULT_PIN_DIR, PROGRAM_NAME};
