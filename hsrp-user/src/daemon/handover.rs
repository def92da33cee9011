//! Graceful stop without loss. A Resign makes the Standby take over at once, but until the
//! new Active has flipped its map entry and its gratuitous ARP has moved the virtual MAC
//! on the switch, frames for the VIP still reach this router. So a group that was Active
//! with a known Standby keeps forwarding after its Resign until the new Active's hello is
//! heard (plus a short grace for its gratuitous ARP and the frames already on their way
//! here), bounded by the hold time (the Standby takes over by then even if the Resign was
//! lost) and by [`HARD_CAP`], so a stop never hangs. Only then are the maps cleared.

use std::net::IpAddr;
use std::time::Duration;

use log::{info, warn};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::{Daemon, Received, Signals};
use crate::fsm::{Event, RouterInfo};
use crate::proto::{Opcode, State};

/// No stop waits longer than this for a takeover, whatever the hold time.
pub const HARD_CAP: Duration = Duration::from_secs(3);
/// Slack on top of the hold time: the new Active's wake-up and its first hello.
const HOLD_SLACK: Duration = Duration::from_millis(20);
/// After the new Active's hello: it sends its gratuitous ARP right after the hello, and
/// frames the switch sent here before the ARP moved the vMAC are still in flight.
pub const GRACE: Duration = Duration::from_millis(20);
/// Frames looked at while waiting, at most (the wait is bounded in time too; this bounds
/// the work under a flood).
const MAX_FRAMES: u64 = 1_000_000;

impl Daemon {
    /// Sends Resign for every group (Shutdown), keeping the data plane of the groups that
    /// were Active with a known Standby, and waits until each of them was taken over (or
    /// its bound ran out, or a second SIGTERM/SIGINT says stop now). The caller clears the
    /// maps afterwards. Constant work per received frame, however many groups hand over.
    pub(super) async fn resign_and_hand_over(
        &mut self,
        frames: &mut mpsc::Receiver<(usize, Vec<u8>)>,
        signals: &mut Signals,
    ) {
        let now = self.now();
        // Per group: when its Resign went out, if it hands over.
        let mut resigned: Vec<Option<Instant>> = vec![None; self.groups.len()];
        let mut waiting = 0usize;
        let mut deadline: Option<Instant> = None;
        for (gi, slot) in resigned.iter_mut().enumerate() {
            let fsm = &self.groups[gi].fsm;
            let hand_over = fsm.data_plane_active()
                && matches!(fsm.status(now).standby, Some(RouterInfo::Peer { .. }));
            let bound = fsm.timers().hold.saturating_add(HOLD_SLACK).min(HARD_CAP);
            self.keep_data_plane = hand_over;
            self.feed(gi, Event::Shutdown).await;
            self.keep_data_plane = false;
            if hand_over {
                let at = Instant::now();
                *slot = Some(at);
                waiting += 1;
                deadline = deadline.max(Some(at + bound));
            }
        }
        let Some(deadline) = deadline else {
            return;
        };
        let mut last_heard: Option<Instant> = None;
        let mut frames_seen = 0u64;
        loop {
            // Until every group was taken over: the latest bound; then the grace.
            let wake = match (waiting, last_heard) {
                (0, Some(h)) => h + GRACE,
                _ => deadline,
            };
            if Instant::now() >= wake {
                break;
            }
            tokio::select! {
                biased;
                _ = signals.term.recv() => break,
                _ = signals.int.recv() => break,
                Some((iface, frame)) = frames.recv() => {
                    frames_seen += 1;
                    if frames_seen > MAX_FRAMES {
                        break;
                    }
                    let Some((gi, from)) = self.new_active_hello(iface, &frame) else {
                        continue;
                    };
                    if let Some(at) = resigned[gi].take() {
                        let g = &self.groups[gi];
                        info!(
                            "{} grp {}: handed over to {from} after {:.1} ms",
                            g.key.iface,
                            g.key.group,
                            at.elapsed().as_secs_f64() * 1000.0
                        );
                        waiting -= 1;
                        last_heard = Some(Instant::now());
                    }
                }
                _ = tokio::time::sleep_until(wake) => {}
            }
        }
        for (gi, at) in resigned.iter().enumerate() {
            if let Some(at) = at {
                let g = &self.groups[gi];
                warn!(
                    "{} grp {}: stopping without hearing a new Active ({:.0} ms after the Resign)",
                    g.key.iface,
                    g.key.group,
                    at.elapsed().as_secs_f64() * 1000.0
                );
            }
        }
    }

    /// A Hello in state Active from another router, for one of our groups: (group, sender).
    fn new_active_hello(&self, iface: usize, frame: &[u8]) -> Option<(usize, IpAddr)> {
        match self.classify(iface, frame) {
            Received::Message { gi, from, msg }
                if msg.opcode == Opcode::Hello
                    && msg.state == State::Active
                    && from != self.groups[gi].fsm.local_ip() =>
            {
                Some((gi, from))
            }
            _ => None,
        }
    }
}
