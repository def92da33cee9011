//! HSRP control packets (UDP 1985 to 224.0.0.2 / 224.0.0.102, UDP 2029 to ff02::66):
//! dropped when malformed at the cheap level (lengths, version byte, TLV lengths) or over
//! the per-source rate budget, otherwise passed to the stack for hsrpd's socket. TTL /
//! hop limit is deliberately not checked (real routers send 1 or 255).

use aya_ebpf::{bindings::xdp_action, programs::XdpContext};
use hsrp_ebpf::{rate_slot_index, Counter, FAMILY_V4, FAMILY_V6};

use super::{
    clock, drop, maps,
    maps::HSRP_CTRL_RATE,
    pkt::{self, IPPROTO_UDP, L3, L4_V4, L4_V6},
    stats,
};

const HSRP_PORT: u16 = 1985;
const HSRP_V6_PORT: u16 = 2029;
const ALL_ROUTERS: [u8; 4] = [224, 0, 0, 2];
const HSRP_V2_GROUP: [u8; 4] = [224, 0, 0, 102];
const HSRP_V6_GROUP: [u8; 16] = [0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x66];
/// v1 payload: 20 bytes, 50 with the MD5 TLV; Advertise (opcode 3) is 16.
const V1_LEN: u16 = 20;
const V1_MD5_LEN: u16 = 50;
const V1_ADVERTISE_LEN: u16 = 16;
/// TLVs looked at in a v2 packet (Group State, auth, and a spare); a packet with more is
/// not checked beyond them.
const V2_MAX_TLVS: usize = 4;

/// IPv4 multicast frame: HSRP control, or someone else's (passed untouched).
#[inline(always)]
pub fn ipv4(ctx: &XdpContext, ifindex: u32) -> u32 {
    let Some(f) = pkt::bytes::<L4_V4>(ctx, 0) else {
        return stats::pass();
    };
    let dst = pkt::ip4(f, L3 + 16);
    let v1 = dst == ALL_ROUTERS;
    if !(v1 || dst == HSRP_V2_GROUP) || f[L3 + 9] != IPPROTO_UDP {
        return stats::pass();
    }
    let src = pkt::ip4(f, L3 + 12);
    let ihl_ok = f[L3] == 0x45;
    let ip_len = pkt::be16(f, L3 + 2) as usize;
    let Some(udp) = pkt::bytes::<{ L4_V4 + 8 }>(ctx, 0) else {
        return stats::pass();
    };
    if pkt::be16(udp, L4_V4 + 2) != HSRP_PORT {
        return stats::pass();
    }
    let slot = slot_of(ifindex);
    let udp_len = pkt::be16(udp, L4_V4 + 4) as usize;
    // IP options never occur in HSRP; a packet with them is treated as malformed (and
    // could otherwise dodge these checks).
    if !ihl_ok || L3 + ip_len > pkt::len(ctx) || udp_len < 8 || udp_len + 20 > ip_len {
        return drop(slot, Counter::ControlMalformed);
    }
    let payload = (udp_len - 8) as u16;
    let sane = if v1 {
        v1_sane(ctx, payload)
    } else {
        v2_sane(ctx, L4_V4 + 8, payload)
    };
    if !sane {
        return drop(slot, Counter::ControlMalformed);
    }
    admit(slot, FAMILY_V4, pkt::addr4(src))
}

/// IPv6 multicast frame (not solicited-node): HSRP for IPv6, or passed untouched.
#[inline(always)]
pub fn ipv6(ctx: &XdpContext, ifindex: u32) -> u32 {
    let Some(f) = pkt::bytes::<{ L4_V6 + 8 }>(ctx, 0) else {
        return stats::pass();
    };
    if pkt::ip6(f, L3 + 24) != HSRP_V6_GROUP
        || f[L3 + 6] != IPPROTO_UDP
        || pkt::be16(f, L4_V6 + 2) != HSRP_V6_PORT
    {
        return stats::pass();
    }
    let slot = slot_of(ifindex);
    let ip_payload = pkt::be16(f, L3 + 4) as usize;
    let udp_len = pkt::be16(f, L4_V6 + 4) as usize;
    if L4_V6 + ip_payload > pkt::len(ctx) || udp_len < 8 || udp_len > ip_payload {
        return drop(slot, Counter::ControlMalformed);
    }
    let src = pkt::ip6(f, L3 + 8);
    if !v2_sane(ctx, L4_V6 + 8, (udp_len - 8) as u16) {
        return drop(slot, Counter::ControlMalformed);
    }
    admit(slot, FAMILY_V6, pkt::addr6(src))
}

#[inline(always)]
fn slot_of(ifindex: u32) -> u16 {
    maps::iface_stats_slot(ifindex)
}

/// v1: version byte 0 and one of the lengths real routers send.
#[inline(always)]
fn v1_sane(ctx: &XdpContext, len: u16) -> bool {
    let Some(p) = pkt::bytes::<2>(ctx, L4_V4 + 8) else {
        return false;
    };
    if p[0] != 0 {
        return false;
    }
    if p[1] == 3 {
        return len >= V1_ADVERTISE_LEN;
    }
    if len == V1_LEN {
        return true;
    }
    // v1 + MD5 TLV (type 4, length 28) right after the 20 bytes.
    match pkt::bytes::<2>(ctx, L4_V4 + 8 + V1_LEN as usize) {
        Some(t) => len == V1_MD5_LEN && t[0] == 4 && t[1] == 28,
        None => false,
    }
}

/// v2: a chain of TLVs that fits the payload exactly as far as we walk it; the first is a
/// Group State TLV (type 1, length 40, version 2) or an Interface State TLV (type 2,
/// length 4).
#[inline(always)]
fn v2_sane(ctx: &XdpContext, base: usize, len: u16) -> bool {
    let len = len as usize;
    if len < 2 {
        return false;
    }
    let mut off = 0usize;
    let mut i = 0;
    while i < V2_MAX_TLVS {
        if off >= len {
            return true;
        }
        // `off` stays below 4 * 257; the mask makes that visible to the verifier.
        let Some(t) = pkt::bytes::<3>(ctx, base + (off & 0x7ff)) else {
            return false;
        };
        let (kind, tlv_len) = (t[0], t[1] as usize);
        if off + 2 + tlv_len > len {
            return false;
        }
        if i == 0 {
            let group_state = kind == 1 && tlv_len == 40 && t[2] == 2;
            let iface_state = kind == 2 && tlv_len == 4;
            if !(group_state || iface_state) {
                return false;
            }
        }
        off += 2 + tlv_len;
        i += 1;
    }
    true
}

/// Per-source budget, a token bucket kept as GCRA: each packet moves the source's
/// theoretical arrival time `tat` one interval on; a packet arriving while `tat` is more
/// than the burst allowance ahead of now is over budget. The state lives in the source's
/// slot of the `HSRP_CTRL_RATE` array (see `hsrp_ebpf::RateSlot`).
#[inline(always)]
fn admit(slot: u16, family: u8, addr: pkt::Addr) -> u32 {
    let cfg = maps::config();
    if cfg.ctrl_interval_ns != 0 {
        // The coarse clock (jiffy resolution), read at most once per tick per CPU (see
        // `clock`): budgets of HSRP sources are in packets per second, so a few
        // milliseconds of quantisation move a bucket by a fraction of a token.
        let now = clock::coarse_ns();
        let index = rate_slot_index(family, addr);
        if let Some(p) = HSRP_CTRL_RATE.get_ptr_mut(index) {
            let source = [family as u32, addr[0], addr[1], addr[2], addr[3]];
            let words = p as *mut u32;
            // SAFETY: p is an 8-aligned RateSlot in the array: words 0..5 are `source`
            // (family + pad, then the address), `state.tat_ns` is at byte 24. Other CPUs
            // may update the slot at the same time; at worst a packet or two get through.
            unsafe {
                let mine = (0..5).all(|k| words.add(k).read_volatile() == source[k]);
                let tat = if mine {
                    (*p).state.tat_ns.max(now)
                } else {
                    now
                };
                if mine && tat - now > cfg.ctrl_burst_ns {
                    return drop(slot, Counter::ControlRateLimited);
                }
                if !mine {
                    for (k, w) in source.iter().enumerate() {
                        words.add(k).write_volatile(*w);
                    }
                }
                (*p).state.tat_ns = tat + cfg.ctrl_interval_ns;
            }
        }
    }
    stats::bump(slot, Counter::ControlPassed);
    xdp_action::XDP_PASS
}
