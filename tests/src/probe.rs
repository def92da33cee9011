//! The traffic probe of the failover tests and the lab: a UDP stream with sequence numbers
//! at a fixed rate, and a receiver that records when each packet arrived and which router
//! delivered it. From those arrivals [`analyze`] computes what a user of the gateway feels:
//! the longest stretch without traffic (the outage), packets lost, packets duplicated, and
//! whether two routers ever delivered at once.
//!
//! The receiver reads a packet socket (AF_PACKET) on every interface of the server, so it
//! sees the Ethernet source of each packet (the MAC of the router that forwarded it) and a
//! kernel arrival timestamp (SO_TIMESTAMPNS), free of the receiver's scheduling delays.
//!
//! Payload of every probe datagram (big-endian), [`PAYLOAD_LEN`] bytes:
//! `magic u32 | kind u8 | 0 u8 0 u16 | seq u64 | sent_ns u64 | interval_us u32`; an end
//! marker (kind 2) carries the number of data packets sent in `seq`.

use std::collections::BTreeMap;
use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

/// "HSRP" in ASCII: marks probe datagrams among everything else on the wire.
pub const MAGIC: u32 = 0x4853_5250;
pub const PAYLOAD_LEN: usize = 28;
/// End markers sent after the stream, so one lost marker does not cost the count.
const END_MARKERS: u32 = 5;

/// What a probe datagram says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Message {
    Data {
        seq: u64,
        sent_ns: u64,
        interval_us: u32,
    },
    /// The stream is over; `sent` data packets were sent.
    End { sent: u64, interval_us: u32 },
}

impl Message {
    pub fn emit(&self) -> [u8; PAYLOAD_LEN] {
        let (kind, seq, sent_ns, interval_us) = match *self {
            Message::Data {
                seq,
                sent_ns,
                interval_us,
            } => (1u8, seq, sent_ns, interval_us),
            Message::End { sent, interval_us } => (2u8, sent, 0, interval_us),
        };
        let mut b = [0u8; PAYLOAD_LEN];
        b[0..4].copy_from_slice(&MAGIC.to_be_bytes());
        b[4] = kind;
        b[8..16].copy_from_slice(&seq.to_be_bytes());
        b[16..24].copy_from_slice(&sent_ns.to_be_bytes());
        b[24..28].copy_from_slice(&interval_us.to_be_bytes());
        b
    }

    /// `None` for anything that is not a probe datagram (other traffic on the server).
    pub fn parse(b: &[u8]) -> Option<Message> {
        if b.len() < PAYLOAD_LEN || b[0..4] != MAGIC.to_be_bytes() {
            return None;
        }
        let u64_at = |at: usize| u64::from_be_bytes(b[at..at + 8].try_into().unwrap());
        let interval_us = u32::from_be_bytes(b[24..28].try_into().unwrap());
        match b[4] {
            1 => Some(Message::Data {
                seq: u64_at(8),
                sent_ns: u64_at(16),
                interval_us,
            }),
            2 => Some(Message::End {
                sent: u64_at(8),
                interval_us,
            }),
            _ => None,
        }
    }
}

/// One received data packet.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Arrival {
    pub seq: u64,
    /// Kernel arrival time, ns since the Unix epoch.
    pub at_ns: u64,
    /// When the sender sent it, ns since the Unix epoch (the same clock as `at_ns`).
    #[serde(default)]
    pub sent_ns: u64,
    /// Who delivered it: the Ethernet source MAC (`aa:bb:cc:dd:ee:ff`).
    pub via: String,
    /// The server interface it arrived on.
    pub iface: String,
}

/// A run of consecutive sequence numbers (in sequence order) delivered by one router.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Segment {
    pub via: String,
    pub first_seq: u64,
    pub last_seq: u64,
    pub packets: u64,
}

/// What one stream measured.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Data packets sent (from the end marker, or the highest sequence seen + 1 without it).
    pub sent: u64,
    pub end_marker_seen: bool,
    pub interval_us: u32,
    /// Distinct sequence numbers received.
    pub received: u64,
    pub lost: u64,
    /// Lost before the first received packet / after the last one (the stream must start
    /// and end with a working gateway, so these are normally 0).
    pub head_lost: u64,
    pub tail_lost: u64,
    /// Extra copies of a sequence number already received.
    pub duplicates: u64,
    /// Duplicates whose copies came from different routers: two routers forwarded it.
    pub duplicates_by_two_routers: u64,
    /// Packets that arrived after a packet with a higher sequence number.
    pub reordered: u64,
    /// Longest time between two consecutive arrivals, ms (≈ the interval when nothing
    /// happened; the time traffic stopped for when a router failed), less the time the
    /// sender itself fell behind its schedule between them: a starved sender, or a step of
    /// the wall clock (which stamps both ends), is not an outage of the gateway.
    pub outage_ms: f64,
    /// The longest the sender fell behind its schedule between two consecutive arrivals,
    /// ms: what [`Report::outage_ms`] left out.
    #[serde(default)]
    pub sender_late_ms: f64,
    /// Arrival times (ns since the epoch) around that longest gap.
    pub outage_start_ns: u64,
    pub outage_end_ns: u64,
    /// Sequence numbers of the last packet before and the first after that gap.
    pub outage_after_seq: u64,
    pub outage_before_seq: u64,
    /// Packets per delivering router (MAC).
    pub per_router: BTreeMap<String, u64>,
    /// Runs of one router in sequence order. A clean failover is two segments; routers
    /// taking turns (both forwarding) shows as many short ones.
    pub segments: Vec<Segment>,
}

impl Report {
    /// How many times the delivering router changed, in sequence order.
    pub fn router_changes(&self) -> usize {
        self.segments.len().saturating_sub(1)
    }

    /// Routers that delivered at least one packet.
    pub fn routers(&self) -> Vec<&str> {
        self.per_router.keys().map(String::as_str).collect()
    }

    /// One line for humans.
    pub fn summary(&self) -> String {
        format!(
            "sent {} received {} lost {} duplicated {} outage {:.1} ms (longest gap, {} us \
             interval; the sender's own lateness of up to {:.1} ms left out), {} router \
             change(s)",
            self.sent,
            self.received,
            self.lost,
            self.duplicates,
            self.outage_ms,
            self.interval_us,
            self.sender_late_ms,
            self.router_changes()
        )
    }
}

/// Computes the report from what arrived. `sent` is the number of data packets sent
/// (`None`: the end marker was lost; the highest sequence number seen stands in).
pub fn analyze(sent: Option<u64>, interval_us: u32, arrivals: &[Arrival]) -> Report {
    let max_seq = arrivals.iter().map(|a| a.seq).max();
    let total = sent.unwrap_or_else(|| max_seq.map_or(0, |m| m + 1));

    // Per sequence number, in arrival order: who delivered it (first copy wins).
    let mut by_time: Vec<&Arrival> = arrivals.iter().collect();
    by_time.sort_by_key(|a| a.at_ns);
    let mut first: BTreeMap<u64, &Arrival> = BTreeMap::new();
    let (mut duplicates, mut by_two, mut reordered) = (0u64, 0u64, 0u64);
    let mut highest: Option<u64> = None;
    for a in &by_time {
        match first.get(&a.seq) {
            Some(prev) => {
                duplicates += 1;
                if prev.via != a.via {
                    by_two += 1;
                }
                continue;
            }
            None => {
                first.insert(a.seq, a);
            }
        }
        if highest.is_some_and(|h| a.seq < h) {
            reordered += 1;
        }
        highest = highest.max(Some(a.seq));
    }

    // The longest gap between consecutive arrivals (distinct packets, by time).
    let uniq: Vec<&Arrival> = by_time
        .iter()
        .copied()
        .filter(|a| first.get(&a.seq).is_some_and(|f| std::ptr::eq(*f, *a)))
        .collect();
    let mut gap = (0u64, 0u64, 0u64, 0u64, 0u64); // (len, start, end, seq before, after)
    let mut sender_late = 0u64;
    for w in uniq.windows(2) {
        let late = sender_late_between(w[0], w[1], interval_us);
        sender_late = sender_late.max(late);
        let len = w[1].at_ns.saturating_sub(w[0].at_ns).saturating_sub(late);
        if len > gap.0 {
            gap = (len, w[0].at_ns, w[1].at_ns, w[0].seq, w[1].seq);
        }
    }

    let mut per_router: BTreeMap<String, u64> = BTreeMap::new();
    let mut segments: Vec<Segment> = Vec::new();
    for (seq, a) in &first {
        *per_router.entry(a.via.clone()).or_default() += 1;
        match segments.last_mut() {
            Some(s) if s.via == a.via => {
                s.last_seq = *seq;
                s.packets += 1;
            }
            _ => segments.push(Segment {
                via: a.via.clone(),
                first_seq: *seq,
                last_seq: *seq,
                packets: 1,
            }),
        }
    }

    let received = first.range(..total).count() as u64;
    let head_lost = first.keys().next().map_or(total, |&s| s.min(total));
    let tail_lost = first
        .keys()
        .next_back()
        .map_or(0, |&s| total.saturating_sub(s + 1));
    Report {
        sent: total,
        end_marker_seen: sent.is_some(),
        interval_us,
        received,
        lost: total.saturating_sub(received),
        head_lost,
        tail_lost,
        duplicates,
        duplicates_by_two_routers: by_two,
        reordered,
        outage_ms: gap.0 as f64 / 1e6,
        sender_late_ms: sender_late as f64 / 1e6,
        outage_start_ns: gap.1,
        outage_end_ns: gap.2,
        outage_after_seq: gap.3,
        outage_before_seq: gap.4,
        per_router,
        segments,
    }
}

/// How much later than its schedule the sender sent `b` than it sent `a` (ns; 0 when it
/// kept pace, or for a packet that overtook an earlier one). The sender sends on absolute
/// deadlines, one per `interval_us`, so `b` is due `seq` difference × interval after `a`.
fn sender_late_between(a: &Arrival, b: &Arrival, interval_us: u32) -> u64 {
    let Some(steps) = b.seq.checked_sub(a.seq) else {
        return 0;
    };
    let due = steps.saturating_mul(u64::from(interval_us) * 1000);
    b.sent_ns.saturating_sub(a.sent_ns).saturating_sub(due)
}

/// Nanoseconds since the Unix epoch (the clock of SO_TIMESTAMPNS, shared by namespaces).
pub fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// Sends `count` data packets to `to`, one every `interval`, on absolute deadlines (a late
/// wake-up does not shift the rest of the stream), then the end markers. Returns the
/// number sent. A send error (no route for a moment) is counted as sent: it is a lost
/// packet to the receiver, which is what happened.
pub fn send_stream(to: SocketAddr, interval: Duration, count: u64) -> Result<u64> {
    let bind: SocketAddr = if to.is_ipv4() {
        "0.0.0.0:0".parse()?
    } else {
        "[::]:0".parse()?
    };
    let sock = UdpSocket::bind(bind).context("probe sender: binding a UDP socket")?;
    let interval_us = u32::try_from(interval.as_micros()).context("interval too long")?;
    let start = Instant::now();
    for seq in 0..count {
        let due = start + interval * u32::try_from(seq).context("count too large")?;
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        let msg = Message::Data {
            seq,
            sent_ns: now_ns(),
            interval_us,
        };
        let _ = sock.send_to(&msg.emit(), to);
    }
    for _ in 0..END_MARKERS {
        std::thread::sleep(Duration::from_millis(2));
        let end = Message::End {
            sent: count,
            interval_us,
        };
        let _ = sock.send_to(&end.emit(), to);
    }
    Ok(count)
}

/// Receives probe datagrams to UDP `port` on interface `iface` (`None`: every interface;
/// on a bridge, name the bridge or one port, or each frame counts twice) of the current
/// network namespace until the end marker arrives or `timeout` passes, then analyzes
/// them. `ready` is called once the socket listens (start the sender after it).
pub fn receive_stream(
    port: u16,
    iface: Option<&str>,
    timeout: Duration,
    ready: impl FnOnce(),
) -> Result<Report> {
    let sock = PacketSocket::open(iface).context("probe receiver: opening a packet socket")?;
    // A UDP socket on the port, so the server answers the stream with no ICMP errors.
    let _sink = UdpSocket::bind(("0.0.0.0", port))
        .with_context(|| format!("probe receiver: binding UDP port {port}"))?;
    ready();
    let deadline = Instant::now() + timeout;
    let mut arrivals = Vec::new();
    let mut end: Option<(u64, u32)> = None;
    let mut interval_us = 0;
    let mut buf = vec![0u8; 2048];
    // Bounded by the deadline; after the end marker, linger briefly for stragglers.
    let mut linger_until: Option<Instant> = None;
    loop {
        let now = Instant::now();
        let stop = linger_until.map_or(deadline, |l| l.min(deadline));
        if now >= stop {
            break;
        }
        let Some(pkt) = sock.recv(&mut buf, stop - now)? else {
            continue;
        };
        if pkt.outgoing {
            continue;
        }
        let Some(payload) = udp_payload(&buf[..pkt.len], port) else {
            continue;
        };
        match Message::parse(payload) {
            Some(Message::Data {
                seq,
                sent_ns,
                interval_us: i,
            }) => {
                interval_us = i;
                arrivals.push(Arrival {
                    seq,
                    at_ns: pkt.at_ns,
                    sent_ns,
                    via: mac_string(&buf[6..12]),
                    iface: pkt.iface,
                });
            }
            Some(Message::End {
                sent,
                interval_us: i,
            }) if end.is_none() => {
                end = Some((sent, i));
                linger_until = Some(Instant::now() + Duration::from_millis(20));
            }
            Some(Message::End { .. }) | None => {}
        }
    }
    let interval_us = end.map_or(interval_us, |e| e.1);
    Ok(analyze(end.map(|e| e.0), interval_us, &arrivals))
}

/// The UDP payload of an Ethernet frame carrying IPv4 or IPv6 UDP to `port`.
pub fn udp_payload(frame: &[u8], port: u16) -> Option<&[u8]> {
    let ethertype = u16::from_be_bytes([*frame.get(12)?, *frame.get(13)?]);
    let (l4, proto) = match ethertype {
        0x0800 => {
            let ip = frame.get(14..)?;
            let ihl = usize::from(ip.first()? & 0x0f) * 4;
            if ihl < 20 {
                return None;
            }
            (ip.get(ihl..)?, *ip.get(9)?)
        }
        0x86dd => {
            let ip = frame.get(14..)?;
            (ip.get(40..)?, *ip.get(6)?)
        }
        _ => return None,
    };
    if proto != 17 || u16::from_be_bytes([*l4.get(2)?, *l4.get(3)?]) != port {
        return None;
    }
    l4.get(8..)
}

pub fn mac_string(b: &[u8]) -> String {
    b.iter()
        .map(|x| format!("{x:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// One frame read from the packet socket.
struct Received {
    len: usize,
    at_ns: u64,
    iface: String,
    outgoing: bool,
}

/// AF_PACKET socket on all interfaces with kernel receive timestamps.
struct PacketSocket {
    fd: std::os::fd::OwnedFd,
}

impl PacketSocket {
    fn open(iface: Option<&str>) -> Result<PacketSocket> {
        use std::os::fd::FromRawFd;
        let proto = (libc::ETH_P_ALL as u16).to_be() as i32;
        // SAFETY: plain socket call; the fd is owned below.
        let fd = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW, proto) };
        if fd < 0 {
            bail!("socket(AF_PACKET): {}", io::Error::last_os_error());
        }
        // SAFETY: fd is a fresh, valid descriptor that nothing else owns.
        let fd = unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) };
        let on: libc::c_int = 1;
        let raw = std::os::fd::AsRawFd::as_raw_fd(&fd);
        // SAFETY: valid fd, option value of the right size.
        let rc = unsafe {
            libc::setsockopt(
                raw,
                libc::SOL_SOCKET,
                libc::SO_TIMESTAMPNS,
                (&on as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        if rc != 0 {
            bail!("SO_TIMESTAMPNS: {}", io::Error::last_os_error());
        }
        let size: libc::c_int = 4 << 20;
        // SAFETY: as above. A failure only means a smaller buffer.
        unsafe {
            libc::setsockopt(
                raw,
                libc::SOL_SOCKET,
                libc::SO_RCVBUF,
                (&size as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            );
        }
        if let Some(name) = iface {
            let c = std::ffi::CString::new(name).context("interface name")?;
            // SAFETY: NUL-terminated name.
            let index = unsafe { libc::if_nametoindex(c.as_ptr()) };
            if index == 0 {
                bail!("no interface {name} here");
            }
            // SAFETY: zeroed sockaddr_ll, filled in; valid fd and length.
            let rc = unsafe {
                let mut sll: libc::sockaddr_ll = std::mem::zeroed();
                sll.sll_family = libc::AF_PACKET as u16;
                sll.sll_protocol = proto as u16;
                sll.sll_ifindex = index as i32;
                libc::bind(
                    raw,
                    (&sll as *const libc::sockaddr_ll).cast(),
                    std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
                )
            };
            if rc != 0 {
                bail!("binding to {name}: {}", io::Error::last_os_error());
            }
        }
        Ok(PacketSocket { fd })
    }

    /// One frame, or `None` when nothing arrives within `wait`.
    fn recv(&self, buf: &mut [u8], wait: Duration) -> Result<Option<Received>> {
        let raw = std::os::fd::AsRawFd::as_raw_fd(&self.fd);
        let mut pfd = libc::pollfd {
            fd: raw,
            events: libc::POLLIN,
            revents: 0,
        };
        let ms = wait.as_millis().clamp(1, 1000) as libc::c_int;
        // SAFETY: one valid pollfd.
        let n = unsafe { libc::poll(&mut pfd, 1, ms) };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                return Ok(None);
            }
            bail!("poll: {e}");
        }
        if n == 0 {
            return Ok(None);
        }
        // SAFETY: zeroed plain-data structs, buffers outlive the call, lengths are theirs.
        unsafe {
            let mut addr: libc::sockaddr_ll = std::mem::zeroed();
            let mut iov = libc::iovec {
                iov_base: buf.as_mut_ptr().cast(),
                iov_len: buf.len(),
            };
            let mut control = [0u64; 16];
            let mut msg: libc::msghdr = std::mem::zeroed();
            msg.msg_name = (&mut addr as *mut libc::sockaddr_ll).cast();
            msg.msg_namelen = std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t;
            msg.msg_iov = &mut iov;
            msg.msg_iovlen = 1;
            msg.msg_control = control.as_mut_ptr().cast();
            msg.msg_controllen = std::mem::size_of_val(&control) as _;
            let len = libc::recvmsg(raw, &mut msg, libc::MSG_DONTWAIT);
            if len < 0 {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::WouldBlock || e.kind() == io::ErrorKind::Interrupted {
                    return Ok(None);
                }
                bail!("recvmsg: {e}");
            }
            let mut at_ns = now_ns();
            let mut cmsg = libc::CMSG_FIRSTHDR(&msg);
            while !cmsg.is_null() {
                let c = &*cmsg;
                if c.cmsg_level == libc::SOL_SOCKET && c.cmsg_type == libc::SCM_TIMESTAMPNS {
                    let ts: libc::timespec = std::ptr::read_unaligned(libc::CMSG_DATA(cmsg).cast());
                    at_ns = ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64;
                }
                cmsg = libc::CMSG_NXTHDR(&msg, cmsg);
            }
            let mut name = [0 as libc::c_char; libc::IF_NAMESIZE];
            let iface =
                if libc::if_indextoname(addr.sll_ifindex as u32, name.as_mut_ptr()).is_null() {
                    format!("if{}", addr.sll_ifindex)
                } else {
                    std::ffi::CStr::from_ptr(name.as_ptr())
                        .to_string_lossy()
                        .into_owned()
                };
            Ok(Some(Received {
                len: len as usize,
                at_ns,
                iface,
                outgoing: addr.sll_pkttype == libc::PACKET_OUTGOING,
            }))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;
    const R1: &str = "02:00:00:00:00:01";
    const R2: &str = "02:00:00:00:00:02";

    /// Packet `seq`, sent on schedule (1 ms apart) and arrived at `at_ms`.
    fn arr(seq: u64, at_ms: f64, via: &str) -> Arrival {
        Arrival {
            seq,
            at_ns: (at_ms * MS as f64) as u64,
            sent_ns: seq * MS,
            via: via.into(),
            iface: "s0".into(),
        }
    }

    /// A stream of `n` packets 1 ms apart, delivered by `via(seq)`, minus `lost`.
    fn stream(
        n: u64,
        lost: std::ops::Range<u64>,
        via: impl Fn(u64) -> &'static str,
    ) -> Vec<Arrival> {
        (0..n)
            .filter(|s| !lost.contains(s))
            .map(|s| arr(s, s as f64, via(s)))
            .collect()
    }

    #[test]
    fn payload_round_trips_and_rejects_foreign_datagrams() {
        let d = Message::Data {
            seq: 0x0102_0304_0506_0708,
            sent_ns: 42,
            interval_us: 1000,
        };
        let b = d.emit();
        assert_eq!(&b[0..4], b"HSRP");
        assert_eq!(b[4], 1);
        assert_eq!(&b[8..16], &[1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(Message::parse(&b), Some(d));
        let e = Message::End {
            sent: 9,
            interval_us: 500,
        };
        assert_eq!(Message::parse(&e.emit()), Some(e));
        assert_eq!(Message::parse(&b[..PAYLOAD_LEN - 1]), None, "short");
        let mut other = b;
        other[0] = b'X';
        assert_eq!(Message::parse(&other), None, "wrong magic");
        other = b;
        other[4] = 7;
        assert_eq!(Message::parse(&other), None, "unknown kind");
    }

    #[test]
    fn clean_stream_has_no_outage_beyond_the_interval() {
        let r = analyze(Some(100), 1000, &stream(100, 0..0, |_| R1));
        assert_eq!((r.sent, r.received, r.lost, r.duplicates), (100, 100, 0, 0));
        assert!((r.outage_ms - 1.0).abs() < 1e-9, "{}", r.outage_ms);
        assert_eq!(r.router_changes(), 0);
        assert_eq!(r.routers(), vec![R1]);
        assert_eq!((r.head_lost, r.tail_lost, r.reordered), (0, 0, 0));
    }

    #[test]
    fn failover_gap_is_measured_and_attributed() {
        // r1 delivers 0..=39, nothing for 40..=189, r2 from 190.
        let a = stream(300, 40..190, |s| if s < 40 { R1 } else { R2 });
        let r = analyze(Some(300), 1000, &a);
        assert_eq!(r.lost, 150);
        assert_eq!(r.received, 150);
        assert!((r.outage_ms - 151.0).abs() < 1e-9, "{}", r.outage_ms);
        assert_eq!((r.outage_after_seq, r.outage_before_seq), (39, 190));
        assert_eq!(r.outage_start_ns, 39 * MS);
        assert_eq!(r.router_changes(), 1);
        assert_eq!(r.per_router[R1], 40);
        assert_eq!(r.per_router[R2], 110);
        assert_eq!(
            r.segments[1],
            Segment {
                via: R2.into(),
                first_seq: 190,
                last_seq: 299,
                packets: 110
            }
        );
        assert_eq!(r.duplicates, 0);
    }

    #[test]
    fn a_wall_clock_step_or_a_late_sender_is_not_an_outage() {
        // The wall clock steps 20 s forward after seq 50: sent and arrival stamps both jump.
        let step = 20_000 * MS;
        let mut a = stream(100, 0..0, |_| R1);
        for x in a.iter_mut().filter(|x| x.seq > 50) {
            x.at_ns += step;
            x.sent_ns += step;
        }
        let r = analyze(Some(100), 1000, &a);
        assert!((r.outage_ms - 1.0).abs() < 1e-9, "{}", r.outage_ms);
        assert!(
            (r.sender_late_ms - 20_000.0).abs() < 1e-9,
            "{}",
            r.sender_late_ms
        );
        // The sender starved 30 ms before seq 60 and then caught up in a burst: nothing of
        // the gateway's. Packets lost in that burst still count, as the stream time they
        // span (10 lost: 59 -> 70 is 11 intervals of the schedule, + 0.1 ms of transit).
        let mut a = stream(100, 0..0, |_| R1);
        for x in a.iter_mut().filter(|x| (60..90).contains(&x.seq)) {
            x.sent_ns = 89 * MS;
            x.at_ns = 89 * MS + 100_000;
        }
        let r = analyze(Some(100), 1000, &a);
        assert!(r.outage_ms < 1.2, "{}", r.outage_ms);
        a.retain(|x| !(60..70).contains(&x.seq));
        let r = analyze(Some(100), 1000, &a);
        assert!((r.outage_ms - 11.1).abs() < 1e-6, "{}", r.outage_ms);
        assert_eq!(
            (r.lost, r.outage_after_seq, r.outage_before_seq),
            (10, 59, 70)
        );
    }

    #[test]
    fn duplicates_from_two_routers_and_interleaving_are_detected() {
        // Both routers forward seq 10..20 (each packet twice), then take turns.
        let mut a = stream(30, 0..0, |s| if s < 20 || s % 2 == 0 { R1 } else { R2 });
        for s in 10..20 {
            a.push(arr(s, s as f64 + 0.1, R2));
        }
        a.push(arr(24, 24.2, R1)); // same router twice: a duplicate, not by two routers
        let r = analyze(Some(30), 1000, &a);
        assert_eq!(r.duplicates, 11);
        assert_eq!(r.duplicates_by_two_routers, 10);
        assert_eq!(r.lost, 0);
        assert!(r.router_changes() >= 9, "{:?}", r.segments);
    }

    #[test]
    fn reordering_head_and_tail_loss_and_missing_end_marker() {
        let mut a = stream(50, 0..5, |_| R1);
        a.retain(|x| x.seq < 45);
        a.push(arr(7, 20.5, R1)); // late copy? no: 7 is already there -> duplicate
        a.retain(|x| !(x.seq == 30 && x.at_ns == 30 * MS));
        a.push(arr(30, 33.5, R1)); // 30 arrives after 31..33
        let r = analyze(Some(50), 1000, &a);
        assert_eq!(r.head_lost, 5);
        assert_eq!(r.tail_lost, 5);
        assert_eq!(r.lost, 10);
        assert_eq!(r.reordered, 1);
        assert_eq!(r.duplicates, 1);
        // Without the end marker the count comes from the highest sequence number.
        let r = analyze(None, 1000, &a);
        assert!(!r.end_marker_seen);
        assert_eq!((r.sent, r.tail_lost, r.lost), (45, 0, 5));
    }

    #[test]
    fn empty_capture_is_all_lost() {
        let r = analyze(Some(10), 1000, &[]);
        assert_eq!((r.received, r.lost, r.head_lost), (0, 10, 10));
        assert_eq!(r.outage_ms, 0.0);
        assert!(r.segments.is_empty());
    }

    #[test]
    fn udp_payload_is_found_in_ipv4_and_ipv6_frames() {
        let body = Message::End {
            sent: 1,
            interval_us: 1,
        }
        .emit();
        let mut v4 = vec![0u8; 14];
        v4[12..14].copy_from_slice(&[0x08, 0x00]);
        let mut ip = vec![0u8; 20];
        ip[0] = 0x45;
        ip[9] = 17;
        v4.extend(ip);
        v4.extend([0x12, 0x34, 0x27, 0x0f, 0, 36, 0, 0]); // dport 9999
        v4.extend(body);
        assert_eq!(udp_payload(&v4, 9999), Some(&body[..]));
        assert_eq!(udp_payload(&v4, 9998), None, "other port");
        assert_eq!(udp_payload(&v4[..30], 9999), None, "truncated");
        let mut v6 = vec![0u8; 14];
        v6[12..14].copy_from_slice(&[0x86, 0xdd]);
        let mut ip6 = vec![0u8; 40];
        ip6[6] = 17;
        v6.extend(ip6);
        v6.extend([0x12, 0x34, 0x27, 0x0f, 0, 36, 0, 0]);
        v6.extend(body);
        assert_eq!(udp_payload(&v6, 9999), Some(&body[..]));
        v6[14 + 6] = 6; // TCP
        assert_eq!(udp_payload(&v6, 9999), None);
    }
}
