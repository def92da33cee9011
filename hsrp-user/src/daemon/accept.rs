//! `standby G accept`: services on the virtual IPs. While the group is Active in the data
//! plane, each of its virtual addresses (IPv4, or IPv6 with the virtual link-local) has a
//! local route in the kernel (`net::local_route`) and its vMAC entry carries
//! `VMAC_F_ACCEPT`, so XDP passes traffic to them (other than the ARP, echo and NS it
//! answers itself) up to the kernel, which delivers it to local sockets. When the group
//! stops being Active the route goes with the data plane (after the handover, when there
//! is one). The sentinel holds the requests that delete the routes, so a SIGKILLed daemon
//! leaves none behind; a start removes any a previous run left.
//!
//! IPv4: the kernel picks ARP source addresses from the packet it resolves for unless told
//! otherwise; a reply from the VIP would then make it ask for the client's MAC *from* the
//! VIP at the interface MAC, and hosts would move the VIP to that MAC. `arp_announce = 2`
//! on the interface makes it use the interface's own address. IPv6 needs no counterpart:
//! the kernel's neighbour solicitations take a configured address as source, and it does
//! not answer solicitations for an address it only has a local route for, so ND for the
//! VIP stays XDP's, from the vMAC.

use std::net::IpAddr;

use log::{info, warn};

use super::Daemon;
use crate::net::local_route;

impl Daemon {
    /// The accept group `gi`'s virtual addresses and its interface index.
    fn accept_vips(&self, gi: usize) -> (u32, Vec<IpAddr>) {
        let g = &self.groups[gi];
        (self.ifaces[g.iface].info.ifindex, g.vips.clone())
    }

    /// At start: routes a previous run left are removed, and the interfaces of IPv4
    /// accept groups get `arp_announce = 2`.
    pub(super) fn accept_start(&mut self) {
        for gi in 0..self.groups.len() {
            if !self.groups[gi].spec.accept {
                continue;
            }
            let (ifindex, vips) = self.accept_vips(gi);
            for vip in vips {
                if let Ok(true) = local_route::request(&local_route::del_message(ifindex, vip)) {
                    info!("removed the local route of {vip} a previous run left");
                }
            }
            if self.groups[gi].key.ipv6 {
                continue;
            }
            let name = self.ifaces[self.groups[gi].iface].cfg.name.clone();
            let path = format!("/proc/sys/net/ipv4/conf/{name}/arp_announce");
            if let Err(e) = std::fs::write(&path, "2") {
                warn!("{name}: setting arp_announce to 2: {e} (hosts may learn the VIP at the interface MAC)");
            }
        }
    }

    /// Makes the kernel and the vMAC flags match group `gi`: local routes while its data
    /// plane is Active and it has `accept`, none otherwise.
    pub(super) fn accept_sync(&mut self, gi: usize) {
        let g = &self.groups[gi];
        let accept = g.spec.accept;
        let (ifindex, vips) = self.accept_vips(gi);
        let vmac = g.vmac.0;
        let label = g.key.to_string();
        let active = self.dp.maps.is_active(ifindex, vmac).unwrap_or(false);
        let flags = if accept { hsrp_ebpf::VMAC_F_ACCEPT } else { 0 };
        if let Err(e) = self.dp.maps.set_group_flags(ifindex, vmac, flags) {
            warn!("{label}: {e:#}");
        }
        for vip in vips {
            let want = accept && active;
            let have = self.operator.accept_routes.contains(&(ifindex, vip));
            if want == have {
                continue;
            }
            let msg = if want {
                local_route::add_message(ifindex, vip)
            } else {
                local_route::del_message(ifindex, vip)
            };
            match local_route::request(&msg) {
                Ok(_) if want => {
                    info!("{label}: {vip} is local: services on it answer");
                    self.operator.accept_routes.insert((ifindex, vip));
                }
                Ok(_) => {
                    info!("{label}: {vip} is no longer local");
                    self.operator.accept_routes.remove(&(ifindex, vip));
                }
                Err(e) => warn!(
                    "{label}: {} the local route of {vip}: {e}",
                    if want { "adding" } else { "removing" }
                ),
            }
        }
        self.accept_arm_sentinel();
    }

    /// Every accept route goes (a clean stop).
    pub(super) fn accept_remove_all(&mut self) {
        let routes: Vec<(u32, IpAddr)> = self.operator.accept_routes.iter().copied().collect();
        for (ifindex, vip) in routes {
            if let Err(e) = local_route::request(&local_route::del_message(ifindex, vip)) {
                warn!("removing the local route of {vip}: {e}");
            }
            self.operator.accept_routes.remove(&(ifindex, vip));
        }
        self.accept_arm_sentinel();
    }

    /// The sentinel deletes the routes that exist now if the daemon dies.
    fn accept_arm_sentinel(&mut self) {
        let requests: Vec<Vec<u8>> = self
            .operator
            .accept_routes
            .iter()
            .map(|(ifindex, vip)| local_route::del_message(*ifindex, *vip))
            .collect();
        if let Some(s) = &mut self.last_words.sentinel {
            s.arm_cleanup(requests);
        }
    }
}
