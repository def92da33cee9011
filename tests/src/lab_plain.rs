//! The plain lab and real-socket traffic through it.
//!
//! The plain lab is what a user has: host — switch — r1 (hsrpd Active) — server, veths
//! with their default offloads (a veth sender leaves UDP/TCP checksums to offload), no XDP
//! program on any switch-side veth end, no neighbour resolved in advance, and the host's
//! ARP entries going stale after a fraction of a second (so the host re-asks the vMAC by
//! unicast and the data plane's own ARP answers carry the traffic, not only the
//! daemon's gratuitous ARPs).
//!
//! Traffic goes through ordinary UDP and TCP sockets created inside the namespaces (a
//! socket keeps the namespace it was created in): a datagram or a byte counts only when
//! the receiving socket got it, so a frame with a wrong checksum counts as lost even
//! though a capture would show it.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::lab::{router_config, Lab, LabOptions, SERVER_IP, VIP};
use crate::Netns;

/// The host's LAN interface.
pub const HOST_IF: &str = "hlan0";

/// Host neighbour timers: entries reachable for 150-450 ms (the kernel picks
/// base_reachable_time × [0.5, 1.5)), one second of DELAY, probes 100 ms apart. A stream of
/// a few seconds then re-confirms the VIP's entry by unicast ARP to the vMAC several times.
const HOST_NEIGH_SYSCTLS: &[(&str, &str)] = &[
    ("base_reachable_time_ms", "300"),
    ("delay_first_probe_time", "1"),
    ("retrans_time_ms", "100"),
];

/// The LAN and uplink IPv6 prefixes, the addresses in them.
pub const HOST6: &str = "2001:db8::100";
pub const R1_LAN6: &str = "2001:db8::2";
pub const SERVER6: &str = "2001:db8:1::100";
/// The virtual link-local of IPv6 group 2 (vMAC 0005.73a0.0002).
pub const VLL2: &str = "fe80::5:73ff:fea0:2";

/// host, one router, server, dual stack; no XDP on the switch ports; nothing resolved in
/// advance. IPv6: LAN 2001:db8::/64, uplink 2001:db8:1::/64, static addresses.
pub fn plain_lab() -> Result<Lab> {
    let lab = Lab::new(LabOptions {
        routers: 1,
        host: true,
        server: true,
        xdp_on_switch: false,
    })?;
    let host = lab.host.as_ref().context("the plain lab has a host")?;
    for (name, value) in HOST_NEIGH_SYSCTLS {
        host.exec(&format!(
            "sysctl -qw net.ipv4.neigh.{HOST_IF}.{name}={value}"
        ))?;
    }
    host.exec(&format!(
        "sysctl -qw net.ipv6.conf.{HOST_IF}.accept_ra=0 && \
         ip -6 addr add {HOST6}/64 dev {HOST_IF} nodad"
    ))?;
    let server = lab.server.as_ref().context("the plain lab has a server")?;
    server.exec(&format!(
        "ip -6 addr add {SERVER6}/64 dev up0 nodad && \
         ip -6 route add 2001:db8::/64 via 2001:db8:1::2"
    ))?;
    let r1 = &lab.router(1).ns;
    r1.exec(&format!(
        "sysctl -qw net.ipv6.conf.all.forwarding=1 && \
         ip -6 addr add {R1_LAN6}/64 dev lan0 nodad && \
         ip -6 addr add 2001:db8:1::2/64 dev up0 nodad"
    ))?;
    // hsrpd speaks IPv6 HSRP from the link-local: wait for its DAD to finish.
    crate::lab::wait_for(Duration::from_secs(5), || {
        r1.exec("ip -6 addr show dev lan0 scope link")
            .is_ok_and(|o| o.contains("fe80") && !o.contains("tentative"))
    })
    .context("r1's link-local still tentative after 5 s")?;
    Ok(lab)
}

/// The plain lab with r1's hsrpd Active for [`VIP`] (HSRPv2 group 1) and for IPv6 group
/// 2 ([`VLL2`]), 50/150 ms; the host's IPv6 default route via [`VLL2`].
pub fn plain_lab_active() -> Result<Lab> {
    plain_lab_active_with("")
}

/// [`plain_lab_active`] with global configuration lines `global` first.
pub fn plain_lab_active_with(global: &str) -> Result<Lab> {
    let mut lab = plain_lab()?;
    let config = format!(
        "{global}\n{}\n standby 2 ipv6 autoconfig\n standby 2 priority 150\n \
         standby 2 timers msec 50 msec 150\n",
        router_config(2, &[(1, VIP, 150, true)], "timers msec 50 msec 150").trim_end()
    );
    lab.start_hsrpd(1, &config)?;
    let active = crate::lab::wait_for(Duration::from_secs(3), || {
        lab.status(1).is_ok_and(|s| {
            s.groups.len() == 2
                && s.groups
                    .iter()
                    .all(|g| g.state == hsrp_user::proto::State::Active)
        })
    });
    if active.is_none() {
        bail!("r1 did not become Active:\n{}", lab.log(1));
    }
    let host = lab.host.as_ref().context("host")?;
    host.exec(&format!("ip -6 route add default via {VLL2} dev {HOST_IF}"))?;
    Ok(lab)
}

/// The host's default routes: through the VIPs (`true`, the XDP data plane) or through
/// r1's own addresses (`false`, plain kernel forwarding on the same router).
pub fn host_gateway(lab: &Lab, via_vip: bool) -> Result<()> {
    let host = lab.host.as_ref().context("host")?;
    let (v4, v6) = if via_vip {
        (VIP.to_string(), VLL2.to_string())
    } else {
        (lab.router(1).lan_ip.to_string(), R1_LAN6.to_string())
    };
    host.exec(&format!(
        "ip route replace default via {v4} && \
         ip -6 route replace default via {v6} dev {HOST_IF}"
    ))?;
    Ok(())
}

/// Runs `f` in a thread inside `ns` (sockets it creates stay in `ns`).
pub fn in_netns<T: Send>(ns: &Netns, f: impl FnOnce() -> Result<T> + Send) -> Result<T> {
    hsrp_testkit::netns::in_netns(&ns.name, f)?
}

/// What a UDP receiver got.
#[derive(Debug, Default)]
pub struct UdpResult {
    pub sent: u64,
    pub received: u64,
    /// Source addresses the receiver saw (after any NAT).
    pub sources: Vec<IpAddr>,
}

/// Sends `count` datagrams of 200 bytes (numbered payload), one every `interval`, from a
/// socket in `from` to `to`, received by a socket bound in `at`; returns once the receiver
/// has been idle for 500 ms after the sender finished. The receiver checks each payload.
pub fn udp_stream(
    from: &Netns,
    at: &Netns,
    to: SocketAddr,
    count: u64,
    interval: Duration,
) -> Result<UdpResult> {
    let bind: SocketAddr = if to.is_ipv4() {
        ([0, 0, 0, 0], to.port()).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, to.port()).into()
    };
    let rx = in_netns(at, move || {
        UdpSocket::bind(bind).with_context(|| format!("binding UDP {bind}"))
    })?;
    set_rcvbuf(&rx, 4 << 20);
    let tx = in_netns(from, move || {
        UdpSocket::bind(if to.is_ipv4() { "0.0.0.0:0" } else { "[::]:0" }).context("UDP sender")
    })?;
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sender_done = done.clone();
    let receiver = std::thread::spawn(move || -> Result<(u64, Vec<IpAddr>)> {
        let mut got = 0;
        let mut sources = Vec::new();
        let mut buf = [0u8; 2048];
        // Bounded: 100 ms reads until the sender is done and 500 ms passed without a
        // datagram, or 60 s.
        rx.set_read_timeout(Some(Duration::from_millis(100)))?;
        let hard = Instant::now() + Duration::from_secs(60);
        let mut last = Instant::now();
        let idle = |last: Instant| {
            done.load(std::sync::atomic::Ordering::Relaxed)
                && last.elapsed() >= Duration::from_millis(500)
        };
        while Instant::now() < hard && !idle(last) {
            match rx.recv_from(&mut buf) {
                Ok((n, peer)) => {
                    last = Instant::now();
                    if n == 200 && buf[8..n].iter().all(|b| *b == buf[0]) {
                        got += 1;
                        if !sources.contains(&peer.ip()) {
                            sources.push(peer.ip());
                        }
                    }
                }
                Err(e) if is_timeout(&e) => {}
                Err(e) => return Err(e).context("UDP receive"),
            }
        }
        Ok((got, sources))
    });
    let start = Instant::now();
    for seq in 0..count {
        let due = start + interval * u32::try_from(seq).context("count too large")?;
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        let mut payload = [(seq % 251) as u8; 200];
        payload[..8].copy_from_slice(&seq.to_be_bytes());
        payload[0] = (seq % 251) as u8;
        // A send error (no route, ICMP error queued) is a lost datagram.
        let _ = tx.send_to(&payload, to);
    }
    sender_done.store(true, std::sync::atomic::Ordering::Relaxed);
    let (received, sources) = receiver
        .join()
        .map_err(|_| anyhow::anyhow!("receiver panicked"))??;
    Ok(UdpResult {
        sent: count,
        received,
        sources,
    })
}

/// What a TCP transfer achieved.
#[derive(Debug, PartialEq, Eq)]
pub enum TcpOutcome {
    /// Every byte arrived intact and the server's answer came back; `peer` is the
    /// client address the server saw.
    Delivered { peer: IpAddr },
    /// The connection was refused, timed out, or the data did not arrive whole.
    Failed(String),
}

/// Connects from `from` to `to` (a listener bound in `at` on `to`'s port), sends `bytes`
/// bytes of a pattern, and waits for the server's echo of the count and the client
/// address it saw. At most `limit` for the whole exchange.
pub fn tcp_transfer(
    from: &Netns,
    at: &Netns,
    to: SocketAddr,
    bytes: usize,
    limit: Duration,
) -> Result<TcpOutcome> {
    tcp_transfer_to(from, at, to, to, bytes, limit)
}

/// [`tcp_transfer`] with the listener on `listen`'s port while the client connects to
/// `to` (a DNAT on the way maps one to the other).
pub fn tcp_transfer_to(
    from: &Netns,
    at: &Netns,
    to: SocketAddr,
    listen: SocketAddr,
    bytes: usize,
    limit: Duration,
) -> Result<TcpOutcome> {
    let bind: SocketAddr = if listen.is_ipv4() {
        ([0, 0, 0, 0], listen.port()).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, listen.port()).into()
    };
    let listener = in_netns(at, move || {
        TcpListener::bind(bind).with_context(|| format!("listening on TCP {bind}"))
    })?;
    listener.set_nonblocking(true)?;
    let server = std::thread::spawn(move || -> Result<Option<IpAddr>> {
        let deadline = Instant::now() + limit;
        let (mut conn, peer) = loop {
            match listener.accept() {
                Ok(c) => break c,
                Err(e) if is_timeout(&e) => {
                    if Instant::now() > deadline {
                        return Ok(None);
                    }
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err(e) => return Err(e).context("accept"),
            }
        };
        conn.set_nonblocking(false)?;
        conn.set_read_timeout(Some(limit))?;
        let mut got = 0usize;
        let mut buf = vec![0u8; 65536];
        loop {
            let n = match conn.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(_) => return Ok(None),
            };
            for (i, b) in buf[..n].iter().enumerate() {
                if *b != pattern(got + i) {
                    return Ok(None);
                }
            }
            got += n;
        }
        conn.write_all(&(got as u64).to_be_bytes())?;
        Ok(Some(peer.ip()))
    });
    let client = in_netns(from, move || -> Result<std::result::Result<u64, String>> {
        let mut s = match TcpStream::connect_timeout(&to, limit) {
            Ok(s) => s,
            Err(e) => return Ok(Err(format!("connect: {e}"))),
        };
        s.set_write_timeout(Some(limit))?;
        s.set_read_timeout(Some(limit))?;
        let data: Vec<u8> = (0..bytes).map(pattern).collect();
        if let Err(e) = s.write_all(&data) {
            return Ok(Err(format!("send: {e}")));
        }
        s.shutdown(std::net::Shutdown::Write)?;
        let mut answer = [0u8; 8];
        match s.read_exact(&mut answer) {
            Ok(()) => Ok(Ok(u64::from_be_bytes(answer))),
            Err(e) => Ok(Err(format!("answer: {e}"))),
        }
    })?;
    let peer = server
        .join()
        .map_err(|_| anyhow::anyhow!("server panicked"))??;
    Ok(match (client, peer) {
        (Ok(n), Some(peer)) if n == bytes as u64 => TcpOutcome::Delivered { peer },
        (Ok(n), _) => TcpOutcome::Failed(format!("server counted {n} of {bytes} bytes")),
        (Err(e), _) => TcpOutcome::Failed(e),
    })
}

fn pattern(i: usize) -> u8 {
    (i % 253) as u8
}

fn is_timeout(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
    )
}

fn set_rcvbuf(sock: &UdpSocket, bytes: i32) {
    // SAFETY: setsockopt with a valid int option on our socket (a failure keeps the default).
    unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVBUF,
            (&bytes as *const i32).cast(),
            std::mem::size_of::<i32>() as u32,
        );
    }
}

/// How long after a ruleset change hsrpd must have switched modes: the requirement (1 s);
/// a notification-driven switch takes milliseconds, the periodic re-read bounds the rest.
pub const SWITCH_LIMIT: Duration = Duration::from_secs(1);

/// Runs `cmd` in r1's namespace and returns its output; panics with the command if it
/// fails.
pub fn r1_exec(lab: &Lab, cmd: &str) -> String {
    lab.router(1)
        .ns
        .exec(cmd)
        .unwrap_or_else(|e| panic!("{cmd}: {e:#}"))
}

/// r1's `hsrpd status` forwarding line (empty while unreadable).
pub fn forwarding(lab: &Lab) -> String {
    lab.status(1).map(|s| s.forwarding).unwrap_or_default()
}

/// Waits until r1's forwarding line starts with `prefix`, at most [`SWITCH_LIMIT`];
/// returns how long it took, panics with the line and the log otherwise.
pub fn wait_mode(lab: &Lab, prefix: &str) -> Duration {
    crate::lab::wait_for(SWITCH_LIMIT, || forwarding(lab).starts_with(prefix)).unwrap_or_else(
        || {
            panic!(
                "not `{prefix}` within {SWITCH_LIMIT:?}: {}\n{}",
                forwarding(lab),
                lab.log(1)
            )
        },
    )
}

/// The server's address and `port`.
pub fn server(port: u16) -> SocketAddr {
    SocketAddr::new(IpAddr::V4(SERVER_IP), port)
}

/// The server's IPv6 address and `port`.
pub fn server6(port: u16) -> SocketAddr {
    SocketAddr::new(IpAddr::V6(SERVER6.parse().expect("a valid address")), port)
}

/// The host, as the server reaches it.
pub const HOST: Ipv4Addr = crate::lab::HOST_IP;
