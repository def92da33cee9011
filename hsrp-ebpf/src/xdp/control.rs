//! HSRP control packets (UDP 1985 to 224.0.0.2 / 224.0.0.102, UDP 2029 to ff02::66):
//! dropped when malformed at the cheap level (lengths, version byte, TLV lengths) or over
//! the per-source rate budget, otherwise passed to the stack for hsrpd's socket. TTL /
//! hop limit is deliberately not checked (real routers send 1 or 255).

use aya_ebpf::{bindings::xdp_action, programs::XdpContext};
use hsrp_ebpf::{proto, rate_slot_index, Counter, FAMILY_V4, FAMILY_V6};
use network_types::{eth::EthHdr, ip::Ipv4Hdr, udp::UdpHdr};

use super::{
    clock, drop, log, maps,
    maps::HSRP_CTRL_RATE,
    pkt::{self, Ip4, Ip6, Udp4, Udp6, IPPROTO_UDP, IPV4_NO_OPTIONS},
    stats,
};

/// TLVs looked at in a v2 packet (Group State, auth, and a spare); a packet with more is
/// not checked beyond them.
const V2_MAX_TLVS: usize = 4;

/// What the header checks made of a multicast frame; [`verdict`] acts on it. Split so
/// the verdict's code (the rate limiter, the report) exists once for both families.
pub enum Heard {
    /// Not HSRP: passed untouched.
    NotOurs,
    /// HSRP that fails the cheap checks, from the source (`slot`, family, address).
    Malformed(u16, u8, pkt::Addr),
    /// HSRP that passes them.
    Sane(u16, u8, pkt::Addr),
}

/// The verdict on a multicast frame the header checks made `heard` of. A frame dropped
/// as malformed or over budget is counted and its source reported (see `log`) at one
/// place for both reasons.
#[inline(always)]
pub fn verdict(ctx: &XdpContext, heard: Heard) -> u32 {
    let (slot, family, src, kind, counter) = match heard {
        Heard::NotOurs => return stats::pass(),
        Heard::Malformed(slot, family, src) => {
            (slot, family, src, log::MALFORMED, Counter::ControlMalformed)
        }
        Heard::Sane(slot, family, src) => {
            if admit(family, src) {
                stats::bump(slot, Counter::ControlPassed);
                return xdp_action::XDP_PASS;
            }
            let over_budget = Counter::ControlRateLimited;
            (slot, family, src, log::RATE_LIMITED, over_budget)
        }
    };
    let verdict = drop(slot, counter);
    log::report(ctx, kind, subject(family, src), verdict)
}

/// IPv4 multicast frame: HSRP control, or someone else's (passed untouched).
#[inline(always)]
pub fn ipv4(ctx: &XdpContext, ifindex: u32) -> Heard {
    let Some(f) = pkt::view::<Ip4>(ctx) else {
        return Heard::NotOurs;
    };
    let dst = pkt::get(&f.ip.dst_addr);
    let v1 = dst == proto::GROUP_V1;
    if !(v1 || dst == proto::GROUP_V2_V4) || f.ip.proto != IPPROTO_UDP {
        return Heard::NotOurs;
    }
    let src = pkt::get(&f.ip.src_addr);
    let ihl_ok = f.ip.vihl == IPV4_NO_OPTIONS;
    let ip_len = pkt::be16(f.ip.tot_len) as usize;
    let Some(udp) = pkt::view::<Udp4>(ctx) else {
        return Heard::NotOurs;
    };
    if pkt::be16(udp.udp.dst) != proto::PORT_V4 {
        return Heard::NotOurs;
    }
    let slot = slot_of(ifindex);
    let udp_len = pkt::be16(udp.udp.len) as usize;
    // IP options never occur in HSRP; a packet with them is treated as malformed (and
    // could otherwise dodge these checks). The payload is looked at only when the
    // lengths hold (one exit for both, so the report below exists once).
    let sane = ihl_ok
        && EthHdr::LEN + ip_len <= pkt::len(ctx)
        && udp_len >= UdpHdr::LEN
        && udp_len + Ipv4Hdr::LEN <= ip_len
        && {
            let payload = (udp_len - UdpHdr::LEN) as u16;
            if v1 {
                v1_sane(ctx, payload)
            } else {
                v2_sane(ctx, size_of::<Udp4>(), payload)
            }
        };
    if !sane {
        return Heard::Malformed(slot, FAMILY_V4, pkt::addr4(src));
    }
    Heard::Sane(slot, FAMILY_V4, pkt::addr4(src))
}

/// IPv6 multicast frame (not solicited-node): HSRP for IPv6, or passed untouched.
#[inline(always)]
pub fn ipv6(ctx: &XdpContext, ifindex: u32) -> Heard {
    let Some(f) = pkt::view::<Udp6>(ctx) else {
        return Heard::NotOurs;
    };
    if pkt::get(&f.ip.dst_addr) != proto::GROUP_V2_V6
        || f.ip.next_hdr != IPPROTO_UDP
        || pkt::be16(f.udp.dst) != proto::PORT_V6
    {
        return Heard::NotOurs;
    }
    let slot = slot_of(ifindex);
    let ip_payload = pkt::be16(f.ip.payload_len) as usize;
    let udp_len = pkt::be16(f.udp.len) as usize;
    let src = pkt::addr6(pkt::get(&f.ip.src_addr));
    let sane = size_of::<Ip6>() + ip_payload <= pkt::len(ctx)
        && udp_len >= UdpHdr::LEN
        && udp_len <= ip_payload
        && v2_sane(ctx, size_of::<Udp6>(), (udp_len - UdpHdr::LEN) as u16);
    if !sane {
        return Heard::Malformed(slot, FAMILY_V6, src);
    }
    Heard::Sane(slot, FAMILY_V6, src)
}

/// A control source as a log subject.
#[inline(always)]
fn subject(family: u8, a: pkt::Addr) -> [u32; 6] {
    [family as u32, a[0], a[1], a[2], a[3], 0]
}

#[inline(always)]
fn slot_of(ifindex: u32) -> u16 {
    maps::iface_stats_slot(ifindex)
}

/// v1: version byte 0 and one of the lengths real routers send.
#[inline(always)]
fn v1_sane(ctx: &XdpContext, len: u16) -> bool {
    const PAYLOAD: usize = size_of::<Udp4>();
    // Version and opcode, the first two bytes of every v1 packet.
    let Some(p) = pkt::bytes::<2>(ctx, PAYLOAD) else {
        return false;
    };
    if p[proto::V1_AT_VERSION] != proto::V1_VERSION {
        return false;
    }
    let len = len as usize;
    if p[proto::V1_AT_OPCODE] == proto::V1_OPCODE_ADVERTISE {
        return len >= proto::V1_ADVERTISE_LEN;
    }
    if len == proto::V1_PACKET_LEN {
        return true;
    }
    // v1 + MD5 TLV (type, length) right after the 20 bytes.
    match pkt::bytes::<{ proto::TLV_HEADER_LEN }>(ctx, PAYLOAD + proto::V1_PACKET_LEN) {
        Some(t) => {
            len == proto::V1_MD5_PACKET_LEN
                && t[proto::TLV_AT_TYPE] == proto::TLV_MD5_AUTH
                && t[proto::TLV_AT_LEN] == proto::MD5_VALUE_LEN
        }
        None => false,
    }
}

/// v2: a chain of TLVs that fits the payload exactly as far as we walk it; the first is a
/// Group State TLV (carrying version 2) or an Interface State TLV.
#[inline(always)]
fn v2_sane(ctx: &XdpContext, base: usize, len: u16) -> bool {
    let len = len as usize;
    if len < proto::TLV_HEADER_LEN {
        return false;
    }
    let mut off = 0usize;
    let mut i = 0;
    while i < V2_MAX_TLVS {
        if off >= len {
            return true;
        }
        // Type, length and the first value byte. `off` stays below 4 * 257; the mask
        // makes that visible to the verifier.
        let Some(t) = pkt::bytes::<{ proto::TLV_AT_VALUE + 1 }>(ctx, base + (off & 0x7ff)) else {
            return false;
        };
        let (kind, tlv_len) = (t[proto::TLV_AT_TYPE], t[proto::TLV_AT_LEN]);
        if off + proto::TLV_HEADER_LEN + tlv_len as usize > len {
            return false;
        }
        if i == 0 {
            let group_state = kind == proto::TLV_GROUP_STATE
                && tlv_len == proto::GROUP_STATE_VALUE_LEN
                && t[proto::TLV_AT_VALUE] == proto::GROUP_STATE_VERSION;
            let iface_state =
                kind == proto::TLV_INTERFACE_STATE && tlv_len == proto::INTERFACE_STATE_VALUE_LEN;
            if !(group_state || iface_state) {
                return false;
            }
        }
        off += proto::TLV_HEADER_LEN + tlv_len as usize;
        i += 1;
    }
    true
}

/// Per-source budget, a token bucket kept as GCRA: each packet moves the source's
/// theoretical arrival time `tat` one interval on; a packet arriving while `tat` is more
/// than the burst allowance ahead of now is over budget. The state lives in the source's
/// slot of the `HSRP_CTRL_RATE` array (see `hsrp_ebpf::RateSlot`). True when the packet
/// is within the budget.
#[inline(always)]
fn admit(family: u8, addr: pkt::Addr) -> bool {
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
                    return false;
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
    true
}
