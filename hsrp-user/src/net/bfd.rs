//! The UDP sockets of single-hop BFD (RFC 5881):
//!
//! - [`BfdListener`]: receives Control packets on port 3784 of every interface, one socket
//!   per address family (not one per interface: at 10 ms intervals each socket's task is
//!   woken on its own, and the wake-ups, not the packets, were the cost). Each datagram
//!   comes with the interface it arrived on (IP_PKTINFO / IPV6_RECVPKTINFO), so the caller
//!   can keep BFD to the interfaces that run it, and the TTL / hop limit it arrived with
//!   (IP_RECVTTL / IPV6_RECVHOPLIMIT), so the caller can apply the GTSM check of RFC 5881
//!   §5 (255 only) — both checks are policy and live with the caller.
//! - [`BfdSender`]: one per session, bound to its interface (SO_BINDTODEVICE), sends from
//!   its own source port in 49152-65535 (RFC 5881 §4: one port for all packets of a
//!   session, unique per session) with TTL / hop limit 255 and DSCP CS6, like routing
//!   protocol traffic; connected to the session's peer, so the route is not looked up
//!   for every packet.
//!
//! IPv4 and IPv6 use separate sockets (the IPv6 ones are v6-only).

use std::io;
use std::mem;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::{AsRawFd, RawFd};

use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;

use super::error::check_iface_name;
use super::{NetError, Result};
use crate::wire::bfd::PORT;

/// The TTL / hop limit BFD sends with and demands on receipt (RFC 5881 §5).
pub const BFD_TTL: u8 = hsrp_ebpf::bfd::TTL;
/// Source ports of BFD Control packets (RFC 5881 §4).
pub const SOURCE_PORTS: std::ops::RangeInclusive<u16> = 49152..=65535;
/// DSCP CS6 in the TOS / traffic class byte.
const TOS_CS6: u32 = 0xc0;
/// Room for a datagram's control messages: the TTL (an int) and the packet info (20 bytes
/// for IPv6), each behind a header, with room to spare.
const CONTROL_WORDS: usize = 16;

/// One received datagram.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BfdDatagram {
    pub src: SocketAddr,
    /// Index of the interface it arrived on; None if the kernel gave none.
    pub ifindex: Option<u32>,
    /// The address it was sent to (the IP header's destination); None if the kernel gave
    /// none.
    pub dst: Option<IpAddr>,
    /// TTL (IPv4) or hop limit (IPv6) it arrived with; None if the kernel gave none.
    pub ttl: Option<u8>,
    /// Bytes written into the caller's buffer.
    pub len: usize,
    /// The datagram was longer than the buffer (the rest is lost).
    pub truncated: bool,
}

/// Receives the BFD Control packets of all interfaces on UDP port 3784 (one address family).
/// The socket itself is not registered with tokio: [`BfdListener::watch`] registers it
/// while its reader wants to be woken by each datagram, and a busy reader drops that and
/// reads on a timer instead.
#[derive(Debug)]
pub struct BfdListener {
    sock: Socket,
    what: &'static str,
}

/// A registration of a [`BfdListener`] with tokio's reactor: [`BfdWatch::readable`] waits
/// for a datagram. While it exists, each datagram that arrives while the thread sleeps wakes
/// it (an edge per datagram); dropping it ends that.
#[derive(Debug)]
pub struct BfdWatch {
    fd: AsyncFd<Socket>,
    what: &'static str,
}

impl BfdWatch {
    /// Waits until a datagram is pending, and consumes the readiness: read with
    /// [`BfdListener::try_recv_batch`] until a read comes back short (anything arriving
    /// after this returns sets the readiness again).
    pub async fn readable(&self) -> Result<()> {
        let mut guard = self
            .fd
            .readable()
            .await
            .map_err(|e| io_err(self.what, "wait for datagrams", e))?;
        guard.clear_ready();
        Ok(())
    }
}

impl BfdListener {
    /// Binds port 3784 of all interfaces for IPv4 or IPv6.
    pub fn bind(ipv6: bool) -> Result<BfdListener> {
        let addr: SocketAddr = if ipv6 {
            (Ipv6Addr::UNSPECIFIED, PORT).into()
        } else {
            (Ipv4Addr::UNSPECIFIED, PORT).into()
        };
        BfdListener::bind_to(addr)
    }

    /// Binds `addr` (tests use a free loopback port).
    fn bind_to(addr: SocketAddr) -> Result<BfdListener> {
        let ipv6 = addr.is_ipv6();
        let what = if ipv6 { "BFD/IPv6" } else { "BFD/IPv4" };
        let sock = udp_socket(what, ipv6)?;
        let fd = sock.as_raw_fd();
        let opts = if ipv6 {
            [
                (libc::IPPROTO_IPV6, libc::IPV6_RECVHOPLIMIT),
                (libc::IPPROTO_IPV6, libc::IPV6_RECVPKTINFO),
            ]
        } else {
            [
                (libc::IPPROTO_IP, libc::IP_RECVTTL),
                (libc::IPPROTO_IP, libc::IP_PKTINFO),
            ]
        };
        for (level, opt) in opts {
            super::packet::setsockopt(fd, level, opt, &1i32)
                .map_err(|e| io_err(what, "ask for the received TTL and interface", e))?;
        }
        // No SO_REUSEADDR: this is the only socket on the port, and a second daemon in the
        // same namespace must fail here rather than quietly take part of the packets.
        sock.bind(&addr.into())
            .map_err(|e| io_err(what, "bind UDP port 3784", e))?;
        // One socket takes every session's packets: room for them while the loop stalls.
        if let Err(e) = super::rcvbuf::reserve(fd, super::rcvbuf::STALL_RECEIVE_BUFFER) {
            log::debug!("{what}: keeping the default receive buffer: {e}");
        }
        Ok(BfdListener { sock, what })
    }

    /// Registers the listener with tokio (a duplicate of its descriptor, for reading only)
    /// until the returned watch is dropped. Must be called inside a tokio runtime.
    pub fn watch(&self) -> Result<BfdWatch> {
        let dup = self
            .sock
            .try_clone()
            .map_err(|e| io_err(self.what, "duplicate the socket", e))?;
        // SAFETY: `dup` owns its descriptor, which the AsyncFd takes over with it; Socket
        // always returns that same descriptor and closes it only when dropped.
        let fd = unsafe { AsyncFd::register_with_interest(dup, Interest::READABLE) }
            .map_err(|e| io_err(self.what, "register with tokio", e.into()))?;
        Ok(BfdWatch {
            fd,
            what: self.what,
        })
    }

    /// What the listener is, for messages ("BFD/IPv4", "BFD/IPv6").
    pub fn name(&self) -> &'static str {
        self.what
    }

    /// Receives what is queued, up to `bufs.len()` (at most [`RECV_BATCH`]) with one
    /// recvmmsg(2), without waiting: `got[i]` (cleared first) describes the datagram in
    /// `bufs[i]`; an empty socket leaves `got` empty. Fewer than asked means the socket is
    /// drained.
    pub fn try_recv_batch<const L: usize>(
        &self,
        bufs: &mut [[u8; L]],
        got: &mut Vec<BfdDatagram>,
    ) -> Result<()> {
        match recv_mmsg(self.sock.as_raw_fd(), bufs, got) {
            Ok(_) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(()),
            Err(e) => Err(io_err(self.what, "receive", e)),
        }
    }
}

/// Datagrams one [`BfdListener::try_recv_batch`] takes at most.
pub const RECV_BATCH: usize = 16;

/// Sends one session's Control packets from its own source port to its peer. The socket is
/// connected to the peer: the kernel keeps the route, where an unconnected socket looked it
/// up for every packet (a tenth of the sending cost at 10 ms intervals). A connection also
/// fixes the source address and carries ICMP errors about earlier packets into the next
/// send, so a send that fails connects afresh and tries once more (see
/// [`BfdSender::send`]).
#[derive(Debug)]
pub struct BfdSender {
    sock: Socket,
    iface: String,
    port: u16,
    peer: SockAddr,
}

impl BfdSender {
    /// A socket on `iface` bound to a free source port in 49152-65535, trying from
    /// `first_try` upwards (wrapping), TTL / hop limit 255, connected to `peer` port 3784
    /// (an IPv6 link-local gets this interface's scope). Non-blocking.
    pub fn open(iface: &str, ifindex: u32, peer: IpAddr, first_try: u16) -> Result<BfdSender> {
        check_iface_name(iface)?;
        let ipv6 = peer.is_ipv6();
        let sock = udp_socket(iface, ipv6)?;
        // Bound to the device before the port, so the port is per device.
        sock.bind_device(Some(iface.as_bytes()))
            .map_err(|e| io_err(iface, "SO_BINDTODEVICE", e))?;
        if ipv6 {
            sock.set_unicast_hops_v6(BFD_TTL.into())
                .map_err(|e| io_err(iface, "set the hop limit", e))?;
            sock.set_tclass_v6(TOS_CS6)
                .map_err(|e| io_err(iface, "set the traffic class", e))?;
        } else {
            sock.set_ttl_v4(BFD_TTL.into())
                .map_err(|e| io_err(iface, "set the TTL", e))?;
            sock.set_tos_v4(TOS_CS6)
                .map_err(|e| io_err(iface, "set the TOS", e))?;
        }
        let (lo, hi) = (*SOURCE_PORTS.start(), *SOURCE_PORTS.end());
        let span = u32::from(hi - lo) + 1;
        let start = u32::from(first_try.clamp(lo, hi) - lo);
        let mut last = None;
        for i in 0..span {
            let port = lo + ((start + i) % span) as u16;
            let addr: SocketAddr = if ipv6 {
                (Ipv6Addr::UNSPECIFIED, port).into()
            } else {
                (Ipv4Addr::UNSPECIFIED, port).into()
            };
            match sock.bind(&addr.into()) {
                Ok(()) => {
                    let sender = BfdSender {
                        sock,
                        iface: iface.to_owned(),
                        port,
                        peer: SockAddr::from(peer_address(peer, ifindex)),
                    };
                    // Not fatal: an IPv6 source still tentative (duplicate address
                    // detection) refuses it for a second or two; `send` connects again.
                    if let Err(e) = sender.sock.connect(&sender.peer) {
                        log::debug!("{iface}: BFD peer {peer}: connect later: {e}");
                    }
                    return Ok(sender);
                }
                Err(e) if e.kind() == io::ErrorKind::AddrInUse => last = Some(e),
                Err(e) => return Err(io_err(iface, "bind a BFD source port", e)),
            }
        }
        Err(io_err(
            iface,
            "bind a BFD source port (all of 49152-65535 in use)",
            last.unwrap_or_else(|| io::Error::from(io::ErrorKind::AddrInUse)),
        ))
    }

    pub fn source_port(&self) -> u16 {
        self.port
    }

    /// Send `payload` to the peer. Never blocks: a full queue is an error the caller counts
    /// (BFD tolerates a loss). A failed send connects afresh and tries once more: the
    /// failure may be an ICMP error about an earlier packet (the peer's port closed for a
    /// moment, a filter), which the kernel reports on the next send and consumes while it
    /// fails it; a source address that went away since the connection chose it; or a
    /// connection that never succeeded.
    pub fn send(&self, payload: &[u8]) -> Result<()> {
        let sent = self.sock.send(payload).or_else(|_| {
            self.reconnect()?;
            self.sock.send(payload)
        });
        sent.map(|_| ())
            .map_err(|e| io_err(&self.iface, "send a BFD packet", e))
    }

    /// Drops the connection (which frees the source address it fixed) and connects again.
    fn reconnect(&self) -> io::Result<()> {
        // SAFETY: an all-zero sockaddr_storage is a valid value; only its family is set.
        let mut unspec: libc::sockaddr_storage = unsafe { mem::zeroed() };
        unspec.ss_family = libc::AF_UNSPEC as libc::sa_family_t;
        // SAFETY: connect reads `size_of::<sa_family_t>()` bytes of the live `unspec`;
        // AF_UNSPEC dissolves a UDP socket's association. Its result does not matter: the
        // connect below reports what counts.
        unsafe {
            libc::connect(
                self.sock.as_raw_fd(),
                (&unspec as *const libc::sockaddr_storage).cast(),
                mem::size_of::<libc::sa_family_t>() as libc::socklen_t,
            )
        };
        self.sock.connect(&self.peer)
    }
}

/// `peer` port 3784; an IPv6 link-local with the scope of interface `ifindex`.
fn peer_address(peer: IpAddr, ifindex: u32) -> SocketAddr {
    match peer {
        IpAddr::V4(a) => SocketAddrV4::new(a, PORT).into(),
        IpAddr::V6(a) => {
            let scope = if a.is_unicast_link_local() {
                ifindex
            } else {
                0
            };
            SocketAddrV6::new(a, PORT, 0, scope).into()
        }
    }
}

/// A non-blocking UDP socket (named `what` in errors).
fn udp_socket(what: &str, ipv6: bool) -> Result<Socket> {
    let domain = if ipv6 { Domain::IPV6 } else { Domain::IPV4 };
    let sock = Socket::new(
        domain,
        Type::DGRAM.nonblocking().cloexec(),
        Some(Protocol::UDP),
    )
    .map_err(|e| io_err(what, "socket(UDP)", e))?;
    if ipv6 {
        sock.set_only_v6(true)
            .map_err(|e| io_err(what, "IPV6_V6ONLY", e))?;
    }
    Ok(sock)
}

/// recvmmsg(2) of up to `bufs.len()` (at most [`RECV_BATCH`]) datagrams, each with room for
/// its TTL / hop-limit and packet-info control messages, described in `got` (cleared
/// first); returns how many the kernel gave (EAGAIN when none is queued).
fn recv_mmsg<const L: usize>(
    fd: RawFd,
    bufs: &mut [[u8; L]],
    got: &mut Vec<BfdDatagram>,
) -> io::Result<usize> {
    got.clear();
    let want = bufs.len().min(RECV_BATCH);
    let mut control = [[0u64; CONTROL_WORDS]; RECV_BATCH];
    // SAFETY: sockaddr_storage, iovec and mmsghdr are plain old data; all zeroes is valid.
    let mut addrs: [libc::sockaddr_storage; RECV_BATCH] = unsafe { mem::zeroed() };
    // SAFETY: as above.
    let mut iov: [libc::iovec; RECV_BATCH] = unsafe { mem::zeroed() };
    // SAFETY: as above.
    let mut msgs: [libc::mmsghdr; RECV_BATCH] = unsafe { mem::zeroed() };
    for (i, buf) in bufs[..want].iter_mut().enumerate() {
        iov[i].iov_base = buf.as_mut_ptr().cast();
        iov[i].iov_len = L;
        let h = &mut msgs[i].msg_hdr;
        h.msg_name = (&mut addrs[i] as *mut libc::sockaddr_storage).cast();
        h.msg_namelen = mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
        h.msg_iov = &mut iov[i];
        h.msg_iovlen = 1;
        h.msg_control = control[i].as_mut_ptr().cast();
        h.msg_controllen = mem::size_of_val(&control[i]) as _;
    }
    // SAFETY: every pointer in `msgs[..want]` points to a live buffer of the stated length
    // that outlives the call; the kernel writes at most those lengths.
    let n = unsafe {
        libc::recvmmsg(
            fd,
            msgs.as_mut_ptr(),
            want as libc::c_uint,
            0,
            std::ptr::null_mut(),
        )
    };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    for i in 0..n as usize {
        let h = &msgs[i].msg_hdr;
        let src =
            sockaddr_to_std(&addrs[i]).ok_or_else(|| io::Error::other("unknown address family"))?;
        let control_len = (h.msg_controllen as usize).min(mem::size_of_val(&control[i]));
        // SAFETY: the first `control_len` bytes of the slot's control buffer (a [u64],
        // valid as bytes), which the kernel wrote, borrowed only for this parse.
        let bytes =
            unsafe { std::slice::from_raw_parts(control[i].as_ptr().cast::<u8>(), control_len) };
        got.push(BfdDatagram {
            src,
            ifindex: ifindex_from_control(bytes),
            dst: dst_from_control(bytes),
            ttl: ttl_from_control(bytes),
            len: (msgs[i].msg_len as usize).min(L),
            truncated: h.msg_flags & libc::MSG_TRUNC != 0,
        });
    }
    Ok(n as usize)
}

fn sockaddr_to_std(a: &libc::sockaddr_storage) -> Option<SocketAddr> {
    match i32::from(a.ss_family) {
        libc::AF_INET => {
            // SAFETY: the family says the storage holds a sockaddr_in, which fits in it.
            let s: &libc::sockaddr_in = unsafe { &*(a as *const _ as *const libc::sockaddr_in) };
            let ip = Ipv4Addr::from(u32::from_be(s.sin_addr.s_addr));
            Some(SocketAddrV4::new(ip, u16::from_be(s.sin_port)).into())
        }
        libc::AF_INET6 => {
            // SAFETY: the family says the storage holds a sockaddr_in6, which fits in it.
            let s: &libc::sockaddr_in6 = unsafe { &*(a as *const _ as *const libc::sockaddr_in6) };
            let ip = Ipv6Addr::from(s.sin6_addr.s6_addr);
            Some(
                SocketAddrV6::new(
                    ip,
                    u16::from_be(s.sin6_port),
                    s.sin6_flowinfo,
                    s.sin6_scope_id,
                )
                .into(),
            )
        }
        _ => None,
    }
}

/// The TTL of an IP_TTL or IPV6_HOPLIMIT control message (an int).
fn ttl_of((level, kind, data): (libc::c_int, libc::c_int, &[u8])) -> Option<u8> {
    let is_ttl = (level == libc::IPPROTO_IP && kind == libc::IP_TTL)
        || (level == libc::IPPROTO_IPV6 && kind == libc::IPV6_HOPLIMIT);
    let v = i32::from_ne_bytes(data.get(..4)?.try_into().ok()?);
    is_ttl.then(|| u8::try_from(v).ok()).flatten()
}

/// The TTL among the control messages in `b`.
fn ttl_from_control(b: &[u8]) -> Option<u8> {
    super::msg::ControlMessages::new(b).find_map(ttl_of)
}

/// The arrival interface of an IP_PKTINFO (`struct in_pktinfo`: the index first) or
/// IPV6_PKTINFO (`struct in6_pktinfo`: the index after the 16-byte address) message.
fn ifindex_of((level, kind, data): (libc::c_int, libc::c_int, &[u8])) -> Option<u32> {
    let at = match (level, kind) {
        (libc::IPPROTO_IP, libc::IP_PKTINFO) => 0,
        (libc::IPPROTO_IPV6, libc::IPV6_PKTINFO) => 16,
        _ => return None,
    };
    let i = i32::from_ne_bytes(data.get(at..at + 4)?.try_into().ok()?);
    u32::try_from(i).ok().filter(|&i| i != 0)
}

/// The arrival interface among the control messages in `b`.
fn ifindex_from_control(b: &[u8]) -> Option<u32> {
    super::msg::ControlMessages::new(b).find_map(ifindex_of)
}

/// The header's destination address of an IP_PKTINFO (`ipi_addr`, after the index and
/// `ipi_spec_dst`) or IPV6_PKTINFO (`ipi6_addr`, first) message.
fn dst_of((level, kind, data): (libc::c_int, libc::c_int, &[u8])) -> Option<IpAddr> {
    match (level, kind) {
        (libc::IPPROTO_IP, libc::IP_PKTINFO) => {
            let a: [u8; 4] = data.get(8..12)?.try_into().ok()?;
            Some(Ipv4Addr::from(a).into())
        }
        (libc::IPPROTO_IPV6, libc::IPV6_PKTINFO) => {
            let a: [u8; 16] = data.get(..16)?.try_into().ok()?;
            Some(Ipv6Addr::from(a).into())
        }
        _ => None,
    }
}

/// The destination address among the control messages in `b`.
fn dst_from_control(b: &[u8]) -> Option<IpAddr> {
    super::msg::ControlMessages::new(b).find_map(dst_of)
}

fn io_err(iface: &str, what: &'static str, source: io::Error) -> NetError {
    NetError::Io {
        iface: iface.to_owned(),
        what,
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn cmsg(level: i32, kind: i32, value: i32) -> Vec<u8> {
        super::super::msg::cmsg(level, kind, &value.to_ne_bytes())
    }

    #[test]
    fn ttl_found_after_another_message() {
        let mut b = cmsg(libc::IPPROTO_IP, libc::IP_TOS, 0xc0);
        b.extend(cmsg(libc::IPPROTO_IP, libc::IP_TTL, 255));
        assert_eq!(ttl_from_control(&b), Some(255));
        assert_eq!(
            ttl_from_control(&cmsg(libc::IPPROTO_IPV6, libc::IPV6_HOPLIMIT, 254)),
            Some(254)
        );
        assert_eq!(ttl_from_control(&[]), None);
        // A length that runs past the buffer is not trusted.
        let mut bad = cmsg(libc::IPPROTO_IP, libc::IP_TTL, 255);
        bad[0] = 200;
        assert_eq!(ttl_from_control(&bad), None);
    }

    #[test]
    fn arrival_interface_found_for_both_families() {
        let mut v4 = vec![0u8; 12];
        v4[..4].copy_from_slice(&7i32.to_ne_bytes());
        v4[8..].copy_from_slice(&[10, 1, 2, 3]);
        let mut b = cmsg(libc::IPPROTO_IP, libc::IP_TTL, 255);
        b.extend(super::super::msg::cmsg(
            libc::IPPROTO_IP,
            libc::IP_PKTINFO,
            &v4,
        ));
        assert_eq!(ifindex_from_control(&b), Some(7));
        assert_eq!(
            dst_from_control(&b),
            Some(Ipv4Addr::new(10, 1, 2, 3).into())
        );
        let mut v6 = vec![0xfe; 20];
        v6[16..].copy_from_slice(&9i32.to_ne_bytes());
        let b = super::super::msg::cmsg(libc::IPPROTO_IPV6, libc::IPV6_PKTINFO, &v6);
        assert_eq!(ifindex_from_control(&b), Some(9));
        assert_eq!(
            dst_from_control(&b),
            Some(Ipv6Addr::from([0xfe; 16]).into())
        );
        // No packet info, or index 0 (none): no interface.
        assert_eq!(
            ifindex_from_control(&cmsg(libc::IPPROTO_IP, libc::IP_TTL, 1)),
            None
        );
        v4[..4].copy_from_slice(&0i32.to_ne_bytes());
        let b = super::super::msg::cmsg(libc::IPPROTO_IP, libc::IP_PKTINFO, &v4);
        assert_eq!(ifindex_from_control(&b), None);
    }

    /// One listener socket takes every interface's datagrams: each comes through recvmmsg
    /// with the interface it arrived on and its TTL (loopback stands in for the links; no
    /// privileges needed).
    #[test]
    fn each_datagram_carries_its_interface_and_ttl() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()
            .unwrap();
        let _in_runtime = rt.enter();
        // SAFETY: a NUL-terminated name.
        let lo = unsafe { libc::if_nametoindex(c"lo".as_ptr()) };
        assert_ne!(lo, 0);
        let loopbacks: [SocketAddr; 2] = [
            (Ipv4Addr::LOCALHOST, 0).into(),
            (Ipv6Addr::LOCALHOST, 0).into(),
        ];
        for addr in loopbacks {
            let l = match BfdListener::bind_to(addr) {
                Ok(l) => l,
                // A host without IPv6 on loopback.
                Err(_) if addr.is_ipv6() => continue,
                Err(e) => panic!("{e}"),
            };
            let to = l.sock.local_addr().unwrap();
            let domain = if addr.is_ipv6() {
                Domain::IPV6
            } else {
                Domain::IPV4
            };
            let tx = Socket::new(domain, Type::DGRAM, None).unwrap();
            // Not the default 64, and not the same for both families.
            if addr.is_ipv6() {
                tx.set_unicast_hops_v6(254).unwrap();
            } else {
                tx.set_ttl_v4(255).unwrap();
            }
            tx.send_to(&[1, 2, 3], &to).unwrap();
            tx.send_to(&[4; 200], &to).unwrap();
            let mut bufs = [[0u8; 64]; 4];
            let mut got = Vec::new();
            // Loopback delivers at once, but give a slow host some time.
            for _ in 0..100 {
                l.try_recv_batch(&mut bufs, &mut got).unwrap();
                if !got.is_empty() {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            let want_ttl = if addr.is_ipv6() { 254 } else { 255 };
            assert_eq!(got.len(), 2, "{got:?}");
            assert_eq!(got[0].ifindex, Some(lo));
            assert_eq!(got[0].ttl, Some(want_ttl));
            assert_eq!((got[0].len, got[0].truncated), (3, false));
            assert_eq!(&bufs[0][..3], &[1, 2, 3]);
            assert_eq!(got[0].src.ip(), addr.ip());
            assert_eq!(got[0].dst, Some(addr.ip()));
            assert_eq!((got[1].len, got[1].truncated), (64, true));
            assert_eq!(got[1].ifindex, Some(lo));
            // Nothing more waiting: an empty answer, not an error.
            l.try_recv_batch(&mut bufs, &mut got).unwrap();
            assert!(got.is_empty());
        }
    }

    #[test]
    fn a_watch_wakes_for_new_datagrams_and_a_new_watch_sees_what_waited_unwatched() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()
            .unwrap();
        rt.block_on(async {
            let l = BfdListener::bind_to((Ipv4Addr::LOCALHOST, 0).into()).unwrap();
            let to = l.sock.local_addr().unwrap();
            let tx = Socket::new(Domain::IPV4, Type::DGRAM, None).unwrap();
            let (mut bufs, mut got) = ([[0u8; 64]; 4], Vec::new());
            let w = l.watch().unwrap();
            tx.send_to(&[1], &to).unwrap();
            tokio::time::timeout(Duration::from_millis(5_000), w.readable())
                .await
                .expect("a datagram wakes the watch")
                .unwrap();
            l.try_recv_batch(&mut bufs, &mut got).unwrap();
            assert_eq!(got.len(), 1);
            // Consumed: nothing new, no wake-up.
            assert!(
                tokio::time::timeout(Duration::from_millis(50), w.readable())
                    .await
                    .is_err(),
                "woken with nothing new"
            );
            // Unwatched, a datagram waits; a new watch reports it at once.
            drop(w);
            tx.send_to(&[2], &to).unwrap();
            let w = l.watch().unwrap();
            tokio::time::timeout(Duration::from_millis(5_000), w.readable())
                .await
                .expect("the waiting datagram is seen")
                .unwrap();
            l.try_recv_batch(&mut bufs, &mut got).unwrap();
            assert_eq!((got.len(), bufs[0][0]), (1, 2));
        });
    }

    #[test]
    fn an_icmp_error_about_an_earlier_packet_does_not_fail_the_next_send() {
        // Nothing listens on 127.0.0.1:3784 here (bound below for the length of the test,
        // then closed): each packet draws a port unreachable, which a connected socket
        // reports on the following send.
        let probe = std::net::UdpSocket::bind((Ipv4Addr::LOCALHOST, PORT));
        let Ok(probe) = probe else {
            panic!("127.0.0.1:{PORT} is in use on this host: a BFD daemon runs here");
        };
        drop(probe);
        // SAFETY: a NUL-terminated name.
        let lo = unsafe { libc::if_nametoindex(c"lo".as_ptr()) };
        let s = BfdSender::open("lo", lo, IpAddr::V4(Ipv4Addr::LOCALHOST), 50_000).unwrap();
        for n in 0..4u8 {
            s.send(&[n]).unwrap_or_else(|e| panic!("send {n}: {e}"));
        }
    }
}
