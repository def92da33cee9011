//! Least privilege: once its groups run, `hsrpd run` keeps only the capabilities it still
//! uses and drops every other one from its effective, permitted, inheritable, ambient and
//! bounding sets (so no later exec can get them back).
//!
//! Start-up needs more: CAP_SYS_ADMIN to mount a BPF filesystem when none is mounted,
//! CAP_BPF and CAP_PERFMON to load the XDP program and create its maps, CAP_NET_ADMIN to
//! attach it, CAP_NET_RAW to open the packet sockets. Afterwards ([`RUNTIME`]):
//! - CAP_NET_ADMIN: detaching XDP at stop (netlink attachments), the per-interface
//!   sysctls and the NIC address filters of groups a SIGHUP reload adds;
//! - CAP_NET_RAW: the packet sockets' membership changes on reload;
//! - CAP_BPF: BPF commands on the program and map descriptors it holds (link detach and
//!   map updates on kernels that check them).
//!
//! Capabilities are per thread: [`drop_to`] changes the calling thread only. The daemon
//! calls it on its loop thread; a helper thread started earlier (the XDP log pump) drops
//! everything itself with [`drop_all`].

use std::io;

/// Capability numbers (linux/capability.h).
pub const CAP_SETPCAP: u32 = 8;
pub const CAP_NET_ADMIN: u32 = 12;
pub const CAP_NET_RAW: u32 = 13;
pub const CAP_IPC_LOCK: u32 = 14;
pub const CAP_SYS_ADMIN: u32 = 21;
pub const CAP_SYS_NICE: u32 = 23;
pub const CAP_PERFMON: u32 = 38;
pub const CAP_BPF: u32 = 39;
/// The highest capability number this code knows; the bounding-set loop stops at the
/// kernel's own last one (EINVAL), whichever comes first.
const CAP_LAST_KNOWN: u32 = 63;

/// What `hsrpd run` keeps after start-up.
pub const RUNTIME: &[u32] = &[CAP_NET_ADMIN, CAP_NET_RAW, CAP_BPF];

/// [`RUNTIME`], plus in real-time mode CAP_SYS_NICE (a reload may change or end the
/// SCHED_FIFO priority) and CAP_IPC_LOCK (memory locked with MCL_FUTURE: without it every
/// later allocation would count against RLIMIT_MEMLOCK and fail past it).
const RUNTIME_REALTIME: &[u32] = &[
    CAP_NET_ADMIN,
    CAP_NET_RAW,
    CAP_IPC_LOCK,
    CAP_SYS_NICE,
    CAP_BPF,
];

/// The set `hsrpd run` keeps after start-up, with or without real-time mode.
pub fn runtime_set(realtime: bool) -> &'static [u32] {
    if realtime {
        RUNTIME_REALTIME
    } else {
        RUNTIME
    }
}

/// `CAP_A, CAP_B` for a log line.
pub fn names(caps: &[u32]) -> String {
    caps.iter()
        .map(|&c| match c {
            CAP_NET_ADMIN => "CAP_NET_ADMIN".to_string(),
            CAP_NET_RAW => "CAP_NET_RAW".to_string(),
            CAP_IPC_LOCK => "CAP_IPC_LOCK".to_string(),
            CAP_SYS_NICE => "CAP_SYS_NICE".to_string(),
            CAP_BPF => "CAP_BPF".to_string(),
            other => format!("capability {other}"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The capability set as a bit mask (the `CapEff:` line of /proc/PID/status).
pub fn mask(caps: &[u32]) -> u64 {
    caps.iter().fold(0, |m, &c| m | (1u64 << c))
}

/// Keeps exactly `keep` on the calling thread: bounding set first (dropping from it needs
/// CAP_SETPCAP, which the capset below removes), then the ambient set, then effective,
/// permitted and inheritable. A process without some of `keep` keeps what it has of them.
pub fn drop_to(keep: &[u32]) -> io::Result<()> {
    let keep_mask = mask(keep);
    // Without CAP_SETPCAP (not root) the bounding set cannot shrink, and a process
    // without capabilities has nothing an exec could give back either.
    let may_shrink_bounding = get()?.effective & (1 << CAP_SETPCAP) != 0;
    for cap in 0..=CAP_LAST_KNOWN {
        if !may_shrink_bounding || keep_mask & (1 << cap) != 0 {
            continue;
        }
        // SAFETY: prctl with integer arguments only.
        let r = unsafe { libc::prctl(libc::PR_CAPBSET_DROP, cap as libc::c_ulong, 0, 0, 0) };
        if r != 0 {
            let e = io::Error::last_os_error();
            if e.raw_os_error() == Some(libc::EINVAL) {
                break; // beyond the kernel's last capability
            }
            return Err(e);
        }
    }
    // SAFETY: prctl with integer arguments only.
    let r = unsafe {
        libc::prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_CLEAR_ALL as libc::c_ulong,
            0,
            0,
            0,
        )
    };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    let current = get()?;
    let keep = current.permitted & keep_mask;
    set(CapSets {
        effective: keep,
        permitted: keep,
        inheritable: 0,
    })
}

/// Drops every capability of the calling thread.
pub fn drop_all() -> io::Result<()> {
    drop_to(&[])
}

/// The calling thread's effective, permitted and inheritable sets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CapSets {
    pub effective: u64,
    pub permitted: u64,
    pub inheritable: u64,
}

// capget/capset with _LINUX_CAPABILITY_VERSION_3: two 32-bit words per set.
const VERSION_3: u32 = 0x2008_0522;

#[repr(C)]
struct Header {
    version: u32,
    pid: libc::c_int,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct Data {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

/// The calling thread's capability sets.
pub fn get() -> io::Result<CapSets> {
    let mut header = Header {
        version: VERSION_3,
        pid: 0,
    };
    let mut data = [Data::default(); 2];
    // SAFETY: capget writes two `Data` words for version 3, which `data` holds.
    let r = unsafe { libc::syscall(libc::SYS_capget, &mut header, data.as_mut_ptr()) };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    let join = |lo: u32, hi: u32| u64::from(lo) | (u64::from(hi) << 32);
    Ok(CapSets {
        effective: join(data[0].effective, data[1].effective),
        permitted: join(data[0].permitted, data[1].permitted),
        inheritable: join(data[0].inheritable, data[1].inheritable),
    })
}

fn set(sets: CapSets) -> io::Result<()> {
    let mut header = Header {
        version: VERSION_3,
        pid: 0,
    };
    let split = |m: u64| (m as u32, (m >> 32) as u32);
    let (e0, e1) = split(sets.effective);
    let (p0, p1) = split(sets.permitted);
    let (i0, i1) = split(sets.inheritable);
    let data = [
        Data {
            effective: e0,
            permitted: p0,
            inheritable: i0,
        },
        Data {
            effective: e1,
            permitted: p1,
            inheritable: i1,
        },
    ];
    // SAFETY: capset reads two `Data` words for version 3.
    let r = unsafe { libc::syscall(libc::SYS_capset, &mut header, data.as_ptr()) };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runtime_mask_is_net_admin_net_raw_bpf() {
        assert_eq!(mask(RUNTIME), 0x0000_0080_0000_3000);
    }

    /// Runs in a thread of its own: capabilities are per thread, and the test harness's
    /// other threads keep theirs.
    #[test]
    fn dropping_keeps_exactly_the_asked_set_in_this_thread() {
        std::thread::spawn(|| {
            let before = get().unwrap();
            drop_to(&[CAP_NET_RAW]).unwrap();
            let after = get().unwrap();
            let want = before.permitted & mask(&[CAP_NET_RAW]);
            assert_eq!(after.effective, want);
            assert_eq!(after.permitted, want);
            assert_eq!(after.inheritable, 0);
            // Gone for good: asking for more fails when any was dropped.
            if before.permitted & !want != 0 {
                let more = CapSets {
                    effective: before.permitted,
                    permitted: before.permitted,
                    inheritable: 0,
                };
                assert!(set(more).is_err());
            }
            drop_all().unwrap();
            assert_eq!(get().unwrap().permitted, 0);
        })
        .join()
        .unwrap();
    }
}
