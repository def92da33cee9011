//! The accepted-flow path (`HSRP_FWD_MODE` = [`hsrp_ebpf::FWD_ACCEPTED_FLOW`]): a frame
//! may take the fast path only if its flow is in `HSRP_FLOWS`, where hsrpd puts flows that
//! conntrack holds as established (so the ruleset's first rule accepts them). Everything
//! that could change conntrack's view goes to the kernel: fragments (no ports to look
//! up), IP options and IPv6 extension headers (the caller checks options; an extension
//! header is not TCP/UDP here), and TCP segments with SYN, FIN or RST, so conntrack sees
//! every opening and closing.

use aya_ebpf::programs::XdpContext;
use hsrp_ebpf::{Counter, FLOW_V4, FLOW_V6};

use super::{
    maps::{self, KeySlot},
    pkt::{self, Addr, Ip4, Ip6},
    stats,
};

const IPPROTO_TCP: u8 = 6;
const IPPROTO_UDP: u8 = 17;
/// The IPv4 flags and fragment offset without DF: MF or an offset means a fragment.
const IPV4_FRAGMENT: u16 = 0x3fff;
/// Where the L4 header starts: Ethernet + IPv4 without options, Ethernet + IPv6.
const L4_AFTER_IP4: usize = 34;
const L4_AFTER_IP6: usize = 54;
/// The TCP flags byte (offset 13 of the header) and the flags the kernel must see.
const TCP_FLAGS_AT: usize = 13;
const TCP_FIN_SYN_RST: u8 = 0x07;

/// Whether an IPv4 frame (without options: checked by the caller) belongs to an accepted
/// flow; counts [`Counter::FlowHit`] in `slot` and the flow's packets and bytes if so.
#[inline(always)]
pub fn accepted4(ctx: &XdpContext, slot: u16) -> bool {
    let Some(f) = pkt::view::<Ip4>(ctx) else {
        return false;
    };
    if pkt::be16(f.ip.frags) & IPV4_FRAGMENT != 0 {
        return false;
    }
    let src = pkt::addr4(pkt::get(&f.ip.src_addr));
    let dst = pkt::addr4(pkt::get(&f.ip.dst_addr));
    let len = pkt::be16(f.ip.tot_len);
    accepted(
        ctx,
        slot,
        (FLOW_V4, f.ip.proto),
        L4_AFTER_IP4,
        src,
        dst,
        len,
    )
}

/// As [`accepted4`] for IPv6 (a TCP/UDP header right after the fixed header only).
#[inline(always)]
pub fn accepted6(ctx: &XdpContext, slot: u16) -> bool {
    let Some(f) = pkt::view::<Ip6>(ctx) else {
        return false;
    };
    let src = pkt::addr6(pkt::get(&f.ip.src_addr));
    let dst = pkt::addr6(pkt::get(&f.ip.dst_addr));
    let len = pkt::be16(f.ip.payload_len).wrapping_add(40);
    accepted(
        ctx,
        slot,
        (FLOW_V6, f.ip.next_hdr),
        L4_AFTER_IP6,
        src,
        dst,
        len,
    )
}

#[inline(always)]
fn accepted(
    ctx: &XdpContext,
    slot: u16,
    (family, proto): (u8, u8),
    l4: usize,
    src: Addr,
    dst: Addr,
    len: u16,
) -> bool {
    let ports = match proto {
        IPPROTO_UDP => match pkt::bytes::<4>(ctx, l4) {
            Some(p) => u32::from_ne_bytes(pkt::get(p)),
            None => return false,
        },
        IPPROTO_TCP => match pkt::bytes::<14>(ctx, l4) {
            Some(h) if h[TCP_FLAGS_AT] & TCP_FIN_SYN_RST == 0 => {
                u32::from_ne_bytes([h[0], h[1], h[2], h[3]])
            }
            _ => return false,
        },
        _ => return false,
    };
    let mut key_slot = KeySlot::uninit();
    let key = maps::flow_key(&mut key_slot, family, proto, ports, src, dst);
    let Some(v) = maps::HSRP_FLOWS.get_ptr_mut(key) else {
        return false;
    };
    // SAFETY: a map value, valid for the program's run; plain adds (see FlowValue).
    unsafe {
        (*v).packets += 1;
        (*v).bytes += len as u64;
    }
    stats::bump(slot, Counter::FlowHit);
    true
}
