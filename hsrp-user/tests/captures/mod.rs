//! Where the real HSRP captures of `tests/data/` are (their origins and licences are in
//! `tests/data/SOURCES.md`). Found relative to this crate, so the tests run from any checkout.

use std::path::PathBuf;

/// The directory holding the captures.
pub fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

/// One capture, by file name (e.g. `"ndpi_hsrp2.pcap"`).
pub fn path(name: &str) -> PathBuf {
    dir().join(name)
}
