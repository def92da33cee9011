//! Hellos due at the same wake-up leave together. While the loop serves the groups' timers,
//! the group messages their state machines send are queued and go out with one sendmmsg per
//! [`SEND_BATCH`] frames (`PacketSocket::send_batch`) instead of one send each: with a
//! thousand groups at 100 ms hellos that is most of the daemon's system calls. Any other
//! action (a flip, a gratuitous ARP, a state change) first sends what is queued, so frames
//! and data-plane writes keep the order in which the state machines asked for them.

use log::warn;

use super::actions::FRAME_BUF;
use super::groups::GroupKey;
use super::Daemon;
use crate::net::{NetError, SEND_BATCH};
use crate::proto::Opcode;

/// A group message built and waiting for the batch to be sent.
struct Queued {
    gi: usize,
    opcode: Opcode,
    len: usize,
    frame: [u8; FRAME_BUF],
}

/// The queue of the current batch (empty and closed outside one).
#[derive(Default)]
pub(super) struct TxBatch {
    open: bool,
    queued: Vec<Queued>,
    /// Group messages that could not be sent, since start.
    pub(super) failures: u64,
}

/// A group message that could not be sent: counted, and logged at the first failure and
/// then at every power of two, so a transmit queue that overflows for a while (ENOBUFS
/// with a thousand groups) costs a log line now and then, not one per frame.
pub(super) fn send_failed(failures: &mut u64, key: &GroupKey, opcode: Opcode, e: &NetError) {
    *failures += 1;
    let n = *failures;
    if n.is_power_of_two() {
        warn!("{key}: sending {opcode:?}: {e} ({n} group message(s) not sent so far)");
    }
}

impl Daemon {
    /// From now until [`Daemon::end_tx_batch`], group messages are queued.
    pub(super) fn begin_tx_batch(&mut self) {
        self.tx.open = true;
    }

    /// Sends what is queued and stops queueing.
    pub(super) async fn end_tx_batch(&mut self) {
        self.flush_tx().await;
        self.tx.open = false;
    }

    /// Queues group `gi`'s frame if a batch is open (and sends the batch once it is full);
    /// `false`: no batch, the caller sends the frame itself.
    pub(super) async fn queue_frame(&mut self, gi: usize, opcode: Opcode, frame: &[u8]) -> bool {
        if !self.tx.open {
            return false;
        }
        let mut q = Queued {
            gi,
            opcode,
            len: frame.len(),
            frame: [0; FRAME_BUF],
        };
        q.frame[..frame.len()].copy_from_slice(frame);
        self.tx.queued.push(q);
        if self.tx.queued.len() >= SEND_BATCH {
            self.flush_tx().await;
        }
        true
    }

    /// Sends the queued frames, each on its group's interface, in the order queued.
    pub(super) async fn flush_tx(&mut self) {
        let queued = std::mem::take(&mut self.tx.queued);
        let mut start = 0;
        // Runs of frames for the same interface (nearly always one run).
        while start < queued.len() {
            let iface = self.groups[queued[start].gi].iface;
            let end = queued[start..]
                .iter()
                .position(|q| self.groups[q.gi].iface != iface)
                .map_or(queued.len(), |n| start + n);
            let run = &queued[start..end];
            let frames: Vec<&[u8]> = run.iter().map(|q| &q.frame[..q.len]).collect();
            let groups = &self.groups;
            let failures = &mut self.tx.failures;
            self.ifaces[iface]
                .socket
                .send_batch(&frames, |i, e| {
                    let q = &run[i];
                    send_failed(failures, &groups[q.gi].key, q.opcode, &e);
                })
                .await;
            start = end;
        }
        // The allocation is kept for the next batch.
        let mut queued = queued;
        queued.clear();
        self.tx.queued = queued;
    }
}
