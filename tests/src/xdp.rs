//! Shared by the XDP tests: the built object, loading it, and BPF_PROG_TEST_RUN of one
//! frame. Frames and checksums come from [`hsrp_testkit`], independent of the code under
//! test.

use std::path::PathBuf;

use aya::programs::{TestRun, TestRunOptions, Xdp};
use aya::Ebpf;
use hsrp_user::dataplane::{Dataplane, LoadOptions};

use crate::Netns;

pub const XDP_ABORTED: u32 = 0;
pub const XDP_DROP: u32 = 1;
pub const XDP_PASS: u32 = 2;
pub const XDP_TX: u32 = 3;
pub const XDP_REDIRECT: u32 = 4;

/// The object built by `cargo xtask build`; panics with the command if it is missing.
pub fn object_path() -> PathBuf {
    let p = crate::workspace_root().join("target/bpf/bpfel-unknown-none/release/hsrp");
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

/// The hsrp object as a [`Dataplane`] (not pinned), from the file's bytes copied into an
/// 8-byte aligned buffer, as the loader wants them.
pub fn load_dataplane(object: &[u8]) -> Dataplane {
    let mut words = vec![0u64; object.len().div_ceil(8)];
    // SAFETY: the u64 buffer is at least as long as `object`.
    let buf =
        unsafe { std::slice::from_raw_parts_mut(words.as_mut_ptr() as *mut u8, object.len()) };
    buf.copy_from_slice(object);
    Dataplane::load_object(buf, &LoadOptions::unpinned()).expect("loading hsrp")
}

/// Attaches hsrp with empty maps, which passes everything, to `dev` in `ns`: frames that
/// XDP sends or redirects into a veth need an XDP program on the receiving end. Keep the
/// result: dropping it detaches the program.
pub fn pass_all_on(ns: &Netns, dev: &str, object: &[u8]) -> Dataplane {
    ns.enter(|| {
        let mut dp = load_dataplane(object);
        dp.attach(dev).unwrap();
        dp
    })
}

/// The ifindex of `name` in the current thread's namespace.
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
