//! Types shared by the XDP program and userspace. `#[repr(C)]`, no_std, compiled by both
//! sides so the layout of every map key and value cannot drift.
//!
//! Every struct spells out its padding (`_pad` fields, always zero): the kernel hashes keys
//! byte for byte, so an implicit padding hole with garbage in it would make two equal keys
//! differ, and BTF describes the explicit fields so `bpftool map dump` shows them.
#![cfg_attr(not(test), no_std)]

/// `family` value of an IPv4 address in [`VipKey`] / [`RateKey`].
pub const FAMILY_V4: u8 = 4;
/// `family` value of an IPv6 address in [`VipKey`] / [`RateKey`].
pub const FAMILY_V6: u8 = 6;

/// The HSRP constants the program filters on, which the daemon's codec uses too: one
/// definition, so the filter in XDP and the parser behind it cannot disagree.
pub mod proto {
    /// UDP port of HSRPv1 and HSRPv2 over IPv4.
    pub const PORT_V4: u16 = 1985;
    /// UDP port of HSRPv2 over IPv6.
    pub const PORT_V6: u16 = 2029;
    /// HSRPv1 multicast group (all routers).
    pub const GROUP_V1: [u8; 4] = [224, 0, 0, 2];
    /// HSRPv2 IPv4 multicast group.
    pub const GROUP_V2_V4: [u8; 4] = [224, 0, 0, 102];
    /// HSRPv2 IPv6 multicast group (ff02::66).
    pub const GROUP_V2_V6: [u8; 16] = [0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x66];
    /// Highest group number of each version.
    pub const MAX_GROUP_V1: u16 = 255;
    pub const MAX_GROUP_V2: u16 = 4095;

    /// v1 Hello/Coup/Resign: the version byte (0) and the opcode byte lead the packet.
    pub const V1_PACKET_LEN: usize = 20;
    /// v1 Advertise (Cisco's opcode 3).
    pub const V1_ADVERTISE_LEN: usize = 16;
    pub const V1_OPCODE_ADVERTISE: u8 = 3;
    /// Version byte of a v1 packet.
    pub const V1_VERSION: u8 = 0;

    /// v2 TLV types and value lengths (the TLV header is type, length: 2 bytes).
    pub const TLV_HEADER_LEN: usize = 2;
    pub const TLV_GROUP_STATE: u8 = 1;
    pub const TLV_INTERFACE_STATE: u8 = 2;
    pub const TLV_TEXT_AUTH: u8 = 3;
    pub const TLV_MD5_AUTH: u8 = 4;
    pub const GROUP_STATE_VALUE_LEN: u8 = 40;
    pub const INTERFACE_STATE_VALUE_LEN: u8 = 4;
    pub const MD5_VALUE_LEN: u8 = 28;
    /// First value byte of a Group State TLV: the protocol version it carries.
    pub const GROUP_STATE_VERSION: u8 = 2;
    /// v1 with the MD5 TLV after the 20 bytes.
    pub const V1_MD5_PACKET_LEN: usize = V1_PACKET_LEN + TLV_HEADER_LEN + MD5_VALUE_LEN as usize;

    /// Byte offsets the program reads: in a v1 packet, and in a v2 TLV.
    pub const V1_AT_VERSION: usize = 0;
    pub const V1_AT_OPCODE: usize = 1;
    pub const TLV_AT_TYPE: usize = 0;
    pub const TLV_AT_LEN: usize = 1;
    pub const TLV_AT_VALUE: usize = 2;
}

/// Names of the maps, as the loader pins them under `/sys/fs/bpf/hsrpd/`.
pub mod map_names {
    pub const VMAC: &str = "HSRP_VMAC";
    pub const VIP: &str = "HSRP_VIP";
    pub const IFACE: &str = "HSRP_IFACE";
    pub const TX_PORTS: &str = "HSRP_TX_PORTS";
    pub const STATS: &str = "HSRP_STATS";
    pub const CTRL_RATE: &str = "HSRP_CTRL_RATE";
    pub const CONFIG: &str = "HSRP_CONFIG";
    pub const IFACE_SLOT: &str = "HSRP_IFACE_SLOT";
    /// Program-private (per-CPU clock cache of the control budget); pinned like the rest.
    pub const CLOCK: &str = "HSRP_CLOCK";
    /// The next-hop cache (see [`super::NexthopKey`]) and its generation.
    pub const NEXTHOP: &str = "HSRP_NEXTHOP";
    pub const NH_GEN: &str = "HSRP_NH_GEN";
    /// Fast path or kernel path for forwarded frames (see [`super::FWD_KERNEL_PATH`]).
    pub const FWD_MODE: &str = "HSRP_FWD_MODE";
    /// Program-private (when each kind of logged event last went out); pinned like the rest.
    pub const LOG_GATE: &str = "HSRP_LOG_GATE";
    /// The flows conntrack accepted (see [`super::FlowKey`]), for the accepted-flow path.
    pub const FLOWS: &str = "HSRP_FLOWS";
    /// The packet each steady BFD session expects (see [`super::BfdExpect`]) and what
    /// the program saw of it (see [`super::BfdSeen`]).
    pub const BFD_EXPECT: &str = "HSRP_BFD_EXPECT";
    pub const BFD_SEEN: &str = "HSRP_BFD_SEEN";
    pub const ALL: [&str; 16] = [
        VMAC, VIP, IFACE, TX_PORTS, STATS, CTRL_RATE, CONFIG, IFACE_SLOT, CLOCK, NEXTHOP, NH_GEN,
        FWD_MODE, LOG_GATE, FLOWS, BFD_EXPECT, BFD_SEEN,
    ];
}

/// Map sizes (max_entries), shared so userspace can validate before the kernel refuses.
/// The most groups (vMACs over all interfaces) the data plane holds.
pub const MAX_VMACS: u32 = 4096;
pub const MAX_VIPS: u32 = 8192;
pub const MAX_IFACES: u32 = 256;
pub const MAX_TX_PORTS: u32 = 256;
pub const MAX_RATE_SOURCES: u32 = 4096;
/// Slots of `HSRP_IFACE_SLOT` (see [`IfaceSlot`]).
pub const MAX_IFACE_SLOTS: u32 = 1024;
/// Slots of `HSRP_STATS`. Slots 1.. are handed out by userspace to (interface, group) pairs
/// and to interfaces (see [`VmacValue::stats_slot`], [`IfaceValue::stats_slot`]). The
/// program counts every frame exactly once, in one slot (one counter update per frame);
/// the whole-program total is the sum of all slots.
pub const STATS_SLOTS: u32 = 1024;
/// The slot of frames not attributed to any group or interface (e.g. "not ours"). The
/// name predates single counting, when this slot also held the totals.
pub const STATS_SLOT_TOTAL: u32 = 0;

/// log2 of the number of `HSRP_VMAC` slots: 4x [`MAX_VMACS`], so the table is at most a
/// quarter full and almost every lookup ends at its first slot.
pub const VMAC_SLOT_BITS: u32 = 14;
/// Entries of `HSRP_VMAC`.
pub const VMAC_SLOTS: u32 = 1 << VMAC_SLOT_BITS;
/// The longest probe sequence: an entry lives at most this many slots after its home
/// slot ([`vmac_home_slot`]); userspace refuses an insert that would go further.
pub const VMAC_PROBES: u32 = 8;
/// [`VmacEntry::ifindex`] of a removed entry: lookups probe past it, inserts reuse it.
/// (0 marks a slot never used: a lookup stops there.)
pub const VMAC_TOMBSTONE: u32 = u32::MAX;

/// Element of `HSRP_VMAC`, a direct-mapped array of [`VMAC_SLOTS`] entries with linear
/// probing: a virtual MAC on one interface and its group's state.
///
/// An array rather than a hash map because the not-Active drop and the "not ours" pass are
/// as cheap as parsing only if this lookup is: an array element costs a bounds check and
/// three compares where a hash lookup costs hashing a 12-byte key and a bucket walk. The
/// table is still the single source of a group's state: a flip rewrites one element, in
/// which only `value.active` changes, so a reader sees the old or the new flag and never
/// a mix of two groups.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VmacEntry {
    /// Interface of the vMAC; 0 = free, [`VMAC_TOMBSTONE`] = removed.
    pub ifindex: u32,
    pub mac: [u8; 6],
    pub _pad: [u8; 2],
    pub value: VmacValue,
    /// Keeps the element 8-byte sized (what the kernel stores and mmap shows).
    pub _reserved: u32,
}

/// A MAC address as the program reads it: bytes 0-3 and 4-5 as little-endian words.
pub const fn mac_words(mac: [u8; 6]) -> (u32, u32) {
    (
        u32::from_le_bytes([mac[0], mac[1], mac[2], mac[3]]),
        u16::from_le_bytes([mac[4], mac[5]]) as u32,
    )
}

/// Home slot of a vMAC on an interface in `HSRP_VMAC` (Fibonacci hashing: the top bits of
/// a sum of products). `hi` is byte-swapped so that the group number of a well-known vMAC
/// (its last 12 or 8 bits) reads as an integer: consecutive groups then land evenly
/// spread and never in the same slot, and the same vMAC on two interfaces lands in two
/// places.
pub const fn vmac_home_slot(ifindex: u32, lo: u32, hi: u32) -> u32 {
    let h = ((hi as u16).swap_bytes() as u32)
        .wrapping_mul(0x9e37_79b1)
        .wrapping_add(ifindex.wrapping_mul(0x85eb_ca77))
        .wrapping_add(lo.wrapping_mul(0xc2b2_ae3d));
    h >> (32 - VMAC_SLOT_BITS)
}

/// The `k`-th slot probed for a vMAC whose home slot is `home`.
pub const fn vmac_probe_slot(home: u32, k: u32) -> u32 {
    (home + k) & (VMAC_SLOTS - 1)
}

/// The group state in a [`VmacEntry`]. `active` is the one switch the fast path reads for everything
/// about the group (forwarding, ARP/ND and echo answers): takeover and give-up are each a
/// single update of this entry.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VmacValue {
    pub group: u16,
    /// HSRP version (1 or 2); informational for the program.
    pub version: u8,
    /// 1 = this router is Active for the group, 0 = not.
    pub active: u8,
    /// `VMAC_F_*` bits.
    pub flags: u16,
    /// `HSRP_STATS` slot of this (interface, group); 0 = count with the unattributed frames.
    pub stats_slot: u16,
}

/// [`VmacValue::flags`]: hand every frame to this vMAC to the kernel instead of forwarding
/// it in XDP (answers to ARP/echo/NS stay in XDP). Lives in the vMAC entry so the fast path
/// needs no extra lookup to honour it.
pub const VMAC_F_SLOW_PATH_ONLY: u16 = 1;
/// [`VmacValue::flags`]: traffic to this group's virtual addresses that XDP does not answer
/// itself (anything but ARP, echo and NS) goes to the kernel, which has a local route for
/// them while the group is Active (`standby G accept`), instead of being dropped.
pub const VMAC_F_ACCEPT: u16 = 2;

/// An IP address on one interface: the key of `HSRP_VIP` ([`VipKey`]: a virtual address)
/// and of `HSRP_NEXTHOP` ([`NexthopKey`]: a destination seen from an ingress interface).
/// IPv4 uses `addr[..4]`, the rest zero. One type, so the program and userspace each build
/// both keys with one function.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct IfAddrKey {
    pub ifindex: u32,
    pub family: u8,
    pub _pad: [u8; 3],
    pub addr: [u8; 16],
}

impl IfAddrKey {
    /// The key of `addr` on `ifindex`.
    pub fn new(ifindex: u32, addr: core::net::IpAddr) -> IfAddrKey {
        let mut a = [0u8; 16];
        let family = match addr {
            core::net::IpAddr::V4(v4) => {
                a[..4].copy_from_slice(&v4.octets());
                FAMILY_V4
            }
            core::net::IpAddr::V6(v6) => {
                a = v6.octets();
                FAMILY_V6
            }
        };
        IfAddrKey {
            ifindex,
            family,
            _pad: [0; 3],
            addr: a,
        }
    }
}

/// Key of `HSRP_VIP`: a virtual IP address on one interface.
pub type VipKey = IfAddrKey;

/// Value of `HSRP_VIP`. It has no `active` flag of its own on purpose: the program looks
/// up the `HSRP_VMAC` entry of {ifindex, vmac} and reads `active` there, so the flip stays one write
/// however many addresses the group has, and the two tables can never disagree.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VipValue {
    pub vmac: [u8; 6],
    pub group: u16,
}

/// Value of `HSRP_IFACE` (key: ifindex as u32): an interface hsrpd runs groups on.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IfaceValue {
    /// The interface's own MAC: the slow path rewrites the destination to it so the
    /// kernel routes the frame.
    pub mac: [u8; 6],
    /// `HSRP_STATS` slot for frames of this interface not tied to a group (control).
    pub stats_slot: u16,
    /// Reserved; zero today.
    pub flags: u32,
}

/// Element of `HSRP_IFACE_SLOT`, an array of [`MAX_IFACE_SLOTS`] entries indexed by
/// [`iface_slot_index`]: a copy of the stats slot of `HSRP_IFACE[ifindex]`, kept by
/// userspace next to that entry. The control path needs only the slot, and an array
/// element costs it a bounds check where the hash lookup costs a hash and a bucket walk
/// (a large share of a frame dropped by the control filter). `ifindex` 0 (never an
/// ingress interface) marks a free entry; an interface whose entry is taken by another
/// is simply not cached, and the program falls back to `HSRP_IFACE`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IfaceSlot {
    pub ifindex: u32,
    /// `HSRP_STATS` slot (u16 widened, so the entry is one aligned u64).
    pub stats_slot: u32,
}

/// The `HSRP_IFACE_SLOT` entry of an interface (ifindexes are handed out in sequence, so
/// the low bits spread them).
pub const fn iface_slot_index(ifindex: u32) -> u32 {
    ifindex & (MAX_IFACE_SLOTS - 1)
}

/// The source address of HSRP control packets, as [`RateSlot::source`] holds it (and,
/// before the table became an array, the key of `HSRP_CTRL_RATE`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct RateKey {
    pub family: u8,
    pub _pad: [u8; 3],
    pub addr: [u8; 16],
}

/// A token bucket kept as its theoretical arrival time (GCRA, the "virtual scheduling"
/// form of a token bucket): one u64, no division in the program.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RateState {
    /// Earliest time (bpf_ktime_get_coarse_ns, CLOCK_MONOTONIC) at which the bucket is
    /// full again.
    pub tat_ns: u64,
}

/// Element of `HSRP_CTRL_RATE`, an array of [`MAX_RATE_SOURCES`] slots indexed by a hash
/// of the source address ([`rate_slot_index`]): the source that owns the slot and its
/// bucket. A source finding another source in its slot takes the slot over with a fresh
/// bucket, like an LRU map evicting its oldest entry when full; an array slot costs the
/// program a bounds check where an LRU hash lookup costs a hash of the key and a list
/// update, on the path that drops a control flood.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RateSlot {
    pub source: RateKey,
    pub _pad: u32,
    pub state: RateState,
}

/// The `HSRP_CTRL_RATE` slot of a source: `family` and the address as four native-endian
/// u32 words (IPv4: the address in the first word, the rest zero), as the program reads
/// them from the frame. The program and userspace (tests, dumps) share this function.
pub const fn rate_slot_index(family: u8, addr: [u32; 4]) -> u32 {
    let h = (family as u32)
        ^ addr[0]
        ^ addr[1].rotate_left(8)
        ^ addr[2].rotate_left(16)
        ^ addr[3].rotate_left(24);
    // Fibonacci hashing: the top bits of the product mix every input bit.
    h.wrapping_mul(0x9e37_79b1) >> (32 - RATE_SLOT_BITS)
}

/// log2([`MAX_RATE_SOURCES`]).
pub const RATE_SLOT_BITS: u32 = 12;

/// `HSRP_CONFIG[0]`: program-wide settings written by userspace.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Config {
    /// Nanoseconds per control packet per source (1e9 / rate); 0 = no rate limit.
    pub ctrl_interval_ns: u64,
    /// How far ahead of now a source's bucket may run: (burst - 1) * interval.
    pub ctrl_burst_ns: u64,
    pub flags: u32,
    pub _pad: u32,
}

/// Per-CPU counters, one set per `HSRP_STATS` slot. The program bumps a field by its
/// index ([`Counter`]), so field order and `Counter` must match (checked field by field
/// below).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// Frames handed to the stack untouched (not ours).
    pub passed: u64,
    /// Frames to a vMAC forwarded by XDP (fib lookup + redirect).
    pub forwarded: u64,
    /// Frames to a vMAC handed to the kernel with the interface MAC as destination.
    pub slow_path: u64,
    /// Frames to the vMAC of a group that is not Active here.
    pub dropped_not_active: u64,
    /// Frames to a VIP that XDP does not answer (not ARP/echo/NS), dropped: the kernel
    /// does not own the VIP.
    pub dropped_vip_other: u64,
    pub arp_answered: u64,
    /// ARP requests for a VIP whose group is not Active here.
    pub arp_dropped: u64,
    /// ICMP and ICMPv6 echo requests to a VIP answered.
    pub echo_answered: u64,
    pub nd_answered: u64,
    /// Neighbour Solicitations for a VIP whose group is not Active here.
    pub nd_dropped: u64,
    pub control_passed: u64,
    pub control_malformed: u64,
    pub control_rate_limited: u64,
    /// BFD Control packets of a steady session, counted for it and dropped (see
    /// [`BfdExpect`]).
    pub bfd_steady: u64,
    /// Frames the program gave up on (XDP_ABORTED): the frame no longer held the headers
    /// it had before a helper call. Expected to stay 0; the `xdp:xdp_exception`
    /// tracepoint fires for each as well.
    pub aborted: u64,
    /// Not a verdict (not in [`Counters::frames`]): frames forwarded from the next-hop
    /// cache, without a fib lookup (also counted as `forwarded`).
    pub nh_cache_hit: u64,
    /// Not a verdict: frames to an Active vMAC that the cache, while on, could not serve
    /// (no entry, an older generation, or larger than the entry's `max_len`); they took
    /// the fib lookup (and are also counted as `forwarded` or `slow_path`).
    pub nh_cache_miss: u64,
    /// Not a verdict: frames of a flow in `HSRP_FLOWS` (accepted by conntrack) let on to
    /// the fast path in accepted-flow mode (also counted as `forwarded`, or `slow_path`
    /// when the fib lookup then failed).
    pub flow_hit: u64,
}

/// Index of a field of [`Counters`], as the program bumps it.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Counter {
    Passed = 0,
    Forwarded,
    SlowPath,
    DroppedNotActive,
    DroppedVipOther,
    ArpAnswered,
    ArpDropped,
    EchoAnswered,
    NdAnswered,
    NdDropped,
    ControlPassed,
    ControlMalformed,
    ControlRateLimited,
    BfdSteady,
    Aborted,
    NhCacheHit,
    NhCacheMiss,
    FlowHit,
}

/// Number of u64 fields in [`Counters`].
pub const COUNTER_FIELDS: usize = Counter::FlowHit as usize + 1;
/// The first fields of [`Counters`] are verdicts (each frame lands in exactly one); the
/// rest ([`Counter::NhCacheHit`], [`Counter::NhCacheMiss`]) annotate a verdict.
pub const VERDICT_FIELDS: usize = Counter::Aborted as usize + 1;

impl Counters {
    /// Field-wise sum (aggregating CPUs or slots).
    pub fn add(&mut self, o: &Counters) {
        let a = self.as_array_mut();
        let b = o.as_array();
        let mut i = 0;
        while i < COUNTER_FIELDS {
            a[i] = a[i].wrapping_add(b[i]);
            i += 1;
        }
    }

    /// The value of one counter.
    pub fn get(&self, c: Counter) -> u64 {
        self.as_array()[c as usize]
    }

    /// Sum of the verdict counters: every frame the program saw lands in exactly one of
    /// them (the cache annotations are left out).
    pub fn frames(&self) -> u64 {
        self.as_array()[..VERDICT_FIELDS].iter().sum()
    }

    fn as_array(&self) -> &[u64; COUNTER_FIELDS] {
        // SAFETY: repr(C) struct of COUNTER_FIELDS u64 and nothing else (size asserted).
        unsafe { &*(self as *const Counters as *const [u64; COUNTER_FIELDS]) }
    }

    fn as_array_mut(&mut self) -> &mut [u64; COUNTER_FIELDS] {
        // SAFETY: as in `as_array`.
        unsafe { &mut *(self as *mut Counters as *mut [u64; COUNTER_FIELDS]) }
    }
}

/// Slots of `HSRP_NEXTHOP`.
pub const MAX_NEXTHOPS: u32 = 65536;

/// Key of `HSRP_NEXTHOP`, the next-hop cache: a destination as seen from one ingress
/// interface.
pub type NexthopKey = IfAddrKey;

/// Value of `HSRP_NEXTHOP`: what a successful `bpf_fib_lookup` from `NexthopKey::ifindex`
/// to `NexthopKey::addr` returned, written by the program itself after the lookup. Valid
/// only while `gen` equals `HSRP_NH_GEN[0]` (userspace bumps it on every routing,
/// neighbour, link, address or rule change). Fields are laid out so every MAC half is an
/// aligned word.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NexthopValue {
    /// `HSRP_NH_GEN[0]` as read BEFORE the lookup that produced this entry.
    pub gen: u32,
    /// Output interface.
    pub oif: u32,
    /// Destination MAC (the next hop's).
    pub dmac: [u8; 6],
    pub _pad: [u8; 2],
    /// Source MAC (the output interface's).
    pub smac: [u8; 6],
    /// Largest IP total length (IPv6: payload + 40) that passed the lookup's MTU check
    /// for this entry; a larger packet takes the lookup again.
    pub max_len: u16,
}

/// `HSRP_NH_GEN[0]` value that turns the cache off: nothing is used or filled.
pub const NH_GEN_OFF: u32 = 0;

/// `HSRP_FWD_MODE[0]` values. Fast (0, a fresh map): frames to an Active vMAC are
/// forwarded by XDP when the fib lookup succeeds. Kernel path: every frame the program
/// would forward is handed to the kernel instead (after the answers for the VIP), so
/// netfilter (firewall, NAT, conntrack, marks) sees it; hsrpd sets it while hooks that can
/// see forwarded traffic exist.
pub const FWD_FAST_PATH: u32 = 0;
pub const FWD_KERNEL_PATH: u32 = 1;
/// Accepted-flow path: like the kernel path, except that a TCP/UDP frame whose 5-tuple is
/// in `HSRP_FLOWS` (and, for TCP, carries no SYN, FIN or RST) takes the fast path. hsrpd
/// sets it only while every netfilter hook on forwarded traffic certainly accepts an
/// established conntrack entry before anything else acts, and it puts in `HSRP_FLOWS`
/// only flows conntrack holds as established, without NAT.
pub const FWD_ACCEPTED_FLOW: u32 = 2;

/// Slots of `HSRP_FLOWS` (an LRU hash: one entry per direction of a flow).
pub const MAX_FLOWS: u32 = 65536;
/// [`FlowKey::family`] values.
pub const FLOW_V4: u8 = 4;
pub const FLOW_V6: u8 = 6;

/// Key of `HSRP_FLOWS`: one direction of a TCP or UDP flow as it arrives, addresses and
/// ports as on the wire (IPv4 addresses in the first word, the rest zero).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct FlowKey {
    pub family: u8,
    /// IPPROTO_TCP or IPPROTO_UDP.
    pub proto: u8,
    pub _pad: [u8; 2],
    /// Source then destination port, network order, as the L4 header holds them.
    pub ports: [u8; 4],
    pub src: [u8; 16],
    pub dst: [u8; 16],
}

/// Value of `HSRP_FLOWS`: what the fast path forwarded of this direction since hsrpd
/// admitted it (updated without atomics: a concurrent frame on another CPU may be lost
/// from the count; it only has to move while the flow carries traffic).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FlowValue {
    pub packets: u64,
    pub bytes: u64,
}

/// The BFD constants the program filters on (RFC 5881 single hop, RFC 5880 §4.1), which
/// the daemon's codec uses too.
pub mod bfd {
    /// UDP destination port of single-hop Control packets.
    pub const PORT: u16 = 3784;
    /// TTL / hop limit every single-hop packet carries (GTSM, RFC 5881 §5).
    pub const TTL: u8 = 255;
    /// A Control packet without authentication.
    pub const CONTROL_LEN: usize = 24;
    /// Offset of Your Discriminator in a Control packet.
    pub const AT_YOUR_DISCRIMINATOR: usize = 8;
}

/// Slots of `HSRP_BFD_EXPECT` and `HSRP_BFD_SEEN`: the most BFD sessions whose steady
/// packets the program takes off the kernel's hands.
pub const MAX_BFD_SESSIONS: u32 = 1024;

/// The slot of the session with local discriminator `discr` (the Your Discriminator of
/// its peer's packets): an array index, so the program finds a session with a bounds
/// check instead of a hash lookup. The daemon picks discriminators with free slots.
pub const fn bfd_slot(discr: u32) -> u32 {
    discr & (MAX_BFD_SESSIONS - 1)
}

/// Element of `HSRP_BFD_EXPECT`: the Control packet a steady session's peer sends again
/// and again (while the session stays Up and nobody changes a parameter, each packet is
/// byte for byte the last one), and where it must come from. A frame that matches all of
/// it is counted in the slot's [`BfdSeen`] and dropped; anything else goes to the daemon's
/// socket as before. Written by the daemon with one element update; `discriminator` 0
/// marks a slot not in use.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BfdExpect {
    /// Our local discriminator: the packet's Your Discriminator.
    pub discriminator: u32,
    /// The interface it must arrive on.
    pub ifindex: u32,
    /// [`FAMILY_V4`] or [`FAMILY_V6`].
    pub family: u8,
    pub _pad: u8,
    /// The peer's UDP source port, as on the wire (RFC 5881 §4: one port per session).
    pub src_port: [u8; 2],
    pub _pad2: u32,
    /// The peer's address and ours (IPv4 in the first four bytes, the rest zero).
    pub peer: [u8; 16],
    pub local: [u8; 16],
    /// The Control packet itself.
    pub packet: [u8; bfd::CONTROL_LEN],
}

/// Element of `HSRP_BFD_SEEN` (mapped read-only by the daemon): how many frames matched
/// the slot's [`BfdExpect`] since the program was loaded, and the monotonic clock
/// (`bpf_ktime_get_ns`, CLOCK_MONOTONIC) at the last one. Never reset: the daemon keeps
/// the count it already took into account.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BfdSeen {
    pub last_ns: u64,
    pub count: u64,
}

/// Benchmark-only types (the `hsrp-bench` object: traffic generator and baselines).
pub mod bench {
    /// Bytes of header the generator writes into every frame (Ethernet + IPv4 + UDP,
    /// padded to a multiple of 8).
    pub const GEN_HDR_LEN: usize = 48;
    /// Frame length the per-verdict harness restores before every run.
    pub const RESTORE_LEN: usize = 88;

    /// `BENCH_GEN[0]`: the header template the generator copies over each live frame
    /// (pages are recycled without being re-initialised, so every byte the router
    /// changes must be rewritten).
    #[repr(C)]
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct GenTemplate {
        pub hdr: [u8; GEN_HDR_LEN],
    }

    impl Default for GenTemplate {
        fn default() -> Self {
            GenTemplate {
                hdr: [0; GEN_HDR_LEN],
            }
        }
    }

    /// `BENCH_FRAME[0]`: the whole frame the per-verdict harness restores before each
    /// repetition of BPF_PROG_TEST_RUN (the program rewrites frames in place).
    #[repr(C)]
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct RestoreFrame {
        pub bytes: [u8; RESTORE_LEN],
    }

    impl Default for RestoreFrame {
        fn default() -> Self {
            RestoreFrame {
                bytes: [0; RESTORE_LEN],
            }
        }
    }
}

// Layout guards: the program and userspace read these with the same offsets.
const _: () = {
    assert!(core::mem::size_of::<VmacEntry>() == 24);
    assert!(VMAC_SLOTS >= 4 * MAX_VMACS);
    assert!(core::mem::size_of::<VmacValue>() == 8);
    assert!(core::mem::size_of::<VipKey>() == 24);
    assert!(core::mem::size_of::<VipValue>() == 8);
    assert!(core::mem::size_of::<IfaceValue>() == 12);
    assert!(core::mem::size_of::<RateKey>() == 20);
    assert!(core::mem::size_of::<RateState>() == 8);
    assert!(core::mem::size_of::<RateSlot>() == 32);
    assert!(core::mem::size_of::<IfaceSlot>() == 8);
    assert!(MAX_IFACE_SLOTS.is_power_of_two());
    assert!(1 << RATE_SLOT_BITS == MAX_RATE_SOURCES);
    assert!(core::mem::size_of::<Config>() == 24);
    assert!(core::mem::size_of::<BfdExpect>() == 72);
    assert!(core::mem::size_of::<BfdSeen>() == 16);
    assert!(MAX_BFD_SESSIONS.is_power_of_two());
    assert!(core::mem::size_of::<Counters>() == COUNTER_FIELDS * 8);
    assert!(core::mem::offset_of!(Counters, passed) == Counter::Passed as usize * 8);
    assert!(core::mem::offset_of!(Counters, forwarded) == Counter::Forwarded as usize * 8);
    assert!(core::mem::offset_of!(Counters, slow_path) == Counter::SlowPath as usize * 8);
    assert!(
        core::mem::offset_of!(Counters, dropped_not_active)
            == Counter::DroppedNotActive as usize * 8
    );
    assert!(
        core::mem::offset_of!(Counters, dropped_vip_other) == Counter::DroppedVipOther as usize * 8
    );
    assert!(core::mem::offset_of!(Counters, arp_answered) == Counter::ArpAnswered as usize * 8);
    assert!(core::mem::offset_of!(Counters, arp_dropped) == Counter::ArpDropped as usize * 8);
    assert!(core::mem::offset_of!(Counters, echo_answered) == Counter::EchoAnswered as usize * 8);
    assert!(core::mem::offset_of!(Counters, nd_answered) == Counter::NdAnswered as usize * 8);
    assert!(core::mem::offset_of!(Counters, nd_dropped) == Counter::NdDropped as usize * 8);
    assert!(core::mem::offset_of!(Counters, control_passed) == Counter::ControlPassed as usize * 8);
    assert!(
        core::mem::offset_of!(Counters, control_malformed)
            == Counter::ControlMalformed as usize * 8
    );
    assert!(
        core::mem::offset_of!(Counters, control_rate_limited)
            == Counter::ControlRateLimited as usize * 8
    );
    assert!(core::mem::offset_of!(Counters, bfd_steady) == Counter::BfdSteady as usize * 8);
    assert!(core::mem::offset_of!(Counters, aborted) == Counter::Aborted as usize * 8);
    assert!(core::mem::offset_of!(Counters, nh_cache_hit) == Counter::NhCacheHit as usize * 8);
    assert!(core::mem::offset_of!(Counters, nh_cache_miss) == Counter::NhCacheMiss as usize * 8);
    assert!(core::mem::offset_of!(Counters, flow_hit) == Counter::FlowHit as usize * 8);
    assert!(core::mem::size_of::<FlowKey>() == 40);
    assert!(core::mem::offset_of!(FlowKey, ports) == 4);
    assert!(core::mem::offset_of!(FlowKey, src) == 8);
    assert!(core::mem::size_of::<FlowValue>() == 16);
    // The program writes these as u32 words (maps.rs `key`, nhcache.rs, control.rs).
    assert!(core::mem::offset_of!(VmacEntry, mac) == 4);
    assert!(core::mem::offset_of!(VmacEntry, value) == 12);
    assert!(core::mem::offset_of!(VmacValue, stats_slot) == 6);
    assert!(core::mem::offset_of!(IfAddrKey, family) == 4);
    assert!(core::mem::offset_of!(IfAddrKey, addr) == 8);
    assert!(core::mem::offset_of!(RateKey, addr) == 4);
    assert!(core::mem::offset_of!(RateSlot, state) == 24);
    assert!(core::mem::offset_of!(IfaceSlot, stats_slot) == 4);
    assert!(core::mem::offset_of!(IfaceValue, stats_slot) == 6);
    assert!(core::mem::offset_of!(Config, ctrl_burst_ns) == 8);
    assert!(core::mem::offset_of!(NexthopValue, oif) == 4);
    assert!(core::mem::size_of::<NexthopValue>() == 24);
    assert!(core::mem::offset_of!(NexthopValue, dmac) == 8);
    assert!(core::mem::offset_of!(NexthopValue, smac) == 16);
    assert!(core::mem::offset_of!(NexthopValue, max_len) == 22);
};

#[cfg(feature = "user")]
mod pod {
    use super::*;
    // SAFETY: all are repr(C), Copy, made only of integers and byte arrays with explicit
    // padding fields, so every bit pattern is valid and there are no padding holes.
    unsafe impl aya::Pod for VmacEntry {}
    unsafe impl aya::Pod for VmacValue {}
    unsafe impl aya::Pod for IfAddrKey {}
    unsafe impl aya::Pod for VipValue {}
    unsafe impl aya::Pod for IfaceValue {}
    unsafe impl aya::Pod for RateKey {}
    unsafe impl aya::Pod for RateState {}
    unsafe impl aya::Pod for RateSlot {}
    unsafe impl aya::Pod for IfaceSlot {}
    unsafe impl aya::Pod for Config {}
    unsafe impl aya::Pod for BfdExpect {}
    unsafe impl aya::Pod for BfdSeen {}
    unsafe impl aya::Pod for Counters {}
    unsafe impl aya::Pod for NexthopValue {}
    unsafe impl aya::Pod for FlowKey {}
    unsafe impl aya::Pod for FlowValue {}
    unsafe impl aya::Pod for bench::GenTemplate {}
    unsafe impl aya::Pod for bench::RestoreFrame {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_slots_stay_in_the_array_and_spread_sources() {
        let mut used = std::collections::BTreeSet::new();
        // 4096 consecutive IPv4 sources (as the program reads them: native-endian words
        // of the network-order bytes) and as many IPv6 ones differing in the last word.
        for i in 0..4096u32 {
            let v4 = u32::from_ne_bytes((0x0a00_0000 + i).to_be_bytes());
            let a = rate_slot_index(FAMILY_V4, [v4, 0, 0, 0]);
            let b = rate_slot_index(FAMILY_V6, [0x20010db8u32.to_be(), 0, 0, i.to_be()]);
            assert!(a < MAX_RATE_SOURCES && b < MAX_RATE_SOURCES);
            used.insert(a);
            used.insert(b);
        }
        // A good spread: far more distinct slots than a few clustered buckets would give.
        assert!(used.len() > 2500, "only {} distinct slots", used.len());
        // The family is part of the identity.
        assert_ne!(
            rate_slot_index(FAMILY_V4, [1, 0, 0, 0]),
            rate_slot_index(FAMILY_V6, [1, 0, 0, 0])
        );
    }

    #[test]
    fn vmac_home_slots_spread_groups_and_interfaces() {
        // Every well-known vMAC family, 4096 groups, on two interfaces: the home slots of
        // one family on one interface are all distinct, and a table filled with all of
        // them (more than MAX_VMACS, on purpose) never needs more than VMAC_PROBES probes.
        let mut table = vec![false; VMAC_SLOTS as usize];
        let mut longest = 0;
        for ifindex in [2u32, 3] {
            let mut homes = std::collections::BTreeSet::new();
            for g in 0..4096u32 {
                let mac = [0x00, 0x00, 0x0c, 0x9f, 0xf0 | (g >> 8) as u8, g as u8];
                let (lo, hi) = mac_words(mac);
                let home = vmac_home_slot(ifindex, lo, hi);
                assert!(home < VMAC_SLOTS);
                homes.insert(home);
                let k = (0..VMAC_SLOTS)
                    .find(|&k| !table[vmac_probe_slot(home, k) as usize])
                    .unwrap();
                table[vmac_probe_slot(home, k) as usize] = true;
                longest = longest.max(k + 1);
            }
            assert_eq!(homes.len(), 4096, "collisions among one interface's groups");
        }
        assert!(longest <= VMAC_PROBES, "longest probe {longest}");
        // The same vMAC on two interfaces has two homes.
        let (lo, hi) = mac_words([0, 0, 0x0c, 0x07, 0xac, 1]);
        assert_ne!(vmac_home_slot(2, lo, hi), vmac_home_slot(3, lo, hi));
    }

    #[test]
    fn if_addr_keys_match_the_program_layout() {
        use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};
        let k = IfAddrKey::new(7, IpAddr::V4(Ipv4Addr::new(10, 0, 2, 2)));
        assert_eq!((k.ifindex, k.family), (7, FAMILY_V4));
        assert_eq!(k.addr[..4], [10, 0, 2, 2]);
        assert_eq!(k.addr[4..], [0; 12]);
        let v6: Ipv6Addr = "2001:db8::2".parse().unwrap();
        let k = IfAddrKey::new(7, IpAddr::V6(v6));
        assert_eq!((k.family, k.addr), (FAMILY_V6, v6.octets()));
    }

    #[test]
    fn counters_add_and_index_agree() {
        let mut a = Counters {
            forwarded: 3,
            ..Default::default()
        };
        let b = Counters {
            forwarded: 4,
            control_rate_limited: 1,
            ..Default::default()
        };
        a.add(&b);
        assert_eq!(a.get(Counter::Forwarded), 7);
        assert_eq!(a.get(Counter::ControlRateLimited), 1);
        assert_eq!(a.frames(), 8);
    }
}
