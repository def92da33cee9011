//! The receive side of the HSRP sockets: a task per interface takes the frames off its
//! socket in bursts (one recvmmsg(2) for up to `RECV_BATCH` frames, into buffers it keeps,
//! `net::RecvRing`) and hands each burst to the loop as one [`FrameBatch`]: one channel
//! message, one allocation and one system call per burst rather than per frame.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use futures::FutureExt;
use log::{debug, warn};
use tokio::sync::mpsc;

use crate::fsm::Time;
use crate::net::{PacketSocket, RecvRing, RxFrame, RECV_BATCH};

/// Bound on one rx task's consecutive hard errors before it gives up on its socket.
const MAX_RX_ERRORS: u32 = 100;
/// Frames per second from which the receive task coalesces wake-ups.
const BUSY_RATE: u32 = 2000;
/// How long a busy receive task lets frames gather (tokio's timer resolution).
pub(super) const COALESCE: Duration = Duration::from_millis(1);
/// Frames taken in one burst at most, so the loop gets its turn.
const RX_BURST: usize = 256;

/// The frames of one interface received in one burst, in arrival order, each with the
/// kernel's arrival stamp: the task may take them off the socket long after they arrived
/// (a stalled process), and the loop judges a peer's silence by when its hellos arrived.
#[derive(Debug)]
pub(super) struct FrameBatch {
    /// Index into `Daemon::ifaces`.
    pub iface: usize,
    data: Vec<u8>,
    /// Where each frame ends in `data`.
    ends: Vec<usize>,
    /// When each frame arrived (wall clock), if the socket said.
    stamps: Vec<Option<SystemTime>>,
}

impl FrameBatch {
    pub fn new(iface: usize) -> FrameBatch {
        FrameBatch {
            iface,
            data: Vec::new(),
            ends: Vec::new(),
            stamps: Vec::new(),
        }
    }

    /// Room for `frames` more frames of `bytes` in all.
    pub fn reserve(&mut self, frames: usize, bytes: usize) {
        self.ends.reserve(frames);
        self.stamps.reserve(frames);
        self.data.reserve(bytes);
    }

    pub fn push(&mut self, frame: RxFrame<'_>) {
        self.data.extend_from_slice(frame.data);
        self.ends.push(self.data.len());
        self.stamps.push(frame.at);
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    pub fn frames(&self) -> impl Iterator<Item = RxFrame<'_>> {
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        starts
            .zip(&self.ends)
            .zip(&self.stamps)
            .map(|((s, &e), &at)| RxFrame {
                data: &self.data[s..e],
                at,
            })
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

/// The loop's time of a frame stamped `stamp` (wall clock), read when the loop's clock said
/// `now` and the wall clock `wall`: now less the frame's age. No stamp, or one from the
/// future (the wall clock was stepped back), counts as now; an age beyond the loop's
/// whole life counts from its start.
pub(super) fn arrival_at(now: Time, wall: SystemTime, stamp: Option<SystemTime>) -> Time {
    let age = stamp
        .and_then(|s| wall.duration_since(s).ok())
        .unwrap_or_default();
    Time::from_duration(now.as_duration().saturating_sub(age))
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
        .fold((0, 0), |(n, b), f| (n + 1, b + f.data.len()));
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

/// Frames (or datagrams) counted over the last full 100 ms window.
#[derive(Debug)]
pub(super) struct RateWindow {
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

    pub(super) fn count(&mut self, now: Instant) {
        self.roll(now);
        self.count = self.count.saturating_add(1);
    }

    /// Frames arrive at BUSY_RATE per second or more (as of the last full window).
    fn busy(&mut self, now: Instant) -> bool {
        self.busy_from(now, BUSY_RATE)
    }

    /// Frames arrive at `rate` per second or more (as of the last full window).
    pub(super) fn busy_from(&mut self, now: Instant, rate: u32) -> bool {
        self.roll(now);
        self.last_rate >= rate
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
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(7);
        let frame = |data, at| RxFrame { data, at };
        b.push(frame(&[1, 2, 3], Some(t)));
        b.push(frame(&[], None));
        b.push(frame(&[4], Some(t + Duration::from_millis(1))));
        assert_eq!(b.len(), 3);
        let got: Vec<(&[u8], Option<SystemTime>)> = b.frames().map(|f| (f.data, f.at)).collect();
        assert_eq!(
            got,
            [
                (&[1u8, 2, 3][..], Some(t)),
                (&[], None),
                (&[4], Some(t + Duration::from_millis(1)))
            ]
        );
        assert_eq!(b.iface, 3);
    }

    #[test]
    fn a_frame_counts_from_when_it_arrived() {
        let now = Time::from_duration(Duration::from_secs(100));
        let wall = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let ms = |n| Duration::from_millis(n);
        // Arrived 550 ms before it was read: 550 ms before now on the loop's clock.
        assert_eq!(
            arrival_at(now, wall, Some(wall - ms(550))),
            Time::from_duration(Duration::from_secs(100) - ms(550))
        );
        // No stamp, or a stamp from the future (clock stepped back): now.
        assert_eq!(arrival_at(now, wall, None), now);
        assert_eq!(arrival_at(now, wall, Some(wall + ms(5))), now);
        // Older than the loop itself (clock stepped forward): its start, never before.
        assert_eq!(
            arrival_at(now, wall, Some(wall - Duration::from_secs(500))),
            Time::from_duration(Duration::ZERO)
        );
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
