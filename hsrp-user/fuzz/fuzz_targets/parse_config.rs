//! The configuration parser (`config::parse`) on arbitrary text: never a panic, every
//! error names a line that exists (or none, for whole-file problems) and carries a reason,
//! and parsing is deterministic.
#![no_main]

use hsrp_user::config;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let first = config::parse(text, "fuzz.conf");
    match &first {
        Ok(cfg) => {
            for (_iface, group) in cfg.groups() {
                assert!(group.hold_ms() > group.hello_ms(), "accepted hold <= hello");
                let _ = group.virtual_ips();
            }
        }
        Err(e) => {
            assert!(!e.diagnostics.is_empty(), "an error with no diagnostics");
            let lines = text.lines().count();
            for d in &e.diagnostics {
                assert!(!d.reason.is_empty(), "diagnostic without a reason");
                if let Some(n) = d.line {
                    assert!(n >= 1 && n <= lines, "line {n} of a {lines}-line file");
                }
            }
            assert_eq!(e.lines().len(), e.diagnostics.len());
        }
    }
    assert_eq!(
        config::parse(text, "fuzz.conf"),
        first,
        "parse is not deterministic"
    );
});
