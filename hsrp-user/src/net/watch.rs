//! [`NetWatcher`]: the kernel's link, address and route notifications as a stream of
//! [`NetEvent`]s, for interface tracking (`track N interface IF line-protocol`), route
//! tracking (`track N ip route PREFIX reachability`) and noticing the IPv6 link-local.
//!
//! Use: create the watcher first, then read the current state ([`super::Netlink`]), so no
//! change falls between the two. Events are triggers, not the whole truth: e.g. removing one
//! of two routes for a prefix yields `RouteRemoved` while the prefix is still reachable, so
//! on a route event for a tracked prefix, ask [`super::Netlink::route_exists`] again.

use std::collections::HashMap;
use std::net::IpAddr;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use futures::channel::mpsc::UnboundedReceiver;
use futures::{Stream, StreamExt};
use rtnetlink::packet_core::{NetlinkMessage, NetlinkPayload};
use rtnetlink::packet_route::RouteNetlinkMessage;
use rtnetlink::sys::SocketAddr;
use rtnetlink::MulticastGroup;
use tokio::task::JoinHandle;

use super::rtnl::{addr_facts, link_facts, route_facts};
use super::{IpPrefix, NetError, Result};

/// A change in the kernel's network state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NetEvent {
    /// A link was first seen or one of its three states changed (repeats of the same
    /// state are not reported). `oper_up` is IOS's "line protocol".
    Link {
        ifindex: u32,
        name: String,
        admin_up: bool,
        oper_up: bool,
        carrier: bool,
    },
    /// A link was deleted.
    LinkRemoved {
        ifindex: u32,
        name: String,
    },
    /// An address was added, or its flags changed (IPv6: reported again with
    /// `tentative: false` once duplicate address detection succeeds).
    AddressAdded {
        ifindex: u32,
        addr: IpAddr,
        prefix_len: u8,
        tentative: bool,
    },
    AddressRemoved {
        ifindex: u32,
        addr: IpAddr,
        prefix_len: u8,
    },
    /// A route was added or replaced, in any table (`usable`: see the `links` module on
    /// route reachability).
    RouteAdded {
        prefix: IpPrefix,
        table: u32,
        usable: bool,
    },
    RouteRemoved {
        prefix: IpPrefix,
        table: u32,
    },
    /// The kernel dropped notifications (the socket's buffer overflowed): re-read all the
    /// state you track.
    Resync,
}

#[derive(Clone, PartialEq, Eq)]
struct LinkKey {
    name: String,
    admin_up: bool,
    oper_up: bool,
    carrier: bool,
}

type Messages = UnboundedReceiver<(NetlinkMessage<RouteNetlinkMessage>, SocketAddr)>;

/// The notification stream; see the module documentation. Implements
/// `Stream<Item = NetEvent>`; the stream ends only if the netlink socket fails.
pub struct NetWatcher {
    messages: Messages,
    links: HashMap<u32, LinkKey>,
    connection: JoinHandle<()>,
}

impl Drop for NetWatcher {
    fn drop(&mut self) {
        self.connection.abort();
    }
}

impl NetWatcher {
    /// Subscribes to link, IPv4/IPv6 address and IPv4/IPv6 route notifications (in the
    /// calling thread's network namespace). Must be called inside a tokio runtime.
    pub fn new() -> Result<Self> {
        let (connection, _handle, messages) = rtnetlink::new_multicast_connection(&[
            MulticastGroup::Link,
            MulticastGroup::Ipv4Ifaddr,
            MulticastGroup::Ipv6Ifaddr,
            MulticastGroup::Ipv4Route,
            MulticastGroup::Ipv6Route,
        ])
        .map_err(NetError::NetlinkSocket)?;
        Ok(NetWatcher {
            messages,
            links: HashMap::new(),
            connection: tokio::spawn(connection),
        })
    }

    /// The next event; `None` if the netlink socket failed.
    pub async fn recv(&mut self) -> Option<NetEvent> {
        self.next().await
    }

    fn event(&mut self, msg: NetlinkMessage<RouteNetlinkMessage>) -> Option<NetEvent> {
        let msg = match msg.payload {
            NetlinkPayload::InnerMessage(m) => m,
            NetlinkPayload::Overrun(_) => {
                // Our link memory may be stale too: report every link afresh next time.
                self.links.clear();
                return Some(NetEvent::Resync);
            }
            _ => return None,
        };
        match msg {
            RouteNetlinkMessage::NewLink(link) => {
                let f = link_facts(&link);
                let key = LinkKey {
                    name: f.name.unwrap_or_default(),
                    admin_up: f.admin_up,
                    oper_up: f.oper_up,
                    carrier: f.carrier,
                };
                if self.links.get(&f.ifindex) == Some(&key) {
                    return None;
                }
                self.links.insert(f.ifindex, key.clone());
                Some(NetEvent::Link {
                    ifindex: f.ifindex,
                    name: key.name,
                    admin_up: key.admin_up,
                    oper_up: key.oper_up,
                    carrier: key.carrier,
                })
            }
            RouteNetlinkMessage::DelLink(link) => {
                let f = link_facts(&link);
                self.links.remove(&f.ifindex);
                Some(NetEvent::LinkRemoved {
                    ifindex: f.ifindex,
                    name: f.name.unwrap_or_default(),
                })
            }
            RouteNetlinkMessage::NewAddress(a) => addr_facts(&a).map(|a| NetEvent::AddressAdded {
                ifindex: a.ifindex,
                addr: a.addr,
                prefix_len: a.prefix_len,
                tentative: a.tentative,
            }),
            RouteNetlinkMessage::DelAddress(a) => {
                addr_facts(&a).map(|a| NetEvent::AddressRemoved {
                    ifindex: a.ifindex,
                    addr: a.addr,
                    prefix_len: a.prefix_len,
                })
            }
            RouteNetlinkMessage::NewRoute(r) => route_facts(&r).map(|r| NetEvent::RouteAdded {
                prefix: r.prefix,
                table: r.table,
                usable: r.usable,
            }),
            RouteNetlinkMessage::DelRoute(r) => route_facts(&r).map(|r| NetEvent::RouteRemoved {
                prefix: r.prefix,
                table: r.table,
            }),
            _ => None,
        }
    }
}

impl Stream for NetWatcher {
    type Item = NetEvent;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<NetEvent>> {
        loop {
            let Some((msg, _from)) = ready!(self.messages.poll_next_unpin(cx)) else {
                return Poll::Ready(None);
            };
            if let Some(event) = self.event(msg) {
                return Poll::Ready(Some(event));
            }
        }
    }
}
