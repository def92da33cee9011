//! Answers for a VIP, built in place and sent back with XDP_TX from the vMAC: ARP reply,
//! ICMP echo reply, ICMPv6 echo reply, Neighbour Advertisement. Each returns `None` when
//! the frame is not for one of our VIPs (the caller decides what that means), and reads
//! `active` from the vMAC entry the VIP names, so the group's one flag governs answers too.

use aya_ebpf::{bindings::xdp_action, helpers::bpf_xdp_adjust_tail, programs::XdpContext};
use hsrp_ebpf::{Counter, FAMILY_V4, FAMILY_V6};

use super::{
    csum, drop, maps,
    pkt::{self, IPPROTO_ICMPV6, L3, L4_V4, L4_V6},
    stats,
};

/// Length of an ARP-over-Ethernet frame without padding.
const ARP_LEN: usize = L3 + 28;
/// Echo frames: headers plus the 8-byte ICMP header.
const ECHO4_LEN: usize = L4_V4 + 8;
const ECHO6_LEN: usize = L4_V6 + 8;
/// NS: ICMPv6 header (4) + reserved (4) + target (16). Our NA adds a 8-byte TLLA option.
const NS_LEN: usize = L4_V6 + 24;
const NA_LEN: usize = L4_V6 + 32;
/// Hop limit / TTL of the answers we originate (echo replies); ND requires 255.
const REPLY_TTL: u8 = 64;

/// ARP request (broadcast, or unicast to the vMAC) for a VIP.
#[inline(always)]
pub fn arp(ctx: &XdpContext, ifindex: u32) -> Option<u32> {
    let f = pkt::bytes::<ARP_LEN>(ctx, 0)?;
    // Ethernet/IPv4 request; a gratuitous one (sender = target) is an announcement.
    if f[L3..L3 + 8] != [0, 1, 8, 0, 6, 4, 0, 1] || f[L3 + 14..L3 + 18] == f[L3 + 24..L3 + 28] {
        return None;
    }
    let vip_addr = pkt::ip4(f, L3 + 24);
    let (vip, group) = maps::vip(ifindex, FAMILY_V4, pkt::addr4(vip_addr))?;
    if group.active == 0 {
        return Some(drop(group.stats_slot, Counter::ArpDropped));
    }
    let f = pkt::bytes::<ARP_LEN>(ctx, 0)?;
    let asker_mac = pkt::mac(f, L3 + 8);
    let asker_ip = pkt::ip4(f, L3 + 14);
    pkt::put(f, 0, &asker_mac);
    pkt::put(f, 6, &vip.vmac);
    f[L3 + 7] = 2; // reply
    pkt::put(f, L3 + 8, &vip.vmac);
    pkt::put(f, L3 + 14, &vip_addr);
    pkt::put(f, L3 + 18, &asker_mac);
    pkt::put(f, L3 + 24, &asker_ip);
    stats::bump(group.stats_slot, Counter::ArpAnswered);
    Some(xdp_action::XDP_TX)
}

/// IPv4 frame (no options, checked by the caller) to a VIP: answer an echo request,
/// drop anything else.
#[inline(always)]
pub fn echo4(ctx: &XdpContext, ifindex: u32) -> Option<u32> {
    let f = pkt::bytes::<ECHO4_LEN>(ctx, 0)?;
    let dst = pkt::ip4(f, L3 + 16);
    let (vip, group) = maps::vip(ifindex, FAMILY_V4, pkt::addr4(dst))?;
    let slot = group.stats_slot;
    if group.active == 0 {
        return Some(drop(slot, Counter::DroppedNotActive));
    }
    let f = pkt::bytes::<ECHO4_LEN>(ctx, 0)?;
    let fragment = pkt::be16(f, L3 + 6) & 0x3fff != 0;
    if fragment || f[L4_V4] != 8 || f[L4_V4 + 1] != 0 {
        return Some(drop(slot, Counter::DroppedVipOther));
    }
    swap_macs(f, &vip.vmac);
    let src = pkt::ip4(f, L3 + 12);
    pkt::put(f, L3 + 12, &dst);
    pkt::put(f, L3 + 16, &src);
    let old = pkt::be16(f, L3 + 8);
    f[L3 + 8] = REPLY_TTL;
    let check = csum::replace16(pkt::be16(f, L3 + 10), old, pkt::be16(f, L3 + 8));
    pkt::put_be16(f, L3 + 10, check);
    // Type 8 -> 0; code stays 0.
    f[L4_V4] = 0;
    let check = csum::replace16(pkt::be16(f, L4_V4 + 2), 0x0800, 0x0000);
    pkt::put_be16(f, L4_V4 + 2, check);
    stats::bump(slot, Counter::EchoAnswered);
    Some(xdp_action::XDP_TX)
}

/// IPv6 frame to a virtual IPv6 address: answer an ICMPv6 echo request. `None` for other
/// frames (including NS, which `ns` handles) and for addresses that are not VIPs.
#[inline(always)]
pub fn echo6(ctx: &XdpContext, ifindex: u32) -> Option<u32> {
    let f = pkt::bytes::<ECHO6_LEN>(ctx, 0)?;
    if f[L3 + 6] != IPPROTO_ICMPV6 || f[L4_V6] != 128 {
        return None;
    }
    let dst = pkt::ip6(f, L3 + 24);
    let (vip, group) = maps::vip(ifindex, FAMILY_V6, pkt::addr6(dst))?;
    let slot = group.stats_slot;
    if group.active == 0 {
        return Some(drop(slot, Counter::DroppedNotActive));
    }
    let f = pkt::bytes::<ECHO6_LEN>(ctx, 0)?;
    if f[L4_V6 + 1] != 0 {
        return Some(drop(slot, Counter::DroppedVipOther));
    }
    swap_macs(f, &vip.vmac);
    let src = pkt::ip6(f, L3 + 8);
    pkt::put(f, L3 + 8, &dst);
    pkt::put(f, L3 + 24, &src);
    f[L3 + 7] = REPLY_TTL;
    // Type 128 -> 129; swapping the addresses leaves the pseudo-header sum unchanged.
    f[L4_V6] = 129;
    let check = csum::replace16(pkt::be16(f, L4_V6 + 2), 0x8000, 0x8100);
    pkt::put_be16(f, L4_V6 + 2, check);
    stats::bump(slot, Counter::EchoAnswered);
    Some(xdp_action::XDP_TX)
}

/// Neighbour Solicitation (multicast, or unicast to the vMAC) for a virtual IPv6 address:
/// answer with a Neighbour Advertisement from the vMAC (R, S unless the asker is doing
/// DAD, O; target link-layer address = vMAC).
#[inline(always)]
pub fn ns(ctx: &XdpContext, ifindex: u32) -> Option<u32> {
    let f = pkt::bytes::<NS_LEN>(ctx, 0)?;
    // RFC 4861 §7.1.1: hop limit 255, ICMPv6 code 0, payload at least 24 bytes.
    if f[L3 + 6] != IPPROTO_ICMPV6
        || f[L3 + 7] != 255
        || f[L4_V6] != 135
        || f[L4_V6 + 1] != 0
        || pkt::be16(f, L3 + 4) < 24
    {
        return None;
    }
    let target = pkt::ip6(f, L4_V6 + 8);
    let (vip, group) = maps::vip(ifindex, FAMILY_V6, pkt::addr6(target))?;
    let slot = group.stats_slot;
    if group.active == 0 {
        return Some(drop(slot, Counter::NdDropped));
    }
    let f = pkt::bytes::<NS_LEN>(ctx, 0)?;
    let asker_mac = pkt::mac(f, 6);
    let asker_ip = pkt::ip6(f, L3 + 8);
    // From the unspecified address (DAD): answer to all-nodes, not solicited.
    let dad = asker_ip == [0; 16];
    let delta = NA_LEN as i32 - pkt::len(ctx) as i32;
    // SAFETY: ctx is the program's context; a failed resize leaves the frame untouched.
    if delta != 0 && unsafe { bpf_xdp_adjust_tail(ctx.ctx, delta) } != 0 {
        return Some(drop(slot, Counter::DroppedVipOther));
    }
    let f = pkt::bytes::<NA_LEN>(ctx, 0)?;
    if dad {
        pkt::put(f, 0, &[0x33, 0x33, 0, 0, 0, 1]);
    } else {
        pkt::put(f, 0, &asker_mac);
    }
    pkt::put(f, 6, &vip.vmac);
    // IPv6: version 6, no traffic class / flow label, payload 32, ICMPv6, hop limit 255.
    pkt::put(f, L3, &[0x60, 0, 0, 0, 0, 32, IPPROTO_ICMPV6, 255]);
    pkt::put(f, L3 + 8, &target);
    if dad {
        pkt::put(
            f,
            L3 + 24,
            &[0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
        );
    } else {
        pkt::put(f, L3 + 24, &asker_ip);
    }
    let flags = if dad { 0xa0 } else { 0xe0 }; // R | S | O
    pkt::put(f, L4_V6, &[136, 0, 0, 0, flags, 0, 0, 0]);
    pkt::put(f, L4_V6 + 8, &target);
    pkt::put(f, L4_V6 + 24, &[2, 1]);
    pkt::put(f, L4_V6 + 26, &vip.vmac);
    // Pseudo-header (addresses, upper-layer length 32, next header 58) + the message.
    let sum = csum::add_words(32 + IPPROTO_ICMPV6 as u32, f, L3 + 8, 16);
    let sum = csum::add_words(sum, f, L4_V6, 16);
    pkt::put_be16(f, L4_V6 + 2, !csum::fold(sum));
    stats::bump(slot, Counter::NdAnswered);
    Some(xdp_action::XDP_TX)
}

#[inline(always)]
fn swap_macs<const N: usize>(f: &mut [u8; N], vmac: &[u8; 6]) {
    let asker = pkt::mac(f, 6);
    pkt::put(f, 0, &asker);
    pkt::put(f, 6, vmac);
}
