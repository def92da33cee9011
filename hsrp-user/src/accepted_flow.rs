//! The accepted-flow path, decided (pure: no I/O; `net::nftrules` and `net::ctnetlink`
//! read the kernel, `daemon::accepted_flows` applies the decisions).
//!
//! Under a stateful ruleset the kernel path is slow for every frame, although for an
//! established connection the ruleset's answer is known in advance: if every netfilter
//! hook that sees forwarded traffic accepts an established conntrack entry before anything
//! else can act, a frame of a flow conntrack holds as established is accepted, unchanged.
//! XDP may then forward it itself, provided conntrack is kept as if it had seen the frame.
//!
//! Two decisions live here:
//! - [`qualify`]: does the ruleset have that shape? Every hook on forwarded traffic must
//!   be an nftables base chain whose first rule is `ct state established,related accept`
//!   (a `counter` in it allowed), a `nat` chain (NAT chains see only a connection's first
//!   packet), an empty chain with policy accept, or one of the kernel's own conntrack,
//!   defragmentation and NAT functions. A legacy iptables table, iptables-nft rules
//!   (their matches are opaque blobs), a BPF netfilter program, a chain on a device's
//!   ingress or egress (before conntrack), a prerouting filter chain at conntrack's
//!   priority or earlier, or any rule before the conntrack rule: not qualified.
//! - [`admission`]: may this conntrack entry's flow take the fast path? TCP in
//!   ESTABLISHED, or UDP that has seen a reply; no NAT, no helper, no sequence
//!   adjustment, zone 0, and the reply tuple exactly the original reversed.

use std::net::IpAddr;

use crate::fastpath::family_name;
use crate::net::nfhooks::{HookOwner, NfHook, NFPROTO_NETDEV, NF_INET_PRE_ROUTING};

/// An nftables chain as the kernel reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NftChain {
    pub family: u8,
    pub table: String,
    pub name: String,
    /// The hook and priority of a base chain (`None`: a regular chain).
    pub hook: Option<(u32, i32)>,
    /// "filter", "nat" or "route" (empty for a regular chain).
    pub kind: String,
    /// The base chain's policy verdict (NF_ACCEPT = 1, NF_DROP = 0).
    pub policy: Option<u32>,
}

/// One rule: its chain and its expressions, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NftRule {
    pub family: u8,
    pub table: String,
    pub chain: String,
    pub exprs: Vec<Expr>,
}

/// The expressions the conntrack rule is made of; anything else is `Other`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expr {
    /// `ct load KEY => reg DREG` (a `ct set` is `Other`).
    CtLoad {
        key: u32,
        dreg: u32,
    },
    /// `reg DREG = (reg SREG & MASK) ^ XOR` over LEN bytes (op 0: mask and xor).
    Bitwise {
        sreg: u32,
        dreg: u32,
        len: u32,
        op: u32,
        mask: Vec<u8>,
        xor: Vec<u8>,
    },
    /// `cmp OP reg SREG DATA`.
    Cmp {
        sreg: u32,
        op: u32,
        data: Vec<u8>,
    },
    /// `immediate reg 0 VERDICT` (a verdict code: NF_ACCEPT = 1, NFT_JUMP, ...).
    Verdict(i32),
    Counter,
    /// Any other expression, by name (`payload`, `meta`, `match`, ...).
    Other(String),
}

/// The nftables ruleset of the namespace.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ruleset {
    pub chains: Vec<NftChain>,
    pub rules: Vec<NftRule>,
}

/// NFT_CT_STATE, the `ct state` key, and its ESTABLISHED bit.
const NFT_CT_STATE: u32 = 0;
const CT_STATE_ESTABLISHED: u32 = 1 << 1;
const NFT_CMP_NEQ: u32 = 1;
const NF_ACCEPT: i32 = 1;
/// NF_IP_PRI_CONNTRACK: a prerouting chain at this priority or earlier runs before
/// conntrack has looked the packet up (its `ct state` matches nothing established).
const PRI_CONNTRACK: i32 = -200;
/// NF_INET_INGRESS: an inet chain on a device's ingress.
const NF_INET_INGRESS: u32 = 5;

/// The kernel's own functions on forwarded hooks that act on no established flow
/// without NAT: conntrack lookup and confirmation, defragmentation, and the NAT core
/// (which runs NAT chains for new connections only and rewrites only NATed ones).
const CORE_FUNCTIONS: &[&str] = &[
    "ipv4_conntrack_in",
    "ipv4_conntrack_local",
    "ipv4_confirm",
    "ipv6_conntrack_in",
    "ipv6_conntrack_local",
    "ipv6_confirm",
    "ipv4_conntrack_defrag",
    "ipv6_defrag",
    "nf_nat_ipv4_pre_routing",
    "nf_nat_ipv4_out",
    "nf_nat_ipv4_local_fn",
    "nf_nat_ipv4_local_in",
    "nf_nat_ipv4_fn",
    "nf_nat_ipv6_in",
    "nf_nat_ipv6_out",
    "nf_nat_ipv6_local_fn",
    "nf_nat_ipv6_local_in",
    "nf_nat_ipv6_fn",
];

/// Whether the hooks `found` (those that see forwarded traffic) all accept an established
/// flow first: `Ok(why)` or `Err(the first hook that does not, and why)`.
pub fn qualify(found: &[&NfHook], ruleset: &Ruleset) -> Result<String, String> {
    let mut chains = 0;
    for h in found {
        match &h.owner {
            _ if h.dev.is_some() || h.family == NFPROTO_NETDEV || h.hooknum == NF_INET_INGRESS => {
                return Err(format!(
                    "a hook on {} runs before conntrack",
                    h.dev.as_deref().unwrap_or("a device")
                ));
            }
            HookOwner::XTables { table } => {
                return Err(format!(
                    "legacy iptables table {table}: its rules are not read"
                ));
            }
            HookOwner::Bpf => return Err("a BPF netfilter program".into()),
            HookOwner::Other if CORE_FUNCTIONS.contains(&h.function.as_str()) => {}
            HookOwner::Other => return Err(format!("{} on a hook", function_name(h))),
            HookOwner::Nftables {
                family,
                table,
                chain,
            } => {
                let name = format!("chain {} {table} {chain}", family_name(*family));
                let c = ruleset
                    .chains
                    .iter()
                    .find(|c| c.family == *family && &c.table == table && &c.name == chain)
                    .ok_or_else(|| format!("{name} is not in the ruleset read"))?;
                chain_accepts_established(c, ruleset).map_err(|why| format!("{name} {why}"))?;
                chains += 1;
            }
        }
    }
    Ok(format!(
        "every netfilter hook on forwarded traffic accepts established flows first ({chains} \
         nftables chain{}); established flows without NAT are forwarded in XDP, the rest by \
         the kernel",
        if chains == 1 { "" } else { "s" }
    ))
}

fn function_name(h: &NfHook) -> &str {
    if h.function.is_empty() {
        "an unnamed function"
    } else {
        &h.function
    }
}

/// Whether `c`'s verdict for an established flow is certainly accept, before any of its
/// rules acts otherwise; `Err` says why not.
fn chain_accepts_established(c: &NftChain, ruleset: &Ruleset) -> Result<(), String> {
    let Some((hooknum, priority)) = c.hook else {
        return Err("is not a base chain".into());
    };
    match c.kind.as_str() {
        "nat" => return Ok(()),
        "filter" => {}
        other => return Err(format!("is of type {other}")),
    }
    if hooknum == NF_INET_PRE_ROUTING && priority <= PRI_CONNTRACK {
        return Err(format!("runs before conntrack (priority {priority})"));
    }
    let first = ruleset
        .rules
        .iter()
        .find(|r| r.family == c.family && r.table == c.table && r.chain == c.name);
    match first {
        Some(r) if is_established_accept(&r.exprs) => Ok(()),
        Some(_) => Err("does not start with `ct state established,related accept`".into()),
        None if c.policy == Some(NF_ACCEPT as u32) => Ok(()),
        None => Err("is empty with policy drop".into()),
    }
}

/// `ct state established[,related...] [counter] accept`, exactly as nft builds it: load
/// the state, mask it with bits that include ESTABLISHED, compare not-equal to zero,
/// accept.
pub fn is_established_accept(exprs: &[Expr]) -> bool {
    let e: Vec<&Expr> = exprs.iter().filter(|e| **e != Expr::Counter).collect();
    let [Expr::CtLoad { key, dreg }, Expr::Bitwise {
        sreg,
        dreg: bdreg,
        len,
        op,
        mask,
        xor,
    }, Expr::Cmp {
        sreg: csreg,
        op: cop,
        data,
    }, Expr::Verdict(v)] = e.as_slice()
    else {
        return false;
    };
    let word = |b: &[u8]| -> Option<u32> { Some(u32::from_ne_bytes(b.try_into().ok()?)) };
    *key == NFT_CT_STATE
        && sreg == dreg
        && bdreg == dreg
        && csreg == dreg
        && *len == 4
        && *op == 0
        && word(mask).is_some_and(|m| m & CT_STATE_ESTABLISHED != 0)
        && word(xor) == Some(0)
        && *cop == NFT_CMP_NEQ
        && word(data) == Some(0)
        && *v == NF_ACCEPT
}

/// One direction of a connection, as conntrack reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CtTuple {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub proto: u8,
    pub sport: u16,
    pub dport: u16,
}

impl CtTuple {
    pub fn reversed(&self) -> CtTuple {
        CtTuple {
            src: self.dst,
            dst: self.src,
            proto: self.proto,
            sport: self.dport,
            dport: self.sport,
        }
    }
}

/// A conntrack entry, as much of it as admission needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CtEntry {
    pub orig: CtTuple,
    pub reply: CtTuple,
    /// IPS_* bits.
    pub status: u32,
    /// TCP_CONNTRACK_* for TCP.
    pub tcp_state: Option<u8>,
    /// Seconds left, when reported.
    pub timeout: Option<u32>,
    /// A helper is attached (FTP, SIP, ...): it must see every packet.
    pub helper: bool,
    pub zone: u16,
}

/// Which conntrack timeout sysctl applies to an admitted flow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TimeoutKind {
    /// nf_conntrack_tcp_timeout_established.
    TcpEstablished,
    /// nf_conntrack_udp_timeout_stream (assured).
    UdpStream,
    /// nf_conntrack_udp_timeout (seen a reply, not assured yet).
    Udp,
}

pub const IPPROTO_TCP: u8 = 6;
pub const IPPROTO_UDP: u8 = 17;
pub const TCP_CONNTRACK_ESTABLISHED: u8 = 3;
pub const IPS_SEEN_REPLY: u32 = 1 << 1;
pub const IPS_ASSURED: u32 = 1 << 2;
pub const IPS_CONFIRMED: u32 = 1 << 3;
/// SRC_NAT, DST_NAT, SEQ_ADJUST, DYING, FIXED_TIMEOUT, TEMPLATE, UNTRACKED, HELPER,
/// OFFLOAD, HW_OFFLOAD: any of them keeps a flow in the kernel. (SRC_NAT_DONE and
/// DST_NAT_DONE are not among them: the NAT core sets them on every new connection it
/// saw, also when no rule translated it, the "null binding".)
const IPS_REFUSED: u32 = 0xfe70;

/// Whether `e`'s flow may be forwarded in XDP, and which timeout keeps it alive; `Err`
/// says why not (the flow goes, or stays, through the kernel).
pub fn admission(e: &CtEntry) -> Result<TimeoutKind, &'static str> {
    if e.status & IPS_REFUSED != 0 {
        return Err("NAT, helper, offload or a fixed timeout");
    }
    if e.status & IPS_CONFIRMED == 0 {
        return Err("not confirmed");
    }
    if e.helper || e.zone != 0 {
        return Err("a helper or a zone");
    }
    if e.reply != e.orig.reversed() || e.orig.src.is_ipv4() != e.orig.dst.is_ipv4() {
        return Err("the reply is not the original reversed");
    }
    match e.orig.proto {
        IPPROTO_TCP if e.tcp_state == Some(TCP_CONNTRACK_ESTABLISHED) => {
            Ok(TimeoutKind::TcpEstablished)
        }
        IPPROTO_TCP => Err("TCP not established"),
        IPPROTO_UDP if e.status & IPS_ASSURED != 0 => Ok(TimeoutKind::UdpStream),
        IPPROTO_UDP if e.status & IPS_SEEN_REPLY != 0 => Ok(TimeoutKind::Udp),
        IPPROTO_UDP => Err("UDP without a reply yet"),
        _ => Err("neither TCP nor UDP"),
    }
}

/// The shortest timeout hsrpd keeps alive by refreshing: a refresh runs every second, so
/// a shorter one could expire between two.
pub const MIN_TIMEOUT_S: u32 = 3;
/// A flow whose conntrack entry has less than this left and that XDP did not forward
/// anything of since the last refresh leaves the fast path: the kernel decides whether
/// it lives on (an expired entry may linger until conntrack's garbage collector reaps it,
/// and the kernel treats it as gone).
pub const EXPIRY_MARGIN_S: u32 = 2;

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::net::nfhooks::{NFPROTO_INET, NFPROTO_IPV4, NF_INET_FORWARD, NF_INET_POST_ROUTING};

    /// `ct state established,related [counter] accept` as `net::nftrules` parses it.
    pub(crate) fn ct_accept(counter: bool) -> Vec<Expr> {
        let mut v = vec![
            Expr::CtLoad { key: 0, dreg: 1 },
            Expr::Bitwise {
                sreg: 1,
                dreg: 1,
                len: 4,
                op: 0,
                mask: 6u32.to_ne_bytes().to_vec(),
                xor: vec![0; 4],
            },
            Expr::Cmp {
                sreg: 1,
                op: 1,
                data: vec![0; 4],
            },
        ];
        if counter {
            v.push(Expr::Counter);
        }
        v.push(Expr::Verdict(1));
        v
    }

    fn chain(family: u8, table: &str, name: &str, hook: u32, kind: &str) -> NftChain {
        NftChain {
            family,
            table: table.into(),
            name: name.into(),
            hook: Some((hook, 0)),
            kind: kind.into(),
            policy: Some(0),
        }
    }

    fn rule(c: &NftChain, exprs: Vec<Expr>) -> NftRule {
        NftRule {
            family: c.family,
            table: c.table.clone(),
            chain: c.name.clone(),
            exprs,
        }
    }

    fn hook_of(c: &NftChain) -> NfHook {
        NfHook {
            family: c.family,
            hooknum: c.hook.unwrap().0,
            dev: None,
            priority: c.hook.unwrap().1,
            function: String::new(),
            module: "nf_tables".into(),
            owner: HookOwner::Nftables {
                family: c.family,
                table: c.table.clone(),
                chain: c.name.clone(),
            },
        }
    }

    fn qualify_all(hooks: &[NfHook], rs: &Ruleset) -> Result<String, String> {
        qualify(&hooks.iter().collect::<Vec<_>>(), rs)
    }

    #[test]
    fn the_stateful_forward_chain_qualifies() {
        let fwd = chain(NFPROTO_INET, "fw", "forward", NF_INET_FORWARD, "filter");
        let nat = chain(NFPROTO_IPV4, "nat", "post", NF_INET_POST_ROUTING, "nat");
        let rs = Ruleset {
            chains: vec![fwd.clone(), nat.clone()],
            rules: vec![
                rule(&fwd, ct_accept(false)),
                rule(&fwd, vec![Expr::Other("payload".into()), Expr::Verdict(1)]),
                rule(&nat, vec![Expr::Other("masq".into())]),
            ],
        };
        let why = qualify_all(&[hook_of(&fwd), hook_of(&nat)], &rs).unwrap();
        assert!(why.contains("(2 nftables chains)"), "{why}");
        // With a counter in the rule, too.
        let rs2 = Ruleset {
            chains: vec![fwd.clone()],
            rules: vec![rule(&fwd, ct_accept(true))],
        };
        assert!(qualify_all(&[hook_of(&fwd)], &rs2).is_ok());
    }

    #[test]
    fn a_rule_before_the_ct_rule_or_another_shape_does_not() {
        let fwd = chain(NFPROTO_INET, "fw", "forward", NF_INET_FORWARD, "filter");
        let drop_first = vec![Expr::Other("payload".into()), Expr::Verdict(0)];
        let rs = Ruleset {
            chains: vec![fwd.clone()],
            rules: vec![rule(&fwd, drop_first), rule(&fwd, ct_accept(false))],
        };
        assert_eq!(
            qualify_all(&[hook_of(&fwd)], &rs).unwrap_err(),
            "chain inet fw forward does not start with `ct state established,related accept`"
        );
        // ct state new accept (mask without ESTABLISHED), a drop verdict, a jump.
        let mut new_only = ct_accept(false);
        if let Expr::Bitwise { mask, .. } = &mut new_only[1] {
            *mask = 8u32.to_ne_bytes().to_vec();
        }
        let mut drop = ct_accept(false);
        drop[3] = Expr::Verdict(0);
        let mut other_reg = ct_accept(false);
        other_reg[2] = Expr::Cmp {
            sreg: 2,
            op: 1,
            data: vec![0; 4],
        };
        let mut eq = ct_accept(false);
        eq[2] = Expr::Cmp {
            sreg: 1,
            op: 0,
            data: vec![0; 4],
        };
        for exprs in [new_only, drop, other_reg, eq] {
            assert!(!is_established_accept(&exprs), "{exprs:?}");
        }
        // An empty chain: policy decides.
        let mut empty = fwd.clone();
        let rs = Ruleset {
            chains: vec![empty.clone()],
            rules: vec![],
        };
        assert!(qualify_all(&[hook_of(&empty)], &rs)
            .unwrap_err()
            .ends_with("is empty with policy drop"));
        empty.policy = Some(1);
        let rs = Ruleset {
            chains: vec![empty.clone()],
            rules: vec![],
        };
        assert!(qualify_all(&[hook_of(&empty)], &rs).is_ok());
    }

    #[test]
    fn hooks_it_cannot_read_or_that_run_before_conntrack_do_not() {
        let fwd = chain(NFPROTO_INET, "fw", "forward", NF_INET_FORWARD, "filter");
        let rs = Ruleset {
            chains: vec![fwd.clone()],
            rules: vec![rule(&fwd, ct_accept(false))],
        };
        let mut legacy = hook_of(&fwd);
        legacy.owner = HookOwner::XTables {
            table: "filter".into(),
        };
        let mut bpf = hook_of(&fwd);
        bpf.owner = HookOwner::Bpf;
        let mut other = hook_of(&fwd);
        other.owner = HookOwner::Other;
        other.function = "iptable_mangle_hook".into();
        let mut netdev = hook_of(&fwd);
        netdev.family = NFPROTO_NETDEV;
        netdev.dev = Some("lan0".into());
        for (h, why) in [
            (
                legacy,
                "legacy iptables table filter: its rules are not read",
            ),
            (bpf, "a BPF netfilter program"),
            (other, "iptable_mangle_hook on a hook"),
            (netdev, "a hook on lan0 runs before conntrack"),
        ] {
            let err = qualify_all(&[hook_of(&fwd), h], &rs).unwrap_err();
            assert_eq!(err, why);
        }
        let mut core = hook_of(&fwd);
        core.owner = HookOwner::Other;
        core.function = "ipv4_conntrack_in".into();
        assert!(qualify_all(&[hook_of(&fwd), core], &rs).is_ok());
        // A raw-priority prerouting filter chain, a route chain, a chain not read.
        let mut raw = chain(NFPROTO_IPV4, "r", "pre", NF_INET_PRE_ROUTING, "filter");
        raw.hook = Some((NF_INET_PRE_ROUTING, -300));
        let route = chain(NFPROTO_IPV4, "r", "rt", NF_INET_FORWARD, "route");
        let rs = Ruleset {
            chains: vec![raw.clone(), route.clone()],
            rules: vec![rule(&raw, ct_accept(false)), rule(&route, ct_accept(false))],
        };
        assert_eq!(
            qualify_all(&[hook_of(&raw)], &rs).unwrap_err(),
            "chain ip r pre runs before conntrack (priority -300)"
        );
        assert_eq!(
            qualify_all(&[hook_of(&route)], &rs).unwrap_err(),
            "chain ip r rt is of type route"
        );
        assert!(qualify_all(&[hook_of(&fwd)], &rs)
            .unwrap_err()
            .ends_with("is not in the ruleset read"));
    }

    fn tuple(src: &str, dst: &str, proto: u8, sport: u16, dport: u16) -> CtTuple {
        CtTuple {
            src: src.parse().unwrap(),
            dst: dst.parse().unwrap(),
            proto,
            sport,
            dport,
        }
    }

    fn entry(proto: u8, status: u32, tcp_state: Option<u8>) -> CtEntry {
        let orig = tuple("10.0.0.100", "10.1.0.100", proto, 40000, 7200);
        CtEntry {
            orig,
            reply: orig.reversed(),
            status,
            tcp_state,
            timeout: Some(100),
            helper: false,
            zone: 0,
        }
    }

    #[test]
    fn established_tcp_and_replied_udp_are_admitted() {
        let confirmed = IPS_CONFIRMED | IPS_SEEN_REPLY;
        assert_eq!(
            admission(&entry(IPPROTO_TCP, confirmed | IPS_ASSURED, Some(3))),
            Ok(TimeoutKind::TcpEstablished)
        );
        assert_eq!(
            admission(&entry(IPPROTO_UDP, confirmed | IPS_ASSURED, None)),
            Ok(TimeoutKind::UdpStream)
        );
        assert_eq!(
            admission(&entry(IPPROTO_UDP, confirmed, None)),
            Ok(TimeoutKind::Udp)
        );
        let mut v6 = entry(IPPROTO_UDP, confirmed, None);
        v6.orig = tuple("2001:db8::100", "2001:db8:1::100", IPPROTO_UDP, 1, 2);
        v6.reply = v6.orig.reversed();
        assert_eq!(admission(&v6), Ok(TimeoutKind::Udp));
    }

    #[test]
    fn anything_else_stays_in_the_kernel() {
        let ok = IPS_CONFIRMED | IPS_SEEN_REPLY | IPS_ASSURED;
        // TCP closing or opening, UDP without a reply, not confirmed.
        for state in [1, 2, 4, 5, 6, 7, 8] {
            assert!(admission(&entry(IPPROTO_TCP, ok, Some(state))).is_err());
        }
        assert!(admission(&entry(IPPROTO_TCP, ok, None)).is_err());
        assert!(admission(&entry(IPPROTO_UDP, IPS_CONFIRMED, None)).is_err());
        assert!(admission(&entry(IPPROTO_UDP, IPS_SEEN_REPLY, None)).is_err());
        // NAT (status bits, or a reply that is not the original reversed), helper, zone.
        for bit in [4, 5, 6, 9, 10, 13, 14, 15] {
            assert!(admission(&entry(IPPROTO_UDP, ok | 1 << bit, None)).is_err());
        }
        // The NAT core's null binding is no translation.
        let null_binding = ok | 1 << 7 | 1 << 8;
        assert!(admission(&entry(IPPROTO_UDP, null_binding, None)).is_ok());
        let mut masq = entry(IPPROTO_UDP, ok, None);
        masq.reply.dst = "10.50.1.1".parse().unwrap();
        assert_eq!(
            admission(&masq),
            Err("the reply is not the original reversed")
        );
        let mut helper = entry(IPPROTO_TCP, ok, Some(3));
        helper.helper = true;
        assert!(admission(&helper).is_err());
        let mut zone = entry(IPPROTO_TCP, ok, Some(3));
        zone.zone = 1;
        assert!(admission(&zone).is_err());
        assert!(admission(&entry(1, ok, None)).is_err());
    }
}
