//! Socket buffers: receive buffers sized for a stalled reader, and the HSRP socket's send
//! buffer sized for a burst ([`BURST_SEND_BUFFER`]). The loop reads its sockets on one thread;
//! when that thread does not run for a while (a busy host, a hypervisor that takes the
//! vCPU), what arrives meanwhile must still be there when it looks, because it judges a
//! peer's silence only after reading what waits (`daemon`'s catch-up, BFD's drain). The
//! kernel's default (`net.core.rmem_default`, usually 208 KiB) is charged per packet at
//! its buffer's true size, about 1 KiB for a 24-byte BFD packet (measured: 101 KB queued
//! after the loop was stopped for 30 ms with 32 sessions at 10 ms): one BFD socket
//! serving those sessions fills the default in some 60 ms, one HSRP socket with a thousand
//! groups at 100 ms hellos in about 20 ms. The memory is used only while packets wait.

use std::io;
use std::mem;
use std::os::fd::RawFd;

use super::packet::setsockopt;

/// What the sockets of a loop that may stall ask for: some 2000 small packets.
pub const STALL_RECEIVE_BUFFER: usize = 2 << 20;

/// What the HSRP socket asks for to send a burst without waiting: the hellos, Coups or
/// gratuitous ARPs of a thousand groups at once, about 1 KiB each as the kernel counts
/// them, with room to spare. A full send buffer makes the loop wait a millisecond a try
/// (`PacketSocket::send_batch`).
pub const BURST_SEND_BUFFER: usize = 2 << 20;

/// Asks for a receive buffer of `bytes` on `fd`: SO_RCVBUFFORCE (CAP_NET_ADMIN, past
/// `net.core.rmem_max`), else SO_RCVBUF (capped there). Returns the size in force, as the
/// kernel reports it (twice what was asked, for its bookkeeping).
pub(super) fn reserve(fd: RawFd, bytes: usize) -> io::Result<usize> {
    reserve_buffer(fd, bytes, libc::SO_RCVBUFFORCE, libc::SO_RCVBUF)
}

/// Like [`reserve`], for the send buffer (SO_SNDBUFFORCE, else SO_SNDBUF, capped at
/// `net.core.wmem_max`).
pub(super) fn reserve_send(fd: RawFd, bytes: usize) -> io::Result<usize> {
    reserve_buffer(fd, bytes, libc::SO_SNDBUFFORCE, libc::SO_SNDBUF)
}

fn reserve_buffer(
    fd: RawFd,
    bytes: usize,
    force: libc::c_int,
    plain: libc::c_int,
) -> io::Result<usize> {
    let want = libc::c_int::try_from(bytes).unwrap_or(libc::c_int::MAX);
    if setsockopt(fd, libc::SOL_SOCKET, force, &want).is_err() {
        setsockopt(fd, libc::SOL_SOCKET, plain, &want)?;
    }
    let mut got: libc::c_int = 0;
    let mut len = mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: getsockopt writes at most `len` bytes into the live int `got`.
    let rc = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            plain,
            (&mut got as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(usize::try_from(got).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::UdpSocket;
    use std::os::fd::AsRawFd;

    /// `reserve` asked for `request` on a fresh socket: with CAP_NET_ADMIN the whole
    /// request (doubled by the kernel); without it, what the sysctl `limit` allows, never
    /// less than before.
    fn grows(reserve: fn(RawFd, usize) -> io::Result<usize>, request: usize, limit: &str) {
        let s = UdpSocket::bind("127.0.0.1:0").unwrap();
        let before = reserve(s.as_raw_fd(), 0).unwrap();
        let got = reserve(s.as_raw_fd(), request).unwrap();
        let max: usize = std::fs::read_to_string(format!("/proc/sys/net/core/{limit}"))
            .ok()
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        assert!(got >= before, "{before} -> {got}");
        assert!(
            got >= 2 * request || got >= 2 * max.min(request),
            "{got} ({limit} {max})"
        );
    }

    #[test]
    fn the_buffer_grows_at_least_to_what_the_limit_allows() {
        grows(reserve, STALL_RECEIVE_BUFFER, "rmem_max");
    }

    #[test]
    fn the_send_buffer_grows_too() {
        grows(reserve_send, BURST_SEND_BUFFER, "wmem_max");
    }
}
