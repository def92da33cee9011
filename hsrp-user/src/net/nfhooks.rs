//! Which netfilter hooks are registered in this network namespace, read from the kernel
//! (nfnetlink, `NFNL_SUBSYS_HOOK`: what `nft list hooks` prints), and the nftables change
//! notifications (`NFNLGRP_NFTABLES`: every committed ruleset change ends with an
//! `NFT_MSG_NEWGEN`).
//!
//! The hook dump lists every function registered on a hook, whoever registered it:
//! nftables base chains (with their table and chain names), iptables-nft (the same),
//! legacy x_tables tables (`iptable_filter_hook`, ...), conntrack, defragmentation, NAT,
//! and BPF netfilter programs. Legacy iptables sends no notification, so a caller that
//! must see it re-reads the hooks periodically.

use std::io;
use std::time::Duration;

use rtnetlink::packet_core::{NetlinkBuffer, NlaBuffer, NlasIterator};
use rtnetlink::sys::{protocols::NETLINK_NETFILTER, Socket, SocketAddr};

use super::{NetError, Result};

/// nfnetlink subsystems and messages (linux/netfilter/nfnetlink.h, nfnetlink_hook.h).
const NFNL_SUBSYS_HOOK: u16 = 12;
const NFNL_MSG_HOOK_GET: u16 = 0;
const NFNLA_HOOK_HOOKNUM: u16 = 1;
const NFNLA_HOOK_PRIORITY: u16 = 2;
const NFNLA_HOOK_DEV: u16 = 3;
const NFNLA_HOOK_FUNCTION_NAME: u16 = 4;
const NFNLA_HOOK_MODULE_NAME: u16 = 5;
const NFNLA_HOOK_CHAIN_INFO: u16 = 6;
const NFNLA_HOOK_INFO_DESC: u16 = 1;
const NFNLA_HOOK_INFO_TYPE: u16 = 2;
const NFNLA_CHAIN_TABLE: u16 = 1;
const NFNLA_CHAIN_FAMILY: u16 = 2;
const NFNLA_CHAIN_NAME: u16 = 3;
const NFNL_HOOK_TYPE_NFTABLES: u32 = 1;
const NFNL_HOOK_TYPE_BPF: u32 = 2;
/// The nftables multicast group (NFNLGRP_NFTABLES).
const NFNLGRP_NFTABLES: u32 = 7;

pub(super) const NLM_F_REQUEST: u16 = 0x1;
pub(super) const NLM_F_DUMP: u16 = 0x300;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
/// NLA_TYPE_MASK: the type without the nested / byte-order flags.
pub(super) const NLA_TYPE_MASK: u16 = 0x3fff;

/// Netfilter protocol families (linux/netfilter.h).
pub const NFPROTO_INET: u8 = 1;
pub const NFPROTO_IPV4: u8 = 2;
pub const NFPROTO_NETDEV: u8 = 5;
pub const NFPROTO_IPV6: u8 = 10;

/// Hook numbers: IPv4/IPv6 (NF_INET_*) and netdev (NF_NETDEV_*).
pub const NF_INET_PRE_ROUTING: u32 = 0;
pub const NF_INET_LOCAL_IN: u32 = 1;
pub const NF_INET_FORWARD: u32 = 2;
pub const NF_INET_LOCAL_OUT: u32 = 3;
pub const NF_INET_POST_ROUTING: u32 = 4;
pub const NF_NETDEV_INGRESS: u32 = 0;
pub const NF_NETDEV_EGRESS: u32 = 1;

/// Bound on one reply of the kernel.
const RECV_TIMEOUT: Duration = Duration::from_secs(2);

/// One function registered on a netfilter hook.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NfHook {
    /// The family the hook was asked for: [`NFPROTO_IPV4`], [`NFPROTO_IPV6`] or
    /// [`NFPROTO_NETDEV`].
    pub family: u8,
    pub hooknum: u32,
    /// The device, for netdev hooks.
    pub dev: Option<String>,
    pub priority: i32,
    /// The registered function ("nft_do_chain_inet", "iptable_filter_hook",
    /// "ipv4_conntrack_in", ...); empty when the kernel did not say.
    pub function: String,
    pub module: String,
    pub owner: HookOwner,
}

/// Who registered a hook, when the kernel says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HookOwner {
    /// An nftables base chain (also iptables-nft's chains).
    Nftables {
        family: u8,
        table: String,
        chain: String,
    },
    /// A BPF netfilter program.
    Bpf,
    /// A legacy iptables/ip6tables table (x_tables), by name: its hooks are not listed
    /// individually (raw and nat see prerouting, filter forward, ...).
    XTables { table: String },
    /// Anything else: x_tables, conntrack, defrag, NAT helpers, ...
    Other,
}

/// One query of the hook dump: a family and hook number, and the device for netdev.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HookQuery {
    pub family: u8,
    pub hooknum: u32,
    pub dev: Option<String>,
}

/// Reads the hooks named by `queries` (each one dump). A netdev query for a device that
/// disappeared meanwhile answers nothing; any other error fails the whole read.
pub fn dump_hooks(queries: &[HookQuery]) -> Result<Vec<NfHook>> {
    let sock = request_socket()?;
    let mut hooks = Vec::new();
    for (seq, q) in queries.iter().enumerate() {
        let seq = seq as u32 + 1;
        let req = hook_request(q, seq);
        sock.send(&req, 0)
            .map_err(|e| nfnl_err(format!("hook dump request {q:?}"), e))?;
        let kind = NFNL_SUBSYS_HOOK << 8 | NFNL_MSG_HOOK_GET;
        match read_dump(&sock, seq, kind, |p| hooks.extend(parse_hook(q, p))) {
            Ok(()) => {}
            Err(e) if q.dev.is_some() && e.raw_os_error() == Some(libc::ENODEV) => {}
            Err(e) => return Err(nfnl_err(format!("hook dump {q:?}"), e)),
        }
    }
    Ok(hooks)
}

/// Whether an error of [`dump_hooks`] means the kernel has no hook dump at all
/// (CONFIG_NETFILTER_NETLINK_HOOK off: nfnetlink answers EINVAL for the unknown
/// subsystem; EOPNOTSUPP/ENOENT from other versions).
pub fn hook_dump_unsupported(e: &NetError) -> bool {
    matches!(
        e,
        NetError::Nfnetlink { source, .. }
            if matches!(
                source.raw_os_error(),
                Some(libc::EINVAL | libc::EOPNOTSUPP | libc::ENOENT)
            )
    )
}

/// nftables (NFNL_SUBSYS_NFTABLES) messages and attributes (linux/netfilter/nf_tables.h).
pub(super) const NFNL_SUBSYS_NFTABLES: u16 = 10;
const NFT_MSG_NEWCHAIN: u16 = 3;
const NFT_MSG_GETCHAIN: u16 = 4;
pub(super) const NFTA_CHAIN_TABLE: u16 = 1;
pub(super) const NFTA_CHAIN_NAME: u16 = 3;
const NFTA_CHAIN_HOOK: u16 = 4;
const NFTA_HOOK_HOOKNUM: u16 = 1;
const NFTA_HOOK_PRIORITY: u16 = 2;
const NFTA_HOOK_DEV: u16 = 3;
const NFTA_HOOK_DEVS: u16 = 4;

/// Every nftables base chain of the namespace (all families; iptables-nft's chains
/// included), as hooks: one per device for netdev/ingress chains. Regular chains (no
/// hook) are left out.
pub fn dump_nft_base_chains() -> Result<Vec<NfHook>> {
    let sock = request_socket()?;
    let m = nft_dump_request(NFT_MSG_GETCHAIN, 1);
    sock.send(&m, 0)
        .map_err(|e| nfnl_err("chain dump request".into(), e))?;
    let mut hooks = Vec::new();
    let kind = NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_NEWCHAIN;
    read_dump(&sock, 1, kind, |p| hooks.extend(parse_chain(p)))
        .map_err(|e| nfnl_err("chain dump".into(), e))?;
    Ok(hooks)
}

/// An nftables dump request (`msg`: NFT_MSG_GET*) for every family: nlmsghdr and nfgenmsg.
pub(super) fn nft_dump_request(msg: u16, seq: u32) -> Vec<u8> {
    let mut m = Vec::with_capacity(20);
    m.extend_from_slice(&20u32.to_ne_bytes());
    m.extend_from_slice(&(NFNL_SUBSYS_NFTABLES << 8 | msg).to_ne_bytes());
    m.extend_from_slice(&(NLM_F_REQUEST | NLM_F_DUMP).to_ne_bytes());
    m.extend_from_slice(&seq.to_ne_bytes());
    m.extend_from_slice(&0u32.to_ne_bytes());
    m.extend_from_slice(&[0, 0, 0, 0]); // every family
    m
}

/// The hooks of one NFT_MSG_NEWCHAIN payload (nfgenmsg + attributes): none for a regular
/// chain or a malformed message.
pub fn parse_chain(payload: &[u8]) -> Vec<NfHook> {
    let Some(&family) = payload.first() else {
        return Vec::new();
    };
    let (mut table, mut name, mut hook) = (String::new(), String::new(), None);
    for nla in NlasIterator::new(payload.get(4..).unwrap_or(&[])) {
        let Ok(nla) = nla else {
            return Vec::new();
        };
        let k = nla.kind() & NLA_TYPE_MASK;
        let len = nla.value_length();
        let value = &nla.into_inner()[4..4 + len];
        match k {
            NFTA_CHAIN_TABLE => table = c_string(value),
            NFTA_CHAIN_NAME => name = c_string(value),
            NFTA_CHAIN_HOOK => hook = Some(value),
            _ => {}
        }
    }
    let Some(hook) = hook else {
        return Vec::new();
    };
    let (mut hooknum, mut priority, mut devs) = (None, 0, Vec::new());
    for nla in NlasIterator::new(hook) {
        let Ok(nla) = nla else {
            return Vec::new();
        };
        let k = nla.kind() & NLA_TYPE_MASK;
        let len = nla.value_length();
        let value = &nla.into_inner()[4..4 + len];
        match k {
            NFTA_HOOK_HOOKNUM => hooknum = be_u32(value),
            NFTA_HOOK_PRIORITY => priority = be_u32(value).unwrap_or(0) as i32,
            NFTA_HOOK_DEV => devs.push(c_string(value)),
            NFTA_HOOK_DEVS => {
                for d in NlasIterator::new(value).flatten() {
                    devs.push(c_string(d.value()));
                }
            }
            _ => {}
        }
    }
    let Some(hooknum) = hooknum else {
        return Vec::new();
    };
    let owner = HookOwner::Nftables {
        family,
        table,
        chain: name,
    };
    let one = |dev: Option<String>| NfHook {
        family,
        hooknum,
        dev,
        priority,
        function: String::new(),
        module: "nf_tables".into(),
        owner: owner.clone(),
    };
    if devs.is_empty() {
        vec![one(None)]
    } else {
        devs.into_iter().map(|d| one(Some(d))).collect()
    }
}

/// Legacy iptables / ip6tables (x_tables) tables instantiated in this namespace, from
/// /proc/net/ip_tables_names and ip6_tables_names (x_tables has no netlink interface and
/// sends no notification). Absent files (no x_tables in the kernel) mean none.
pub fn xtables_tables() -> Vec<NfHook> {
    let mut out = Vec::new();
    for (family, file) in [
        (NFPROTO_IPV4, "/proc/net/ip_tables_names"),
        (NFPROTO_IPV6, "/proc/net/ip6_tables_names"),
    ] {
        let text = std::fs::read_to_string(file).unwrap_or_default();
        for table in text.split_whitespace() {
            out.push(NfHook {
                family,
                hooknum: NF_INET_FORWARD,
                dev: None,
                priority: 0,
                function: String::new(),
                module: "x_tables".into(),
                owner: HookOwner::XTables {
                    table: table.to_owned(),
                },
            });
        }
    }
    out
}

pub(super) fn nfnl_err(what: String, source: io::Error) -> NetError {
    NetError::Nfnetlink { what, source }
}

/// A netfilter netlink socket for requests, bound, its replies awaited at most
/// [`RECV_TIMEOUT`].
pub(super) fn request_socket() -> Result<Socket> {
    let mut sock = Socket::new(NETLINK_NETFILTER).map_err(NetError::NetlinkSocket)?;
    sock.bind_auto().map_err(NetError::NetlinkSocket)?;
    set_recv_timeout(&sock)?;
    Ok(sock)
}

fn set_recv_timeout(sock: &Socket) -> Result<()> {
    use std::os::fd::AsRawFd;
    let tv = libc::timeval {
        tv_sec: RECV_TIMEOUT.as_secs() as libc::time_t,
        tv_usec: 0,
    };
    // SAFETY: setsockopt with a valid timeval on our socket.
    let rc = unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVTIMEO,
            (&tv as *const libc::timeval).cast(),
            std::mem::size_of::<libc::timeval>() as u32,
        )
    };
    if rc != 0 {
        return Err(NetError::NetlinkSocket(io::Error::last_os_error()));
    }
    Ok(())
}

/// `NFNL_MSG_HOOK_GET` dump request: nlmsghdr, nfgenmsg, HOOKNUM, optionally DEV.
pub fn hook_request(q: &HookQuery, seq: u32) -> Vec<u8> {
    let mut m = Vec::with_capacity(64);
    m.extend_from_slice(&[0; 4]); // length, set below
    m.extend_from_slice(&(NFNL_SUBSYS_HOOK << 8 | NFNL_MSG_HOOK_GET).to_ne_bytes());
    m.extend_from_slice(&(NLM_F_REQUEST | NLM_F_DUMP).to_ne_bytes());
    m.extend_from_slice(&seq.to_ne_bytes());
    m.extend_from_slice(&0u32.to_ne_bytes()); // port: the kernel
    m.extend_from_slice(&[q.family, 0, 0, 0]); // nfgenmsg: family, NFNETLINK_V0, res_id
    push_attr(&mut m, NFNLA_HOOK_HOOKNUM, &q.hooknum.to_be_bytes());
    if let Some(dev) = &q.dev {
        let mut name = dev.as_bytes().to_vec();
        name.push(0);
        push_attr(&mut m, NFNLA_HOOK_DEV, &name);
    }
    let len = m.len() as u32;
    m[..4].copy_from_slice(&len.to_ne_bytes());
    m
}

pub(super) fn push_attr(m: &mut Vec<u8>, kind: u16, value: &[u8]) {
    m.extend_from_slice(&((4 + value.len()) as u16).to_ne_bytes());
    m.extend_from_slice(&kind.to_ne_bytes());
    m.extend_from_slice(value);
    while !m.len().is_multiple_of(4) {
        m.push(0);
    }
}

/// Reads the replies of dump `seq` until NLMSG_DONE, handing each message of type
/// `kind` (its payload) to `each`; a NLMSG_ERROR is returned as its errno.
pub(super) fn read_dump(
    sock: &Socket,
    seq: u32,
    kind: u16,
    mut each: impl FnMut(&[u8]),
) -> io::Result<()> {
    let mut buf = vec![0u8; 64 * 1024];
    // Bounded: every recv waits at most RECV_TIMEOUT, and a dump has finitely many parts.
    for _ in 0..10_000 {
        let n = sock.recv(&mut &mut buf[..], 0)?;
        let mut off = 0;
        while off < n {
            let msg = NetlinkBuffer::new_checked(&buf[off..n])
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
            let len = msg.length() as usize;
            off += (len + 3) & !3;
            if msg.sequence_number() != seq {
                continue;
            }
            match msg.message_type() {
                NLMSG_DONE => return Ok(()),
                NLMSG_ERROR => {
                    let p = msg.payload();
                    let errno = p
                        .get(..4)
                        .map(|b| i32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
                        .unwrap_or(-libc::EIO);
                    if errno == 0 {
                        return Ok(()); // an ACK
                    }
                    return Err(io::Error::from_raw_os_error(-errno));
                }
                t if t == kind => each(msg.payload()),
                _ => {}
            }
        }
    }
    Err(io::Error::new(
        io::ErrorKind::InvalidData,
        "hook dump did not end",
    ))
}

/// One hook from a reply's payload (nfgenmsg + attributes); `None` if malformed.
pub fn parse_hook(q: &HookQuery, payload: &[u8]) -> Option<NfHook> {
    let attrs = payload.get(4..)?;
    let mut hook = NfHook {
        family: q.family,
        hooknum: q.hooknum,
        dev: q.dev.clone(),
        priority: 0,
        function: String::new(),
        module: String::new(),
        owner: HookOwner::Other,
    };
    for nla in NlasIterator::new(attrs) {
        let nla = nla.ok()?;
        let v = nla.value();
        match nla.kind() & NLA_TYPE_MASK {
            NFNLA_HOOK_HOOKNUM => hook.hooknum = be_u32(v)?,
            NFNLA_HOOK_PRIORITY => hook.priority = be_u32(v)? as i32,
            NFNLA_HOOK_DEV => hook.dev = Some(c_string(v)),
            NFNLA_HOOK_FUNCTION_NAME => hook.function = c_string(v),
            NFNLA_HOOK_MODULE_NAME => hook.module = c_string(v),
            NFNLA_HOOK_CHAIN_INFO => hook.owner = chain_info(v)?,
            _ => {}
        }
    }
    Some(hook)
}

fn chain_info(v: &[u8]) -> Option<HookOwner> {
    let mut kind = 0;
    let mut desc = None;
    for nla in NlasIterator::new(v) {
        let nla: NlaBuffer<&[u8]> = nla.ok()?;
        let k = nla.kind() & NLA_TYPE_MASK;
        let len = nla.value_length();
        let value = &nla.into_inner()[4..4 + len];
        match k {
            NFNLA_HOOK_INFO_TYPE => kind = be_u32(value)?,
            NFNLA_HOOK_INFO_DESC => desc = Some(value),
            _ => {}
        }
    }
    match kind {
        NFNL_HOOK_TYPE_NFTABLES => {
            let (mut family, mut table, mut chain) = (0, String::new(), String::new());
            for nla in NlasIterator::new(desc.unwrap_or(&[])) {
                let nla = nla.ok()?;
                match nla.kind() & NLA_TYPE_MASK {
                    NFNLA_CHAIN_TABLE => table = c_string(nla.value()),
                    NFNLA_CHAIN_FAMILY => family = be_u32(nla.value())? as u8,
                    NFNLA_CHAIN_NAME => chain = c_string(nla.value()),
                    _ => {}
                }
            }
            Some(HookOwner::Nftables {
                family,
                table,
                chain,
            })
        }
        NFNL_HOOK_TYPE_BPF => Some(HookOwner::Bpf),
        _ => Some(HookOwner::Other),
    }
}

pub(super) fn be_u32(v: &[u8]) -> Option<u32> {
    Some(u32::from_be_bytes(v.get(..4)?.try_into().ok()?))
}

pub(super) fn c_string(v: &[u8]) -> String {
    let end = v.iter().position(|b| *b == 0).unwrap_or(v.len());
    String::from_utf8_lossy(&v[..end]).into_owned()
}

/// The attributes of `buf` as (type without flags, value); `None` if one is malformed.
pub(super) fn attrs(buf: &[u8]) -> Option<Vec<(u16, &[u8])>> {
    let mut out = Vec::new();
    for nla in NlasIterator::new(buf) {
        let nla: NlaBuffer<&[u8]> = nla.ok()?;
        let k = nla.kind() & NLA_TYPE_MASK;
        let len = nla.value_length();
        out.push((k, nla.into_inner().get(4..4 + len)?));
    }
    Some(out)
}

/// A non-blocking netfilter netlink socket that has joined the multicast `groups`.
pub(super) fn event_socket(groups: &[u32]) -> Result<Socket> {
    let mut sock = Socket::new(NETLINK_NETFILTER).map_err(NetError::NetlinkSocket)?;
    sock.bind(&SocketAddr::new(0, 0))
        .map_err(NetError::NetlinkSocket)?;
    for g in groups {
        sock.add_membership(*g)
            .map_err(|e| nfnl_err(format!("joining nfnetlink group {g}"), e))?;
    }
    sock.set_non_blocking(true)
        .map_err(NetError::NetlinkSocket)?;
    Ok(sock)
}

/// A socket that receives the nftables change notifications of this namespace. The
/// caller waits for readability ([`NftablesEvents::fd`]) and then drains it; every message
/// means "the ruleset changed" (what changed does not matter: the hooks are re-read).
pub struct NftablesEvents {
    sock: Socket,
}

impl NftablesEvents {
    pub fn subscribe() -> Result<NftablesEvents> {
        Ok(NftablesEvents {
            sock: event_socket(&[NFNLGRP_NFTABLES])?,
        })
    }

    /// The descriptor to poll for readability.
    pub fn fd(&self) -> std::os::fd::BorrowedFd<'_> {
        use std::os::fd::AsFd;
        self.sock.as_fd()
    }

    /// Reads every queued notification; returns how many there were. ENOBUFS (the kernel
    /// dropped some) counts as one: the caller re-reads the state either way.
    pub fn drain(&self) -> Result<usize> {
        let mut buf = vec![0u8; 64 * 1024];
        let mut n = 0;
        // Bounded by the socket's queue: each read removes one datagram.
        loop {
            match self.sock.recv(&mut &mut buf[..], 0) {
                Ok(_) => n += 1,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(n),
                Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => n += 1,
                Err(e) => return Err(nfnl_err("reading nftables notifications".into(), e)),
            }
        }
    }
}

impl std::os::fd::AsRawFd for NftablesEvents {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.sock.as_raw_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(dev: Option<&str>) -> HookQuery {
        HookQuery {
            family: if dev.is_some() {
                NFPROTO_NETDEV
            } else {
                NFPROTO_IPV4
            },
            hooknum: NF_INET_FORWARD,
            dev: dev.map(str::to_owned),
        }
    }

    #[test]
    fn request_bytes() {
        let m = hook_request(&q(None), 7);
        assert_eq!(m.len(), 16 + 4 + 8);
        assert_eq!(u32::from_ne_bytes(m[0..4].try_into().unwrap()), 28);
        assert_eq!(u16::from_ne_bytes(m[4..6].try_into().unwrap()), 0x0c00);
        assert_eq!(u16::from_ne_bytes(m[6..8].try_into().unwrap()), 0x301);
        assert_eq!(u32::from_ne_bytes(m[8..12].try_into().unwrap()), 7);
        assert_eq!(&m[16..20], &[NFPROTO_IPV4, 0, 0, 0]);
        assert_eq!(&m[20..28], &[8, 0, 1, 0, 0, 0, 0, 2]);
        let m = hook_request(&q(Some("eth0")), 1);
        // DEV: 4 + "eth0\0" = 9, padded to 12.
        assert_eq!(m.len(), 16 + 4 + 8 + 12);
        assert_eq!(&m[28..37], &[9, 0, 3, 0, b'e', b't', b'h', b'0', 0]);
    }

    /// A reply as the kernel builds it for `nft add chain inet t f { type filter hook
    /// forward priority 0; }` (nested flags set on the nests).
    fn nft_reply() -> Vec<u8> {
        let mut desc = Vec::new();
        push_attr(&mut desc, NFNLA_CHAIN_TABLE, b"t\0");
        push_attr(&mut desc, NFNLA_CHAIN_FAMILY, &1u32.to_be_bytes());
        push_attr(&mut desc, NFNLA_CHAIN_NAME, b"f\0");
        let mut info = Vec::new();
        push_attr(&mut info, NFNLA_HOOK_INFO_DESC | 0x8000, &desc);
        push_attr(&mut info, NFNLA_HOOK_INFO_TYPE, &1u32.to_be_bytes());
        let mut p = vec![NFPROTO_IPV4, 0, 0, 0];
        push_attr(&mut p, NFNLA_HOOK_HOOKNUM, &2u32.to_be_bytes());
        push_attr(&mut p, NFNLA_HOOK_PRIORITY, &(-150i32 as u32).to_be_bytes());
        push_attr(&mut p, NFNLA_HOOK_FUNCTION_NAME, b"nft_do_chain_inet\0");
        push_attr(&mut p, NFNLA_HOOK_MODULE_NAME, b"nf_tables\0");
        push_attr(&mut p, NFNLA_HOOK_CHAIN_INFO | 0x8000, &info);
        p
    }

    #[test]
    fn parses_an_nftables_chain_hook() {
        let h = parse_hook(&q(None), &nft_reply()).unwrap();
        assert_eq!(h.hooknum, NF_INET_FORWARD);
        assert_eq!(h.priority, -150);
        assert_eq!(h.function, "nft_do_chain_inet");
        assert_eq!(h.module, "nf_tables");
        assert_eq!(
            h.owner,
            HookOwner::Nftables {
                family: NFPROTO_INET,
                table: "t".into(),
                chain: "f".into()
            }
        );
    }

    #[test]
    fn a_hook_without_chain_info_is_other_and_garbage_is_refused() {
        let mut p = vec![NFPROTO_IPV4, 0, 0, 0];
        push_attr(&mut p, NFNLA_HOOK_FUNCTION_NAME, b"iptable_filter_hook\0");
        let h = parse_hook(&q(None), &p).unwrap();
        assert_eq!(h.owner, HookOwner::Other);
        assert_eq!(h.function, "iptable_filter_hook");
        // An attribute claiming more bytes than there are.
        let bad = [NFPROTO_IPV4, 0, 0, 0, 200, 0, 4, 0, b'x'];
        assert_eq!(parse_hook(&q(None), &bad), None);
        assert_eq!(parse_hook(&q(None), &[1, 0]), None);
    }

    /// NFT_MSG_NEWCHAIN payloads as the chain dump returns them.
    fn chain_msg(family: u8, table: &str, name: &str, hook: Option<(u32, &[&str])>) -> Vec<u8> {
        let mut p = vec![family, 0, 0, 0];
        push_attr(&mut p, NFTA_CHAIN_TABLE, format!("{table}\0").as_bytes());
        push_attr(&mut p, 2, &7u64.to_be_bytes()); // NFTA_CHAIN_HANDLE, ignored
        push_attr(&mut p, NFTA_CHAIN_NAME, format!("{name}\0").as_bytes());
        if let Some((hooknum, devs)) = hook {
            let mut h = Vec::new();
            push_attr(&mut h, NFTA_HOOK_HOOKNUM, &hooknum.to_be_bytes());
            push_attr(&mut h, NFTA_HOOK_PRIORITY, &(-100i32 as u32).to_be_bytes());
            if !devs.is_empty() {
                let mut list = Vec::new();
                for d in devs {
                    push_attr(&mut list, 1, format!("{d}\0").as_bytes());
                }
                push_attr(&mut h, NFTA_HOOK_DEVS | 0x8000, &list);
            }
            push_attr(&mut p, NFTA_CHAIN_HOOK | 0x8000, &h);
        }
        p
    }

    #[test]
    fn parses_base_chains_and_skips_regular_ones() {
        let hooks = parse_chain(&chain_msg(NFPROTO_INET, "fw", "forward", Some((2, &[]))));
        assert_eq!(hooks.len(), 1);
        assert_eq!(hooks[0].family, NFPROTO_INET);
        assert_eq!(hooks[0].hooknum, NF_INET_FORWARD);
        assert_eq!(hooks[0].priority, -100);
        assert_eq!(hooks[0].dev, None);
        assert_eq!(
            hooks[0].owner,
            HookOwner::Nftables {
                family: NFPROTO_INET,
                table: "fw".into(),
                chain: "forward".into()
            }
        );
        // A netdev chain on two devices: one hook per device.
        let msg = chain_msg(NFPROTO_NETDEV, "n", "in", Some((0, &["lan0", "up0"])));
        let devs: Vec<_> = parse_chain(&msg).into_iter().map(|h| h.dev).collect();
        assert_eq!(devs, vec![Some("lan0".into()), Some("up0".into())]);
        // A regular chain (jump target) has no hook; truncated input gives nothing.
        assert!(parse_chain(&chain_msg(NFPROTO_IPV4, "t", "sub", None)).is_empty());
        let mut cut = chain_msg(NFPROTO_INET, "fw", "forward", Some((2, &[])));
        cut.truncate(cut.len() - 3);
        assert!(parse_chain(&cut).is_empty());
        assert!(parse_chain(&[]).is_empty());
    }
}
