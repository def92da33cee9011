//! A rogue host on the lab's LAN: its own namespace plugged into the LAN bridge, and a raw
//! AF_PACKET socket in it that sends whatever Ethernet frames a test crafts — forged HSRP
//! messages built with the project's own codec (`wire::encode_group` + `wire::hsrp_frame`),
//! spoofed sources, junk — one at a time, paced, or as a flood.
//!
//! The socket is made inside the namespace by a short-lived thread that joins it with
//! setns(2); a socket keeps the namespace it was created in, so the test thread then sends
//! on it directly, without a helper process.

use std::net::{IpAddr, Ipv4Addr};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use hsrp_user::proto::{Auth, GroupMessage, MacAddr};
use hsrp_user::wire;

use crate::lab::{veth_between, Lab, LAN_BRIDGE, LAN_PREFIX};
use crate::Netns;

/// The rogue's interface inside its namespace, and its port on the LAN bridge.
pub const ROGUE_IF: &str = "rlan0";
pub const ROGUE_PORT: &str = "prg";
/// The rogue's LAN address (a free one in the lab's 10.0.0.0/24).
pub const ROGUE_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 66);

/// The rogue host. Dropping it closes the socket, then deletes the namespace (and with it
/// the veth and its bridge port).
pub struct Rogue {
    sock: OwnedFd,
    pub mac: MacAddr,
    pub ip: Ipv4Addr,
    // Last: dropped after the socket.
    pub ns: Netns,
}

/// What a flood sent.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Flood {
    pub sent: u64,
    /// Sends the kernel refused (ENOBUFS and the like).
    pub failed: u64,
    pub elapsed: Duration,
}

impl Flood {
    pub fn pps(&self) -> f64 {
        self.sent as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

impl Rogue {
    /// Plugs a new namespace into the lab's LAN bridge with [`ROGUE_IP`] and opens the raw
    /// socket in it.
    pub fn join(lab: &Lab) -> Result<Rogue> {
        let ns = Netns::new("rogue")?;
        veth_between(&ns, ROGUE_IF, &lab.lan, ROGUE_PORT)?;
        lab.lan
            .exec(&format!("ip link set {ROGUE_PORT} master {LAN_BRIDGE}"))?;
        ns.exec(&format!(
            "ip addr add {ROGUE_IP}/{LAN_PREFIX} dev {ROGUE_IF}"
        ))?;
        let mac_text = ns.exec(&format!("cat /sys/class/net/{ROGUE_IF}/address"))?;
        let mac = hsrp_testkit::frames::parse_mac(&mac_text)
            .map(MacAddr)
            .with_context(|| format!("not a MAC address: {mac_text:?}"))?;
        let sock = open_in_netns(&ns.name, ROGUE_IF)?;
        Ok(Rogue {
            sock,
            mac,
            ip: ROGUE_IP,
            ns,
        })
    }

    /// A complete HSRP frame for `msg` signed with `auth`, from `src_mac`/`src_ip` (either
    /// may be spoofed). The MD5 TLV carries `src_ip` as the sender, as a real router's would.
    pub fn hsrp_frame(
        &self,
        msg: &GroupMessage,
        auth: &Auth,
        src_mac: MacAddr,
        src_ip: IpAddr,
    ) -> Result<Vec<u8>> {
        let mut payload = [0u8; wire::MAX_PAYLOAD_LEN];
        let n = wire::encode_group(msg, auth, src_ip, &mut payload)
            .with_context(|| format!("encoding {msg:?}"))?;
        frame_for_payload(src_mac, src_ip, &payload[..n])
    }

    /// Sends one frame as is.
    pub fn send(&self, frame: &[u8]) -> Result<()> {
        // SAFETY: `frame` is a readable buffer of `frame.len()` bytes; the fd is ours.
        let n = unsafe { libc::send(self.sock.as_raw_fd(), frame.as_ptr().cast(), frame.len(), 0) };
        if n < 0 {
            return Err(std::io::Error::last_os_error()).context("rogue send");
        }
        if n as usize != frame.len() {
            bail!("rogue send: short send {n} of {}", frame.len());
        }
        Ok(())
    }

    /// Sends each frame of `frames` in turn, `rounds` times, one every `interval`.
    pub fn send_paced(&self, frames: &[Vec<u8>], rounds: u32, interval: Duration) -> Result<u64> {
        let mut sent = 0;
        let start = Instant::now();
        for r in 0..rounds {
            for f in frames {
                self.send(f)?;
                sent += 1;
            }
            // Sleep to the next slot, not `interval` after this one, so the rate holds.
            let next = start + interval * (r + 1);
            if let Some(wait) = next.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
        }
        Ok(sent)
    }

    /// Sends `frames` round-robin as fast as the socket takes them for `duration`
    /// (bounded), counting refused sends instead of failing on them.
    pub fn flood(&self, frames: &[Vec<u8>], duration: Duration) -> Result<Flood> {
        if frames.is_empty() {
            bail!("a flood needs at least one frame");
        }
        let start = Instant::now();
        let (mut sent, mut failed) = (0u64, 0u64);
        let fd = self.sock.as_raw_fd();
        'outer: loop {
            for f in frames {
                // SAFETY: as in `send`.
                let n = unsafe { libc::send(fd, f.as_ptr().cast(), f.len(), 0) };
                if n < 0 {
                    failed += 1;
                } else {
                    sent += 1;
                }
            }
            // Checking the clock every round keeps the loop cheap and bounded.
            if start.elapsed() >= duration {
                break 'outer;
            }
        }
        Ok(Flood {
            sent,
            failed,
            elapsed: start.elapsed(),
        })
    }
}

/// Wraps an HSRP payload (v1 or v2 by its first byte) in Ethernet/IP/UDP headers.
pub fn frame_for_payload(src_mac: MacAddr, src_ip: IpAddr, payload: &[u8]) -> Result<Vec<u8>> {
    let mut buf = vec![0u8; 14 + 40 + 8 + payload.len()];
    let n = wire::hsrp_frame(src_mac, src_ip, payload, &mut buf).context("framing")?;
    buf.truncate(n);
    Ok(buf)
}

/// An AF_PACKET raw socket bound to `iface` inside network namespace `netns`.
fn open_in_netns(netns: &str, iface: &str) -> Result<OwnedFd> {
    hsrp_testkit::netns::in_netns(netns, || open_bound(iface))?
}

/// A send-only AF_PACKET raw socket bound to `iface` of the current thread's namespace.
fn open_bound(iface: &str) -> Result<OwnedFd> {
    let name = std::ffi::CString::new(iface)?;
    // SAFETY: NUL-terminated name.
    let ifindex = unsafe { libc::if_nametoindex(name.as_ptr()) };
    if ifindex == 0 {
        bail!("no interface {iface}");
    }
    // Protocol 0: send-only, receives nothing.
    // SAFETY: plain socket(2); the result is checked.
    let fd = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error()).context("socket(AF_PACKET)");
    }
    // SAFETY: fd is a fresh socket we own.
    let sock = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: zeroed sockaddr_ll is valid; the fields set below make it a bind address.
    let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    sll.sll_family = libc::AF_PACKET as u16;
    sll.sll_ifindex = ifindex as i32;
    // SAFETY: sll is a valid sockaddr_ll of the given size.
    let rc = unsafe {
        libc::bind(
            sock.as_raw_fd(),
            (&sll as *const libc::sockaddr_ll).cast(),
            std::mem::size_of::<libc::sockaddr_ll>() as u32,
        )
    };
    if rc != 0 {
        return Err(std::io::Error::last_os_error()).context("bind to the rogue interface");
    }
    Ok(sock)
}
