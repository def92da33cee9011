//! The sentinel: last words when the daemon dies without a clean stop.
//!
//! A SIGKILLed (or panicking, or aborting) daemon cannot send Resign, so its Standby would
//! wait a full hold time, though the dead router stopped forwarding the moment its XDP
//! link closed. keepalived is fast there because its VRRP child outlives its parent and
//! sends a priority-0 advert; this is the HSRP equivalent.
//!
//! At the start of `hsrpd run`, before the data plane is loaded or any socket opened (so it
//! inherits no XDP link, map or socket), the daemon spawns its own executable as
//! `hsrpd sentinel` with stdin piped and SIGINT/SIGTERM/SIGHUP ignored. Whenever the last
//! words change (the set of Active groups, or what their Resign would say), the daemon
//! writes them down the pipe: per Active group, the interface index and the complete
//! Resign frame, built exactly as `actions` builds it. The sentinel only reads, never
//! sends, while the daemon lives. On a clean stop the daemon writes a disarm and closes
//! the pipe; the sentinel exits silently. On end of input without a disarm the daemon is
//! gone: the sentinel sends each frame twice, 1 ms apart, on a packet socket of its
//! interface, logs a line per group and exits. A Resign is truthful then: with the daemon
//! gone, its XDP program is detached and the router no longer forwards for the VIP.
//!
//! Modules: `message` (the pipe format, pure), `speak` (what to do once the input ends,
//! against a `speak::Kernel` so a test can stand in for it), `process` (the daemon's end:
//! spawning, writing). The sockets are `net`'s.
//!
//! Pipe format, one message after another: a tag byte, a big-endian u32 body length, the
//! body. `TAG_FRAMES`: zero or more `ifindex u32, label length u16, label, frame length
//! u16, frame`; it replaces the previous set. `TAG_DISARM`: empty body. `TAG_CLEANUP`:
//! zero or more `length u16, netlink request`, sent on a NETLINK_ROUTE socket after the
//! Resigns (the local routes of `standby G accept` groups, see `net::local_route`); it
//! replaces the previous set.

mod message;
mod process;
mod speak;

use std::io;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Result;

use crate::net::{local_route, SendOnlyPacketSocket};

pub use message::{encode_cleanup, encode_frames, LastWord};
pub use process::Sentinel;

/// `hsrpd sentinel`: waits for the daemon's end and speaks its last words if it died.
pub fn main() -> Result<ExitCode> {
    process::ignore_stop_signals();
    let mut cleanup = Vec::new();
    let verdict = message::read_all(&mut io::stdin().lock(), &mut cleanup);
    for line in speak::speak(verdict, &cleanup, &mut RealKernel) {
        eprintln!("{line}");
    }
    Ok(ExitCode::SUCCESS)
}

/// The running kernel, through `net`.
struct RealKernel;

impl speak::Kernel for RealKernel {
    type Socket = SendOnlyPacketSocket;

    fn open(&mut self, ifindex: u32) -> Result<SendOnlyPacketSocket, String> {
        SendOnlyPacketSocket::open(ifindex).map_err(|e| e.to_string())
    }

    fn send(&mut self, socket: &SendOnlyPacketSocket, frame: &[u8]) -> Result<(), String> {
        socket.send(frame).map_err(|e| e.to_string())
    }

    fn request(&mut self, netlink: &[u8]) -> Result<bool, String> {
        local_route::request(netlink).map_err(|e| e.to_string())
    }

    fn pause(&mut self, gap: Duration) {
        std::thread::sleep(gap);
    }
}
