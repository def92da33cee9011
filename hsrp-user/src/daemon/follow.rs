//! Following groups at run time (`standby G follow NAME`): which groups follow which, and
//! feeding a master's new state to its followers in the same step as the master's own
//! actions, so every follower's vMAC entry flips in the same pass of the loop as the
//! master's. The policy (what a follower does with that state) is in `fsm`.

use crate::fsm::Event;

use super::Daemon;

/// For each group, the indices of the groups that follow it (by the master's name).
pub(super) fn followers_of(names: &[Option<&str>], follows: &[Option<&str>]) -> Vec<Vec<usize>> {
    let mut out = vec![Vec::new(); names.len()];
    for (f, master) in follows.iter().enumerate() {
        let Some(master) = master else { continue };
        if let Some(m) = names.iter().position(|n| *n == Some(*master)) {
            if m != f {
                out[m].push(f);
            }
        }
    }
    out
}

impl Daemon {
    /// Group `gi` changed state: its followers take the new state now.
    pub(super) async fn drive_followers(&mut self, gi: usize) {
        let followers = self.groups.followers(gi).to_vec();
        let state = self.groups[gi].fsm.state();
        for f in followers {
            if f < self.groups.len() {
                self.feed_one(f, Event::MasterState { state }).await;
            }
        }
    }

    /// Tells every follower its master's current state (after start or a reload; a
    /// follower that already knows it does nothing).
    pub(super) async fn sync_followers(&mut self) {
        for gi in 0..self.groups.len() {
            if !self.groups.followers(gi).is_empty() {
                self.drive_followers(gi).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn followers_are_found_by_the_masters_name() {
        let names = [Some("M"), None, None, Some("X"), None];
        let follows = [None, Some("M"), Some("M"), None, Some("nobody")];
        assert_eq!(
            followers_of(&names, &follows),
            vec![vec![1, 2], vec![], vec![], vec![], vec![]]
        );
    }
}
