//! The daemon's half of the BFD receive offload: a steady session's packets are counted by
//! the XDP program and dropped there (the program's `bfd` module), and the daemon reports
//! what it counted to the session as `bfd::Event::Repeated`.
//!
//! At 10 ms intervals the kernel's receive path, the socket and a wake-up for every packet
//! were most of BFD's cost. A steady peer (RFC 5880 §6.8.6 with nothing to change) sends
//! the same 24 bytes again and again; `Session::steady_packet` says when that is the case
//! and which packet, and this module writes the packet's wire bytes, as the socket
//! delivered them, into the session's `HSRP_BFD_EXPECT` slot. Everything else — the
//! handshake, Poll and Final, a new diagnostic, AdminDown, forged or stray packets —
//! still reaches the socket and the session one packet at a time.
//!
//! The slot follows the session: [`Offload::sync`] runs after everything the session
//! handles, and [`Offload::repeats`] before anything it judges (a detection time, the next
//! packet from the socket), so the copies are always reported in order and before they
//! could be missed.

use std::net::IpAddr;
use std::time::Instant;

use hsrp_ebpf::{bfd, BfdExpect, BfdSeen, FAMILY_V4, FAMILY_V6};
use log::warn;

use crate::bfd::{Event, Session};
use crate::dataplane::bfd_offload::{program_clock_ns, BfdMaps};
use crate::fsm::Time;
use crate::wire::bfd::{Packet, Repr};

/// The maps, and where the program's clock stands against the daemon's `Time`.
pub(super) struct Offload {
    maps: BfdMaps,
    /// Off with `fast-path off`: every BFD packet then reaches the kernel (its firewall,
    /// tcpdump) and the socket; slots are cleared at each session's next event.
    enabled: bool,
    /// The program's clock (CLOCK_MONOTONIC, ns) at the daemon's `Time::ZERO`.
    origin_ns: u64,
    /// A map write failed: reported once.
    warned: bool,
}

/// The peer's last packet taken from the socket, as it came: what an expectation is made
/// of (the program compares wire bytes, so they are not re-encoded from the `Repr`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Heard {
    pub wire: [u8; bfd::CONTROL_LEN],
    pub src_port: u16,
    /// The address it was sent to (ours).
    pub local: IpAddr,
    pub ifindex: u32,
}

/// One session's slot, as the daemon keeps it.
#[derive(Debug, Default)]
pub(super) struct SessionSlot {
    /// The session's discriminator owns its slot (no other session's maps to it); a
    /// session that does not is never offloaded.
    pub owned: bool,
    heard: Option<Heard>,
    /// `heard` was set since the last `Offload::sync`.
    heard_changed: bool,
    /// What `HSRP_BFD_EXPECT` holds for the session, and the packet it stands for.
    installed: Option<(BfdExpect, Repr)>,
    /// `HSRP_BFD_SEEN` as already reported to the session.
    seen: BfdSeen,
}

impl SessionSlot {
    pub(super) fn new(owned: bool) -> SessionSlot {
        SessionSlot {
            owned,
            ..SessionSlot::default()
        }
    }

    /// The peer's packet about to be handed to the session came as `heard`.
    pub(super) fn heard(&mut self, heard: Option<Heard>) {
        self.heard_changed |= heard != self.heard;
        self.heard = heard;
    }
}

impl Offload {
    /// `start` is the instant of the daemon's `Time::ZERO`.
    pub(super) fn new(maps: BfdMaps, start: Instant) -> Offload {
        let since_start = u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX);
        Offload {
            maps,
            enabled: true,
            origin_ns: program_clock_ns().saturating_sub(since_start),
            warned: false,
        }
    }

    pub(super) fn set_enabled(&mut self, enabled: bool) {
        self.enabled = enabled;
    }

    fn time_of(&self, ns: u64) -> Time {
        Time::from_duration(std::time::Duration::from_nanos(
            ns.saturating_sub(self.origin_ns),
        ))
    }

    /// The copies the program counted for the session since the last look, as the event
    /// that reports them (None: nothing new, or nothing expected).
    pub(super) fn repeats(&self, slot: &mut SessionSlot, discriminator: u32) -> Option<Event> {
        let (_, packet) = slot.installed?;
        let seen = self.maps.seen(discriminator);
        if seen == slot.seen {
            return None;
        }
        let count = seen.count.wrapping_sub(slot.seen.count);
        slot.seen = seen;
        Some(Event::Repeated {
            packet,
            count,
            last: self.time_of(seen.last_ns),
        })
    }

    /// Brings the session's slot in line with what the session calls steady: the packet
    /// expected, or nothing.
    pub(super) fn sync(&mut self, slot: &mut SessionSlot, session: &Session, peer: IpAddr) {
        let steady = session
            .steady_packet()
            .filter(|_| slot.owned && self.enabled);
        // The common case, every transmit: nothing changed since the last look.
        if !std::mem::take(&mut slot.heard_changed)
            && steady == slot.installed.map(|(_, packet)| packet)
        {
            return;
        }
        let discriminator = session.local_discriminator();
        let wanted = steady.and_then(|steady| expectation(session, steady, slot.heard?, peer));
        if wanted.map(|w| w.0) == slot.installed.map(|i| i.0) {
            return;
        }
        // The count so far is the baseline: it is read before the write, so every match
        // of the new expectation counts.
        let baseline = self.maps.seen(discriminator);
        let written = match &wanted {
            Some((e, _)) => self.maps.expect(e),
            None => self.maps.forget(discriminator),
        };
        match written {
            Ok(()) => {
                slot.installed = wanted;
                slot.seen = baseline;
            }
            Err(e) => {
                if !self.warned {
                    warn!("BFD peer {peer}: {e:#}; tried again at the session's next event");
                    self.warned = true;
                }
                // `installed` stays what the map may still hold: its copies go on being
                // reported (a failed forget leaves the program dropping them), and the
                // mismatch with `wanted` makes the next `sync` write again.
            }
        }
    }
}

/// The expectation for a session whose steady packet is `steady` and whose peer's last
/// packet is `heard`: its wire bytes, if they are the steady packet.
fn expectation(
    session: &Session,
    steady: Repr,
    heard: Heard,
    peer: IpAddr,
) -> Option<(BfdExpect, Repr)> {
    let parsed = Packet::new_checked(&heard.wire[..])
        .and_then(|p| Repr::parse(&p))
        .ok()?;
    if parsed != steady {
        return None;
    }
    let (family, peer, local) = match (peer, heard.local) {
        (IpAddr::V4(p), IpAddr::V4(l)) => (FAMILY_V4, widen(&p.octets()), widen(&l.octets())),
        (IpAddr::V6(p), IpAddr::V6(l)) => (FAMILY_V6, p.octets(), l.octets()),
        _ => return None,
    };
    let e = BfdExpect {
        discriminator: session.local_discriminator(),
        ifindex: heard.ifindex,
        family,
        src_port: heard.src_port.to_be_bytes(),
        peer,
        local,
        packet: heard.wire,
        ..BfdExpect::default()
    };
    Some((e, steady))
}

/// An IPv4 address in the first four bytes of a 16-byte field.
fn widen(a: &[u8; 4]) -> [u8; 16] {
    let mut w = [0; 16];
    w[..4].copy_from_slice(a);
    w
}
