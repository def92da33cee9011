//! [`SendOnlyPacketSocket`]: the send-only variant of [`super::PacketSocket`], for a
//! process without a runtime (the sentinel). Protocol 0 and never bound to a protocol, so
//! the kernel queues nothing to it: it has no filter, no memberships and no receive path.
//! Blocking: it sends a handful of frames once.

use std::io;
use std::mem;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use super::packet::{io_err, sockaddr_ll};
use super::Result;

/// A send-only AF_PACKET socket on one interface; see the module documentation.
#[derive(Debug)]
pub struct SendOnlyPacketSocket {
    fd: OwnedFd,
    ifindex: u32,
}

impl SendOnlyPacketSocket {
    /// Opens the socket for interface `ifindex` (in the calling thread's namespace).
    pub fn open(ifindex: u32) -> Result<Self> {
        // SAFETY: plain socket(2) with constant arguments; the result is checked.
        let raw = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
        if raw < 0 {
            return Err(io_err(
                &format!("ifindex {ifindex}"),
                "socket(AF_PACKET)",
                io::Error::last_os_error(),
            ));
        }
        // SAFETY: `raw` is a fresh descriptor owned by nobody else.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        Ok(SendOnlyPacketSocket { fd, ifindex })
    }

    /// Sends one complete Ethernet frame (destination MAC first) as is.
    pub fn send(&self, frame: &[u8]) -> Result<()> {
        let iface = || format!("ifindex {}", self.ifindex);
        if frame.len() < 14 {
            return Err(io_err(
                &iface(),
                "send",
                io::Error::other(format!(
                    "frame of {} bytes is shorter than an Ethernet header",
                    frame.len()
                )),
            ));
        }
        let mut addr = sockaddr_ll(self.ifindex);
        addr.sll_protocol = 0;
        addr.sll_halen = 6;
        addr.sll_addr[..6].copy_from_slice(&frame[..6]);
        // SAFETY: the buffer and the address are valid for the lengths given.
        let n = unsafe {
            libc::sendto(
                self.fd.as_raw_fd(),
                frame.as_ptr().cast(),
                frame.len(),
                0,
                (&addr as *const libc::sockaddr_ll).cast(),
                mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        };
        if n < 0 {
            return Err(io_err(&iface(), "sendto", io::Error::last_os_error()));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::NetError;

    #[test]
    fn a_runt_frame_is_refused_before_any_system_call() {
        // No socket needed to see the check: build one around /dev/null's descriptor.
        let fd = OwnedFd::from(std::fs::File::open("/dev/null").unwrap());
        let s = SendOnlyPacketSocket { fd, ifindex: 7 };
        let e = s.send(&[0u8; 13]).unwrap_err();
        assert!(matches!(e, NetError::Io { .. }), "{e}");
        assert!(e.to_string().contains("ifindex 7"), "{e}");
        assert!(
            e.to_string().contains("shorter than an Ethernet header"),
            "{e}"
        );
    }
}
