//! Shared harness for the privileged end-to-end tests: network namespaces, veths and a
//! bridge, each behind a guard whose `Drop` removes it, so a failing test leaves nothing
//! behind. Tests that need root fail loudly (never skip) when not root.

use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};

use anyhow::{bail, Context, Result};

/// Panics with a clear message unless running as root: these tests are not optional.
pub fn require_root() {
    // SAFETY: geteuid has no preconditions.
    let euid = unsafe { libc::geteuid() };
    assert_eq!(
        euid, 0,
        "privileged tests must run as root (use `cargo xtask test`)"
    );
}

/// Runs a command on the host, failing with its stderr when it exits non-zero.
pub fn sh(cmd: &str) -> Result<String> {
    let out = Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .output()
        .with_context(|| format!("spawn `{cmd}`"))?;
    check(cmd, out)
}

fn check(cmd: &str, out: Output) -> Result<String> {
    if !out.status.success() {
        bail!(
            "`{cmd}` failed ({}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// A unique short prefix for names in this test process (interface names are limited to 15
/// bytes, so keep it short): `t<pid mod 10000><counter>`.
pub fn unique(tag: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    format!("{tag}{}{n}", std::process::id() % 10000)
}

/// A network namespace, deleted (with everything in it) on drop.
///
/// `ip netns exec` gives every command a fresh mount namespace, and a fresh `mount -t bpf`
/// there would be a new, empty bpffs instance each time, so pins made by one command would be
/// invisible to the next (and destroyed with it). So each `Netns` owns one persistent bpffs
/// instance, mounted on the host at [`Netns::bpffs`], and every command run inside binds it
/// onto /sys/fs/bpf: all commands of one namespace see the same pins, as on a real router.
pub struct Netns {
    pub name: String,
}

impl Netns {
    /// Creates `hsrpt-<tag><unique>` with its loopback up and its own bpffs instance.
    pub fn new(tag: &str) -> Result<Self> {
        let name = format!("hsrpt-{}", unique(tag));
        sh(&format!("ip netns add {name}"))?;
        let ns = Netns { name };
        let bpffs = ns.bpffs();
        sh(&format!("mkdir -p {bpffs} && mount -t bpf bpf {bpffs}"))?;
        ns.exec("ip link set lo up")?;
        Ok(ns)
    }

    /// Where this namespace's bpffs instance is mounted on the host.
    pub fn bpffs(&self) -> String {
        format!("/run/hsrpt/{}/bpf", self.name)
    }

    fn prelude(&self) -> String {
        format!("mount --bind {} /sys/fs/bpf", self.bpffs())
    }

    /// Runs a shell command inside the namespace (with this namespace's bpffs on
    /// /sys/fs/bpf), failing with its stderr when it exits non-zero.
    pub fn exec(&self, cmd: &str) -> Result<String> {
        let full = format!(
            "ip netns exec {} sh -c '{}; {}'",
            self.name,
            self.prelude(),
            cmd.replace('\'', r"'\''")
        );
        sh(&full)
    }

    /// A `Command` that runs `program` (then the args the caller adds) inside the namespace
    /// with its bpffs, for processes the test keeps running (daemons, captures).
    pub fn command(&self, program: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name, "sh", "-c"]);
        c.arg(format!("{}; exec {program} \"$@\"", self.prelude()));
        c.arg("sh");
        c
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
        let bpffs = self.bpffs();
        let _ = Command::new("umount").arg(&bpffs).status();
        let _ = std::fs::remove_dir_all(format!("/run/hsrpt/{}", self.name));
    }
}

/// Creates a veth pair with end `a` in namespace `ns_a` and end `b` in `ns_b` (either may be
/// `None` for the host), both up. Deleting either namespace removes the pair.
pub fn veth(a: &str, ns_a: Option<&Netns>, b: &str, ns_b: Option<&Netns>) -> Result<()> {
    sh(&format!("ip link add {a} type veth peer name {b}"))?;
    for (dev, ns) in [(a, ns_a), (b, ns_b)] {
        match ns {
            Some(ns) => {
                sh(&format!("ip link set {dev} netns {}", ns.name))?;
                ns.exec(&format!("ip link set {dev} up"))?;
            }
            None => {
                sh(&format!("ip link set {dev} up"))?;
            }
        }
    }
    Ok(())
}
