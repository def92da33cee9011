//! Test support shared by the privileged tests (`hsrp-tests`) and the benchmarks
//! (`xtask bench`): frames built by hand, checksums computed from scratch, and running code
//! inside a network namespace.
//!
//! Deliberately independent of `hsrp_user::wire`: a frame the tests feed the daemon or the
//! XDP program, and the checksums its answers are checked against, must not come from the
//! code under test. Kept to std and libc, so that xtask can use it without building hsrpd.

pub mod checksum;
pub mod frames;
pub mod netns;
