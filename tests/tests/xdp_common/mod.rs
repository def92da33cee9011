//! Shared by the XDP tests: loading the built object, running code inside a namespace,
//! crafting frames, and checksums computed from scratch (so the program's incremental
//! updates are checked against an independent implementation).
#![allow(dead_code)]

use std::net::{Ipv4Addr, Ipv6Addr};
use std::os::fd::AsRawFd;
use std::path::PathBuf;

use aya::programs::{TestRun, TestRunOptions, Xdp};
use aya::Ebpf;
use hsrp_tests::Netns;

/// The object built by `cargo xtask build`; panics with the command if it is missing.
pub fn object_path() -> PathBuf {
    let p = hsrp_tests::workspace_root().join("target/bpf/bpfel-unknown-none/release/hsrp");
    assert!(
        p.is_file(),
        "{} is missing: build it with `cargo xtask build`",
        p.display()
    );
    p
}

/// Loads the object and the `hsrp` program into the kernel (verifier included).
pub fn load() -> Ebpf {
    let mut ebpf = Ebpf::load_file(object_path()).expect("loading the hsrp object");
    let prog: &mut Xdp = ebpf
        .program_mut("hsrp")
        .expect("program hsrp")
        .try_into()
        .expect("hsrp is XDP");
    prog.load().expect("the verifier accepts hsrp");
    ebpf
}

pub fn program(ebpf: &Ebpf) -> &Xdp {
    ebpf.program("hsrp").unwrap().try_into().unwrap()
}

/// Runs `f` on a thread that has entered `ns`'s network namespace (interface names and
/// indexes, the FIB, devmap targets and BPF_PROG_TEST_RUN ingress devices resolve there).
/// A panic in `f` is re-raised here.
pub fn in_netns<T: Send>(ns: &Netns, f: impl FnOnce() -> T + Send) -> T {
    let path = format!("/run/netns/{}", ns.name);
    std::thread::scope(|s| {
        let h = s.spawn(move || {
            let file = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
            // SAFETY: a valid namespace fd; affects only this thread.
            let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
            assert_eq!(rc, 0, "setns {path}: {}", std::io::Error::last_os_error());
            f()
        });
        match h.join() {
            Ok(v) => v,
            Err(p) => std::panic::resume_unwind(p),
        }
    })
}

pub fn ifindex(name: &str) -> u32 {
    hsrp_user::dataplane::loader::ifindex(name).unwrap()
}

/// The MAC of an interface in the current thread's namespace (SIOCGIFHWADDR on a socket
/// made here: /sys/class/net would show the mount namespace's view instead).
pub fn if_mac(name: &str) -> [u8; 6] {
    // SAFETY: plain socket/ioctl calls on zeroed, correctly sized structs.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_DGRAM, 0);
        assert!(fd >= 0, "socket: {}", std::io::Error::last_os_error());
        let mut req: libc::ifreq = std::mem::zeroed();
        for (d, s) in req.ifr_name.iter_mut().zip(name.bytes()) {
            *d = s as libc::c_char;
        }
        let rc = libc::ioctl(fd, libc::SIOCGIFHWADDR, &mut req);
        let err = std::io::Error::last_os_error();
        libc::close(fd);
        assert_eq!(rc, 0, "MAC of {name}: {err}");
        let sa = req.ifr_ifru.ifru_hwaddr.sa_data;
        [sa[0], sa[1], sa[2], sa[3], sa[4], sa[5]].map(|b| b as u8)
    }
}

pub fn parse_mac(s: &str) -> [u8; 6] {
    let v: Vec<u8> = s
        .split(':')
        .map(|b| u8::from_str_radix(b, 16).unwrap())
        .collect();
    v.try_into().unwrap()
}

/// One BPF_PROG_TEST_RUN of `frame` as if received on `ifindex`: (verdict, output frame).
pub fn run(prog: &Xdp, ifindex: u32, frame: &[u8]) -> (u32, Vec<u8>) {
    // struct xdp_md: data, data_end, data_meta, ingress_ifindex, rx_queue_index,
    // egress_ifindex.
    let md: [u32; 6] = [0, frame.len() as u32, 0, ifindex, 0, 0];
    let ctx: Vec<u8> = md.iter().flat_map(|w| w.to_ne_bytes()).collect();
    let mut out = vec![0u8; frame.len() + 256];
    let r = prog
        .test_run(TestRunOptions {
            data_in: Some(frame),
            data_out: Some(&mut out),
            ctx_in: Some(&ctx),
            ..TestRunOptions::new()
        })
        .expect("BPF_PROG_TEST_RUN");
    out.truncate(r.data_size_out as usize);
    (r.return_value, out)
}

pub const XDP_ABORTED: u32 = 0;
pub const XDP_DROP: u32 = 1;
pub const XDP_PASS: u32 = 2;
pub const XDP_TX: u32 = 3;
pub const XDP_REDIRECT: u32 = 4;

// ---- checksums, from scratch ---------------------------------------------------------

pub fn sum16(data: &[u8]) -> u32 {
    data.chunks(2)
        .map(|c| u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]) as u32)
        .sum()
}

pub fn fold(mut s: u32) -> u16 {
    while s > 0xffff {
        s = (s & 0xffff) + (s >> 16);
    }
    s as u16
}

/// Internet checksum of `data` (with the checksum field zeroed by the caller, or verify:
/// a correct buffer sums to 0xffff).
pub fn csum(data: &[u8]) -> u16 {
    !fold(sum16(data))
}

/// True when the IPv4 header at `ip` has a correct checksum.
pub fn ipv4_csum_ok(ip: &[u8]) -> bool {
    fold(sum16(&ip[..20])) == 0xffff
}

/// ICMPv6 / UDPv6 checksum over the IPv6 pseudo-header: true when correct.
pub fn l4v6_csum_ok(ipv6: &[u8]) -> bool {
    let len = u16::from_be_bytes([ipv6[4], ipv6[5]]) as usize;
    let mut s = sum16(&ipv6[8..40]);
    s += len as u32 + ipv6[6] as u32;
    s += sum16(&ipv6[40..40 + len]);
    fold(s) == 0xffff
}

// ---- frames ----------------------------------------------------------------------------

pub fn eth(dst: [u8; 6], src: [u8; 6], ethertype: u16) -> Vec<u8> {
    let mut f = Vec::new();
    f.extend_from_slice(&dst);
    f.extend_from_slice(&src);
    f.extend_from_slice(&ethertype.to_be_bytes());
    f
}

/// Ethernet + IPv4 (no options, correct checksum) + `l4`.
pub fn ipv4(
    dst_mac: [u8; 6],
    src_mac: [u8; 6],
    src: Ipv4Addr,
    dst: Ipv4Addr,
    ttl: u8,
    proto: u8,
    l4: &[u8],
) -> Vec<u8> {
    let mut f = eth(dst_mac, src_mac, 0x0800);
    let total = (20 + l4.len()) as u16;
    let mut ip = vec![0x45, 0];
    ip.extend_from_slice(&total.to_be_bytes());
    ip.extend_from_slice(&[0x12, 0x34, 0x40, 0, ttl, proto, 0, 0]);
    ip.extend_from_slice(&src.octets());
    ip.extend_from_slice(&dst.octets());
    let c = csum(&ip);
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    f.extend_from_slice(&ip);
    f.extend_from_slice(l4);
    f
}

/// Ethernet + IPv6 + `l4` (whose checksum, for ICMPv6/UDP, the caller has left zero: it
/// is filled in here).
pub fn ipv6(
    dst_mac: [u8; 6],
    src_mac: [u8; 6],
    src: Ipv6Addr,
    dst: Ipv6Addr,
    hop: u8,
    next: u8,
    l4: &[u8],
) -> Vec<u8> {
    let mut f = eth(dst_mac, src_mac, 0x86dd);
    let mut ip = vec![0x60, 0, 0, 0];
    ip.extend_from_slice(&(l4.len() as u16).to_be_bytes());
    ip.extend_from_slice(&[next, hop]);
    ip.extend_from_slice(&src.octets());
    ip.extend_from_slice(&dst.octets());
    ip.extend_from_slice(l4);
    let at = match next {
        58 => Some(2),
        17 => Some(6),
        _ => None,
    };
    if let Some(at) = at {
        let mut s = sum16(&ip[8..40]) + l4.len() as u32 + next as u32;
        s += sum16(&ip[40..]);
        let c = !fold(s);
        ip[40 + at..40 + at + 2].copy_from_slice(&c.to_be_bytes());
    }
    f.extend_from_slice(&ip);
    f
}

/// ICMP (v4) echo request with a correct checksum.
pub fn icmp4_echo(id: u16, seq: u16, payload: &[u8]) -> Vec<u8> {
    let mut m = vec![8, 0, 0, 0];
    m.extend_from_slice(&id.to_be_bytes());
    m.extend_from_slice(&seq.to_be_bytes());
    m.extend_from_slice(payload);
    let c = csum(&m);
    m[2..4].copy_from_slice(&c.to_be_bytes());
    m
}

pub fn udp(sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut u = Vec::new();
    u.extend_from_slice(&sport.to_be_bytes());
    u.extend_from_slice(&dport.to_be_bytes());
    u.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    u.extend_from_slice(&[0, 0]);
    u.extend_from_slice(payload);
    u
}

/// ARP request (broadcast) from `sha`/`spa` for `tpa`.
pub fn arp_request(sha: [u8; 6], spa: Ipv4Addr, tpa: Ipv4Addr) -> Vec<u8> {
    let mut f = eth([0xff; 6], sha, 0x0806);
    f.extend_from_slice(&[0, 1, 8, 0, 6, 4, 0, 1]);
    f.extend_from_slice(&sha);
    f.extend_from_slice(&spa.octets());
    f.extend_from_slice(&[0; 6]);
    f.extend_from_slice(&tpa.octets());
    f
}

/// Solicited-node multicast address and MAC of `target`.
pub fn solicited_node(target: Ipv6Addr) -> (Ipv6Addr, [u8; 6]) {
    let t = target.octets();
    let a = Ipv6Addr::new(
        0xff02,
        0,
        0,
        0,
        0,
        1,
        0xff00 | t[13] as u16,
        u16::from_be_bytes([t[14], t[15]]),
    );
    (a, [0x33, 0x33, 0xff, t[13], t[14], t[15]])
}

/// Neighbour Solicitation for `target` from `src` (with a source link-layer address
/// option unless `src` is unspecified, as RFC 4861 wants).
pub fn ns(src_mac: [u8; 6], src: Ipv6Addr, target: Ipv6Addr) -> Vec<u8> {
    let (group, group_mac) = solicited_node(target);
    let mut m = vec![135, 0, 0, 0, 0, 0, 0, 0];
    m.extend_from_slice(&target.octets());
    if !src.is_unspecified() {
        m.extend_from_slice(&[1, 1]);
        m.extend_from_slice(&src_mac);
    }
    ipv6(group_mac, src_mac, src, group, 255, 58, &m)
}

pub fn icmp6_echo(id: u16, seq: u16, payload: &[u8]) -> Vec<u8> {
    let mut m = vec![128, 0, 0, 0];
    m.extend_from_slice(&id.to_be_bytes());
    m.extend_from_slice(&seq.to_be_bytes());
    m.extend_from_slice(payload);
    m
}

/// A real v1 hello (docs/protocol.md §2): group 1, Active, VIP 192.168.0.1.
pub const V1_HELLO: [u8; 20] = [
    0x00, 0x00, 0x10, 0x03, 0x0a, 0x64, 0x01, 0x00, 0x63, 0x69, 0x73, 0x63, 0x6f, 0x00, 0x00, 0x00,
    0xc0, 0xa8, 0x00, 0x01,
];

/// A v2 hello: Group State TLV (type 1, length 40, version 2) + text auth TLV.
pub fn v2_hello(ip_version: u8) -> Vec<u8> {
    let mut t = vec![1, 40, 2, 0, 6, ip_version, 0, 1];
    t.extend_from_slice(&[0xaa, 0xbb, 0xcc, 0, 0x0a, 0]);
    t.extend_from_slice(&100u32.to_be_bytes());
    t.extend_from_slice(&3000u32.to_be_bytes());
    t.extend_from_slice(&10000u32.to_be_bytes());
    t.extend_from_slice(&[10, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    t.extend_from_slice(&[3, 8]);
    t.extend_from_slice(b"cisco\0\0\0");
    t
}
