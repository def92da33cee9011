//! The daemon's I/O with the kernel, outside the data plane: every socket, netlink
//! conversation and interface query is here, each a thin wrapper around one kernel
//! facility with no protocol logic; the rest of the crate asks these.
//!
//! - [`PacketSocket`]: an AF_PACKET raw socket on one interface that sends fully built
//!   Ethernet frames and receives only HSRP control frames and Router Solicitations (a
//!   classic BPF filter in the kernel), plus the interface's multicast and unicast
//!   (virtual MAC) filter entries; [`RecvRing`]: its reusable buffers for receiving a
//!   burst of frames with one system call. [`SendOnlyPacketSocket`]: its send-only, blocking
//!   variant for the sentinel.
//! - [`BfdListener`], [`BfdSender`]: the UDP sockets of single-hop BFD (RFC 5881).
//! - [`Netlink`]: queries — [`InterfaceInfo`] of an interface, [`Netlink::route_exists`],
//!   [`Netlink::attached_xdp_program`]; clones share one connection.
//! - [`NetWatcher`]: a stream of [`NetEvent`]s (link, address and route changes) for tracking.
//! - [`RoutingWatch`]: what can change a fib lookup's answer, as plain facts, for the
//!   next-hop cache.
//! - [`interfaces`], [`ifindex`], [`SystemView`]: interface enumeration and addresses.
//! - [`disable_icmp_redirects`]: the RFC 2281 §6 sysctl.
//! - `local_route`: the local routes of `standby G accept` groups' virtual addresses.
//! - [`Notifier`]: the service manager's notification socket (`NOTIFY_SOCKET`).
//!
//! Network namespaces: every socket here belongs to the namespace of the thread that
//! created it, so a caller (or a test) that `setns`es a thread gets sockets in that namespace.

mod bfd;
pub mod ctnetlink;
mod driver;
mod error;
pub mod icmp;
mod interfaces;
mod links;
pub mod local_route;
mod msg;
pub mod nfhooks;
pub mod nftrules;
mod notify;
mod packet;
mod packet_filter;
mod packet_recv;
mod packet_send;
mod prefix;
mod rcvbuf;
mod routing;
mod rtnl;
mod sysctl;
mod watch;

pub use bfd::{
    BfdDatagram, BfdListener, BfdSender, BfdWatch, BFD_TTL, RECV_BATCH as BFD_RECV_BATCH,
};
pub use driver::driver_name;
pub use error::NetError;
pub use interfaces::{ifindex, interfaces, LinkName, SystemView};
pub use links::{IfAddr, InterfaceInfo, Netlink};
pub use notify::{watchdog_timeout, Notifier};
pub use packet::{PacketSocket, HSRP_MULTICAST_MACS, SEND_BATCH};
pub use packet_recv::{RecvRing, RxFrame, RECV_BATCH, RECV_FRAME};
pub use packet_send::SendOnlyPacketSocket;
pub use prefix::IpPrefix;
pub use routing::{RouteShape, RoutingChange, RoutingEntry, RoutingWatch, RuleShape};
pub use sysctl::{
    disable_icmp_redirects, icmp_redirects_enabled, ipv4_forwarding, ipv4_forwarding_on,
    ipv6_forwarding, rp_filter,
};
pub use watch::{NetEvent, NetWatcher};

/// `Result` with [`NetError`].
pub type Result<T, E = NetError> = std::result::Result<T, E>;

/// UDP port of HSRP over IPv4 (v1 and v2).
pub const HSRP_PORT_V4: u16 = hsrp_ebpf::proto::PORT_V4;
/// UDP port of HSRPv2 over IPv6.
pub const HSRP_PORT_V6: u16 = hsrp_ebpf::proto::PORT_V6;
