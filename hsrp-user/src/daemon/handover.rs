//! Graceful stop without loss: every group is told `Event::HandOver`; those that drain
//! (Active with a known Standby, see `fsm::group::drain`) keep forwarding until the state
//! machine says their successor has taken over or their bound ran out, and the loop here
//! only feeds them the frames and timers they need meanwhile. Only then are the maps
//! cleared.

use std::net::IpAddr;
use std::time::Duration;

use log::{info, warn};

use super::{Daemon, Received, Signals};
use crate::fsm::Event;

/// Frames looked at while waiting, at most (the wait is bounded in time too; this bounds
/// the work under a flood).
const MAX_FRAMES: u64 = 1_000_000;

impl Daemon {
    /// Sends Resign for every group, and waits until each one that drains was taken over
    /// (or its bound ran out, or a second SIGTERM/SIGINT says stop now). The caller clears
    /// the maps afterwards. Constant work per received frame, however many groups hand over.
    pub(super) async fn resign_and_hand_over(
        &mut self,
        frames: &mut super::FrameRx,
        signals: &mut Signals,
    ) {
        for gi in 0..self.groups.len() {
            self.feed(gi, Event::HandOver).await;
        }
        let mut draining: Vec<usize> = (0..self.groups.len())
            .filter(|&gi| self.groups[gi].fsm.draining())
            .collect();
        let mut frames_seen = 0u64;
        while !draining.is_empty() {
            let Some(next) = draining
                .iter()
                .filter_map(|&gi| self.groups[gi].fsm.next_deadline())
                .min()
            else {
                break;
            };
            let wake = self.instant(next);
            tokio::select! {
                biased;
                _ = signals.term.recv() => break,
                _ = signals.int.recv() => break,
                Some(batch) = frames.recv() => {
                    frames_seen += batch.len() as u64;
                    if frames_seen > MAX_FRAMES {
                        break;
                    }
                    for frame in batch.frames() {
                        if let Received::Message { gi, from, msg } =
                            self.classify(batch.iface, frame.data)
                        {
                            if self.groups[gi].fsm.draining() {
                                self.feed(gi, Event::Received { from, msg }).await;
                            }
                        }
                    }
                }
                _ = tokio::time::sleep_until(wake) => {
                    let now = self.now();
                    for &gi in &draining.clone() {
                        if self.groups[gi].fsm.next_deadline().is_some_and(|t| t <= now) {
                            self.feed(gi, Event::Timer).await;
                        }
                    }
                }
            }
            draining.retain(|&gi| self.groups[gi].fsm.draining());
        }
    }

    /// A hand-over of group `gi` is over (`Action::Drained`): its data plane stopped.
    pub(super) fn drained(&self, gi: usize, to: Option<IpAddr>, after: Duration) {
        let g = &self.groups[gi];
        let ms = after.as_secs_f64() * 1000.0;
        match (g.fsm.shut_down(), to) {
            (true, Some(to)) => info!("{}: handed over to {to} after {ms:.1} ms", g.key),
            (true, None) => warn!(
                "{}: stopping without hearing a new Active ({ms:.0} ms after the Resign)",
                g.key
            ),
            (false, Some(to)) => info!("{}: handed over to {to}; data plane inactive", g.key),
            (false, None) => warn!(
                "{}: no new Active heard within the hold time; data plane inactive",
                g.key
            ),
        }
    }
}
