//! The receive side of the HSRP sockets: a task per interface takes the frames off its
//! socket in bursts (one recvmmsg(2) for up to `RECV_BATCH` frames, into buffers it keeps,
//! `net::RecvRing`) and hands each burst to the loop as one [`FrameBatch`]: one channel
//! message, one allocation and one system call per burst rather than per frame.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::FutureExt;
use log::{debug, warn};
use tokio::sync::mpsc;

use crate::net::{PacketSocket, RecvRing, RECV_BATCH};

/// Bound on one rx task's consecutive hard errors before it gives up on its socket.
const MAX_RX_ERRORS: u32 = 100;
/// Frames per second from which the receive task coalesces wake-ups.
const BUSY_RATE: u32 = 2000;
/// How long a busy receive task lets frames gather (tokio's timer resolution).
const COALESCE: Duration = Duration::from_millis(1);
/// Frames taken in one burst at most, so the loop gets its turn.
const RX_BURST: usize = 256;

/// The frames of one interface received in one burst, in arrival order.
#[derive(Debug)]
pub(super) struct FrameBatch {
    /// Index into `Daemon::ifaces`.
    pub iface: usize,
    data: Vec<u8>,
    /// Where each frame ends in `data`.
    ends: Vec<usize>,
}

impl FrameBatch {
    pub fn new(iface: usize) -> FrameBatch {
        FrameBatch {
            iface,
            data: Vec::new(),
            ends: Vec::new(),
        }
    }

    /// Room for `frames` more frames of `bytes` in all.
    pub fn reserve(&mut self, frames: usize, bytes: usize) {
        self.ends.reserve(frames);
        self.data.reserve(bytes);
    }

    pub fn push(&mut self, frame: &[u8]) {
        self.data.extend_from_slice(frame);
        self.ends.push(self.data.len());
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    pub fn frames(&self) -> impl Iterator<Item = &[u8]> {
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        starts.zip(&self.ends).map(|(s, &e)| &self.data[s..e])
    }
}

/// The receive task of interface `index`: frames to the loop, in bursts. While frames
/// arrive faster than [`BUSY_RATE`] per second (many groups), the task drains what is
/// queued and then waits [`COALESCE`] before looking again, instead of being woken for
/// every frame: the loop wakes about once per millisecond instead of ten thousand times a
/// second. At lower rates each frame is handed over at once (takeovers are not slowed
/// down).
pub(super) fn spawn_rx(
    index: usize,
    socket: Arc<PacketSocket>,
    tx: mpsc::Sender<FrameBatch>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ring = RecvRing::default();
        let mut errors = 0u32;
        let mut rate = RateWindow::default();
        loop {
            let mut batch = FrameBatch::new(index);
            // Wait for a frame, then take whatever else is queued without waiting.
            for first in (0..RX_BURST / RECV_BATCH).map(|i| i == 0) {
                let got = if first {
                    Some(socket.recv_batch(&mut ring).await)
                } else {
                    socket.recv_batch(&mut ring).now_or_never()
                };
                match got {
                    None => break,
                    Some(Ok(n)) => {
                        errors = 0;
                        take_frames(&ring, &socket, &mut batch, &mut rate);
                        if n < RECV_BATCH {
                            break; // the socket is drained
                        }
                    }
                    Some(Err(e)) if e.is_transient() => debug!("{e}"),
                    Some(Err(e)) => {
                        // What came before the error goes first.
                        let done = std::mem::replace(&mut batch, FrameBatch::new(index));
                        if !done.is_empty() && tx.send(done).await.is_err() {
                            return; // the loop is gone
                        }
                        errors += 1;
                        warn!("{e}");
                        if errors >= MAX_RX_ERRORS {
                            log::error!(
                                "{}: giving up receiving after {errors} errors",
                                socket.iface()
                            );
                            return;
                        }
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                }
            }
            if !batch.is_empty() && tx.send(batch).await.is_err() {
                return; // the loop is gone
            }
            if rate.busy(Instant::now()) {
                tokio::time::sleep(COALESCE).await;
            }
        }
    })
}

/// The frames of the last receive into `batch`; a frame too long for the ring is logged
/// (debug) and left out, as `PacketSocket::recv` reports it.
fn take_frames(
    ring: &RecvRing,
    socket: &PacketSocket,
    batch: &mut FrameBatch,
    rate: &mut RateWindow,
) {
    let now = Instant::now();
    // One allocation per burst, not one per frame as the batch grows.
    let (count, bytes) = ring
        .frames(socket.iface())
        .flatten()
        .fold((0, 0), |(n, b), f| (n + 1, b + f.len()));
    batch.reserve(count, bytes);
    for frame in ring.frames(socket.iface()) {
        match frame {
            Ok(f) => {
                rate.count(now);
                batch.push(f);
            }
            Err(e) => debug!("{e}"),
        }
    }
}

/// Frames counted over the last full 100 ms window.
#[derive(Debug)]
struct RateWindow {
    start: Instant,
    count: u32,
    last_rate: u32,
}

impl Default for RateWindow {
    fn default() -> Self {
        RateWindow {
            start: Instant::now(),
            count: 0,
            last_rate: 0,
        }
    }
}

impl RateWindow {
    const WINDOW: Duration = Duration::from_millis(100);

    fn roll(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.start);
        if elapsed >= Self::WINDOW {
            // A window with nothing in it (a long quiet spell) reads as rate 0.
            self.last_rate = if elapsed >= 2 * Self::WINDOW {
                0
            } else {
                self.count * 10
            };
            self.count = 0;
            self.start = now;
        }
    }

    fn count(&mut self, now: Instant) {
        self.roll(now);
        self.count = self.count.saturating_add(1);
    }

    /// Frames arrive at BUSY_RATE per second or more (as of the last full window).
    fn busy(&mut self, now: Instant) -> bool {
        self.roll(now);
        self.last_rate >= BUSY_RATE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_gives_back_its_frames_in_order() {
        let mut b = FrameBatch::new(3);
        assert!(b.is_empty());
        assert_eq!(b.frames().count(), 0);
        b.push(&[1, 2, 3]);
        b.push(&[]);
        b.push(&[4]);
        assert_eq!(b.len(), 3);
        let got: Vec<&[u8]> = b.frames().collect();
        assert_eq!(got, [&[1u8, 2, 3][..], &[], &[4]]);
        assert_eq!(b.iface, 3);
    }

    #[test]
    fn the_receive_task_is_busy_only_at_high_rates() {
        let t0 = Instant::now();
        let mut r = RateWindow {
            start: t0,
            count: 0,
            last_rate: 0,
        };
        // 100 frames in 100 ms: 1000/s, not busy.
        for i in 0..100 {
            r.count(t0 + Duration::from_millis(i));
        }
        assert!(!r.busy(t0 + Duration::from_millis(100)));
        // 500 frames in the next 100 ms: 5000/s, busy.
        for i in 0..500 {
            r.count(t0 + Duration::from_millis(100) + Duration::from_micros(200 * i));
        }
        assert!(r.busy(t0 + Duration::from_millis(200)));
        // Then a quiet spell: not busy any more.
        assert!(!r.busy(t0 + Duration::from_millis(450)));
    }
}
