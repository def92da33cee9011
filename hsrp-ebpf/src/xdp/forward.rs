//! Frames to a virtual MAC of this interface: drop when the group is not Active; answer
//! echo/ARP/NS for a VIP; in kernel-path mode (`HSRP_FWD_MODE`, netfilter hooks present)
//! hand everything else to the kernel, in accepted-flow mode everything but the flows
//! conntrack accepted (`flow`); otherwise forward (fib lookup, TTL/hop limit - 1, new MACs,
//! devmap redirect), or hand to the kernel with the interface MAC as destination when the
//! fast path cannot (no neighbour, TTL expiring, needs fragmentation, IP options, lookup
//! failure, target not in the devmap, output = input interface).

use aya_ebpf::{
    bindings::{bpf_fib_lookup, xdp_action, BPF_FIB_LKUP_RET_SUCCESS},
    programs::XdpContext,
};
use hsrp_ebpf::{
    Counter, VmacValue, FAMILY_V4, FAMILY_V6, FWD_ACCEPTED_FLOW, FWD_FAST_PATH, NH_GEN_OFF,
    VMAC_F_ACCEPT, VMAC_F_SLOW_PATH_ONLY,
};

use super::{
    abort, answer, csum, drop,
    fib::{self, MacWords},
    flow, log, maps,
    maps::HSRP_TX_PORTS,
    nhcache,
    pkt::{self, Ip4, Ip6, ETH_P_ARP, ETH_P_IP, ETH_P_IPV6, IPPROTO_ICMP, IPPROTO_ICMPV6},
    stats,
};
use network_types::{
    eth::EthHdr,
    ip::{Ipv4Hdr, Ipv6Hdr},
};

/// `bpf_fib_lookup::family` values (linux/socket.h).
const AF_INET: u8 = 2;
const AF_INET6: u8 = 10;
/// What `Ipv4Hdr::vihl` holds without options.
const IPV4_NO_OPTIONS: u8 = pkt::IPV4_NO_OPTIONS;
/// The version of an IPv6 header, and what follows it in the first byte (the high bits of
/// the traffic class): `bpf_fib_lookup::flowinfo` takes the first word without the
/// version, in network order, which `Ipv6Hdr`'s accessors do not give in one piece.
const IPV6_VERSION: u8 = 6;
const IPV6_AFTER_VERSION: u8 = 0x0f;

/// A frame whose destination MAC is `group`'s vMAC on `ifindex`.
#[inline(always)]
pub fn to_vmac(ctx: &XdpContext, ifindex: u32, group: VmacValue, ethertype: u16) -> u32 {
    let slot = group.stats_slot;
    if group.active == 0 {
        return drop(slot, Counter::DroppedNotActive);
    }
    let handled = match ethertype {
        ETH_P_IP => ipv4(ctx, ifindex, group),
        ETH_P_IPV6 => ipv6(ctx, ifindex, group),
        ETH_P_ARP => answer::arp(ctx, ifindex).ok_or(ToKernel::Plain),
        _ => Err(ToKernel::Plain),
    };
    match handled {
        Ok(verdict) => verdict,
        Err(ToKernel::Plain) => slow_path(ctx, ifindex, slot),
        Err(ToKernel::Routed { family, dst, oif }) => {
            let verdict = slow_or_vip(ctx, ifindex, slot, family, dst);
            no_tx_port(ctx, ifindex, oif, verdict)
        }
    }
}

/// Why the fast path gave a frame up: `to_vmac` hands it to the kernel in one place for
/// every reason and both families, so that code (map lookups, counters, the report)
/// exists once in the program instead of at each exit.
enum ToKernel {
    /// As it is (see `slow_path`).
    Plain,
    /// Unless it is to one of our VIPs (see `slow_or_vip`). `oif`: the output interface
    /// the route named when it is missing from `HSRP_TX_PORTS` (reported), else 0.
    Routed {
        family: u8,
        dst: pkt::Addr,
        oif: u32,
    },
}

impl ToKernel {
    #[inline(always)]
    fn routed(family: u8, dst: pkt::Addr) -> Self {
        ToKernel::Routed {
            family,
            dst,
            oif: 0,
        }
    }
}

#[inline(always)]
fn ipv4(ctx: &XdpContext, ifindex: u32, group: VmacValue) -> Result<u32, ToKernel> {
    let slot = group.stats_slot;
    let Some(f) = pkt::view::<Ip4>(ctx) else {
        return Err(ToKernel::Plain);
    };
    if f.ip.vihl != IPV4_NO_OPTIONS || f.ip.ttl <= 1 || group.flags & VMAC_F_SLOW_PATH_ONLY != 0 {
        // IP options, TTL expiring (the kernel sends Time Exceeded), or configured so.
        let dst = pkt::addr4(pkt::get(&f.ip.dst_addr));
        return Err(ToKernel::routed(FAMILY_V4, dst));
    }
    if f.ip.proto == IPPROTO_ICMP {
        if let Some(verdict) = answer::echo4(ctx, ifindex) {
            return Ok(verdict);
        }
    }
    let dst = pkt::get(&f.ip.dst_addr);
    let mode = maps::fwd_mode();
    if mode != FWD_FAST_PATH && !(mode == FWD_ACCEPTED_FLOW && flow::accepted4(ctx, slot)) {
        // Netfilter must see it: firewall, NAT, conntrack (the VIP's answers came first).
        return Err(ToKernel::routed(FAMILY_V4, pkt::addr4(dst)));
    }
    let tot_len = pkt::be16(f.ip.tot_len);
    // Read before the lookup: an entry filled while userspace bumps it is born stale.
    let gen = maps::nh_gen();
    let cached = cached_hop(slot, ifindex, FAMILY_V4, pkt::addr4(dst), tot_len, gen);
    let hit = cached.is_some();
    let hop = match cached {
        Some(hop) => hop,
        None => route4(ctx, ifindex, dst, tot_len, gen)?,
    };
    // A fresh bounds-checked view after the helper calls (one for both sources of the hop,
    // so the rewrite and its counters exist once).
    let Some(f) = pkt::view::<Ip4>(ctx) else {
        return Ok(abort(slot));
    };
    ttl_minus_one(&mut f.ip);
    hop.write(&mut f.eth);
    stats::forwarded(slot, hit);
    Ok(xdp_action::XDP_REDIRECT)
}

/// The fib lookup for an IPv4 frame the next-hop cache had no hop for: arms the redirect
/// and records the hop in the cache while it is on (`gen`).
#[inline(always)]
fn route4(
    ctx: &XdpContext,
    ifindex: u32,
    dst: [u8; 4],
    tot_len: u16,
    gen: u32,
) -> Result<MacWords, ToKernel> {
    let Some(f) = pkt::view::<Ip4>(ctx) else {
        return Err(ToKernel::Plain);
    };
    let mut buf = fib::FibBuf::uninit();
    let fib = fib::zeroed(&mut buf);
    fib.family = AF_INET;
    fib.l4_protocol = f.ip.proto;
    fib.__bindgen_anon_1.tot_len = tot_len;
    fib.ifindex = ifindex;
    fib.__bindgen_anon_2.tos = f.ip.tos;
    fib.__bindgen_anon_3.ipv4_src = u32::from_ne_bytes(pkt::get(&f.ip.src_addr));
    fib.__bindgen_anon_4.ipv4_dst = u32::from_ne_bytes(dst);
    let dst = pkt::addr4(dst);
    lookup_and_redirect(ctx, ifindex, fib, FAMILY_V4, dst)?;
    if gen != NH_GEN_OFF {
        let oif = fib.ifindex;
        nhcache::fill(ifindex, FAMILY_V4, dst, tot_len, gen, oif, &buf);
    }
    Ok(fib::mac_words(&buf))
}

/// IPv4 TTL - 1 with the incremental checksum update (RFC 1624).
#[inline(always)]
fn ttl_minus_one(ip: &mut Ipv4Hdr) {
    let (ttl, proto) = (ip.ttl, ip.proto);
    let old = u16::from_be_bytes([ttl, proto]);
    let new = u16::from_be_bytes([ttl.wrapping_sub(1), proto]);
    ip.ttl = ttl.wrapping_sub(1);
    ip.check = csum::replace16(pkt::be16(ip.check), old, new).to_be_bytes();
}

#[inline(always)]
fn ipv6(ctx: &XdpContext, ifindex: u32, group: VmacValue) -> Result<u32, ToKernel> {
    let slot = group.stats_slot;
    let Some(f) = pkt::view::<Ip6>(ctx) else {
        return Err(ToKernel::Plain);
    };
    let dst = pkt::get(&f.ip.dst_addr);
    if f.ip.version() != IPV6_VERSION
        || f.ip.hop_limit <= 1
        || group.flags & VMAC_F_SLOW_PATH_ONLY != 0
    {
        return Err(ToKernel::routed(FAMILY_V6, pkt::addr6(dst)));
    }
    if f.ip.next_hdr == IPPROTO_ICMPV6 {
        if let Some(verdict) = answer::echo6(ctx, ifindex) {
            return Ok(verdict);
        }
        if let Some(verdict) = answer::ns(ctx, ifindex) {
            return Ok(verdict);
        }
    }
    let mode = maps::fwd_mode();
    if mode != FWD_FAST_PATH && !(mode == FWD_ACCEPTED_FLOW && flow::accepted6(ctx, slot)) {
        return Err(ToKernel::routed(FAMILY_V6, pkt::addr6(dst)));
    }
    let Some(f) = pkt::view::<Ip6>(ctx) else {
        return Err(ToKernel::Plain);
    };
    let tot_len = pkt::be16(f.ip.payload_len).wrapping_add(Ipv6Hdr::LEN as u16);
    // Read before the lookup: an entry filled while userspace bumps it is born stale.
    let gen = maps::nh_gen();
    let cached = cached_hop(slot, ifindex, FAMILY_V6, pkt::addr6(dst), tot_len, gen);
    let hit = cached.is_some();
    let hop = match cached {
        Some(hop) => hop,
        None => route6(ctx, ifindex, dst, tot_len, gen)?,
    };
    let Some(f) = pkt::view::<Ip6>(ctx) else {
        return Ok(abort(slot));
    };
    f.ip.hop_limit -= 1;
    hop.write(&mut f.eth);
    stats::forwarded(slot, hit);
    Ok(xdp_action::XDP_REDIRECT)
}

/// The fib lookup for an IPv6 frame the next-hop cache had no hop for (see `route4`).
#[inline(always)]
fn route6(
    ctx: &XdpContext,
    ifindex: u32,
    dst: [u8; 16],
    tot_len: u16,
    gen: u32,
) -> Result<MacWords, ToKernel> {
    let Some(f) = pkt::view::<Ip6>(ctx) else {
        return Err(ToKernel::Plain);
    };
    let mut buf = fib::FibBuf::uninit();
    let fib = fib::zeroed(&mut buf);
    fib.family = AF_INET6;
    fib.l4_protocol = f.ip.next_hdr;
    fib.__bindgen_anon_1.tot_len = tot_len;
    fib.ifindex = ifindex;
    let vcf = f.ip.vcf;
    let flow = [vcf[0] & IPV6_AFTER_VERSION, vcf[1], vcf[2], vcf[3]];
    fib.__bindgen_anon_2.flowinfo = u32::from_ne_bytes(flow);
    fib.__bindgen_anon_3.ipv6_src = pkt::addr6(pkt::get(&f.ip.src_addr));
    fib.__bindgen_anon_4.ipv6_dst = pkt::addr6(dst);
    let dst = pkt::addr6(dst);
    lookup_and_redirect(ctx, ifindex, fib, FAMILY_V6, dst)?;
    if gen != NH_GEN_OFF {
        let oif = fib.ifindex;
        nhcache::fill(ifindex, FAMILY_V6, dst, tot_len, gen, oif, &buf);
    }
    Ok(fib::mac_words(&buf))
}

/// The next-hop cache's hop for `dst` (see `nhcache::hit`) while the cache is on (`gen`);
/// a miss is counted.
#[inline(always)]
fn cached_hop(
    slot: u16,
    ifindex: u32,
    family: u8,
    dst: pkt::Addr,
    tot_len: u16,
    gen: u32,
) -> Option<MacWords> {
    if gen == NH_GEN_OFF {
        return None;
    }
    let hop = nhcache::hit(ifindex, family, dst, tot_len, gen);
    if hop.is_none() {
        stats::bump(slot, Counter::NhCacheMiss);
    }
    hop
}

/// Looks the route to `dst` up from the ingress interface and arms the redirect to its
/// output port. An error when the fast path cannot take the frame: lookup failed (no
/// neighbour, needs fragmentation, unreachable, ...), the output is the input interface,
/// or the output is not a forwarding target in `HSRP_TX_PORTS` (then named in the error,
/// to be reported). Nothing in the frame is changed yet, so it can still go to the kernel
/// as it came.
#[inline(always)]
fn lookup_and_redirect(
    ctx: &XdpContext,
    ifindex: u32,
    fib: &mut bpf_fib_lookup,
    family: u8,
    dst: pkt::Addr,
) -> Result<(), ToKernel> {
    if fib::lookup(ctx, fib) != BPF_FIB_LKUP_RET_SUCCESS as i64 || fib.ifindex == ifindex {
        return Err(ToKernel::routed(family, dst));
    }
    match HSRP_TX_PORTS.redirect(fib.ifindex, 0) {
        Ok(_) => Ok(()),
        Err(_) => Err(ToKernel::Routed {
            family,
            dst,
            oif: fib.ifindex,
        }),
    }
}

/// After a frame that could not be forwarded took `verdict`: reports an output interface
/// missing from `HSRP_TX_PORTS` (`oif`, 0 = another reason, nothing to report).
#[inline(always)]
fn no_tx_port(ctx: &XdpContext, ifindex: u32, oif: u32, verdict: u32) -> u32 {
    if oif == 0 {
        return verdict;
    }
    log::report(ctx, log::NO_TX_PORT, [ifindex, oif, 0, 0, 0, 0], verdict)
}

/// The cold path after the fast path gave up: a frame to one of our VIPs that is not an
/// answered kind is dropped (the kernel does not own the VIP and would route it back out
/// of the LAN); anything else goes to the kernel.
#[inline(always)]
fn slow_or_vip(ctx: &XdpContext, ifindex: u32, slot: u16, family: u8, dst: pkt::Addr) -> u32 {
    match maps::vip(ifindex, family, dst) {
        // Services on the VIP (accept) are for the kernel: it delivers them to a socket.
        Some((_, group)) if group.flags & VMAC_F_ACCEPT == 0 => {
            drop(slot, Counter::DroppedVipOther)
        }
        _ => slow_path(ctx, ifindex, slot),
    }
}

/// Hands the frame to the kernel with the interface's own MAC as destination, so the
/// stack accepts and routes it (a frame to the vMAC would be dropped as "other host").
#[inline(always)]
pub fn slow_path(ctx: &XdpContext, ifindex: u32, slot: u16) -> u32 {
    if let (Some(iface), Some(eth)) = (maps::iface(ifindex), pkt::view::<EthHdr>(ctx)) {
        pkt::put(&mut eth.dst_addr, &iface.mac);
    }
    stats::bump(slot, Counter::SlowPath);
    xdp_action::XDP_PASS
}
