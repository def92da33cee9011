//! [`PacketSocket`]: the daemon's wire. An AF_PACKET raw socket bound to one interface:
//! it sends complete Ethernet frames as built by `wire` (any source MAC, e.g. the virtual
//! MAC), and receives only HSRP control frames and Router Solicitations, filtered in the
//! kernel (see `packet_filter`). It also owns the interface's filter entries that HSRP needs:
//! the HSRP multicast MACs, and — explicitly, through [`PacketSocket::add_unicast_mac`] —
//! the virtual MACs, so a real NIC accepts frames sent to them. All of these are socket
//! memberships: the kernel removes them when the socket closes, so a daemon that dies leaves
//! no filter entry behind.

use std::io;
use std::mem;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::{Duration, SystemTime};

use tokio::io::unix::{AsyncFd, AsyncFdReadyGuard};
use tokio::io::Interest;

use super::error::check_iface_name;
use super::packet_filter::HSRP_FILTER;
use super::packet_recv::{RecvRing, RECV_BATCH};
use super::{NetError, Result};
use crate::proto::MacAddr;

/// The multicast MACs HSRP listens on: 224.0.0.2 (v1), 224.0.0.102 (v2), ff02::66 (v2 IPv6),
/// and ff02::2 (all-routers), where hosts send the Router Solicitations that the Active of
/// an IPv6 group answers (the kernel joins it only while IPv6 forwarding is on).
pub const HSRP_MULTICAST_MACS: [MacAddr; 4] = [
    MacAddr([0x01, 0x00, 0x5e, 0x00, 0x00, 0x02]),
    MacAddr([0x01, 0x00, 0x5e, 0x00, 0x00, 0x66]),
    MacAddr([0x33, 0x33, 0x00, 0x00, 0x00, 0x66]),
    MacAddr([0x33, 0x33, 0x00, 0x00, 0x00, 0x02]),
];

/// How long a send waits for room when the socket's send buffer is full (the kernel has
/// not yet freed the frames sent before), and how many times it waits before it reports
/// the frames as not sent.
const SEND_RETRY: Duration = Duration::from_millis(1);
const SEND_RETRIES: u32 = 20;

/// An AF_PACKET raw socket on one interface; see the module documentation.
#[derive(Debug)]
pub struct PacketSocket {
    fd: AsyncFd<OwnedFd>,
    iface: String,
    ifindex: u32,
}

impl PacketSocket {
    /// Opens the socket on interface `iface` (looked up by name in the calling thread's
    /// network namespace), attaches the HSRP filter and joins the HSRP multicast MACs.
    /// Must be called inside a tokio runtime.
    pub fn open(iface: &str) -> Result<Self> {
        check_iface_name(iface)?;
        let ifindex = ifindex_of(iface)?;
        Self::open_ifindex(iface, ifindex)
    }

    /// Like [`PacketSocket::open`] with a known `ifindex` (`iface` is used in errors only).
    pub fn open_ifindex(iface: &str, ifindex: u32) -> Result<Self> {
        // Protocol 0: the socket receives nothing until `bind` below, so no frame slips in
        // before the filter is attached.
        // SAFETY: plain socket(2) call with constant arguments; the result is checked.
        let raw = unsafe {
            libc::socket(
                libc::AF_PACKET,
                libc::SOCK_RAW | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
                0,
            )
        };
        if raw < 0 {
            return Err(io_err(
                iface,
                "socket(AF_PACKET)",
                io::Error::last_os_error(),
            ));
        }
        // SAFETY: `raw` is a fresh, valid descriptor that nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let sock = fd.as_raw_fd();

        set_options(sock, iface)?;

        let addr = sockaddr_ll(ifindex);
        // SAFETY: `addr` is a valid sockaddr_ll and the length passed is its size.
        let rc = unsafe {
            libc::bind(
                sock,
                (&addr as *const libc::sockaddr_ll).cast(),
                mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        };
        if rc < 0 {
            return Err(io_err(iface, "bind", io::Error::last_os_error()));
        }

        // Registered for reading only. Write readiness would wake the loop each time the
        // kernel frees a frame this socket sent (an EPOLLOUT edge per transmit completion,
        // thousands a second with many groups); a full send buffer is waited out with a
        // timer instead (`SEND_RETRY`).
        // SAFETY: `fd` is an open descriptor owned by the OwnedFd that the AsyncFd takes over;
        // OwnedFd always returns that same descriptor and closes it only when dropped.
        let fd = unsafe { AsyncFd::register_with_interest(fd, Interest::READABLE) }
            .map_err(|e| io_err(iface, "register with tokio", e.into()))?;
        let socket = PacketSocket {
            fd,
            iface: iface.to_owned(),
            ifindex,
        };
        for mac in HSRP_MULTICAST_MACS {
            socket.membership(
                libc::PACKET_ADD_MEMBERSHIP,
                libc::PACKET_MR_MULTICAST,
                mac,
                "join multicast",
            )?;
        }
        Ok(socket)
    }

    /// The interface name this socket was opened on.
    pub fn iface(&self) -> &str {
        &self.iface
    }

    /// The interface index this socket is bound to.
    pub fn ifindex(&self) -> u32 {
        self.ifindex
    }

    /// Sends one complete Ethernet frame (destination MAC first) as is.
    pub async fn send(&self, frame: &[u8]) -> Result<()> {
        for _ in 0..SEND_RETRIES {
            // SAFETY: `frame` is a valid readable buffer of `frame.len()` bytes.
            let n = unsafe {
                libc::send(
                    self.fd.get_ref().as_raw_fd(),
                    frame.as_ptr().cast(),
                    frame.len(),
                    0,
                )
            };
            if n < 0 {
                let source = io::Error::last_os_error();
                if source.kind() == io::ErrorKind::WouldBlock {
                    tokio::time::sleep(SEND_RETRY).await;
                    continue;
                }
                return Err(io_err(&self.iface, "send", source));
            }
            let n = n as usize;
            if n != frame.len() {
                let short = format!("short send: {n} of {} bytes", frame.len());
                return Err(io_err(&self.iface, "send", io::Error::other(short)));
            }
            return Ok(());
        }
        Err(self.send_buffer_stuck())
    }

    /// The error of a send buffer that stayed full through every retry.
    fn send_buffer_stuck(&self) -> NetError {
        let waited = SEND_RETRY * SEND_RETRIES;
        let e = io::Error::new(
            io::ErrorKind::WouldBlock,
            format!("the send buffer stayed full for {waited:?}"),
        );
        io_err(&self.iface, "send", e)
    }

    /// The next frame if one is already in the socket, without waiting (`Ok(None)`: none),
    /// with the time it arrived (the kernel's receive timestamp, wall clock; None if the
    /// kernel gave none). Asks the kernel, not tokio's readiness, which may not have been
    /// refreshed yet when a late loop looks. Errors and truncation as
    /// [`PacketSocket::recv`].
    pub fn try_recv(&self, buf: &mut [u8]) -> Result<Option<(usize, Option<SystemTime>)>> {
        loop {
            match recv_frame_stamped(self.fd.get_ref().as_raw_fd(), buf) {
                Ok((Received::Frame(len), _)) if len > buf.len() => {
                    return Err(NetError::Truncated {
                        iface: self.iface.clone(),
                        len,
                        cap: buf.len(),
                    })
                }
                Ok((Received::Frame(len), at)) => return Ok(Some((len, at))),
                Ok((Received::Outgoing, _)) => continue,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(None),
                Err(source) => return Err(io_err(&self.iface, "recv", source)),
            }
        }
    }

    /// Sends complete Ethernet frames in order, up to [`SEND_BATCH`] per system call
    /// (sendmmsg): with a thousand groups, the hellos due at one wake-up cost one call
    /// instead of one each. A frame that cannot be sent is reported to `failed` with its
    /// index and skipped; the frames after it still go.
    pub async fn send_batch(&self, frames: &[&[u8]], mut failed: impl FnMut(usize, NetError)) {
        let fd = self.fd.get_ref().as_raw_fd();
        let mut next = 0;
        let mut retries = 0;
        while next < frames.len() {
            let chunk = &frames[next..frames.len().min(next + SEND_BATCH)];
            match send_mmsg(fd, chunk) {
                Ok(lens) => {
                    for (i, (sent, frame)) in lens.iter().zip(chunk).enumerate() {
                        if *sent != frame.len() {
                            let short = format!("short send: {sent} of {} bytes", frame.len());
                            failed(
                                next + i,
                                io_err(&self.iface, "send", io::Error::other(short)),
                            );
                        }
                    }
                    // Never zero for a non-empty chunk (the kernel reports an error instead);
                    // the guard keeps a surprise from looping.
                    next += lens.len().max(1);
                    retries = 0;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock && retries < SEND_RETRIES => {
                    retries += 1;
                    tokio::time::sleep(SEND_RETRY).await;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    for i in next..frames.len() {
                        failed(i, self.send_buffer_stuck());
                    }
                    return;
                }
                // Only the first frame of the chunk failed: report it, go on after it.
                Err(source) => {
                    failed(next, io_err(&self.iface, "send", source));
                    next += 1;
                }
            }
        }
    }

    /// Receives the next HSRP control frame into `buf` and returns its length. Frames the
    /// host itself sends are never returned. A frame longer than `buf` is dropped with
    /// [`NetError::Truncated`]; ENETDOWN is returned once when the interface goes down (see
    /// [`NetError::is_transient`]).
    pub async fn recv(&self, buf: &mut [u8]) -> Result<usize> {
        loop {
            let mut guard = self.wait_readable().await?;
            let got = guard.try_io(|fd| recv_frame(fd.as_raw_fd(), buf));
            match got {
                Ok(Ok(Received::Frame(len))) if len > buf.len() => {
                    return Err(NetError::Truncated {
                        iface: self.iface.clone(),
                        len,
                        cap: buf.len(),
                    })
                }
                Ok(Ok(Received::Frame(len))) => return Ok(len),
                // Belt and braces: the filter already drops these.
                Ok(Ok(Received::Outgoing)) => continue,
                Ok(Err(source)) => return Err(io_err(&self.iface, "recv", source)),
                Err(_would_block) => continue,
            }
        }
    }

    /// Waits for frames and receives what is queued, up to [`RECV_BATCH`], into `ring`
    /// with one recvmmsg(2); returns how many the kernel gave (fewer than
    /// [`RECV_BATCH`]: the socket is drained). There is at least one frame for the caller:
    /// a burst of only the host's own frames is waited past. Read them with
    /// [`RecvRing::frames`]. Errors as [`PacketSocket::recv`].
    pub async fn recv_batch(&self, ring: &mut RecvRing) -> Result<usize> {
        loop {
            let mut guard = self.wait_readable().await?;
            match guard.try_io(|fd| ring.recv_mmsg(fd.as_raw_fd())) {
                Ok(Ok(n)) => {
                    if n < RECV_BATCH {
                        // Drained: the next call waits for the next frame instead of trying
                        // a receive that would find nothing (the next frame's event sets
                        // the readiness again).
                        guard.clear_ready();
                    }
                    if ring.frames(&self.iface).next().is_some() {
                        return Ok(n);
                    }
                }
                Ok(Err(source)) => return Err(io_err(&self.iface, "recv", source)),
                Err(_would_block) => continue,
            }
        }
    }

    /// Waits until a frame or an error is pending. ERROR too: a pending socket error
    /// (ENETDOWN) raises EPOLLERR alone, which `readable()` would sleep through.
    async fn wait_readable(&self) -> Result<AsyncFdReadyGuard<'_, OwnedFd>> {
        self.fd
            .ready(Interest::READABLE | Interest::ERROR)
            .await
            .map_err(|source| io_err(&self.iface, "wait readable", source))
    }

    /// Makes the interface accept unicast frames to `mac` (a virtual MAC): an entry in its
    /// unicast filter (PACKET_MR_UNICAST; on a device without a unicast filter, such as
    /// veth, the kernel turns on promiscuous mode instead). The entry lives as long as this
    /// socket. Adding the same MAC twice needs two removals.
    pub fn add_unicast_mac(&self, mac: MacAddr) -> Result<()> {
        self.membership(
            libc::PACKET_ADD_MEMBERSHIP,
            libc::PACKET_MR_UNICAST,
            mac,
            "add unicast MAC",
        )
    }

    /// Removes an entry added by [`PacketSocket::add_unicast_mac`]. Removing a MAC that
    /// was not added is not an error (the kernel reports success).
    pub fn remove_unicast_mac(&self, mac: MacAddr) -> Result<()> {
        self.membership(
            libc::PACKET_DROP_MEMBERSHIP,
            libc::PACKET_MR_UNICAST,
            mac,
            "remove unicast MAC",
        )
    }

    fn membership(
        &self,
        op: libc::c_int,
        kind: libc::c_int,
        mac: MacAddr,
        what: &'static str,
    ) -> Result<()> {
        // SAFETY: packet_mreq is plain old data; all-zero is a valid value.
        let mut mreq: libc::packet_mreq = unsafe { mem::zeroed() };
        mreq.mr_ifindex = self.ifindex as libc::c_int;
        mreq.mr_type = kind as libc::c_ushort;
        mreq.mr_alen = 6;
        mreq.mr_address[..6].copy_from_slice(&mac.0);
        setsockopt(self.fd.as_raw_fd(), libc::SOL_PACKET, op, &mreq).map_err(|source| {
            NetError::Io {
                iface: self.iface.clone(),
                what,
                source: io::Error::new(source.kind(), format!("{mac}: {source}")),
            }
        })
    }
}

enum Received {
    Frame(usize),
    Outgoing,
}

/// Frames per sendmmsg(2) in [`PacketSocket::send_batch`].
pub const SEND_BATCH: usize = 64;

/// One sendmmsg(2) of `frames` (at most [`SEND_BATCH`]): the bytes sent of each frame the
/// kernel took, in order (fewer than `frames` when one failed after the first; the failing
/// one is then first in the next call, which reports its error).
fn send_mmsg(fd: RawFd, frames: &[&[u8]]) -> io::Result<Vec<usize>> {
    let n = frames.len().min(SEND_BATCH);
    // SAFETY: iovec and mmsghdr are plain old data; all-zero is a valid value of each.
    let mut iov: [libc::iovec; SEND_BATCH] = unsafe { mem::zeroed() };
    // SAFETY: as above.
    let mut msgs: [libc::mmsghdr; SEND_BATCH] = unsafe { mem::zeroed() };
    for (i, frame) in frames[..n].iter().enumerate() {
        iov[i].iov_base = frame.as_ptr().cast_mut().cast();
        iov[i].iov_len = frame.len();
        msgs[i].msg_hdr.msg_iov = &mut iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
    }
    // SAFETY: `msgs[..n]` each point at one iovec describing a live, readable frame; the
    // kernel only reads the frames and writes `msg_len` of each header.
    let sent = unsafe { libc::sendmmsg(fd, msgs.as_mut_ptr(), n as libc::c_uint, 0) };
    if sent < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(msgs[..sent as usize]
        .iter()
        .map(|m| m.msg_len as usize)
        .collect())
}

/// The options of a fresh HSRP socket, before it is bound: the filter, no copies of the
/// host's own frames, arrival stamps, and the buffer sizes.
fn set_options(sock: RawFd, iface: &str) -> Result<()> {
    let prog = libc::sock_fprog {
        len: HSRP_FILTER.len() as u16,
        // The kernel copies the program; it only reads through this pointer.
        filter: HSRP_FILTER.as_ptr().cast_mut(),
    };
    setsockopt(sock, libc::SOL_SOCKET, libc::SO_ATTACH_FILTER, &prog)
        .map_err(|source| io_err(iface, "attach the HSRP socket filter", source))?;
    // Drop the host's own transmissions before they are even cloned to this socket
    // (the filter drops them too, for kernels before 4.20).
    setsockopt(sock, libc::SOL_PACKET, libc::PACKET_IGNORE_OUTGOING, &1i32)
        .map_err(|source| io_err(iface, "set PACKET_IGNORE_OUTGOING", source))?;
    // Arrival times for [`PacketSocket::try_recv`]: a late loop judges a peer by when
    // its hello arrived, not by when it got to read it.
    setsockopt(sock, libc::SOL_SOCKET, libc::SO_TIMESTAMPNS, &1i32)
        .map_err(|source| io_err(iface, "set SO_TIMESTAMPNS", source))?;
    // Room for the hellos of many groups while the loop stalls, and for a burst of
    // them going out (a full send buffer is waited out on a timer, see `send_batch`).
    if let Err(e) = super::rcvbuf::reserve(sock, super::rcvbuf::STALL_RECEIVE_BUFFER) {
        log::debug!("{iface}: keeping the default receive buffer: {e}");
    }
    if let Err(e) = super::rcvbuf::reserve_send(sock, super::rcvbuf::BURST_SEND_BUFFER) {
        log::debug!("{iface}: keeping the default send buffer: {e}");
    }
    Ok(())
}

/// One recvfrom(2): the frame's full length (MSG_TRUNC) and whether the host sent it.
fn recv_frame(fd: RawFd, buf: &mut [u8]) -> io::Result<Received> {
    // SAFETY: sockaddr_ll is plain old data; all-zero is a valid value.
    let mut from: libc::sockaddr_ll = unsafe { mem::zeroed() };
    let mut from_len = mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t;
    // SAFETY: `buf` is writable for `buf.len()` bytes, `from`/`from_len` describe a valid
    // sockaddr_ll; with MSG_TRUNC the kernel still writes at most `buf.len()` bytes.
    let n = unsafe {
        libc::recvfrom(
            fd,
            buf.as_mut_ptr().cast(),
            buf.len(),
            libc::MSG_TRUNC,
            (&mut from as *mut libc::sockaddr_ll).cast(),
            &mut from_len,
        )
    };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    if from.sll_pkttype == libc::PACKET_OUTGOING {
        return Ok(Received::Outgoing);
    }
    Ok(Received::Frame(n as usize))
}

/// One recvmsg(2) with the receive timestamp (SCM_TIMESTAMPNS): as [`recv_frame`], plus
/// when the frame arrived.
fn recv_frame_stamped(fd: RawFd, buf: &mut [u8]) -> io::Result<(Received, Option<SystemTime>)> {
    // SAFETY: sockaddr_ll is plain old data; all-zero is a valid value.
    let mut from: libc::sockaddr_ll = unsafe { mem::zeroed() };
    let m = super::msg::recv_msg(fd, buf, &mut from, libc::MSG_TRUNC)?;
    if from.sll_pkttype == libc::PACKET_OUTGOING {
        return Ok((Received::Outgoing, None));
    }
    Ok((
        Received::Frame(m.len),
        super::msg::arrival_stamp(m.control()),
    ))
}

pub(super) fn sockaddr_ll(ifindex: u32) -> libc::sockaddr_ll {
    // SAFETY: sockaddr_ll is plain old data; all-zero is a valid value.
    let mut addr: libc::sockaddr_ll = unsafe { mem::zeroed() };
    addr.sll_family = libc::AF_PACKET as libc::c_ushort;
    addr.sll_protocol = (libc::ETH_P_ALL as u16).to_be();
    addr.sll_ifindex = ifindex as libc::c_int;
    addr
}

pub(super) fn setsockopt<T>(
    fd: RawFd,
    level: libc::c_int,
    name: libc::c_int,
    value: &T,
) -> io::Result<()> {
    // SAFETY: `value` points to a live `T` and the length passed is its size; the kernel
    // only reads it.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (value as *const T).cast(),
            mem::size_of::<T>() as libc::socklen_t,
        )
    };
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// The index of interface `iface` in the calling thread's network namespace.
pub fn ifindex_of(iface: &str) -> Result<u32> {
    let name = std::ffi::CString::new(iface).map_err(|_| NetError::BadInterfaceName {
        iface: iface.to_owned(),
        reason: "contains NUL",
    })?;
    // SAFETY: `name` is a valid NUL-terminated string for the duration of the call.
    let index = unsafe { libc::if_nametoindex(name.as_ptr()) };
    if index == 0 {
        let source = io::Error::last_os_error();
        return Err(match source.raw_os_error() {
            Some(libc::ENODEV) => NetError::NoSuchInterface {
                iface: iface.to_owned(),
            },
            _ => io_err(iface, "look up interface index", source),
        });
    }
    Ok(index)
}

pub(super) fn io_err(iface: &str, what: &'static str, source: io::Error) -> NetError {
    NetError::Io {
        iface: iface.to_owned(),
        what,
        source,
    }
}
