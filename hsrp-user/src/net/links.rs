//! [`Netlink`]: rtnetlink queries — what an interface is ([`InterfaceInfo`]) and whether a
//! route exists ([`Netlink::route_exists`]).
//!
//! Route tracking follows IOS `track N ip route PREFIX/LEN reachability`: the object is up
//! when the routing table holds an entry for exactly that prefix and length (10.0.0.0/24 is
//! not matched by a 10.0.0.0/8 route, nor by the default route) and the entry is accessible.
//! On Linux: the main table (254), a unicast or local route, with a next hop that is
//! neither dead nor on a link without carrier. Blackhole/unreachable/prohibit routes count
//! as down (IOS's "inaccessible", metric 255).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use futures::TryStreamExt;
use rtnetlink::packet_route::route::RouteMessage;
use rtnetlink::packet_route::AddressFamily;
use rtnetlink::Handle;
use tokio::task::JoinHandle;

use super::error::check_iface_name;
use super::rtnl::{addr_facts, link_facts, route_facts, LinkFacts, MAIN_TABLE};
use super::{IpPrefix, NetError, Result};
use crate::proto::MacAddr;

/// An interface address with its prefix length.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct IfAddr<A> {
    pub addr: A,
    pub prefix_len: u8,
}

/// What hsrpd needs to know about an interface.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InterfaceInfo {
    pub name: String,
    pub ifindex: u32,
    /// The interface's own (burned-in or configured) MAC.
    pub mac: MacAddr,
    pub mtu: u32,
    /// Administratively up (IFF_UP).
    pub admin_up: bool,
    /// Line protocol up: IFF_UP and IFF_RUNNING (operational state UP, or UNKNOWN for
    /// devices that do not report one).
    pub oper_up: bool,
    /// Physical carrier (IFF_LOWER_UP).
    pub carrier: bool,
    /// IPv4 addresses in the kernel's order: the primary address of each subnet (the
    /// first one added), then the secondaries.
    pub ipv4: Vec<IfAddr<Ipv4Addr>>,
    /// The IPv6 link-local address, once duplicate address detection has finished.
    pub ipv6_link_local: Option<Ipv6Addr>,
    /// IPv6 addresses of global scope (including unique-local fc00::/7), DAD finished.
    pub ipv6_global: Vec<IfAddr<Ipv6Addr>>,
}

/// A connection to rtnetlink for queries. Create it inside a tokio runtime: its connection
/// task runs there until the last clone of the `Netlink` is dropped. Clones share the
/// socket: whoever needs a query asks a clone instead of opening another connection.
#[derive(Clone, Debug)]
pub struct Netlink {
    handle: Handle,
    /// Held, never read: its drop ends the connection.
    _connection: Arc<Connection>,
}

/// The connection task, ended with the last clone.
#[derive(Debug)]
struct Connection(JoinHandle<()>);

impl Drop for Connection {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Netlink {
    /// Opens the netlink socket (in the calling thread's network namespace).
    pub fn connect() -> Result<Self> {
        let (connection, handle, _unsolicited) =
            rtnetlink::new_connection().map_err(NetError::NetlinkSocket)?;
        let connection = Arc::new(Connection(tokio::spawn(connection)));
        Ok(Netlink {
            handle,
            _connection: connection,
        })
    }

    /// The facts of interface `name`; [`NetError::NoSuchInterface`] if it does not exist.
    pub async fn interface_info(&self, name: &str) -> Result<InterfaceInfo> {
        let facts = self.link_facts(name).await?;
        let unexpected = |reason: String| NetError::Unexpected {
            iface: name.to_owned(),
            reason,
        };
        let mac = match facts.mac.as_deref() {
            Some(&[a, b, c, d, e, f]) => MacAddr([a, b, c, d, e, f]),
            Some(other) => {
                return Err(unexpected(format!(
                    "hardware address {other:02x?} is not an Ethernet MAC"
                )))
            }
            None => {
                return Err(unexpected(
                    "no hardware address (not an Ethernet interface?)".into(),
                ))
            }
        };
        let mut info = InterfaceInfo {
            name: name.to_owned(),
            ifindex: facts.ifindex,
            mac,
            mtu: facts.mtu.ok_or_else(|| unexpected("no MTU".into()))?,
            admin_up: facts.admin_up,
            oper_up: facts.oper_up,
            carrier: facts.carrier,
            ipv4: Vec::new(),
            ipv6_link_local: None,
            ipv6_global: Vec::new(),
        };

        let mut addrs = self
            .handle
            .address()
            .get()
            .set_link_index_filter(facts.ifindex)
            .execute();
        loop {
            let msg = match addrs.try_next().await {
                Ok(Some(msg)) => msg,
                Ok(None) => break,
                Err(source) => {
                    return Err(NetError::Netlink {
                        what: format!("get addresses of {name}"),
                        source,
                    })
                }
            };
            let Some(a) = addr_facts(&msg) else { continue };
            match a.addr {
                IpAddr::V4(addr) => info.ipv4.push(IfAddr {
                    addr,
                    prefix_len: a.prefix_len,
                }),
                IpAddr::V6(_) if a.tentative => {}
                IpAddr::V6(addr) if a.link_scope => {
                    info.ipv6_link_local.get_or_insert(addr);
                }
                IpAddr::V6(addr) if a.global_scope => info.ipv6_global.push(IfAddr {
                    addr,
                    prefix_len: a.prefix_len,
                }),
                IpAddr::V6(_) => {}
            }
        }
        Ok(info)
    }

    /// The facts of link `name`; [`NetError::NoSuchInterface`] if it does not exist.
    async fn link_facts(&self, name: &str) -> Result<LinkFacts> {
        check_iface_name(name)?;
        let mut links = self
            .handle
            .link()
            .get()
            .match_name(name.to_owned())
            .execute();
        let link = match links.try_next().await {
            Ok(Some(link)) => link,
            Ok(None) => return Err(no_such(name)),
            Err(rtnetlink::Error::NetlinkError(e)) if e.raw_code().abs() == libc::ENODEV => {
                return Err(no_such(name))
            }
            Err(source) => {
                return Err(NetError::Netlink {
                    what: format!("get link {name}"),
                    source,
                })
            }
        };
        Ok(link_facts(&link))
    }

    /// The id of the XDP program attached to interface `name` in any mode, if one is.
    pub async fn attached_xdp_program(&self, name: &str) -> Result<Option<u32>> {
        Ok(self.link_facts(name).await?.xdp_program)
    }

    /// Whether the main routing table has a usable route for exactly `prefix` (IOS
    /// `ip route reachability`; see the module documentation).
    pub async fn route_exists(&self, prefix: IpPrefix) -> Result<bool> {
        let mut query = RouteMessage::default();
        query.header.address_family = match prefix.addr() {
            IpAddr::V4(_) => AddressFamily::Inet,
            IpAddr::V6(_) => AddressFamily::Inet6,
        };
        // A dump of the family's routes: the kernel's exact-match lookup (RTM_GETROUTE with
        // a destination) does longest-prefix match, which is not IOS's semantics.
        let mut routes = self.handle.route().get(query).execute();
        let mut found = false;
        loop {
            match routes.try_next().await {
                Ok(Some(msg)) => {
                    found |= route_facts(&msg)
                        .is_some_and(|r| r.table == MAIN_TABLE && r.prefix == prefix && r.usable);
                }
                Ok(None) => return Ok(found),
                Err(source) => {
                    return Err(NetError::Netlink {
                        what: format!("dump routes for {prefix}"),
                        source,
                    })
                }
            }
        }
    }
}

fn no_such(name: &str) -> NetError {
    NetError::NoSuchInterface {
        iface: name.to_owned(),
    }
}
