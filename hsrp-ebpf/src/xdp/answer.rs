//! Answers for a VIP, built in place and sent back with XDP_TX from the vMAC: ARP reply,
//! ICMP echo reply, ICMPv6 echo reply, Neighbour Advertisement. Each returns `None` when
//! the frame is not for one of our VIPs (the caller decides what that means), and reads
//! `active` from the vMAC entry the VIP names, so the group's one flag governs answers too.

use aya_ebpf::{bindings::xdp_action, helpers::bpf_xdp_adjust_tail, programs::XdpContext};
use hsrp_ebpf::{Counter, FAMILY_V4, FAMILY_V6};
use network_types::{eth::EthHdr, ip::Ipv6Hdr};

use super::{
    csum, drop, maps,
    pkt::{self, Arp, Icmp4, Icmp6, Na, Ns, IPPROTO_ICMPV6},
    stats,
};

/// Hop limit / TTL of the answers we originate (echo replies); ND requires 255.
const REPLY_TTL: u8 = 64;
/// ND messages are sent and accepted with hop limit 255 only (RFC 4861 §7.1).
const ND_HOP_LIMIT: u8 = 255;
/// The first fields of an ARP request for IPv4 over Ethernet: htype 1, ptype 0x0800,
/// hlen 6, plen 4, oper 1 (request). `ArpHdr` has them as separate fields; compared as one
/// 8-byte block so the check is one load and one compare.
const ARP_REQUEST_HEAD: [u8; 8] = [0, 1, 8, 0, 6, 4, 0, 1];
const ARP_OP_REPLY: [u8; 2] = [0, 2];
/// ICMP types (RFC 792, RFC 4443, RFC 4861); `network-types` 0.2.0 only has them as
/// enums over the whole header.
const ICMP_ECHO_REQUEST: u8 = 8;
const ICMP_ECHO_REPLY: u8 = 0;
const ICMPV6_ECHO_REQUEST: u8 = 128;
const ICMPV6_ECHO_REPLY: u8 = 129;
const ND_NEIGHBOR_SOLICIT: u8 = 135;
const ND_NEIGHBOR_ADVERT: u8 = 136;
/// NA flags (first byte of the ICMPv6 data word): Router, Solicited, Override.
const NA_R_S_O: u8 = 0xe0;
const NA_R_O: u8 = 0xa0;
/// ND option: target link-layer address, one 8-byte unit.
const ND_OPT_TARGET_LLA: u8 = 2;
/// Fragment offset and More Fragments bits of the IPv4 `frags` field.
const IPV4_FRAGMENT_BITS: u16 = 0x3fff;
const ALL_NODES_MAC: [u8; 6] = [0x33, 0x33, 0, 0, 0, 1];
const ALL_NODES: [u8; 16] = [0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
/// Bytes of an NS after the IPv6 header (RFC 4861 §7.1.1: at least 24).
const NS_MIN_PAYLOAD: u16 = (size_of::<Ns>() - EthHdr::LEN - Ipv6Hdr::LEN) as u16;
/// The NA we send: header, target and the one option.
const NA_PAYLOAD: u16 = (size_of::<Na>() - EthHdr::LEN - Ipv6Hdr::LEN) as u16;

/// ARP request (broadcast, or unicast to the vMAC) for a VIP.
#[inline(always)]
pub fn arp(ctx: &XdpContext, ifindex: u32) -> Option<u32> {
    let f = pkt::view::<Arp>(ctx)?;
    // Ethernet/IPv4 request; a gratuitous one (sender = target) is an announcement.
    if arp_head(f) != ARP_REQUEST_HEAD || f.arp.spa == f.arp.tpa {
        return None;
    }
    let vip_addr = pkt::get(&f.arp.tpa);
    let (vip, group) = maps::vip(ifindex, FAMILY_V4, pkt::addr4(vip_addr))?;
    if group.active == 0 {
        return Some(drop(group.stats_slot, Counter::ArpDropped));
    }
    let f = pkt::view::<Arp>(ctx)?;
    let asker_mac = pkt::get(&f.arp.sha);
    let asker_ip = pkt::get(&f.arp.spa);
    pkt::put(&mut f.eth.dst_addr, &asker_mac);
    pkt::put(&mut f.eth.src_addr, &vip.vmac);
    pkt::put(&mut f.arp.oper, &ARP_OP_REPLY);
    pkt::put(&mut f.arp.sha, &vip.vmac);
    pkt::put(&mut f.arp.spa, &vip_addr);
    pkt::put(&mut f.arp.tha, &asker_mac);
    pkt::put(&mut f.arp.tpa, &asker_ip);
    stats::bump(group.stats_slot, Counter::ArpAnswered);
    Some(xdp_action::XDP_TX)
}

/// htype, ptype, hlen, plen and oper as one block.
#[inline(always)]
fn arp_head(f: &Arp) -> [u8; 8] {
    // SAFETY: the five fields are the first 8 bytes of the repr(C) ArpHdr (asserted).
    unsafe { (&f.arp as *const _ as *const [u8; 8]).read_unaligned() }
}

const _: () = assert!(core::mem::offset_of!(network_types::arp::ArpHdr, sha) == 8);

/// IPv4 frame (no options, checked by the caller) to a VIP: answer an echo request,
/// drop anything else.
#[inline(always)]
pub fn echo4(ctx: &XdpContext, ifindex: u32) -> Option<u32> {
    let f = pkt::view::<Icmp4>(ctx)?;
    let dst = pkt::get(&f.ip.dst_addr);
    let (vip, group) = maps::vip(ifindex, FAMILY_V4, pkt::addr4(dst))?;
    let slot = group.stats_slot;
    if group.active == 0 {
        return Some(drop(slot, Counter::DroppedNotActive));
    }
    let f = pkt::view::<Icmp4>(ctx)?;
    let fragment = pkt::be16(f.ip.frags) & IPV4_FRAGMENT_BITS != 0;
    if fragment || f.icmp.type_ != ICMP_ECHO_REQUEST || f.icmp.code != 0 {
        return Some(drop(slot, Counter::DroppedVipOther));
    }
    swap_macs(&mut f.eth, &vip.vmac);
    let src = pkt::get(&f.ip.src_addr);
    pkt::put(&mut f.ip.src_addr, &dst);
    pkt::put(&mut f.ip.dst_addr, &src);
    // TTL shares its checksum word with the protocol.
    let old = u16::from_be_bytes([f.ip.ttl, f.ip.proto]);
    f.ip.ttl = REPLY_TTL;
    let new = u16::from_be_bytes([f.ip.ttl, f.ip.proto]);
    let check = csum::replace16(pkt::be16(f.ip.check), old, new);
    f.ip.check = check.to_be_bytes();
    to_reply(
        &mut f.icmp.type_,
        &mut f.icmp.check,
        ICMP_ECHO_REQUEST,
        ICMP_ECHO_REPLY,
    );
    stats::bump(slot, Counter::EchoAnswered);
    Some(xdp_action::XDP_TX)
}

/// IPv6 frame to a virtual IPv6 address: answer an ICMPv6 echo request. `None` for other
/// frames (including NS, which `ns` handles) and for addresses that are not VIPs.
#[inline(always)]
pub fn echo6(ctx: &XdpContext, ifindex: u32) -> Option<u32> {
    let f = pkt::view::<Icmp6>(ctx)?;
    if f.ip.next_hdr != IPPROTO_ICMPV6 || f.icmp.type_ != ICMPV6_ECHO_REQUEST {
        return None;
    }
    let dst = pkt::get(&f.ip.dst_addr);
    let (vip, group) = maps::vip(ifindex, FAMILY_V6, pkt::addr6(dst))?;
    let slot = group.stats_slot;
    if group.active == 0 {
        return Some(drop(slot, Counter::DroppedNotActive));
    }
    let f = pkt::view::<Icmp6>(ctx)?;
    if f.icmp.code != 0 {
        return Some(drop(slot, Counter::DroppedVipOther));
    }
    swap_macs(&mut f.eth, &vip.vmac);
    let src = pkt::get(&f.ip.src_addr);
    pkt::put(&mut f.ip.src_addr, &dst);
    pkt::put(&mut f.ip.dst_addr, &src);
    f.ip.hop_limit = REPLY_TTL;
    // Swapping the addresses leaves the pseudo-header sum unchanged.
    to_reply(
        &mut f.icmp.type_,
        &mut f.icmp.check,
        ICMPV6_ECHO_REQUEST,
        ICMPV6_ECHO_REPLY,
    );
    stats::bump(slot, Counter::EchoAnswered);
    Some(xdp_action::XDP_TX)
}

/// Neighbour Solicitation (multicast, or unicast to the vMAC) for a virtual IPv6 address:
/// answer with a Neighbour Advertisement from the vMAC (R, S unless the asker is doing
/// DAD, O; target link-layer address = vMAC).
#[inline(always)]
pub fn ns(ctx: &XdpContext, ifindex: u32) -> Option<u32> {
    let f = pkt::view::<Ns>(ctx)?;
    // RFC 4861 §7.1.1: hop limit 255, ICMPv6 code 0, payload at least 24 bytes.
    if f.ip.next_hdr != IPPROTO_ICMPV6
        || f.ip.hop_limit != ND_HOP_LIMIT
        || f.icmp.type_ != ND_NEIGHBOR_SOLICIT
        || f.icmp.code != 0
        || pkt::be16(f.ip.payload_len) < NS_MIN_PAYLOAD
    {
        return None;
    }
    let target = pkt::get(&f.target);
    let (vip, group) = maps::vip(ifindex, FAMILY_V6, pkt::addr6(target))?;
    let slot = group.stats_slot;
    if group.active == 0 {
        return Some(drop(slot, Counter::NdDropped));
    }
    let f = pkt::view::<Ns>(ctx)?;
    let asker_mac = pkt::get(&f.eth.src_addr);
    let asker_ip = pkt::get(&f.ip.src_addr);
    // From the unspecified address (DAD): answer to all-nodes, not solicited.
    let dad = asker_ip == [0; 16];
    let delta = size_of::<Na>() as i32 - pkt::len(ctx) as i32;
    // SAFETY: ctx is the program's context; a failed resize leaves the frame untouched.
    if delta != 0 && unsafe { bpf_xdp_adjust_tail(ctx.ctx, delta) } != 0 {
        return Some(drop(slot, Counter::DroppedVipOther));
    }
    let f = pkt::view::<Na>(ctx)?;
    if dad {
        pkt::put(&mut f.eth.dst_addr, &ALL_NODES_MAC);
    } else {
        pkt::put(&mut f.eth.dst_addr, &asker_mac);
    }
    pkt::put(&mut f.eth.src_addr, &vip.vmac);
    // Version 6, no traffic class / flow label.
    pkt::put(&mut f.ip.vcf, &[0x60, 0, 0, 0]);
    pkt::put(&mut f.ip.payload_len, &NA_PAYLOAD.to_be_bytes());
    f.ip.next_hdr = IPPROTO_ICMPV6;
    f.ip.hop_limit = ND_HOP_LIMIT;
    pkt::put(&mut f.ip.src_addr, &target);
    if dad {
        pkt::put(&mut f.ip.dst_addr, &ALL_NODES);
    } else {
        pkt::put(&mut f.ip.dst_addr, &asker_ip);
    }
    let flags = if dad { NA_R_O } else { NA_R_S_O };
    pkt::put(&mut f.icmp.check, &[0, 0]);
    f.icmp.type_ = ND_NEIGHBOR_ADVERT;
    f.icmp.code = 0;
    pkt::put(&mut f.icmp.data, &[flags, 0, 0, 0]);
    pkt::put(&mut f.target, &target);
    f.opt.kind = ND_OPT_TARGET_LLA;
    f.opt.len = 1;
    pkt::put(&mut f.opt.mac, &vip.vmac);
    // Pseudo-header (addresses, upper-layer length, next header) + the message.
    let sum = csum::add_words(NA_PAYLOAD as u32 + IPPROTO_ICMPV6 as u32, &f.ip.src_addr);
    let sum = csum::add_words(sum, &f.ip.dst_addr);
    let sum = csum::add_words(sum, na_message(f));
    f.icmp.check = (!csum::fold(sum)).to_be_bytes();
    stats::bump(slot, Counter::NdAnswered);
    Some(xdp_action::XDP_TX)
}

/// The NA message from the ICMPv6 header to the end of the option, as one block for the
/// checksum.
#[inline(always)]
fn na_message(f: &Na) -> &[u8; NA_PAYLOAD as usize] {
    // SAFETY: icmp, target and opt are contiguous byte fields at the end of the repr(C)
    // `Na` (its size is asserted in `pkt`), NA_PAYLOAD bytes in all.
    unsafe { &*(&f.icmp as *const _ as *const [u8; NA_PAYLOAD as usize]) }
}

/// Turns an echo request into its reply: the type (the code stays 0) and the checksum
/// over the word that holds it.
#[inline(always)]
fn to_reply(kind: &mut u8, check: &mut [u8; 2], request: u8, reply: u8) {
    *kind = reply;
    let old = u16::from_be_bytes([request, 0]);
    let new = u16::from_be_bytes([reply, 0]);
    *check = csum::replace16(pkt::be16(*check), old, new).to_be_bytes();
}

#[inline(always)]
fn swap_macs(eth: &mut EthHdr, vmac: &[u8; 6]) {
    let asker = pkt::get(&eth.src_addr);
    pkt::put(&mut eth.dst_addr, &asker);
    pkt::put(&mut eth.src_addr, vmac);
}
