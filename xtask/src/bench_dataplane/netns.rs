//! Network namespaces for the benchmark, and pinning a measuring thread.

use std::process::Command;

use anyhow::{bail, ensure, Context, Result};

use crate::util::say;

/// A network namespace deleted on drop.
pub struct Ns(pub String);

impl Ns {
    pub fn new(tag: &str) -> Result<Ns> {
        let name = format!("hsrpb-{tag}-{}", std::process::id());
        sh(&format!("ip netns add {name}"))?;
        let ns = Ns(name);
        ns.exec("ip link set lo up")?;
        Ok(ns)
    }

    pub fn exec(&self, cmd: &str) -> Result<String> {
        sh(&format!("ip netns exec {} sh -c '{}'", self.0, cmd))
    }

    /// Runs `f` on a thread inside this namespace.
    pub fn enter<T: Send>(&self, f: impl FnOnce() -> Result<T> + Send) -> Result<T> {
        hsrp_testkit::netns::in_netns(&self.0, f)?
    }
}

impl Drop for Ns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

pub fn sh(cmd: &str) -> Result<String> {
    let out = Command::new("sh").arg("-c").arg(cmd).output()?;
    if !out.status.success() {
        bail!("`{cmd}` failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

pub fn ifindex(name: &str) -> Result<u32> {
    let c = std::ffi::CString::new(name)?;
    // SAFETY: NUL-terminated name.
    let i = unsafe { libc::if_nametoindex(c.as_ptr()) };
    ensure!(i != 0, "no interface {name}");
    Ok(i)
}

pub fn if_mac(ns: &Ns, name: &str) -> Result<[u8; 6]> {
    let s = ns.exec(&format!("cat /sys/class/net/{name}/address"))?;
    hsrp_testkit::frames::parse_mac(&s).with_context(|| format!("bad MAC for {name}: {s:?}"))
}

/// Pins the calling thread to `cpu` and makes it SCHED_FIFO, so the other work on this
/// shared machine (compiles) does not preempt a measurement half-way: the rows of one
/// run are then compared under the same conditions. The kernel's RT throttling
/// (sched_rt_runtime_us) still leaves the CPU to others for 5% of each second, and the
/// thread ends with the measurement.
pub fn pin_to_cpu(cpu: usize) {
    // SAFETY: cpu_set_t and sched_param are plain data; both calls affect the calling
    // thread only.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
        let param = libc::sched_param { sched_priority: 10 };
        if libc::sched_setscheduler(0, libc::SCHED_FIFO, &param) != 0 {
            say("warning: SCHED_FIFO refused; measuring at normal priority");
        }
    }
}
