//! Conntrack through ctnetlink (nfnetlink subsystem `NFNL_SUBSYS_CTNETLINK`): the table
//! dumped, its events (new, update, destroy) received, and an entry's timeout and TCP
//! window-tracking flags updated, for the accepted-flow path.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use rtnetlink::sys::Socket;

use super::nfhooks::{
    attrs, be_u32, event_socket, nfnl_err, push_attr, read_dump, request_socket, NLM_F_DUMP,
    NLM_F_REQUEST,
};
use super::Result;
use crate::accepted_flow::{CtEntry, CtTuple, TimeoutKind, IPPROTO_TCP};

const NFNL_SUBSYS_CTNETLINK: u16 = 1;
const IPCTNL_MSG_CT_NEW: u16 = 0;
const IPCTNL_MSG_CT_GET: u16 = 1;
const IPCTNL_MSG_CT_DELETE: u16 = 2;
const NLM_F_ACK: u16 = 0x4;
/// Set on the event of a new entry.
const NLM_F_CREATE: u16 = 0x400;
/// NFNLGRP_CONNTRACK_NEW, _UPDATE, _DESTROY.
const GROUPS: [u32; 3] = [1, 2, 3];

const CTA_TUPLE_ORIG: u16 = 1;
const CTA_TUPLE_REPLY: u16 = 2;
const CTA_STATUS: u16 = 3;
const CTA_PROTOINFO: u16 = 4;
const CTA_HELP: u16 = 5;
const CTA_TIMEOUT: u16 = 7;
const CTA_ZONE: u16 = 18;
const CTA_TUPLE_IP: u16 = 1;
const CTA_TUPLE_PROTO: u16 = 2;
const CTA_IP_V4_SRC: u16 = 1;
const CTA_IP_V4_DST: u16 = 2;
const CTA_IP_V6_SRC: u16 = 3;
const CTA_IP_V6_DST: u16 = 4;
const CTA_PROTO_NUM: u16 = 1;
const CTA_PROTO_SRC_PORT: u16 = 2;
const CTA_PROTO_DST_PORT: u16 = 3;
const CTA_PROTOINFO_TCP: u16 = 1;
const CTA_PROTOINFO_TCP_STATE: u16 = 1;
const CTA_PROTOINFO_TCP_FLAGS_ORIGINAL: u16 = 4;
const CTA_PROTOINFO_TCP_FLAGS_REPLY: u16 = 5;
/// IP_CT_TCP_FLAG_BE_LIBERAL: conntrack stops checking this direction's sequence
/// numbers against its window (what the kernel's own flowtable sets on the flows it
/// takes over: conntrack does not see the segments in between).
const TCP_FLAG_BE_LIBERAL: u8 = 0x08;
const NESTED: u16 = 0x8000;

/// What happened to an entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CtEvent {
    New(CtEntry),
    Update(CtEntry),
    Destroy(CtEntry),
}

/// A socket for requests: dumps and updates.
pub struct Conntrack {
    sock: Socket,
    seq: u32,
}

impl Conntrack {
    pub fn open() -> Result<Conntrack> {
        Ok(Conntrack {
            sock: request_socket()?,
            seq: 0,
        })
    }

    /// Every entry of the namespace's table (IPv4 and IPv6); entries that cannot be
    /// parsed are left out (they are not admitted).
    pub fn dump(&mut self) -> Result<Vec<CtEntry>> {
        self.seq += 1;
        let seq = self.seq;
        let m = request(IPCTNL_MSG_CT_GET, NLM_F_DUMP, 0, seq, &[]);
        self.sock
            .send(&m, 0)
            .map_err(|e| nfnl_err("conntrack dump request".into(), e))?;
        let mut out = Vec::new();
        let kind = NFNL_SUBSYS_CTNETLINK << 8 | IPCTNL_MSG_CT_NEW;
        read_dump(&self.sock, seq, kind, |p| out.extend(parse_entry(p)))
            .map_err(|e| nfnl_err("conntrack dump".into(), e))?;
        Ok(out)
    }

    /// Sets the entry of `orig` to expire `timeout_s` from now and, for TCP, its window
    /// tracking liberal in both directions. `Ok(false)`: the entry is gone.
    pub fn refresh(&mut self, orig: &CtTuple, timeout_s: u32) -> Result<bool> {
        self.seq += 1;
        let seq = self.seq;
        let mut body = Vec::new();
        let mut t = Vec::new();
        push_tuple(&mut t, orig);
        push_attr(&mut body, CTA_TUPLE_ORIG | NESTED, &t);
        push_attr(&mut body, CTA_TIMEOUT, &timeout_s.to_be_bytes());
        if orig.proto == IPPROTO_TCP {
            let flags = [TCP_FLAG_BE_LIBERAL, TCP_FLAG_BE_LIBERAL];
            let mut tcp = Vec::new();
            push_attr(&mut tcp, CTA_PROTOINFO_TCP_FLAGS_ORIGINAL, &flags);
            push_attr(&mut tcp, CTA_PROTOINFO_TCP_FLAGS_REPLY, &flags);
            let mut info = Vec::new();
            push_attr(&mut info, CTA_PROTOINFO_TCP | NESTED, &tcp);
            push_attr(&mut body, CTA_PROTOINFO | NESTED, &info);
        }
        let family = if orig.src.is_ipv4() { 2 } else { 10 };
        let m = request(IPCTNL_MSG_CT_NEW, NLM_F_ACK, family, seq, &body);
        self.sock
            .send(&m, 0)
            .map_err(|e| nfnl_err("conntrack update".into(), e))?;
        match read_dump(&self.sock, seq, 0, |_| {}) {
            Ok(()) => Ok(true),
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(false),
            Err(e) => Err(nfnl_err("conntrack update".into(), e)),
        }
    }
}

fn request(msg: u16, flags: u16, family: u8, seq: u32, body: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(20 + body.len());
    m.extend_from_slice(&((20 + body.len()) as u32).to_ne_bytes());
    m.extend_from_slice(&(NFNL_SUBSYS_CTNETLINK << 8 | msg).to_ne_bytes());
    m.extend_from_slice(&(NLM_F_REQUEST | flags).to_ne_bytes());
    m.extend_from_slice(&seq.to_ne_bytes());
    m.extend_from_slice(&0u32.to_ne_bytes());
    m.extend_from_slice(&[family, 0, 0, 0]);
    m.extend_from_slice(body);
    m
}

/// CTA_TUPLE_IP and CTA_TUPLE_PROTO of `t`.
pub fn push_tuple(m: &mut Vec<u8>, t: &CtTuple) {
    let mut ip = Vec::new();
    match (t.src, t.dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            push_attr(&mut ip, CTA_IP_V4_SRC, &s.octets());
            push_attr(&mut ip, CTA_IP_V4_DST, &d.octets());
        }
        (s, d) => {
            push_attr(&mut ip, CTA_IP_V6_SRC, &v6(s).octets());
            push_attr(&mut ip, CTA_IP_V6_DST, &v6(d).octets());
        }
    }
    push_attr(m, CTA_TUPLE_IP | NESTED, &ip);
    let mut proto = Vec::new();
    push_attr(&mut proto, CTA_PROTO_NUM, &[t.proto]);
    push_attr(&mut proto, CTA_PROTO_SRC_PORT, &t.sport.to_be_bytes());
    push_attr(&mut proto, CTA_PROTO_DST_PORT, &t.dport.to_be_bytes());
    push_attr(m, CTA_TUPLE_PROTO | NESTED, &proto);
}

fn v6(a: IpAddr) -> Ipv6Addr {
    match a {
        IpAddr::V6(a) => a,
        IpAddr::V4(a) => a.to_ipv6_mapped(),
    }
}

/// One entry from a ctnetlink message's payload (nfgenmsg + attributes); `None` if it is
/// malformed or not TCP/UDP-shaped (no ports).
pub fn parse_entry(payload: &[u8]) -> Option<CtEntry> {
    let (mut orig, mut reply) = (None, None);
    let mut e = CtEntry {
        orig: empty_tuple(),
        reply: empty_tuple(),
        status: 0,
        tcp_state: None,
        timeout: None,
        helper: false,
        zone: 0,
    };
    for (k, v) in attrs(payload.get(4..)?)? {
        match k {
            CTA_TUPLE_ORIG => orig = parse_tuple(v),
            CTA_TUPLE_REPLY => reply = parse_tuple(v),
            CTA_STATUS => e.status = be_u32(v)?,
            CTA_TIMEOUT => e.timeout = be_u32(v),
            CTA_HELP => e.helper = true,
            CTA_ZONE => e.zone = u16::from_be_bytes(v.get(..2)?.try_into().ok()?),
            CTA_PROTOINFO => {
                for (k, v) in attrs(v)? {
                    if k == CTA_PROTOINFO_TCP {
                        for (k, v) in attrs(v)? {
                            if k == CTA_PROTOINFO_TCP_STATE {
                                e.tcp_state = v.first().copied();
                            }
                        }
                    }
                }
            }
            _ => {}
        }
    }
    e.orig = orig?;
    // A destroy event may carry only the original tuple.
    e.reply = reply.unwrap_or_else(|| e.orig.reversed());
    Some(e)
}

fn empty_tuple() -> CtTuple {
    CtTuple {
        src: Ipv4Addr::UNSPECIFIED.into(),
        dst: Ipv4Addr::UNSPECIFIED.into(),
        proto: 0,
        sport: 0,
        dport: 0,
    }
}

fn parse_tuple(v: &[u8]) -> Option<CtTuple> {
    let mut t = empty_tuple();
    let (mut src, mut dst, mut ports) = (None, None, 0);
    for (k, v) in attrs(v)? {
        match k {
            CTA_TUPLE_IP => {
                for (k, a) in attrs(v)? {
                    let addr = match k {
                        CTA_IP_V4_SRC | CTA_IP_V4_DST => IpAddr::from(<[u8; 4]>::try_from(a).ok()?),
                        CTA_IP_V6_SRC | CTA_IP_V6_DST => {
                            IpAddr::from(<[u8; 16]>::try_from(a).ok()?)
                        }
                        _ => continue,
                    };
                    if matches!(k, CTA_IP_V4_SRC | CTA_IP_V6_SRC) {
                        src = Some(addr);
                    } else {
                        dst = Some(addr);
                    }
                }
            }
            CTA_TUPLE_PROTO => {
                for (k, p) in attrs(v)? {
                    let port = || Some(u16::from_be_bytes(p.get(..2)?.try_into().ok()?));
                    match k {
                        CTA_PROTO_NUM => t.proto = *p.first()?,
                        CTA_PROTO_SRC_PORT => (t.sport, ports) = (port()?, ports + 1),
                        CTA_PROTO_DST_PORT => (t.dport, ports) = (port()?, ports + 1),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    if ports != 2 {
        return None;
    }
    t.src = src?;
    t.dst = dst?;
    Some(t)
}

/// A socket that receives conntrack's events (new, update, destroy).
pub struct CtEvents {
    sock: Socket,
}

/// [`CtEvents::drain`] lost events (the socket overran): the caller must re-read the
/// table.
#[derive(Debug)]
pub struct Overrun;

impl CtEvents {
    pub fn subscribe() -> Result<CtEvents> {
        Ok(CtEvents {
            sock: event_socket(&GROUPS)?,
        })
    }

    pub fn fd(&self) -> std::os::fd::BorrowedFd<'_> {
        use std::os::fd::AsFd;
        self.sock.as_fd()
    }

    /// The queued events, in order, from at most `limit` datagrams (so one burst cannot
    /// hold the caller forever), and whether more are queued; `Err(Overrun)` if the
    /// kernel dropped some.
    pub fn drain(&self, limit: usize) -> std::result::Result<(Vec<CtEvent>, bool), Overrun> {
        let mut buf = vec![0u8; 64 * 1024];
        let mut out = Vec::new();
        for _ in 0..limit {
            match self.sock.recv(&mut &mut buf[..], 0) {
                Ok(n) => parse_events(&buf[..n], &mut out),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok((out, false)),
                Err(_) => return Err(Overrun), // ENOBUFS, or the socket failed
            }
        }
        Ok((out, true))
    }
}

impl std::os::fd::AsRawFd for CtEvents {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.sock.as_raw_fd()
    }
}

/// The events of one datagram (several netlink messages).
pub fn parse_events(buf: &[u8], out: &mut Vec<CtEvent>) {
    use rtnetlink::packet_core::NetlinkBuffer;
    let mut off = 0;
    while off < buf.len() {
        let Ok(msg) = NetlinkBuffer::new_checked(&buf[off..]) else {
            return;
        };
        let len = msg.length() as usize;
        off += (len + 3) & !3;
        if msg.message_type() >> 8 != NFNL_SUBSYS_CTNETLINK {
            continue;
        }
        let Some(e) = parse_entry(msg.payload()) else {
            continue;
        };
        out.push(match msg.message_type() & 0xff {
            IPCTNL_MSG_CT_NEW if msg.flags() & NLM_F_CREATE != 0 => CtEvent::New(e),
            IPCTNL_MSG_CT_NEW => CtEvent::Update(e),
            IPCTNL_MSG_CT_DELETE => CtEvent::Destroy(e),
            _ => continue,
        });
    }
}

/// The configured timeout (seconds) of `kind`, from
/// /proc/sys/net/netfilter/nf_conntrack_* of this namespace.
pub fn timeout(kind: TimeoutKind) -> Option<u32> {
    let name = match kind {
        TimeoutKind::TcpEstablished => "nf_conntrack_tcp_timeout_established",
        TimeoutKind::UdpStream => "nf_conntrack_udp_timeout_stream",
        TimeoutKind::Udp => "nf_conntrack_udp_timeout",
    };
    std::fs::read_to_string(format!("/proc/sys/net/netfilter/{name}"))
        .ok()?
        .trim()
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accepted_flow::IPPROTO_UDP;

    fn tuple(src: &str, dst: &str) -> CtTuple {
        CtTuple {
            src: src.parse().unwrap(),
            dst: dst.parse().unwrap(),
            proto: IPPROTO_UDP,
            sport: 40000,
            dport: 7300,
        }
    }

    /// An event message as the kernel sends it: nlmsghdr, nfgenmsg, attributes.
    fn event(flags: u16, msg: u16, orig: &CtTuple, status: u32, tcp: Option<u8>) -> Vec<u8> {
        let mut body = Vec::new();
        let mut t = Vec::new();
        push_tuple(&mut t, orig);
        push_attr(&mut body, CTA_TUPLE_ORIG | NESTED, &t);
        let mut t = Vec::new();
        push_tuple(&mut t, &orig.reversed());
        push_attr(&mut body, CTA_TUPLE_REPLY | NESTED, &t);
        push_attr(&mut body, CTA_STATUS, &status.to_be_bytes());
        push_attr(&mut body, CTA_TIMEOUT, &30u32.to_be_bytes());
        if let Some(s) = tcp {
            let mut tcp = Vec::new();
            push_attr(&mut tcp, CTA_PROTOINFO_TCP_STATE, &[s]);
            let mut info = Vec::new();
            push_attr(&mut info, CTA_PROTOINFO_TCP | NESTED, &tcp);
            push_attr(&mut body, CTA_PROTOINFO | NESTED, &info);
        }
        let mut m = request(msg, 0, 2, 0, &body);
        m[6..8].copy_from_slice(&flags.to_ne_bytes());
        m
    }

    #[test]
    fn events_parse_into_entries() {
        let t4 = tuple("10.0.0.100", "10.1.0.100");
        let t6 = tuple("2001:db8::100", "2001:db8:1::100");
        let mut buf = event(NLM_F_CREATE, IPCTNL_MSG_CT_NEW, &t4, 8, None);
        buf.extend(event(0, IPCTNL_MSG_CT_NEW, &t6, 0xe, Some(3)));
        buf.extend(event(0, IPCTNL_MSG_CT_DELETE, &t4, 0xe, None));
        let mut out = Vec::new();
        parse_events(&buf, &mut out);
        assert_eq!(out.len(), 3);
        let CtEvent::New(e) = &out[0] else {
            panic!("{out:?}")
        };
        assert_eq!((e.orig, e.reply, e.status), (t4, t4.reversed(), 8));
        assert_eq!(e.timeout, Some(30));
        let CtEvent::Update(e) = &out[1] else {
            panic!("{out:?}")
        };
        assert_eq!((e.orig, e.tcp_state), (t6, Some(3)));
        assert!(matches!(&out[2], CtEvent::Destroy(e) if e.orig == t4));
        // Garbage and truncation: nothing, no panic.
        let mut cut = event(0, IPCTNL_MSG_CT_NEW, &t4, 8, None);
        cut.truncate(40);
        let mut out = Vec::new();
        parse_events(&cut, &mut out);
        parse_events(&[0xff; 7], &mut out);
        assert!(out.is_empty());
        // Every truncation and every single-byte corruption: no panic.
        for n in 0..buf.len() {
            parse_events(&buf[..n], &mut Vec::new());
            let mut bad = buf.clone();
            bad[n] ^= 0xa5;
            parse_events(&bad, &mut Vec::new());
        }
    }

    #[test]
    fn a_refresh_request_names_the_tuple_and_the_timeout() {
        let t = tuple("10.0.0.100", "10.1.0.100");
        let mut body = Vec::new();
        let mut tt = Vec::new();
        push_tuple(&mut tt, &t);
        push_attr(&mut body, CTA_TUPLE_ORIG | NESTED, &tt);
        let parsed = parse_entry(&[&[2, 0, 0, 0][..], &body].concat()).unwrap();
        assert_eq!(parsed.orig, t);
        let m = request(IPCTNL_MSG_CT_NEW, NLM_F_ACK, 2, 9, &body);
        assert_eq!(u16::from_ne_bytes([m[4], m[5]]), 0x0100);
        assert_eq!(u16::from_ne_bytes([m[6], m[7]]), NLM_F_REQUEST | NLM_F_ACK);
        assert_eq!(
            u32::from_ne_bytes([m[0], m[1], m[2], m[3]]) as usize,
            m.len()
        );
    }
}
