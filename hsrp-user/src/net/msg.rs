//! recvmsg(2) with ancillary data, and a safe walk over the control messages it returns:
//! the packet socket reads a frame's arrival time from them, the BFD listener a datagram's
//! TTL and arrival interface.

use std::io;
use std::mem;
use std::os::fd::RawFd;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Room for the control messages we ask for: one cmsghdr with a timespec, or one with an
/// int, on any Linux ABI, with room to spare.
pub(super) const CONTROL_WORDS: usize = 8;

/// What one recvmsg(2) returned.
pub(super) struct Message {
    /// The datagram's length as the kernel returned it (with MSG_TRUNC: its full length,
    /// which may exceed the buffer).
    pub len: usize,
    control: [u64; CONTROL_WORDS],
    control_len: usize,
}

impl Message {
    /// The control messages, as (level, type, data).
    pub fn control(&self) -> ControlMessages<'_> {
        // The control buffer as bytes, without copying: a [u64] is a valid [u8].
        // SAFETY: the slice covers `control_len` <= size_of_val(control) initialised bytes
        // of `self.control`, which outlives the borrow.
        let bytes = unsafe {
            std::slice::from_raw_parts(self.control.as_ptr().cast::<u8>(), self.control_len)
        };
        ControlMessages::new(bytes)
    }
}

/// One recvmsg(2) into `buf`, the sender's address written into `name` (a sockaddr type),
/// with room for control messages.
pub(super) fn recv_msg<A>(
    fd: RawFd,
    buf: &mut [u8],
    name: &mut A,
    flags: libc::c_int,
) -> io::Result<Message> {
    let mut control = [0u64; CONTROL_WORDS];
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    // SAFETY: msghdr is plain old data; all zeroes is a valid value, filled in below.
    let mut msg: libc::msghdr = unsafe { mem::zeroed() };
    msg.msg_name = (name as *mut A).cast();
    msg.msg_namelen = mem::size_of::<A>() as libc::socklen_t;
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = mem::size_of_val(&control) as _;
    // SAFETY: every pointer in `msg` points to a live buffer of the stated length that
    // outlives the call; the kernel writes at most those lengths.
    let n = unsafe { libc::recvmsg(fd, &mut msg, flags) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(Message {
        len: n as usize,
        control,
        control_len: (msg.msg_controllen as usize).min(mem::size_of_val(&control)),
    })
}

/// Control messages in the Linux layout: `size_t len; int level; int type;` then the data,
/// each message aligned to `size_t`. A malformed length ends the walk.
pub(super) struct ControlMessages<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> ControlMessages<'a> {
    /// The messages of `b` (control bytes as the kernel writes them).
    pub fn new(b: &'a [u8]) -> ControlMessages<'a> {
        ControlMessages { b, at: 0 }
    }
}

const W: usize = mem::size_of::<usize>();
const HEADER: usize = (W + 8).div_ceil(W) * W;

impl<'a> Iterator for ControlMessages<'a> {
    type Item = (libc::c_int, libc::c_int, &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        let (b, at) = (self.b, self.at);
        if at + HEADER > b.len() {
            return None;
        }
        let len = usize::from_ne_bytes(b[at..at + W].try_into().ok()?);
        let level = i32::from_ne_bytes(b[at + W..at + W + 4].try_into().ok()?);
        let kind = i32::from_ne_bytes(b[at + W + 4..at + W + 8].try_into().ok()?);
        if len < HEADER || at + len > b.len() {
            self.at = b.len();
            return None;
        }
        self.at = at + len.div_ceil(W) * W;
        Some((level, kind, &b[at + HEADER..at + len]))
    }
}

/// The receive timestamp among the control messages `control` (SCM_TIMESTAMPNS), if any.
pub(super) fn arrival_stamp(control: ControlMessages<'_>) -> Option<SystemTime> {
    let mut control = control;
    control.find_map(|(level, kind, data)| {
        (level == libc::SOL_SOCKET && kind == libc::SCM_TIMESTAMPNS)
            .then(|| timestamp_ns(data))
            .flatten()
    })
}

/// The receive timestamp of SCM_TIMESTAMPNS (a `struct timespec`, wall clock).
pub(super) fn timestamp_ns(data: &[u8]) -> Option<SystemTime> {
    const L: usize = mem::size_of::<libc::time_t>();
    const N: usize = mem::size_of::<libc::c_long>();
    let sec = libc::time_t::from_ne_bytes(data.get(..L)?.try_into().ok()?);
    let nsec = libc::c_long::from_ne_bytes(data.get(L..L + N)?.try_into().ok()?);
    let d = Duration::new(u64::try_from(sec).ok()?, u32::try_from(nsec).ok()?);
    UNIX_EPOCH.checked_add(d)
}

/// One control message as the kernel lays it out (for tests).
#[cfg(test)]
pub(super) fn cmsg(level: i32, kind: i32, data: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&(HEADER + data.len()).to_ne_bytes());
    v.extend_from_slice(&level.to_ne_bytes());
    v.extend_from_slice(&kind.to_ne_bytes());
    v.resize(HEADER, 0);
    v.extend_from_slice(data);
    v.resize(v.len().div_ceil(W) * W, 0);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_messages_and_stops_at_a_bad_length() {
        let mut b = cmsg(1, 2, &7i32.to_ne_bytes());
        b.extend(cmsg(3, 4, &[9; 16]));
        let all: Vec<_> = ControlMessages::new(&b).collect();
        assert_eq!(all.len(), 2);
        assert_eq!(
            (all[0].0, all[0].1, all[0].2),
            (1, 2, &7i32.to_ne_bytes()[..])
        );
        assert_eq!((all[1].0, all[1].1, all[1].2.len()), (3, 4, 16));
        assert_eq!(ControlMessages::new(&[]).count(), 0);
        let mut bad = cmsg(1, 2, &[0; 4]);
        bad[..W].copy_from_slice(&1000usize.to_ne_bytes());
        assert_eq!(ControlMessages::new(&bad).count(), 0);
        let mut short = cmsg(1, 2, &[0; 4]);
        short[..W].copy_from_slice(&3usize.to_ne_bytes());
        assert_eq!(ControlMessages::new(&short).count(), 0);
    }

    #[test]
    fn timespec_decodes_and_nonsense_does_not() {
        let mut ts = Vec::new();
        ts.extend_from_slice(&(1_700_000_000 as libc::time_t).to_ne_bytes());
        ts.extend_from_slice(&(250_000_000 as libc::c_long).to_ne_bytes());
        assert_eq!(
            timestamp_ns(&ts),
            Some(UNIX_EPOCH + Duration::new(1_700_000_000, 250_000_000))
        );
        assert_eq!(timestamp_ns(&ts[..4]), None);
        let mut negative = Vec::new();
        negative.extend_from_slice(&(-1 as libc::time_t).to_ne_bytes());
        negative.extend_from_slice(&(0 as libc::c_long).to_ne_bytes());
        assert_eq!(timestamp_ns(&negative), None);
    }
}
