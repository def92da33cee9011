//! Rare events, reported through aya-log (hsrpd's log pump prints them in its own log).
//!
//! Each kind of event has a gate in `HSRP_LOG_GATE`: a line goes out only when the last
//! look at its kind is at least [`GAP_JIFFIES`] old, and then only about a subject (a source
//! address, an output interface) other than the last one reported, or the same one after
//! [`REPEAT_NS`]. A flood therefore costs at most one line per second per kind, and one
//! misbehaving source one line per minute. The gate is only consulted on paths that are
//! already off the forwarding path (a drop, or a frame handed to the kernel).
//!
//! The line itself is written by a second program, [`hsrp_log`], reached by a tail call
//! once the gate is open: aya-log builds each record on the stack, and the classifier's
//! own frame leaves too little of the 512 bytes the verifier allows a call chain. The
//! event and the frame's verdict travel in `HSRP_LOG_EVENT`; the logging program returns
//! that verdict. Without it (not in `HSRP_LOG_PROG`, e.g. in the benchmark harness) the
//! tail call falls through and the caller returns the verdict itself.

use aya_ebpf::{helpers::bpf_jiffies64, macros::xdp, programs::XdpContext};
use aya_log_ebpf::{info, warn};
use hsrp_ebpf::FAMILY_V4;

use super::{
    clock,
    maps::{HSRP_LOG_EVENT, HSRP_LOG_GATE, HSRP_LOG_PROG},
    pkt,
};

/// Shortest gap between two looks at the gate of one kind (and so between two lines): a
/// second at HZ=1000, the highest tick rate Linux builds with, longer at lower ones.
const GAP_JIFFIES: u64 = 1000;
/// Shortest gap between two lines of one kind about the same subject.
const REPEAT_NS: u64 = 60_000_000_000;
/// The log target: under the daemon's data-plane module, so `RUST_LOG` filters on
/// `hsrp_user::dataplane` reach these lines too.
macro_rules! target {
    () => {
        "hsrp_user::dataplane::xdp"
    };
}

/// Kinds of event (`HSRP_LOG_GATE` index and [`LogEvent::kind`]).
pub const MALFORMED: u32 = 0;
pub const RATE_LIMITED: u32 = 1;
pub const NO_TX_PORT: u32 = 2;
/// Entries of `HSRP_LOG_GATE`.
pub const KINDS: usize = 3;

/// Value of `HSRP_LOG_GATE` (program-private): until when (jiffies) the kind stays quiet, when its
/// last line went out, and about what.
#[repr(C)]
pub struct LogGate {
    pub next_jiffies: u64,
    pub last_ns: u64,
    pub subject: [u32; 6],
}

/// Value of `HSRP_LOG_EVENT` (per CPU, program-private): the event the tail call reports
/// and the verdict of the frame that raised it.
#[repr(C)]
pub struct LogEvent {
    pub kind: u32,
    pub verdict: u32,
    /// Control sources: family, then the address as four words. Forwarding targets:
    /// ingress ifindex, output ifindex.
    pub subject: [u32; 6],
}

/// Reports `kind` about `subject` if its gate is open, and returns `verdict` (the tail
/// call returns it when it reports). Inline, the cost for a frame while the gate is shut
/// (a flood between two looks) is one array element and `jiffies` (which the verifier
/// inlines as a load): the subprogram that reads the clock and compares subjects runs at
/// most once per [`GAP_JIFFIES`] and kind.
#[inline(always)]
pub fn report(ctx: &XdpContext, kind: u32, subject: [u32; 6], verdict: u32) -> u32 {
    let Some(g) = HSRP_LOG_GATE.get_ptr(kind) else {
        return verdict;
    };
    // SAFETY: bpf_jiffies64 has no preconditions; `g` is an element of the array, valid
    // for the program's run.
    let jiffies = unsafe { bpf_jiffies64() };
    if jiffies < unsafe { (*g).next_jiffies } {
        return verdict;
    }
    if open(kind, &subject, verdict, jiffies) {
        // SAFETY: ctx is the program's context; on failure execution continues here.
        unsafe { HSRP_LOG_PROG.tail_call(ctx, 0) };
    }
    verdict
}

/// Past the gap: true when `subject` is worth a line (another subject than the last
/// line's, or the same after [`REPEAT_NS`]); then records it and hands it (with the
/// frame's `verdict`) to the logging program through `HSRP_LOG_EVENT`. Either way the
/// gate shuts for [`GAP_JIFFIES`]. A subprogram: its code exists once, and its small
/// frame fits under the classifier's.
#[inline(never)]
fn open(kind: u32, subject: &[u32; 6], verdict: u32, jiffies: u64) -> bool {
    let (Some(g), Some(e)) = (
        HSRP_LOG_GATE.get_ptr_mut(kind),
        HSRP_LOG_EVENT.get_ptr_mut(0),
    ) else {
        return false;
    };
    let now = clock::coarse_ns();
    // SAFETY: `g` is an element of the array, valid for the program's run; CPUs may race
    // on it, and at worst a second line goes out. `e` is this CPU's element; XDP runs
    // with preemption off, so nothing else on this CPU writes it before the tail call
    // reads it.
    unsafe {
        (*g).next_jiffies = jiffies + GAP_JIFFIES;
        let same = (0..6).all(|k| (*g).subject[k] == subject[k]);
        if (*g).last_ns != 0 && same && now.wrapping_sub((*g).last_ns) < REPEAT_NS {
            return false;
        }
        (*g).last_ns = now;
        (*e).kind = kind;
        (*e).verdict = verdict;
        let mut k = 0;
        while k < 6 {
            (*g).subject[k] = subject[k];
            (*e).subject[k] = subject[k];
            k += 1;
        }
    }
    true
}

/// The logging program: writes the line for `HSRP_LOG_EVENT` and returns the verdict the
/// classifier chose for the frame. Only ever entered by the tail call.
#[xdp]
pub fn hsrp_log(_ctx: XdpContext) -> u32 {
    let Some(e) = HSRP_LOG_EVENT.get_ptr(0) else {
        return aya_ebpf::bindings::xdp_action::XDP_PASS;
    };
    // SAFETY: this CPU's element, written just before the tail call.
    let (kind, verdict, s) = unsafe { ((*e).kind, (*e).verdict, (*e).subject) };
    match kind {
        MALFORMED | RATE_LIMITED => {
            let what = if kind == MALFORMED {
                "dropping malformed HSRP control frames from"
            } else {
                "rate limit engaged: dropping the excess of HSRP control frames from"
            };
            if s[0] == FAMILY_V4 as u32 {
                let src: [u8; 4] = s[1].to_ne_bytes();
                warn!(&(), target: target!(), "xdp: {} {:i}", what, src);
            } else {
                let src = v6_bytes([s[1], s[2], s[3], s[4]]);
                warn!(&(), target: target!(), "xdp: {} {:i}", what, src);
            }
        }
        _ => info!(
            &(),
            target: target!(),
            "xdp: output ifindex {} (from ifindex {}) is not a forwarding target; the kernel forwards these frames",
            s[1],
            s[0]
        ),
    }
    verdict
}

/// An IPv6 address from the words the program keys it by.
#[inline(always)]
fn v6_bytes(a: pkt::Addr) -> [u8; 16] {
    let b = |w: u32| w.to_ne_bytes();
    let (w0, w1, w2, w3) = (b(a[0]), b(a[1]), b(a[2]), b(a[3]));
    [
        w0[0], w0[1], w0[2], w0[3], w1[0], w1[1], w1[2], w1[3], w2[0], w2[1], w2[2], w2[3], w3[0],
        w3[1], w3[2], w3[3],
    ]
}
