//! Carrying out what the state machines decide: frames on the wire, the data-plane flip
//! (one map write), gratuitous ARP / unsolicited NA, log lines; and the per-interface
//! announcements (v1 Advertise, v2 Interface State).

use std::net::IpAddr;

use log::{debug, error, info, warn};

use super::Daemon;
use crate::fsm::{Action, InterfaceCounts, InterfaceRole};
use crate::proto::{Auth, GroupMessage, MacAddr, Version};
use crate::wire::{self, AdvState, AdvertiseRepr};

/// Room for the longest frame hsrpd sends (Ethernet + IPv6 + UDP + v2 with MD5).
pub(super) const FRAME_BUF: usize = 256;

/// The complete Ethernet frame of a group message, signed with `auth`, from `src_mac` and
/// `local` (the sentinel's Resign frames are built here too, so they are exactly what the
/// daemon would send).
pub(super) fn group_frame(
    msg: &GroupMessage,
    auth: &Auth,
    local: IpAddr,
    src_mac: MacAddr,
    frame: &mut [u8; FRAME_BUF],
) -> Result<usize, wire::Error> {
    let mut payload = [0u8; wire::MAX_PAYLOAD_LEN];
    let n = wire::encode_group(msg, auth, local, &mut payload)?;
    wire::hsrp_frame(src_mac, local, &payload[..n], frame)
}

impl Daemon {
    /// Carries out `actions` of group `gi`, in order.
    pub(super) async fn execute(&mut self, gi: usize, actions: Vec<Action>) {
        for action in actions {
            if !matches!(action, Action::Send { .. }) {
                // What is queued goes first, in the order it was asked for (`tx_batch`).
                self.flush_tx().await;
            }
            match action {
                Action::Send { msg, from_vmac } => {
                    let g = &self.groups[gi];
                    let iface = &self.ifaces[g.iface];
                    let src_mac = if from_vmac {
                        g.fsm.virtual_mac()
                    } else {
                        iface.info.mac
                    };
                    let local = g.fsm.local_ip();
                    let mut frame = [0u8; FRAME_BUF];
                    let built = group_frame(&msg, &g.fsm.config().auth, local, src_mac, &mut frame);
                    match built {
                        Ok(n) => {
                            if self.queue_frame(gi, msg.opcode, &frame[..n]).await {
                                continue;
                            }
                            let g = &self.groups[gi];
                            let iface = &self.ifaces[g.iface];
                            if let Err(e) = iface.socket.send(&frame[..n]).await {
                                let failures = &mut self.tx.failures;
                                super::tx_batch::send_failed(failures, &g.key, msg.opcode, &e);
                            }
                        }
                        Err(e) => error!("{}: cannot encode {:?}: {e}", g.key, msg.opcode),
                    }
                }
                Action::SetActive { active, vmac, .. } => self.set_active(gi, active, vmac),
                Action::SendGratuitous { vip, vmac } => self.announce(gi, vip, vmac).await,
                Action::StateChanged { from, to, reason } => {
                    let i = self.groups[gi].iface;
                    self.ifaces[i].counts_dirty = true;
                    let g = &self.groups[gi];
                    info!(
                        target: crate::logging::STATE_TARGET,
                        "{}: {from} -> {to}: {reason}",
                        g.key
                    );
                    self.state_changed(gi, from, to, &reason);
                }
                Action::VipLearned { vip } => self.vip_learned(gi, vip),
                Action::ConfigRejected { error } => {
                    let g = &self.groups[gi];
                    error!("{}: {error}", g.key);
                }
                Action::PeerChanged { role, from, to } => self.peer_changed(gi, role, from, to),
                Action::Ra(ra) => self.ra_action(gi, ra).await,
                Action::Drained { to, after } => self.drained(gi, to, after),
            }
        }
        self.note_last_words(gi);
    }

    /// The one map write that makes group `gi`'s vMAC forwarded (or dropped) by XDP.
    fn set_active(&mut self, gi: usize, active: bool, vmac: MacAddr) {
        let ifindex = self.ifaces[self.groups[gi].iface].info.ifindex;
        let result = self.dp.maps.set_active(ifindex, vmac.0, active);
        if self.groups[gi].spec.accept || !self.operator.accept_routes.is_empty() {
            self.accept_sync(gi);
        }
        match result {
            Ok(()) => debug!(
                "{}: data plane {} for {vmac}",
                self.groups[gi].key,
                if active { "active" } else { "inactive" }
            ),
            Err(e) => error!("{}: {e:#}", self.groups[gi].key),
        }
    }

    /// A virtual IP learned from the Active's hellos joins group `gi`'s VIP map entries.
    fn vip_learned(&mut self, gi: usize, vip: IpAddr) {
        let g = &self.groups[gi];
        let ifindex = self.ifaces[g.iface].info.ifindex;
        info!("{}: learned virtual IP {vip}", g.key);
        let (vmac, group) = (g.vmac, g.key.group);
        if !self.groups[gi].vips.contains(&vip) {
            match self.dp.maps.add_vip(ifindex, vmac.0, group, vip) {
                Ok(()) => self.groups[gi].vips.push(vip),
                Err(e) => error!("{e:#}"),
            }
        }
    }

    /// The new Active announces its addresses at the vMAC: IPv4 with a gratuitous ARP to
    /// broadcast and to 01:00:0c:cd:cd:cd (as IOS does), IPv6 with an unsolicited NA. Every
    /// virtual address of the group of that family is announced, secondaries included.
    async fn announce(&mut self, gi: usize, vip: IpAddr, vmac: MacAddr) {
        let g = &self.groups[gi];
        let iface = &self.ifaces[g.iface];
        let mut addrs: Vec<IpAddr> = vec![vip];
        for a in g.spec.virtual_ips() {
            if a.is_ipv6() == vip.is_ipv6() && !addrs.contains(&a) {
                addrs.push(a);
            }
        }
        let mut buf = [0u8; FRAME_BUF];
        for addr in addrs {
            let frames: Vec<Vec<u8>> = match addr {
                IpAddr::V4(a) => [MacAddr::BROADCAST, MacAddr::CISCO_CDCDCD]
                    .into_iter()
                    .filter_map(|dst| {
                        wire::gratuitous_arp(vmac, a, dst, &mut buf)
                            .ok()
                            .map(|n| buf[..n].to_vec())
                    })
                    .collect(),
                IpAddr::V6(a) => {
                    // From the virtual link-local, the Active's own address.
                    let src = match vip {
                        IpAddr::V6(ll) => ll,
                        IpAddr::V4(_) => a,
                    };
                    wire::unsolicited_na(vmac, src, a, &mut buf)
                        .ok()
                        .map(|n| vec![buf[..n].to_vec()])
                        .unwrap_or_default()
                }
            };
            for f in frames {
                if let Err(e) = iface.socket.send(&f).await {
                    warn!("{}: announcing {addr}: {e}", g.key);
                }
            }
        }
        debug!("{}: announced {vip} at {vmac}", g.key);
    }

    /// Sends each interface's group counts when they changed, and every 30 s while any
    /// group runs (docs/protocol.md §4): v1 Advertise, v2 Interface State TLV.
    pub(super) async fn advertise(&mut self) {
        let now = self.now();
        for i in 0..self.ifaces.len() {
            // Counting the groups only when one changed state or the repeat is due keeps
            // this O(1) per wake-up with many groups.
            let repeat_due = self.ifaces[i]
                .advertiser
                .next_deadline()
                .is_some_and(|t| t <= now);
            if !self.ifaces[i].counts_dirty && !repeat_due {
                continue;
            }
            self.ifaces[i].counts_dirty = false;
            let states = self
                .groups
                .iter()
                .filter(|g| g.iface == i)
                .map(|g| g.fsm.state());
            let counts = InterfaceCounts::of(states);
            let Some(c) = self.ifaces[i].advertiser.poll(now, counts) else {
                continue;
            };
            let iface = &self.ifaces[i];
            let Some(src_ip) = iface.advertise_ip() else {
                continue;
            };
            let mut payload = [0u8; 64];
            let built = match iface.cfg.version {
                Version::V1 => {
                    let state = match c.role() {
                        InterfaceRole::Dormant => AdvState::Dormant,
                        InterfaceRole::Passive => AdvState::Passive,
                        InterfaceRole::Active => AdvState::Active,
                    };
                    let adv = AdvertiseRepr {
                        state,
                        active_groups: c.active,
                        passive_groups: c.passive,
                    };
                    wire::encode_advertise(&adv, &mut payload)
                }
                Version::V2 => wire::encode_interface_state(c.active, c.passive, &mut payload),
            };
            let mut frame = [0u8; FRAME_BUF];
            let built = built
                .and_then(|n| wire::hsrp_frame(iface.info.mac, src_ip, &payload[..n], &mut frame));
            match built {
                Ok(n) => {
                    if let Err(e) = iface.socket.send(&frame[..n]).await {
                        debug!("{}: sending the interface state: {e}", iface.cfg.name);
                    }
                }
                Err(e) => error!("{}: cannot encode the interface state: {e}", iface.cfg.name),
            }
        }
    }
}
