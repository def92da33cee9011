//! The short chaos soak: 5 minutes of random faults against two hsrpd
//! routers carrying traffic (`hsrp_tests::soak`, where the faults and the invariants are
//! listed; `cargo xtask soak --minutes N` is the long one). A privileged test rather than
//! a stage of its own: it needs what every privileged test needs (root, the built hsrpd,
//! the namespace lock, the per-test timing of `cargo xtask test`) and nothing else.
//!
//! The seed comes from the clock and is printed; `HSRP_SOAK_SEED=S` replays a run.

use std::time::Duration;

#[test]
fn chaos_soak_keeps_every_invariant() {
    let seed = std::env::var("HSRP_SOAK_SEED")
        .ok()
        .map(|s| s.parse().expect("HSRP_SOAK_SEED: a number"))
        .unwrap_or_else(hsrp_tests::soak::fresh_seed);
    let report = hsrp_tests::soak::run(Duration::from_secs(300), seed).unwrap();
    let summary = report.summary();
    eprintln!("{summary}");
    // At least one fault a few seconds: a soak that injected nothing proved nothing.
    assert!(report.faults.len() >= 20, "{summary}");
    assert!(
        report.violations.is_empty(),
        "replay with HSRP_SOAK_SEED={seed}\n{summary}"
    );
}
