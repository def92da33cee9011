//! Shared by the `net_*` tests: running async code inside a network namespace, and building
//! test frames by hand (deliberately independent of `hsrp_user::wire`).

#![allow(dead_code)] // each test file uses a different part

use std::fs::File;
use std::future::Future;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::os::fd::AsRawFd;
use std::time::Duration;

use hsrp_tests::Netns;

/// Runs `body` on a fresh thread that has entered `ns`'s network namespace, on a tokio
/// runtime of its own. Sockets belong to the namespace of the thread that creates them, so
/// everything `body` opens lives in `ns`. A panic in `body` is re-raised here.
pub fn run_in<F, Fut>(ns: &Netns, body: F) -> Fut::Output
where
    F: FnOnce() -> Fut + Send,
    Fut: Future,
    Fut::Output: Send,
{
    std::thread::scope(|s| {
        let worker = s.spawn(|| {
            let path = format!("/run/netns/{}", ns.name);
            let file = File::open(&path).unwrap_or_else(|e| panic!("open {path}: {e}"));
            // SAFETY: `file` is an open network namespace file; setns only affects this
            // thread, which exits when `body` returns.
            let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
            assert_eq!(rc, 0, "setns {path}: {}", std::io::Error::last_os_error());
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("tokio runtime")
                .block_on(body())
        });
        worker
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

/// Waits (at most 3 s) until `dev` in `ns` reports operstate "up".
pub fn wait_operational(ns: &Netns, dev: &str) {
    let cmd = format!("cat /sys/class/net/{dev}/operstate");
    for _ in 0..150 {
        if ns.exec(&cmd).unwrap().trim() == "up" {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("{dev} not operational after 3 s");
}

/// `future`'s output, or `None` if it takes longer than `limit`.
pub async fn within<T>(limit: Duration, future: impl Future<Output = T>) -> Option<T> {
    tokio::time::timeout(limit, future).await.ok()
}

pub const VMAC: [u8; 6] = [0x00, 0x00, 0x0c, 0x07, 0xac, 0x01];
pub const MCAST_V1: [u8; 6] = [0x01, 0x00, 0x5e, 0x00, 0x00, 0x02];
pub const MCAST_V6: [u8; 6] = [0x33, 0x33, 0x00, 0x00, 0x00, 0x66];

/// The 16's-complement sum used by IPv4, UDP and ICMPv6 checksums.
fn checksum(chunks: &[&[u8]]) -> u16 {
    let mut sum = 0u32;
    for chunk in chunks {
        for pair in chunk.chunks(2) {
            let word = u16::from_be_bytes([pair[0], *pair.get(1).unwrap_or(&0)]);
            sum += u32::from(word);
        }
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

fn ethernet(dst: [u8; 6], src: [u8; 6], ethertype: u16) -> Vec<u8> {
    let mut f = Vec::with_capacity(128);
    f.extend_from_slice(&dst);
    f.extend_from_slice(&src);
    f.extend_from_slice(&ethertype.to_be_bytes());
    f
}

fn udp_header(sport: u16, dport: u16, payload: &[u8]) -> [u8; 8] {
    let mut udp = [0u8; 8];
    udp[0..2].copy_from_slice(&sport.to_be_bytes());
    udp[2..4].copy_from_slice(&dport.to_be_bytes());
    udp[4..6].copy_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    udp
}

/// Ethernet / IPv4 (TTL 1) / UDP frame with correct checksums.
pub fn udp4_frame(
    src_mac: [u8; 6],
    dst_mac: [u8; 6],
    src: Ipv4Addr,
    dst: Ipv4Addr,
    dport: u16,
    payload: &[u8],
) -> Vec<u8> {
    let mut f = ethernet(dst_mac, src_mac, 0x0800);
    let mut ip = [0u8; 20];
    ip[0] = 0x45;
    ip[2..4].copy_from_slice(&((20 + 8 + payload.len()) as u16).to_be_bytes());
    ip[8] = 1;
    ip[9] = 17;
    ip[12..16].copy_from_slice(&src.octets());
    ip[16..20].copy_from_slice(&dst.octets());
    let sum = checksum(&[&ip]);
    ip[10..12].copy_from_slice(&sum.to_be_bytes());
    let mut udp = udp_header(dport, dport, payload);
    let len = (8 + payload.len()) as u16;
    let pseudo = [
        &src.octets()[..],
        &dst.octets(),
        &[0, 17],
        &len.to_be_bytes(),
    ]
    .concat();
    let sum = checksum(&[&pseudo, &udp, payload]);
    udp[6..8].copy_from_slice(&sum.to_be_bytes());
    f.extend_from_slice(&ip);
    f.extend_from_slice(&udp);
    f.extend_from_slice(payload);
    f
}

/// Ethernet / IPv6 (hop limit 255) / UDP frame with a correct UDP checksum.
pub fn udp6_frame(
    src_mac: [u8; 6],
    dst_mac: [u8; 6],
    src: Ipv6Addr,
    dst: Ipv6Addr,
    dport: u16,
    payload: &[u8],
) -> Vec<u8> {
    let mut f = ethernet(dst_mac, src_mac, 0x86dd);
    let len = (8 + payload.len()) as u16;
    let mut ip = [0u8; 40];
    ip[0] = 0x60;
    ip[4..6].copy_from_slice(&len.to_be_bytes());
    ip[6] = 17;
    ip[7] = 255;
    ip[8..24].copy_from_slice(&src.octets());
    ip[24..40].copy_from_slice(&dst.octets());
    let mut udp = udp_header(dport, dport, payload);
    let pseudo = [
        &src.octets()[..],
        &dst.octets(),
        &u32::from(len).to_be_bytes(),
        &[0, 0, 0, 17],
    ]
    .concat();
    let sum = checksum(&[&pseudo, &udp, payload]);
    udp[6..8].copy_from_slice(&sum.to_be_bytes());
    f.extend_from_slice(&ip);
    f.extend_from_slice(&udp);
    f.extend_from_slice(payload);
    f
}

/// A broadcast ARP request "who has `target`, tell `sender`".
pub fn arp_request(src_mac: [u8; 6], sender: Ipv4Addr, target: Ipv4Addr) -> Vec<u8> {
    let mut f = ethernet([0xff; 6], src_mac, 0x0806);
    f.extend_from_slice(&[0, 1, 8, 0, 6, 4, 0, 1]);
    f.extend_from_slice(&src_mac);
    f.extend_from_slice(&sender.octets());
    f.extend_from_slice(&[0; 6]);
    f.extend_from_slice(&target.octets());
    f
}

/// A 20-byte HSRPv1 Hello payload (group 1, priority 100, VIP 192.0.2.254, auth "cisco"):
/// looks like HSRP to a capture tool, though nothing here parses it.
pub fn hsrp_v1_hello() -> Vec<u8> {
    let mut p = vec![0, 0, 16, 3, 10, 100, 1, 0];
    p.extend_from_slice(b"cisco\0\0\0");
    p.extend_from_slice(&[192, 0, 2, 254]);
    p
}
