//! The socket of an IP SLA `icmp-echo` operation: a raw ICMPv4 socket (hsrpd runs as root;
//! the unprivileged ICMP datagram socket depends on `net.ipv4.ping_group_range`, which
//! excludes root by default), optionally bound to a source address or, with
//! SO_BINDTODEVICE, to a source interface. One echo at a time: send, then wait for the
//! reply with this operation's identifier and the current sequence number, or the timeout.

use std::io;
use std::mem::MaybeUninit;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, Socket, Type};
use tokio::io::unix::AsyncFd;

use crate::wire::echo::{echo_request, parse_echo_reply};

/// Where the probes leave from (`source-interface IF` / `source-ip A`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EchoSource {
    Any,
    Interface(String),
    Address(Ipv4Addr),
}

/// An echo socket towards one target.
pub struct EchoSocket {
    fd: AsyncFd<Socket>,
    target: Ipv4Addr,
    ident: u16,
    seq: u16,
}

/// What went wrong, with the operation's target in the message.
fn err(target: Ipv4Addr, what: &str, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("icmp-echo {target}: {what}: {e}"))
}

impl EchoSocket {
    /// Opens the socket (inside a tokio runtime). `ident` tells this operation's replies
    /// from those of other echo sockets, which a raw socket receives too.
    pub fn open(target: Ipv4Addr, source: &EchoSource, ident: u16) -> io::Result<EchoSocket> {
        let s = Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::ICMPV4))
            .map_err(|e| err(target, "raw ICMP socket", e))?;
        s.set_nonblocking(true)
            .map_err(|e| err(target, "non-blocking", e))?;
        match source {
            EchoSource::Any => {}
            EchoSource::Interface(name) => s
                .bind_device(Some(name.as_bytes()))
                .map_err(|e| err(target, &format!("bind to interface {name}"), e))?,
            EchoSource::Address(a) => s
                .bind(&SocketAddrV4::new(*a, 0).into())
                .map_err(|e| err(target, &format!("bind to source {a}"), e))?,
        }
        // SAFETY: the Socket owns its descriptor and hands the AsyncFd that same descriptor
        // for as long as the AsyncFd (which owns the Socket) lives; it closes it on drop.
        let fd = unsafe { AsyncFd::register(s) }
            .map_err(|e| err(target, "register with tokio", e.into()))?;
        Ok(EchoSocket {
            fd,
            target,
            ident,
            seq: 0,
        })
    }

    /// One echo: `Ok(Some(rtt))` when the reply arrives within `timeout`, `Ok(None)` when
    /// it does not. Replies to earlier (timed-out) echoes are skipped.
    pub async fn echo(&mut self, timeout: Duration) -> io::Result<Option<Duration>> {
        self.seq = self.seq.wrapping_add(1);
        let mut buf = [0u8; 64];
        let n = echo_request(self.ident, self.seq, b"hsrpd-ip-sla", &mut buf).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "echo request larger than its buffer",
            )
        })?;
        let start = Instant::now();
        let to = SocketAddrV4::new(self.target, 0).into();
        loop {
            let mut guard = self.fd.writable().await?;
            match guard.try_io(|s| s.get_ref().send_to(&buf[..n], &to)) {
                Ok(Ok(_)) => break,
                Ok(Err(e)) => return Err(err(self.target, "send", e)),
                Err(_would_block) => continue,
            }
        }
        let deadline = tokio::time::Instant::from_std(start + timeout);
        loop {
            let mut guard = match tokio::time::timeout_at(deadline, self.fd.readable()).await {
                Ok(g) => g?,
                Err(_) => return Ok(None),
            };
            let mut rx = [MaybeUninit::<u8>::uninit(); 1500];
            let got = match guard.try_io(|s| s.get_ref().recv(&mut rx)) {
                Ok(Ok(len)) => len,
                Ok(Err(e)) => return Err(err(self.target, "receive", e)),
                Err(_would_block) => continue,
            };
            // SAFETY: recv initialised the first `got` bytes.
            let packet: Vec<u8> = rx[..got]
                .iter()
                .map(|b| unsafe { b.assume_init() })
                .collect();
            if let Some(r) = parse_echo_reply(&packet) {
                if r.from == self.target && r.ident == self.ident && r.seq == self.seq {
                    return Ok(Some(start.elapsed()));
                }
            }
        }
    }
}
