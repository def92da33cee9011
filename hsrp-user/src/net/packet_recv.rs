//! [`RecvRing`]: the buffers [`super::PacketSocket::recv_batch`] receives a burst of
//! frames into with one recvmmsg(2), reused from call to call. With a thousand groups at
//! 100 ms hellos a neighbour's hellos arrive at some eleven thousand a second: one
//! recvfrom(2) and one fresh buffer per frame were a tenth of the daemon's time.

use std::io;
use std::mem;
use std::os::fd::RawFd;

use super::{NetError, Result};

/// Frames one [`super::PacketSocket::recv_batch`] takes at most (one recvmmsg).
pub const RECV_BATCH: usize = 64;
/// Room for one frame in a [`RecvRing`] made by [`RecvRing::new`]: any HSRP frame or Router
/// Solicitation on a standard MTU (a longer one is reported as [`NetError::Truncated`]).
pub const RECV_FRAME: usize = 2048;

/// One slot's frame of the last receive: its full length and whether the host sent it.
#[derive(Clone, Copy, Debug, Default)]
struct Slot {
    len: usize,
    outgoing: bool,
}

/// [`RECV_BATCH`] frame buffers and what the last receive put in them.
pub struct RecvRing {
    buf: Box<[u8]>,
    frame: usize,
    got: [Slot; RECV_BATCH],
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
    pub fn frames<'a>(&'a self, iface: &'a str) -> impl Iterator<Item = Result<&'a [u8]>> + 'a {
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
                let at = i * self.frame;
                Ok(&self.buf[at..at + s.len])
            })
    }

    /// One recvmmsg(2) on non-blocking `fd`: what is queued, up to [`RECV_BATCH`] frames
    /// (EAGAIN when nothing is). MSG_TRUNC makes the kernel report each frame's full length.
    pub(super) fn recv_mmsg(&mut self, fd: RawFd) -> io::Result<usize> {
        self.n = 0;
        // SAFETY: sockaddr_ll, iovec and mmsghdr are plain old data; all-zero is valid.
        let mut from: [libc::sockaddr_ll; RECV_BATCH] = unsafe { mem::zeroed() };
        // SAFETY: as above.
        let mut iov: [libc::iovec; RECV_BATCH] = unsafe { mem::zeroed() };
        // SAFETY: as above.
        let mut msgs: [libc::mmsghdr; RECV_BATCH] = unsafe { mem::zeroed() };
        for (i, chunk) in self.buf.chunks_exact_mut(self.frame).enumerate() {
            iov[i].iov_base = chunk.as_mut_ptr().cast();
            iov[i].iov_len = chunk.len();
            let h = &mut msgs[i].msg_hdr;
            h.msg_name = (&mut from[i] as *mut libc::sockaddr_ll).cast();
            h.msg_namelen = mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t;
            h.msg_iov = &mut iov[i];
            h.msg_iovlen = 1;
        }
        // SAFETY: each header points at its own sockaddr_ll and at one iovec describing a
        // distinct, writable `frame`-byte slice of `buf`, all alive for the call; the kernel
        // writes at most those lengths and each header's msg_len.
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
            self.got[i] = Slot {
                len: msgs[i].msg_len as usize,
                outgoing: from[i].sll_pkttype == libc::PACKET_OUTGOING,
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
            ring.got[i] = Slot { len, outgoing };
        }
        ring.n = 4;
        let got: Vec<_> = ring.frames("lan0").collect();
        assert_eq!(got.len(), 3);
        assert_eq!(got[0].as_ref().unwrap(), &[1, 2, 3, 4]);
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
        assert_eq!(got[2].as_ref().unwrap(), &[9, 9]);
        assert_eq!(ring.received(), 4);
    }
}
