//! [`RoutingWatch`]: everything that can change what the kernel's fib lookup answers —
//! link, neighbour, address, route and rule notifications, IPv4 and IPv6 — as plain
//! [`RoutingChange`]s, and dumps of the rules and routes as [`RoutingEntry`]s. The
//! next-hop cache's keeper decides from these; no netlink type leaves this module.

use futures::channel::mpsc::UnboundedReceiver;
use futures::{StreamExt, TryStreamExt};
use rtnetlink::packet_core::{NetlinkMessage, NetlinkPayload};
use rtnetlink::packet_route::route::{RouteAttribute, RouteFlags, RouteMessage};
use rtnetlink::packet_route::rule::{RuleAction, RuleAttribute, RuleFlags, RuleMessage};
use rtnetlink::packet_route::{AddressFamily, RouteNetlinkMessage};
use rtnetlink::sys::SocketAddr;
use rtnetlink::{Handle, IpVersion, MulticastGroup};
use tokio::task::JoinHandle;

use super::{NetError, Result};

/// A policy routing rule, as far as a per-destination cache cares.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RuleShape {
    /// The address family, for messages ("Inet", "Inet6").
    pub family: String,
    /// The action, for messages ("ToTable", "Blackhole", ...).
    pub action: String,
    /// The action is a table lookup (FR_ACT_TO_TBL).
    pub to_table: bool,
    pub priority: u32,
    pub table: u32,
    pub src_len: u8,
    pub dst_len: u8,
    pub tos: u8,
    /// `not` (FIB_RULE_INVERT).
    pub invert: bool,
    /// A selector attribute (iif, oif, fwmark, a set suppress_prefixlength, ...; the last
    /// one) in words; `None` when there is none.
    pub selector: Option<String>,
}

/// A route, as far as a per-destination cache cares.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RouteShape {
    /// A cached clone (PMTU or redirect exception), not a route.
    pub cloned: bool,
    pub source_prefix_len: u8,
    /// RTA_MULTIPATH.
    pub multipath: bool,
    /// RTA_NH_ID: the route uses a nexthop object.
    pub nexthop_object: bool,
    /// The destination in words (`None`: the default route).
    pub destination: Option<String>,
    pub prefix_len: u8,
    pub table: u32,
}

/// One notification.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RoutingChange {
    /// The kernel dropped notifications: anything may have changed.
    Overrun,
    /// A rule was added or removed.
    Rule,
    /// A route was added, replaced or removed.
    Route(RouteShape),
    /// A neighbour, link or address changed.
    Neighbour,
    Link,
    Address,
    /// Anything else on these groups.
    Other,
}

/// One entry of a dump.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RoutingEntry {
    Rule(RuleShape),
    Route(RouteShape),
}

type Messages = UnboundedReceiver<(NetlinkMessage<RouteNetlinkMessage>, SocketAddr)>;

/// The subscription and its connection (dumps go over the same socket). Create it inside
/// a tokio runtime: the connection task runs there until the watch is dropped.
pub struct RoutingWatch {
    handle: Handle,
    connection: JoinHandle<()>,
    messages: Messages,
}

impl Drop for RoutingWatch {
    fn drop(&mut self) {
        self.connection.abort();
    }
}

impl RoutingWatch {
    /// Subscribes (in the calling thread's network namespace).
    pub fn subscribe() -> Result<RoutingWatch> {
        let (connection, handle, messages) = rtnetlink::new_multicast_connection(&[
            MulticastGroup::Link,
            MulticastGroup::Neigh,
            MulticastGroup::Ipv4Ifaddr,
            MulticastGroup::Ipv6Ifaddr,
            MulticastGroup::Ipv4Route,
            MulticastGroup::Ipv6Route,
            MulticastGroup::Ipv4Rule,
            MulticastGroup::Ipv6Rule,
        ])
        .map_err(NetError::NetlinkSocket)?;
        Ok(RoutingWatch {
            handle,
            connection: tokio::spawn(connection),
            messages,
        })
    }

    /// The next notification; `None` once the socket has closed.
    pub async fn next(&mut self) -> Option<RoutingChange> {
        let (msg, _) = self.messages.next().await?;
        Some(change(&msg))
    }

    /// Dumps the rules (IPv4, then IPv6), then the routes (IPv4, then IPv6), calling `f`
    /// on each entry until it returns `Some`.
    pub async fn find_in_dump<T>(
        &self,
        mut f: impl FnMut(&RoutingEntry) -> Option<T>,
    ) -> Result<Option<T>> {
        let failed = |what: &str, source| NetError::Netlink {
            what: what.into(),
            source,
        };
        for version in [IpVersion::V4, IpVersion::V6] {
            let mut rules = self.handle.rule().get(version).execute();
            while let Some(rule) = rules
                .try_next()
                .await
                .map_err(|e| failed("dumping rules", e))?
            {
                if let Some(t) = f(&RoutingEntry::Rule(rule_shape(&rule))) {
                    return Ok(Some(t));
                }
            }
        }
        for family in [AddressFamily::Inet, AddressFamily::Inet6] {
            let mut query = RouteMessage::default();
            query.header.address_family = family;
            let mut routes = self.handle.route().get(query).execute();
            while let Some(route) = routes
                .try_next()
                .await
                .map_err(|e| failed("dumping routes", e))?
            {
                if let Some(t) = f(&RoutingEntry::Route(route_shape(&route))) {
                    return Ok(Some(t));
                }
            }
        }
        Ok(None)
    }
}

fn change(msg: &NetlinkMessage<RouteNetlinkMessage>) -> RoutingChange {
    let m = match &msg.payload {
        NetlinkPayload::InnerMessage(m) => m,
        NetlinkPayload::Overrun(_) => return RoutingChange::Overrun,
        _ => return RoutingChange::Other,
    };
    match m {
        RouteNetlinkMessage::NewRule(_) | RouteNetlinkMessage::DelRule(_) => RoutingChange::Rule,
        RouteNetlinkMessage::NewRoute(r) | RouteNetlinkMessage::DelRoute(r) => {
            RoutingChange::Route(route_shape(r))
        }
        RouteNetlinkMessage::NewNeighbour(_) | RouteNetlinkMessage::DelNeighbour(_) => {
            RoutingChange::Neighbour
        }
        RouteNetlinkMessage::NewLink(_) | RouteNetlinkMessage::DelLink(_) => RoutingChange::Link,
        RouteNetlinkMessage::NewAddress(_) | RouteNetlinkMessage::DelAddress(_) => {
            RoutingChange::Address
        }
        _ => RoutingChange::Other,
    }
}

fn rule_shape(rule: &RuleMessage) -> RuleShape {
    let h = &rule.header;
    let mut shape = RuleShape {
        family: format!("{:?}", h.family),
        action: format!("{:?}", h.action),
        to_table: h.action == RuleAction::ToTable,
        priority: 0,
        table: u32::from(h.table),
        src_len: h.src_len,
        dst_len: h.dst_len,
        tos: h.tos,
        invert: h.flags.contains(RuleFlags::Invert),
        selector: None,
    };
    for attr in &rule.attributes {
        match attr {
            RuleAttribute::Priority(p) => shape.priority = *p,
            RuleAttribute::Table(t) => shape.table = *t,
            RuleAttribute::Protocol(_) => {}
            // -1 is "not set" (the kernel reports it on every rule).
            RuleAttribute::SuppressPrefixLen(u32::MAX)
            | RuleAttribute::SuppressIfGroup(u32::MAX) => {}
            other => shape.selector = Some(format!("{other:?}")),
        }
    }
    shape
}

fn route_shape(route: &RouteMessage) -> RouteShape {
    let mut shape = RouteShape {
        cloned: route.header.flags.contains(RouteFlags::Cloned),
        source_prefix_len: route.header.source_prefix_length,
        prefix_len: route.header.destination_prefix_length,
        table: u32::from(route.header.table),
        ..RouteShape::default()
    };
    let mut table = None;
    for attr in &route.attributes {
        match attr {
            RouteAttribute::MultiPath(_) => shape.multipath = true,
            RouteAttribute::NhId(_) => shape.nexthop_object = true,
            RouteAttribute::Destination(d) if shape.destination.is_none() => {
                shape.destination = Some(format!("{d:?}"))
            }
            RouteAttribute::Table(t) if table.is_none() => table = Some(*t),
            _ => {}
        }
    }
    shape.table = table.unwrap_or(shape.table);
    shape
}

#[cfg(test)]
mod tests {
    use super::*;
    use rtnetlink::packet_route::route::{RouteAddress, RouteNextHop};

    #[test]
    fn a_rule_becomes_its_shape_with_the_unset_markers_ignored() {
        let mut r = RuleMessage::default();
        r.header.family = AddressFamily::Inet;
        r.header.action = RuleAction::ToTable;
        r.header.table = 254;
        r.attributes.push(RuleAttribute::Priority(32766));
        r.attributes.push(RuleAttribute::Table(254));
        r.attributes
            .push(RuleAttribute::SuppressPrefixLen(u32::MAX));
        let s = rule_shape(&r);
        assert_eq!(
            (
                s.to_table,
                s.priority,
                s.table,
                &s.selector,
                s.family.as_str()
            ),
            (true, 32766, 254, &None, "Inet")
        );
        r.attributes.push(RuleAttribute::FwMark(1));
        r.header.flags = RuleFlags::Invert;
        let s = rule_shape(&r);
        assert_eq!(s.selector.as_deref(), Some("FwMark(1)"));
        assert!(s.invert);
    }

    #[test]
    fn a_route_becomes_its_shape() {
        let mut r = RouteMessage::default();
        r.header.address_family = AddressFamily::Inet;
        r.header.destination_prefix_length = 24;
        r.header.table = 254;
        r.attributes
            .push(RouteAttribute::Destination(RouteAddress::Inet(
                "10.9.9.0".parse().unwrap(),
            )));
        let plain = route_shape(&r);
        assert_eq!(plain.destination.as_deref(), Some("Inet(10.9.9.0)"));
        assert_eq!((plain.prefix_len, plain.table), (24, 254));
        assert!(!plain.multipath && !plain.nexthop_object && !plain.cloned);
        r.attributes
            .push(RouteAttribute::MultiPath(vec![RouteNextHop::default()]));
        r.attributes.push(RouteAttribute::NhId(7));
        r.attributes.push(RouteAttribute::Table(1000));
        r.header.flags = RouteFlags::Cloned;
        r.header.source_prefix_length = 64;
        let s = route_shape(&r);
        assert!(s.multipath && s.nexthop_object && s.cloned);
        assert_eq!((s.table, s.source_prefix_len), (1000, 64));
    }
}
