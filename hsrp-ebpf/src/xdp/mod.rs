//! The XDP program: a classifier at the top, one small module per verdict.
//!
//! ```text
//! unicast to a vMAC of this interface ─► vmac::handle (forward / answer / slow path / drop)
//! other unicast IPv4/IPv6 ─────────────► bfd (a steady session's packet? else PASS)
//! broadcast ARP ───────────────────────► answer::arp (request for a VIP?)
//! 33:33:ff:…  IPv6 ────────────────────► answer::ns  (NS for a VIP?)
//! 01:00:5e / 33:33 to the HSRP groups ─► control     (sane? within rate?)
//! anything else ───────────────────────► PASS untouched
//! ```

mod answer;
mod bfd;
mod clock;
mod control;
mod csum;
pub(crate) mod fib;
mod flow;
mod forward;
mod log;
mod maps;
mod nhcache;
pub(crate) mod pkt;
mod stats;

use aya_ebpf::{bindings::xdp_action, macros::xdp, programs::XdpContext};
use hsrp_ebpf::Counter;
use network_types::eth::EthHdr;

use pkt::{ETH_P_ARP, ETH_P_IP, ETH_P_IPV6};

/// Inlined into the entry the macro generates: otherwise LLVM keeps it a BPF subprogram,
/// and every frame pays a call and a return (returns are costly under the SRSO
/// mitigation on AMD CPUs, and the JIT's placement of the callee made the cost of every
/// path swing by ~9 ns with unrelated code changes).
#[xdp]
#[inline(always)]
pub fn hsrp(ctx: XdpContext) -> u32 {
    classify(&ctx)
}

/// The whole decision for one frame (also driven by the benchmark harness).
#[inline(always)]
pub(crate) fn classify(ctx: &XdpContext) -> u32 {
    let Some(eth) = pkt::view::<EthHdr>(ctx) else {
        return stats::pass();
    };
    let ifindex = pkt::ifindex(ctx);
    let ethertype = eth.ether_type;
    let dst = pkt::get(&eth.dst_addr);
    // The I/G bit: clear on unicast.
    if dst[0] & 1 == 0 {
        let steady_bfd = match maps::vmac(ifindex, dst) {
            Some(group) => return forward::to_vmac(ctx, ifindex, group, ethertype),
            None if ethertype == ETH_P_IP => bfd::ipv4(ctx, ifindex),
            None if ethertype == ETH_P_IPV6 => bfd::ipv6(ctx, ifindex),
            None => None,
        };
        return steady_bfd.unwrap_or_else(stats::pass);
    }
    let heard = match ethertype {
        ETH_P_ARP if dst == [0xff; 6] => {
            return match answer::arp(ctx, ifindex) {
                Some(verdict) => verdict,
                None => stats::pass(),
            };
        }
        ETH_P_IP if dst[..3] == IPV4_MCAST_PREFIX => control::ipv4(ctx, ifindex),
        ETH_P_IPV6 if dst[..3] == SOLICITED_NODE_PREFIX => {
            return match answer::ns(ctx, ifindex) {
                Some(verdict) => verdict,
                None => stats::pass(),
            };
        }
        ETH_P_IPV6 if dst[..2] == IPV6_MCAST_PREFIX => control::ipv6(ctx, ifindex),
        _ => return stats::pass(),
    };
    control::verdict(ctx, heard)
}

/// Multicast MAC prefixes: IPv4 groups (RFC 1112), IPv6 groups and their
/// solicited-node subset (RFC 2464).
const IPV4_MCAST_PREFIX: [u8; 3] = [0x01, 0x00, 0x5e];
const IPV6_MCAST_PREFIX: [u8; 2] = [0x33, 0x33];
const SOLICITED_NODE_PREFIX: [u8; 3] = [0x33, 0x33, 0xff];

/// Counts `c` and drops.
#[inline(always)]
fn drop(slot: u16, c: Counter) -> u32 {
    stats::bump(slot, c);
    xdp_action::XDP_DROP
}

/// Counts the frame as aborted and aborts: it lost the headers it had before a helper
/// call (cannot happen with today's helpers; counted so every frame stays counted).
#[inline(always)]
fn abort(slot: u16) -> u32 {
    stats::bump(slot, Counter::Aborted);
    xdp_action::XDP_ABORTED
}

#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    loop {}
}

/// bpf_fib_lookup is GPL-only; "Dual MIT/GPL" is a GPL-compatible license string for the
/// kernel (the crate's own license is unchanged).
#[unsafe(no_mangle)]
#[unsafe(link_section = "license")]
pub static LICENSE: [u8; 13] = *b"Dual MIT/GPL\0";
