//! Frames to a virtual MAC of this interface: drop when the group is not Active; answer
//! echo/ARP/NS for a VIP; in kernel-path mode (`HSRP_FWD_MODE`, netfilter hooks present)
//! hand everything else to the kernel; otherwise forward (fib lookup, TTL/hop limit - 1, new MACs,
//! devmap redirect), or hand to the kernel with the interface MAC as destination when the
//! fast path cannot (no neighbour, TTL expiring, needs fragmentation, IP options, lookup
//! failure, target not in the devmap, output = input interface).

use aya_ebpf::{
    bindings::{bpf_fib_lookup, xdp_action, BPF_FIB_LKUP_RET_SUCCESS},
    programs::XdpContext,
};
use hsrp_ebpf::{
    Counter, VmacValue, FAMILY_V4, FAMILY_V6, NH_GEN_OFF, VMAC_F_ACCEPT, VMAC_F_SLOW_PATH_ONLY,
};

use super::{
    answer, csum, drop, fib, maps,
    maps::HSRP_TX_PORTS,
    nhcache,
    pkt::{self, ETH_P_ARP, ETH_P_IP, ETH_P_IPV6, IPPROTO_ICMP, IPPROTO_ICMPV6, L3, L4_V6},
    stats,
};

const AF_INET: u8 = 2;
const AF_INET6: u8 = 10;

/// A frame whose destination MAC is `group`'s vMAC on `ifindex`.
#[inline(always)]
pub fn to_vmac(ctx: &XdpContext, ifindex: u32, group: VmacValue, ethertype: u16) -> u32 {
    let slot = group.stats_slot;
    if group.active == 0 {
        return drop(slot, Counter::DroppedNotActive);
    }
    match ethertype {
        ETH_P_IP => ipv4(ctx, ifindex, group),
        ETH_P_IPV6 => ipv6(ctx, ifindex, group),
        ETH_P_ARP => match answer::arp(ctx, ifindex) {
            Some(verdict) => verdict,
            None => slow_path(ctx, ifindex, slot),
        },
        _ => slow_path(ctx, ifindex, slot),
    }
}

#[inline(always)]
fn ipv4(ctx: &XdpContext, ifindex: u32, group: VmacValue) -> u32 {
    let slot = group.stats_slot;
    let Some(f) = pkt::bytes::<{ L3 + 20 }>(ctx, 0) else {
        return slow_path(ctx, ifindex, slot);
    };
    if f[L3] != 0x45 || f[L3 + 8] <= 1 || group.flags & VMAC_F_SLOW_PATH_ONLY != 0 {
        // IP options, TTL expiring (the kernel sends Time Exceeded), or configured so.
        return slow_or_vip(
            ctx,
            ifindex,
            slot,
            FAMILY_V4,
            pkt::addr4(pkt::ip4(f, L3 + 16)),
        );
    }
    let proto = f[L3 + 9];
    if proto == IPPROTO_ICMP {
        if let Some(verdict) = answer::echo4(ctx, ifindex) {
            return verdict;
        }
    }
    let dst = pkt::ip4(f, L3 + 16);
    if maps::kernel_path() {
        // Netfilter must see it: firewall, NAT, conntrack (the VIP's answers came first).
        return slow_or_vip(ctx, ifindex, slot, FAMILY_V4, pkt::addr4(dst));
    }
    let tot_len = pkt::be16(f, L3 + 2);
    // Read before the lookup: an entry filled while userspace bumps it is born stale.
    let gen = maps::nh_gen();
    if gen != NH_GEN_OFF {
        if let Some(hop) = nhcache::hit(ifindex, FAMILY_V4, pkt::addr4(dst), tot_len, gen) {
            // A fresh bounds-checked view after the map helpers.
            let Some(f) = pkt::bytes::<{ L3 + 20 }>(ctx, 0) else {
                return xdp_action::XDP_ABORTED;
            };
            ttl_minus_one(f);
            pkt::put_mac_words(f, 0, hop.dmac_lo, hop.dmac_hi);
            pkt::put_mac_words(f, 6, hop.smac_lo, hop.smac_hi);
            stats::bump2(slot, Counter::Forwarded, Counter::NhCacheHit);
            return xdp_action::XDP_REDIRECT;
        }
        stats::bump(slot, Counter::NhCacheMiss);
    }
    let Some(f) = pkt::bytes::<{ L3 + 20 }>(ctx, 0) else {
        return slow_path(ctx, ifindex, slot);
    };
    let mut buf = fib::FibBuf::uninit();
    let fib = fib::zeroed(&mut buf);
    fib.family = AF_INET;
    fib.l4_protocol = f[L3 + 9];
    fib.__bindgen_anon_1.tot_len = tot_len;
    fib.ifindex = ifindex;
    fib.__bindgen_anon_2.tos = f[L3 + 1];
    fib.__bindgen_anon_3.ipv4_src = u32::from_ne_bytes(pkt::ip4(f, L3 + 12));
    fib.__bindgen_anon_4.ipv4_dst = u32::from_ne_bytes(dst);
    if !lookup_and_redirect(ctx, ifindex, fib) {
        return slow_or_vip(ctx, ifindex, slot, FAMILY_V4, pkt::addr4(dst));
    }
    if gen != NH_GEN_OFF {
        let oif = fib.ifindex;
        nhcache::fill(ifindex, FAMILY_V4, pkt::addr4(dst), tot_len, gen, oif, &buf);
    }
    // The packet pointers were invalidated by the helper calls: check again.
    let Some(f) = pkt::bytes::<{ L3 + 20 }>(ctx, 0) else {
        return xdp_action::XDP_ABORTED;
    };
    ttl_minus_one(f);
    fib::write_macs(&buf, f);
    stats::bump(slot, Counter::Forwarded);
    xdp_action::XDP_REDIRECT
}

/// IPv4 TTL - 1 with the incremental checksum update (RFC 1624).
#[inline(always)]
fn ttl_minus_one(f: &mut [u8; L3 + 20]) {
    let ttl = f[L3 + 8];
    let proto = f[L3 + 9];
    let old = u16::from_be_bytes([ttl, proto]);
    let new = u16::from_be_bytes([ttl.wrapping_sub(1), proto]);
    f[L3 + 8] = ttl.wrapping_sub(1);
    let check = csum::replace16(pkt::be16(f, L3 + 10), old, new);
    pkt::put_be16(f, L3 + 10, check);
}

#[inline(always)]
fn ipv6(ctx: &XdpContext, ifindex: u32, group: VmacValue) -> u32 {
    let slot = group.stats_slot;
    let Some(f) = pkt::bytes::<{ L4_V6 }>(ctx, 0) else {
        return slow_path(ctx, ifindex, slot);
    };
    let dst = pkt::ip6(f, L3 + 24);
    if f[L3] >> 4 != 6 || f[L3 + 7] <= 1 || group.flags & VMAC_F_SLOW_PATH_ONLY != 0 {
        return slow_or_vip(ctx, ifindex, slot, FAMILY_V6, pkt::addr6(dst));
    }
    let next = f[L3 + 6];
    if next == IPPROTO_ICMPV6 {
        if let Some(verdict) = answer::echo6(ctx, ifindex) {
            return verdict;
        }
        if let Some(verdict) = answer::ns(ctx, ifindex) {
            return verdict;
        }
    }
    if maps::kernel_path() {
        return slow_or_vip(ctx, ifindex, slot, FAMILY_V6, pkt::addr6(dst));
    }
    let Some(f) = pkt::bytes::<{ L4_V6 }>(ctx, 0) else {
        return slow_path(ctx, ifindex, slot);
    };
    let tot_len = pkt::be16(f, L3 + 4).wrapping_add(40);
    // Read before the lookup: an entry filled while userspace bumps it is born stale.
    let gen = maps::nh_gen();
    if gen != NH_GEN_OFF {
        if let Some(hop) = nhcache::hit(ifindex, FAMILY_V6, pkt::addr6(dst), tot_len, gen) {
            let Some(f) = pkt::bytes::<{ L4_V6 }>(ctx, 0) else {
                return xdp_action::XDP_ABORTED;
            };
            f[L3 + 7] -= 1;
            pkt::put_mac_words(f, 0, hop.dmac_lo, hop.dmac_hi);
            pkt::put_mac_words(f, 6, hop.smac_lo, hop.smac_hi);
            stats::bump2(slot, Counter::Forwarded, Counter::NhCacheHit);
            return xdp_action::XDP_REDIRECT;
        }
        stats::bump(slot, Counter::NhCacheMiss);
    }
    let Some(f) = pkt::bytes::<{ L4_V6 }>(ctx, 0) else {
        return slow_path(ctx, ifindex, slot);
    };
    let mut buf = fib::FibBuf::uninit();
    let fib = fib::zeroed(&mut buf);
    fib.family = AF_INET6;
    fib.l4_protocol = next;
    fib.__bindgen_anon_1.tot_len = tot_len;
    fib.ifindex = ifindex;
    let flow = [f[L3] & 0x0f, f[L3 + 1], f[L3 + 2], f[L3 + 3]];
    fib.__bindgen_anon_2.flowinfo = u32::from_ne_bytes(flow);
    fib.__bindgen_anon_3.ipv6_src = pkt::addr6(pkt::ip6(f, L3 + 8));
    fib.__bindgen_anon_4.ipv6_dst = pkt::addr6(dst);
    if !lookup_and_redirect(ctx, ifindex, fib) {
        return slow_or_vip(ctx, ifindex, slot, FAMILY_V6, pkt::addr6(dst));
    }
    if gen != NH_GEN_OFF {
        let oif = fib.ifindex;
        nhcache::fill(ifindex, FAMILY_V6, pkt::addr6(dst), tot_len, gen, oif, &buf);
    }
    let Some(f) = pkt::bytes::<{ L4_V6 }>(ctx, 0) else {
        return xdp_action::XDP_ABORTED;
    };
    f[L3 + 7] -= 1;
    fib::write_macs(&buf, f);
    stats::bump(slot, Counter::Forwarded);
    xdp_action::XDP_REDIRECT
}

/// Looks the route up from the ingress interface and arms the redirect to its output
/// port. False when the fast path cannot take the frame: lookup failed (no neighbour,
/// needs fragmentation, unreachable, ...), output is the input interface, or the output
/// is not a forwarding target in `HSRP_TX_PORTS`. Nothing in the frame is changed yet, so
/// the caller can still hand it to the kernel as it came.
#[inline(always)]
fn lookup_and_redirect(ctx: &XdpContext, ifindex: u32, fib: &mut bpf_fib_lookup) -> bool {
    if fib::lookup(ctx, fib) != BPF_FIB_LKUP_RET_SUCCESS as i64 || fib.ifindex == ifindex {
        return false;
    }
    HSRP_TX_PORTS.redirect(fib.ifindex, 0).is_ok()
}

/// The cold path after the fast path gave up: a frame to one of our VIPs that is not an
/// answered kind is dropped (the kernel does not own the VIP and would route it back out
/// of the LAN); anything else goes to the kernel.
#[inline(always)]
fn slow_or_vip(ctx: &XdpContext, ifindex: u32, slot: u16, family: u8, dst: pkt::Addr) -> u32 {
    match maps::vip(ifindex, family, dst) {
        // Services on the VIP: the kernel delivers it to a local socket.
        Some((_, group)) if group.flags & VMAC_F_ACCEPT != 0 => slow_path(ctx, ifindex, slot),
        Some(_) => drop(slot, Counter::DroppedVipOther),
        None => slow_path(ctx, ifindex, slot),
    }
}

/// Hands the frame to the kernel with the interface's own MAC as destination, so the
/// stack accepts and routes it (a frame to the vMAC would be dropped as "other host").
#[inline(always)]
pub fn slow_path(ctx: &XdpContext, ifindex: u32, slot: u16) -> u32 {
    if let (Some(iface), Some(eth)) = (maps::iface(ifindex), pkt::bytes::<14>(ctx, 0)) {
        pkt::put(eth, 0, &iface.mac);
    }
    stats::bump(slot, Counter::SlowPath);
    xdp_action::XDP_PASS
}
