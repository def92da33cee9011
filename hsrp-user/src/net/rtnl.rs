//! Reading rtnetlink messages (links, addresses, routes) into the few facts hsrpd uses.
//! Shared by the queries (`links`) and the event stream (`watch`), so both agree on what
//! "line protocol up" or "a usable route" means.

use std::net::IpAddr;

use rtnetlink::packet_route::address::{
    AddressAttribute, AddressFlags, AddressHeaderFlags, AddressMessage, AddressScope,
};
use rtnetlink::packet_route::link::{LinkAttribute, LinkFlags, LinkMessage, LinkXdp};
use rtnetlink::packet_route::route::{
    RouteAddress, RouteAttribute, RouteFlags, RouteHeader, RouteMessage, RouteNextHopFlags,
    RouteType,
};
use rtnetlink::packet_route::AddressFamily;

use super::IpPrefix;

/// The state of a link as hsrpd tracks it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct LinkFacts {
    pub ifindex: u32,
    pub name: Option<String>,
    pub mac: Option<Vec<u8>>,
    pub mtu: Option<u32>,
    /// IFF_UP: administratively up (`ip link set X up`).
    pub admin_up: bool,
    /// IFF_RUNNING: the kernel's operational state is UP (or UNKNOWN, for devices that
    /// report none): what IOS calls "line protocol up".
    pub oper_up: bool,
    /// IFF_LOWER_UP: the physical layer has carrier.
    pub carrier: bool,
    /// The id of an attached XDP program, in any mode.
    pub xdp_program: Option<u32>,
}

pub(crate) fn link_facts(msg: &LinkMessage) -> LinkFacts {
    let flags = msg.header.flags;
    let mut facts = LinkFacts {
        ifindex: msg.header.index,
        admin_up: flags.contains(LinkFlags::Up),
        oper_up: flags.contains(LinkFlags::Up) && flags.contains(LinkFlags::Running),
        carrier: flags.contains(LinkFlags::LowerUp),
        ..LinkFacts::default()
    };
    for attr in &msg.attributes {
        match attr {
            LinkAttribute::IfName(name) => facts.name = Some(name.clone()),
            LinkAttribute::Address(mac) => facts.mac = Some(mac.clone()),
            LinkAttribute::Mtu(mtu) => facts.mtu = Some(*mtu),
            LinkAttribute::Xdp(xdp) => {
                for x in xdp {
                    match x {
                        LinkXdp::ProgId(p)
                        | LinkXdp::DrvProgId(p)
                        | LinkXdp::SkbProgId(p)
                        | LinkXdp::HwProgId(p)
                            if *p != 0 =>
                        {
                            facts.xdp_program = Some(*p)
                        }
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    facts
}

/// One interface address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct AddrFacts {
    pub ifindex: u32,
    pub addr: IpAddr,
    pub prefix_len: u8,
    /// Scope link (IPv6 fe80::/10, or IPv4 169.254/16 configured as such).
    pub link_scope: bool,
    /// Global (universe) scope, as opposed to host or link.
    pub global_scope: bool,
    /// IPv6 duplicate address detection not finished (or failed): not usable as a source.
    pub tentative: bool,
}

pub(crate) fn addr_facts(msg: &AddressMessage) -> Option<AddrFacts> {
    let (mut local, mut address, mut flags) = (None, None, None);
    for attr in &msg.attributes {
        match attr {
            AddressAttribute::Local(a) => local = Some(*a),
            AddressAttribute::Address(a) => address = Some(*a),
            AddressAttribute::Flags(f) => flags = Some(*f),
            _ => {}
        }
    }
    // IFA_LOCAL is the interface's own address (IFA_ADDRESS is the peer on point-to-point
    // links); IPv6 sends IFA_ADDRESS only.
    let addr = local.or(address)?;
    let tentative = match flags {
        Some(f) => f.intersects(AddressFlags::Tentative | AddressFlags::Dadfailed),
        None => msg
            .header
            .flags
            .intersects(AddressHeaderFlags::Tentative | AddressHeaderFlags::Dadfailed),
    };
    Some(AddrFacts {
        ifindex: msg.header.index,
        addr,
        prefix_len: msg.header.prefix_len,
        link_scope: msg.header.scope == AddressScope::Link,
        global_scope: msg.header.scope == AddressScope::Universe,
        tentative,
    })
}

/// One route, as route tracking sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RouteFacts {
    pub prefix: IpPrefix,
    pub table: u32,
    /// The route forwards traffic: a unicast (or local) route with at least one live next
    /// hop. Blackhole, unreachable, prohibit and throw routes, and routes whose every next
    /// hop is dead or on a link without carrier, exist in the kernel but reach nothing —
    /// IOS's "inaccessible" route, which is not "reachability up".
    pub usable: bool,
}

/// The kernel's main routing table (RT_TABLE_MAIN).
pub(crate) const MAIN_TABLE: u32 = RouteHeader::RT_TABLE_MAIN as u32;

pub(crate) fn route_facts(msg: &RouteMessage) -> Option<RouteFacts> {
    let header = &msg.header;
    if header.flags.contains(RouteFlags::Cloned) {
        return None; // a cache entry, not a route
    }
    let mut table = u32::from(header.table);
    let mut dest = None;
    let mut hops_alive = None;
    for attr in &msg.attributes {
        match attr {
            RouteAttribute::Table(t) => table = *t,
            RouteAttribute::Destination(RouteAddress::Inet(a)) => dest = Some(IpAddr::V4(*a)),
            RouteAttribute::Destination(RouteAddress::Inet6(a)) => dest = Some(IpAddr::V6(*a)),
            RouteAttribute::MultiPath(hops) => {
                let dead = RouteNextHopFlags::Dead | RouteNextHopFlags::Linkdown;
                hops_alive = Some(hops.iter().any(|h| !h.flags.intersects(dead)));
            }
            _ => {}
        }
    }
    // No RTA_DST means the default route of the family.
    let dest = match (dest, header.address_family) {
        (Some(d), _) => d,
        (None, AddressFamily::Inet) => IpAddr::V4(0.into()),
        (None, AddressFamily::Inet6) => IpAddr::V6(0.into()),
        (None, _) => return None,
    };
    let prefix = IpPrefix::new(dest, header.destination_prefix_length)?;
    let single_hop_alive = !header
        .flags
        .intersects(RouteFlags::Dead | RouteFlags::Linkdown);
    let usable = matches!(header.kind, RouteType::Unicast | RouteType::Local)
        && hops_alive.unwrap_or(single_hop_alive);
    Some(RouteFacts {
        prefix,
        table,
        usable,
    })
}
