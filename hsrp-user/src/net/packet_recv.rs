//! [`RecvRing`]: the buffers [`super::PacketSocket::recv_batch`] receives a burst of
//! frames into with one recvmmsg(2), reused from call to call. With a thousand groups at
//! 100 ms hellos a neighbour's hellos arrive at some eleven thousand a second: one
//! recvfrom(2) and one fresh buffer per frame were a tenth of the daemon's time.

use std::io;
use std::mem;
use std::os::fd::RawFd;
use std::time::SystemTime;

use super::msg::{arrival_stamp, ControlMessages, CONTROL_WORDS};
use super::{NetError, Result};

/// Frames one [`super::PacketSocket::recv_batch`] takes at most (one recvmmsg).
pub const RECV_BATCH: usize = 64;
/// Room for one frame in a [`RecvRing`] made by [`RecvRing::new`]: any HSRP frame or Router
/// Solicitation on a standard MTU (a longer one is reported as [`NetError::Truncated`]).
pub const RECV_FRAME: usize = 2048;

/// One slot's frame of the last receive: its full length, whether the host sent it, and
/// when it arrived (the socket's SO_TIMESTAMPNS).
#[derive(Clone, Copy, Debug, Default)]
struct Slot {
    len: usize,
    outgoing: bool,
    at: Option<SystemTime>,
}

/// One frame of the last receive and when the kernel received it (wall clock; none if the
/// socket gave no timestamp). A loop that woke late judges a peer's silence by `at`, not
/// by when it got to read the frame.
#[derive(Clone, Copy, Debug)]
pub struct RxFrame<'a> {
    pub data: &'a [u8],
    pub at: Option<SystemTime>,
}

/// [`RECV_BATCH`] frame buffers and what the last receive put in them.
pub struct RecvRing {
    buf: Box<[u8]>,
    frame: usize,
    got: [Slot; RECV_BATCH],
    /// Each slot's control messages (its arrival timestamp).
    control: Box<[[u64; CONTROL_WORDS]; RECV_BATCH]>,
    n: usize,
}

impl Default for RecvRing {
    fn default() -> Self {
        RecvRing::new(RECV_FRAME)
    }
}

impl RecvRing {
    /// A ring of [`RECV_BATCH`] buffers of `frame` bytes each.
    pub fn new(frame: usize) -> RecvRing {
        RecvRing {
            buf: vec![0u8; RECV_BATCH * frame.max(1)].into_boxed_slice(),
            frame: frame.max(1),
            got: [Slot::default(); RECV_BATCH],
            control: Box::new([[0; CONTROL_WORDS]; RECV_BATCH]),
            n: 0,
        }
    }

    /// Datagrams the last receive took (the host's own outgoing ones included).
    pub fn received(&self) -> usize {
        self.n
    }

    /// The frames of the last receive, in arrival order: each frame, or
    /// [`NetError::Truncated`] (naming `iface`) for one longer than a buffer, which is
    /// lost. Frames the host itself sent are left out (the socket filter drops them
    /// already; this holds on kernels whose filter cannot see the packet type).
    pub fn frames<'a>(&'a self, iface: &'a str) -> impl Iterator<Item = Result<RxFrame<'a>>> + 'a {
        self.got[..self.n]
            .iter()
            .enumerate()
            .filter(|(_, s)| !s.outgoing)
            .map(move |(i, s)| {
                if s.len > self.frame {
                    return Err(NetError::Truncated {
                        iface: iface.to_owned(),
                        len: s.len,
                        cap: self.frame,
                    });
                }
                let start = i * self.frame;
                Ok(RxFrame {
                    data: &self.buf[start..start + s.len],
                    at: s.at,
                })
            })
    }

    /// One recvmmsg(2) on non-blocking `fd`: what is queued, up to [`RECV_BATCH`] frames
    /// (EAGAIN when nothing is), with their arrival timestamps. MSG_TRUNC makes the kernel
    /// report each frame's full length.
    pub(super) fn recv_mmsg(&mut self, fd: RawFd) -> io::Result<usize> {
        self.n = 0;
        // SAFETY: sockaddr_ll, iovec and mmsghdr are plain old data; all-zero is valid.
        let mut from: [libc::sockaddr_ll; RECV_BATCH] = unsafe { mem::zeroed() };
        // SAFETY: as above.
        let mut iov: [libc::iovec; RECV_BATCH] = unsafe { mem::zeroed() };
        // SAFETY: as above.
        let mut msgs: [libc::mmsghdr; RECV_BATCH] = unsafe { mem::zeroed() };
        let chunks = self.buf.chunks_exact_mut(self.frame);
        for (i, (chunk, control)) in chunks.zip(self.control.iter_mut()).enumerate() {
            iov[i].iov_base = chunk.as_mut_ptr().cast();
            iov[i].iov_len = chunk.len();
            let h = &mut msgs[i].msg_hdr;
            h.msg_name = (&mut from[i] as *mut libc::sockaddr_ll).cast();
            h.msg_namelen = mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t;
            h.msg_iov = &mut iov[i];
            h.msg_iovlen = 1;
            h.msg_control = control.as_mut_ptr().cast();
            h.msg_controllen = mem::size_of_val(control) as _;
        }
        // SAFETY: each header points at its own sockaddr_ll, its own control buffer and one
        // iovec describing a distinct, writable `frame`-byte slice of `buf`, all alive for
        // the call; the kernel writes at most those lengths and each header's msg_len and
        // msg_controllen.
        let n = unsafe {
            libc::recvmmsg(
                fd,
                msgs.as_mut_ptr(),
                RECV_BATCH as libc::c_uint,
                libc::MSG_TRUNC,
                std::ptr::null_mut(),
            )
        };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        let n = n as usize;
        for i in 0..n {
            let control = &self.control[i];
            let control_len =
                (msgs[i].msg_hdr.msg_controllen as usize).min(mem::size_of_val(control));
            // SAFETY: the first `control_len` bytes of the slot's control buffer (a [u64],
            // valid as bytes), which the kernel wrote, borrowed only for this parse.
            let bytes =
                unsafe { std::slice::from_raw_parts(control.as_ptr().cast::<u8>(), control_len) };
            self.got[i] = Slot {
                len: msgs[i].msg_len as usize,
                outgoing: from[i].sll_pkttype == libc::PACKET_OUTGOING,
                at: arrival_stamp(ControlMessages::new(bytes)),
            };
        }
        self.n = n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_longer_than_a_buffer_are_reported_and_outgoing_ones_skipped() {
        let mut ring = RecvRing::new(16);
        ring.buf[..4].copy_from_slice(&[1, 2, 3, 4]);
        ring.buf[32..34].copy_from_slice(&[9, 9]);
        // A frame, one too long for its 16-byte buffer, a frame, one of the host's own.
        for (i, (len, outgoing)) in [(4, false), (100, false), (2, false), (3, true)]
            .into_iter()
            .enumerate()
        {
            ring.got[i] = Slot {
                len,
                outgoing,
                at: None,
            };
        }
        ring.n = 4;
        let got: Vec<_> = ring.frames("lan0").collect();
        assert_eq!(got.len(), 3);
        assert_eq!(got[0].as_ref().unwrap().data, &[1, 2, 3, 4]);
        match &got[1] {
            Err(
                e @ NetError::Truncated {
                    len: 100, cap: 16, ..
                },
            ) => {
                assert!(e.to_string().contains("lan0"), "{e}");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(got[2].as_ref().unwrap().data, &[9, 9]);
        assert_eq!(ring.received(), 4);
    }

    /// The kernel's arrival stamps come through recvmmsg, one per datagram (a UDP socket on
    /// loopback stands in for the packet socket: same control message, no privileges).
    #[test]
    fn each_frame_carries_its_arrival_stamp() {
        use std::net::UdpSocket;
        use std::os::fd::AsRawFd;
        use std::time::Duration;

        let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
        let on = 1i32;
        // SAFETY: setsockopt on a live socket with a pointer to an int and its size.
        let rc = unsafe {
            libc::setsockopt(
                rx.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_TIMESTAMPNS,
                (&on as *const i32).cast(),
                mem::size_of::<i32>() as libc::socklen_t,
            )
        };
        assert_eq!(rc, 0, "{}", io::Error::last_os_error());
        rx.set_nonblocking(true).unwrap();
        let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
        let mut ring = RecvRing::new(64);
        // The kernel turns stamping on receipt on a moment after the first socket asks
        // (deferred work); until then a datagram is stamped when it is read. Wait, bounded,
        // until a probe read 5 ms after it was sent carries a stamp from before the read.
        let stamped_on_receipt = (0..400).any(|_| {
            tx.send_to(&[0], rx.local_addr().unwrap()).unwrap();
            std::thread::sleep(Duration::from_millis(5));
            let read_at = SystemTime::now();
            ring.recv_mmsg(rx.as_raw_fd()).unwrap();
            let probe = ring.frames("lo").next().unwrap().unwrap();
            probe.at.unwrap() + Duration::from_millis(4) <= read_at
        });
        assert!(stamped_on_receipt, "datagrams are still stamped when read");
        let before = SystemTime::now();
        tx.send_to(&[1, 2, 3], rx.local_addr().unwrap()).unwrap();
        std::thread::sleep(Duration::from_millis(20));
        let between = SystemTime::now();
        tx.send_to(&[4], rx.local_addr().unwrap()).unwrap();
        let after = SystemTime::now();
        assert_eq!(ring.recv_mmsg(rx.as_raw_fd()).unwrap(), 2);
        let got: Vec<RxFrame> = ring.frames("lo").map(Result::unwrap).collect();
        assert_eq!(got[0].data, &[1, 2, 3]);
        assert_eq!(got[1].data, &[4]);
        let (a, b) = (got[0].at.unwrap(), got[1].at.unwrap());
        // Wall-clock stamps: each within the window its datagram was sent in (the clock is
        // not stepped during a unit test), the second after the 20 ms gap.
        assert!(before <= a && a <= between, "{before:?} {a:?} {between:?}");
        assert!(between <= b && b <= after, "{between:?} {b:?} {after:?}");
        // Nothing more queued: EAGAIN.
        let e = ring.recv_mmsg(rx.as_raw_fd()).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::WouldBlock);
    }
}
