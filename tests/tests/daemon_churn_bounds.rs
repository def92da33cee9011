//! Memory and descriptor bounds, the short run (`hsrp_tests::lab_churn`; `cargo xtask bench
//! churn --minutes N` is the long one): two daemons with 1000 HSRPv2 groups each, churned
//! by reloads that move, remove and re-add every group, for about two minutes. What each
//! daemon holds after the last complete cycle equals what it held after the first cycle
//! past 30 s: descriptors, BPF maps and pins exactly, RSS within 5 %.

use std::time::Duration;

#[test]
fn a_thousand_groups_churned_hold_steady_memory_and_descriptors() {
    let baseline = Duration::from_secs(30);
    let report = hsrp_tests::lab_churn::run(1000, Duration::from_secs(100), None).unwrap();
    let summary = report.summary(baseline);
    eprintln!("{summary}");
    // The baseline and at least one later cycle: otherwise nothing was compared.
    assert!(report.samples.len() >= 3, "{summary}");
    assert!(report.violations(baseline).is_empty(), "{summary}");
}
