//! `hsrp-bench`: programs for `cargo xtask bench dataplane` only (never loaded by hsrpd).
//!
//! - `bench_gen`: the traffic generator, run with BPF_PROG_TEST_RUN live frames; rewrites
//!   the whole Ethernet/IPv4/UDP header from `BENCH_GEN` on every frame, then XDP_TX.
//! - `bench_sink`: counts and drops (the same sink for every row).
//! - `bench_pass`: XDP_PASS, so the kernel forwards (the kernel row; also satisfies the
//!   veth rule that a peer receiving XDP frames needs a program).
//! - `bench_fib`: minimal fib lookup + redirect (the kernel's xdp_fwd sample in spirit);
//!   `bench_restore_fib` is the same behind the restore harness.
//! - `bench_redirect`: redirect only, to `BENCH_TX[0]` (the XDP ceiling).
//! - `bench_restore*`, `bench_parse`: the per-verdict harness. BPF_PROG_TEST_RUN repeats a
//!   program on the same buffer, which our program rewrites (replies, TTL, MACs); the
//!   harness restores the frame from `BENCH_FRAME` first, and the restore-only time is
//!   subtracted.
//! - `bench_parse_plain`, `bench_parse_drop`: the parse-only reference without the
//!   restore, for the paths that leave the frame alone (compared with `hsrp` itself,
//!   which this object also contains, in the same harness).
#![cfg_attr(target_arch = "bpf", no_std)]
#![cfg_attr(target_arch = "bpf", no_main)]

#[cfg(target_arch = "bpf")]
#[path = "xdp/mod.rs"]
mod xdp;

#[cfg(target_arch = "bpf")]
mod progs {
    use aya_ebpf::{
        bindings::{xdp_action, BPF_FIB_LKUP_RET_SUCCESS},
        btf_maps::{Array, DevMapHash, PerCpuArray},
        helpers::bpf_xdp_adjust_tail,
        macros::{btf_map, xdp},
        programs::XdpContext,
    };
    use hsrp_ebpf::bench::{GenTemplate, RestoreFrame, GEN_HDR_LEN, RESTORE_LEN};

    use network_types::eth::EthHdr;

    use super::xdp::{
        classify, fib,
        pkt::{self, Ip4, Ip6},
    };

    #[btf_map]
    static BENCH_GEN: Array<GenTemplate, 1> = Array::new();
    #[btf_map]
    static BENCH_FRAME: Array<RestoreFrame, 1> = Array::new();
    #[btf_map]
    static BENCH_SINK: PerCpuArray<u64, 1> = PerCpuArray::new();
    #[btf_map]
    static BENCH_TX: DevMapHash<16> = DevMapHash::new();

    #[xdp]
    pub fn bench_gen(ctx: XdpContext) -> u32 {
        let (Some(f), Some(t)) = (pkt::bytes::<GEN_HDR_LEN>(&ctx, 0), BENCH_GEN.get(0)) else {
            return xdp_action::XDP_ABORTED;
        };
        copy_words(f, &t.hdr);
        xdp_action::XDP_TX
    }

    #[xdp]
    pub fn bench_sink(_ctx: XdpContext) -> u32 {
        if let Some(c) = BENCH_SINK.get_ptr_mut(0) {
            // SAFETY: this CPU's slot.
            unsafe { *c += 1 };
        }
        xdp_action::XDP_DROP
    }

    #[xdp]
    pub fn bench_pass(_ctx: XdpContext) -> u32 {
        xdp_action::XDP_PASS
    }

    #[xdp]
    pub fn bench_redirect(_ctx: XdpContext) -> u32 {
        BENCH_TX.redirect(0, 0).unwrap_or(xdp_action::XDP_ABORTED)
    }

    /// IPv4 only, like xdp_fwd: fib lookup from the ingress interface, TTL - 1 with an
    /// incremental checksum, MACs from the lookup, redirect through the devmap. Uses the
    /// same parameter block code (`xdp::fib`) and frame accessors as `hsrp`.
    #[xdp]
    pub fn bench_fib(ctx: XdpContext) -> u32 {
        fib_forward(&ctx)
    }

    /// `bench_fib` behind the restore, for the per-verdict table's reference row.
    #[xdp]
    pub fn bench_restore_fib(ctx: XdpContext) -> u32 {
        if !restore(&ctx) {
            return xdp_action::XDP_ABORTED;
        }
        fib_forward(&ctx)
    }

    #[inline(always)]
    fn fib_forward(ctx: &XdpContext) -> u32 {
        let Some(f) = pkt::view::<Ip4>(ctx) else {
            return xdp_action::XDP_PASS;
        };
        if f.eth.ether_type != pkt::ETH_P_IP || f.ip.vihl != pkt::IPV4_NO_OPTIONS || f.ip.ttl <= 1 {
            return xdp_action::XDP_PASS;
        }
        let mut buf = fib::FibBuf::uninit();
        let fib = fib::zeroed(&mut buf);
        fib.family = 2;
        fib.l4_protocol = f.ip.proto;
        fib.__bindgen_anon_1.tot_len = pkt::be16(f.ip.tot_len);
        fib.__bindgen_anon_2.tos = f.ip.tos;
        fib.ifindex = pkt::ifindex(ctx);
        fib.__bindgen_anon_3.ipv4_src = u32::from_ne_bytes(pkt::get(&f.ip.src_addr));
        fib.__bindgen_anon_4.ipv4_dst = u32::from_ne_bytes(pkt::get(&f.ip.dst_addr));
        if fib::lookup(ctx, fib) != BPF_FIB_LKUP_RET_SUCCESS as i64 {
            return xdp_action::XDP_PASS;
        }
        let out = fib.ifindex;
        let Some(f) = pkt::view::<Ip4>(ctx) else {
            return xdp_action::XDP_PASS;
        };
        // TTL - 1: the checksum word [ttl, proto] goes down by 0x0100, its sum up.
        let check = pkt::be16(f.ip.check) as u32 + 0x0100;
        f.ip.check = ((check + (check >> 16)) as u16).to_be_bytes();
        f.ip.ttl -= 1;
        fib::mac_words(&buf).write(&mut f.eth);
        BENCH_TX.redirect(out, 0).unwrap_or(xdp_action::XDP_PASS)
    }

    /// `*dst = *src` with u64 loads and stores. A plain assignment from a map value to
    /// the frame becomes a `memmove` call (a byte loop) on BPF. `N` is a multiple of 8
    /// (GEN_HDR_LEN, RESTORE_LEN) and map values are 8-aligned.
    #[inline(always)]
    fn copy_words<const N: usize>(dst: &mut [u8; N], src: &[u8; N]) {
        let mut k = 0;
        while k + 8 <= N {
            // SAFETY: k + 8 <= N for both arrays; unaligned access on both sides.
            unsafe {
                let w = (src.as_ptr().add(k) as *const u64).read_unaligned();
                (dst.as_mut_ptr().add(k) as *mut u64).write_unaligned(w);
            }
            k += 8;
        }
    }

    const _: () = assert!(GEN_HDR_LEN.is_multiple_of(8) && RESTORE_LEN.is_multiple_of(8));

    /// Puts the frame back to `BENCH_FRAME` (length and bytes).
    #[inline(always)]
    fn restore(ctx: &XdpContext) -> bool {
        let delta = RESTORE_LEN as i32 - pkt::len(ctx) as i32;
        // SAFETY: valid context.
        if delta != 0 && unsafe { bpf_xdp_adjust_tail(ctx.ctx, delta) } != 0 {
            return false;
        }
        let (Some(f), Some(t)) = (pkt::bytes::<RESTORE_LEN>(ctx, 0), BENCH_FRAME.get(0)) else {
            return false;
        };
        copy_words(f, &t.bytes);
        true
    }

    #[xdp]
    pub fn bench_restore(ctx: XdpContext) -> u32 {
        if !restore(&ctx) {
            return xdp_action::XDP_ABORTED;
        }
        xdp_action::XDP_PASS
    }

    #[xdp]
    pub fn bench_restore_hsrp(ctx: XdpContext) -> u32 {
        if !restore(&ctx) {
            return xdp_action::XDP_ABORTED;
        }
        classify(&ctx)
    }

    /// The "parses Ethernet + IP and nothing else" reference for the cheap paths, after
    /// the restore (for rows that need the restore harness).
    #[xdp]
    pub fn bench_parse(ctx: XdpContext) -> u32 {
        if !restore(&ctx) {
            return xdp_action::XDP_ABORTED;
        }
        parse_only(&ctx, xdp_action::XDP_PASS)
    }

    /// The same reference without the restore: for the paths that leave the frame as it
    /// came (pass, drop, control), measured in the same harness as `hsrp` itself.
    #[xdp]
    pub fn bench_parse_plain(ctx: XdpContext) -> u32 {
        parse_only(&ctx, xdp_action::XDP_PASS)
    }

    /// The reference for the drop rows of the throughput bench: parse, then drop.
    #[xdp]
    pub fn bench_parse_drop(ctx: XdpContext) -> u32 {
        parse_only(&ctx, xdp_action::XDP_DROP)
    }

    /// Ethernet, then the IPv4 or IPv6 header: bounds, version, and a look at the fields
    /// a classifier would read (TTL / hop limit, destination). `verdict` for well-formed
    /// frames, DROP for malformed IP.
    #[inline(always)]
    fn parse_only(ctx: &XdpContext, verdict: u32) -> u32 {
        let Some(eth) = pkt::view::<EthHdr>(ctx) else {
            return xdp_action::XDP_PASS;
        };
        match eth.ether_type {
            pkt::ETH_P_IP => match pkt::view::<Ip4>(ctx) {
                Some(f)
                    if f.ip.vihl == pkt::IPV4_NO_OPTIONS
                        && f.ip.ttl != 0
                        && f.ip.dst_addr[0] != 0 =>
                {
                    verdict
                }
                _ => xdp_action::XDP_DROP,
            },
            pkt::ETH_P_IPV6 => match pkt::view::<Ip6>(ctx) {
                Some(f)
                    if f.ip.vcf[0] >> 4 == 6 && f.ip.hop_limit != 0 && f.ip.dst_addr[0] != 0 =>
                {
                    verdict
                }
                _ => xdp_action::XDP_DROP,
            },
            _ => verdict,
        }
    }
}

#[cfg(not(target_arch = "bpf"))]
fn main() {}
