//! Shared harness for the privileged end-to-end tests: network namespaces, veths and a
//! bridge, each behind a guard whose `Drop` removes it, so a failing test leaves nothing
//! behind. Tests that need root fail loudly (never skip) when not root.

pub mod lab;
pub mod lab_bfd;
pub mod lab_churn;
pub mod lab_flood;
pub mod lab_load;
pub mod lab_plain;
pub mod lab_scale;
pub mod lab_traffic;
pub mod probe;
pub mod rogue;
pub mod soak;
pub mod stall_probe;
pub mod xdp;

use std::path::{Path, PathBuf};
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

/// Host directory under which each namespace's bpffs is mounted (`/run/hsrpt/<ns>`).
pub const BPFFS_ROOT: &str = "/run/hsrpt";

/// Scheduling slack every timing bound of the privileged tests allows on top of what the
/// protocol itself permits: how late a process may be woken or a frame processed on a
/// 2-core machine with one core kept busy by another process (the tests' load condition).
/// A bound, not a figure: idle, the real lateness is well under a millisecond.
pub const SCHEDULING_SLACK: std::time::Duration = std::time::Duration::from_millis(50);

/// A network namespace, deleted (with everything in it) on drop.
///
/// It comes with its own BPF filesystem: `ip netns exec` starts every command in a fresh
/// mount namespace, so a bpffs mounted by one command would be invisible to the next
/// (`hsrpd load` pins, a later `bpftool map dump pinned` reads). Instead one bpffs per
/// namespace is mounted on the host at [`Netns::bpffs`] and bind-mounted at /sys/fs/bpf
/// for each command. The test process can read the pins through the host path too.
pub struct Netns {
    pub name: String,
}

impl Netns {
    /// Creates `hsrpt-<name>` with its loopback up and its own bpffs.
    pub fn new(tag: &str) -> Result<Self> {
        let name = format!("hsrpt-{}", unique(tag));
        sh(&format!("ip netns add {name}"))?;
        // From here on, Drop cleans up whatever part was made.
        let ns = Netns { name };
        let bpffs = ns.bpffs();
        std::fs::create_dir_all(&bpffs).with_context(|| format!("create {}", bpffs.display()))?;
        sh(&format!("mount -t bpf bpf {}", bpffs.display()))?;
        ns.exec("ip link set lo up")?;
        Ok(ns)
    }

    /// The host path of this namespace's bpffs (what commands inside see as /sys/fs/bpf).
    pub fn bpffs(&self) -> PathBuf {
        Path::new(BPFFS_ROOT).join(&self.name)
    }

    /// The shell prefix that puts this namespace's bpffs at /sys/fs/bpf.
    fn mount_prefix(&self) -> String {
        format!(
            "mountpoint -q /sys/fs/bpf || mount --bind {} /sys/fs/bpf",
            self.bpffs().display()
        )
    }

    /// Runs a shell command inside the namespace (with its bpffs at /sys/fs/bpf), failing
    /// with its stderr when it exits non-zero.
    pub fn exec(&self, cmd: &str) -> Result<String> {
        let full = format!(
            "ip netns exec {} sh -c '{}; {}'",
            self.name,
            self.mount_prefix(),
            cmd.replace('\'', r"'\''")
        );
        sh(&full)
    }

    /// A `Command` that runs `program` inside the namespace (bpffs mounted), for processes
    /// that the test keeps running (daemons, captures).
    pub fn command(&self, program: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name, "sh", "-c"]);
        c.arg(format!("{}; exec {program} \"$@\"", self.mount_prefix()));
        c.arg("sh");
        c
    }
}

impl Netns {
    /// Runs `f` on a thread that has entered this namespace (interface names and indexes,
    /// the FIB, sockets, devmap targets and BPF_PROG_TEST_RUN ingress devices resolve
    /// there). A panic in `f` is re-raised here.
    pub fn enter<T: Send>(&self, f: impl FnOnce() -> T + Send) -> T {
        hsrp_testkit::netns::in_netns(&self.name, f).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Runs the future `body` makes to completion inside this namespace, on a tokio
    /// runtime of its own (see [`Netns::enter`]).
    pub fn block_on<F, Fut>(&self, body: F) -> Fut::Output
    where
        F: FnOnce() -> Fut + Send,
        Fut: std::future::Future,
        Fut::Output: Send,
    {
        self.enter(|| {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("tokio runtime")
                .block_on(body())
        })
    }

    /// Waits (at most 3 s) until `dev` reports operstate "up": until the kernel's link
    /// watcher marks a new veth operational (asynchronously, up to a second), its transmit
    /// queue drops every frame.
    pub fn wait_operational(&self, dev: &str) {
        let cmd = format!("cat /sys/class/net/{dev}/operstate");
        for _ in 0..150 {
            if self.exec(&cmd).unwrap().trim() == "up" {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        panic!("{dev} not operational after 3 s");
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let bpffs = self.bpffs();
        // Lazy unmount: a process still holding the mount must not keep the test hanging.
        let _ = Command::new("umount").arg("-l").arg(&bpffs).status();
        let _ = std::fs::remove_dir(&bpffs);
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

/// `future`'s output, or `None` if it takes longer than `limit`.
pub async fn within<T>(
    limit: std::time::Duration,
    future: impl std::future::Future<Output = T>,
) -> Option<T> {
    tokio::time::timeout(limit, future).await.ok()
}

/// The workspace root (tests/ is one level below it).
pub fn workspace_root() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    here.parent().unwrap_or(here).to_path_buf()
}

/// The `hsrpd` binary that `cargo xtask build` produced. Panics, naming the fix, if absent.
pub fn hsrpd_bin() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"));
    let bin = target.join("debug/hsrpd");
    assert!(
        bin.is_file(),
        "{} is missing: build it with `cargo xtask build` (or run `cargo xtask test`)",
        bin.display()
    );
    bin
}

/// Panics unless `tool` is on PATH: a missing tool fails the test, never skips it.
pub fn require_tool(tool: &str) {
    let found = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        found,
        "`{tool}` is required by this test and is not installed (`cargo xtask setup` installs it)"
    );
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

/// The children of process `pid` (every thread's list in /proc).
pub fn children(pid: i32) -> Vec<i32> {
    let mut out = Vec::new();
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return out;
    };
    for t in tasks.flatten() {
        let list = std::fs::read_to_string(t.path().join("children")).unwrap_or_default();
        out.extend(
            list.split_whitespace()
                .filter_map(|p| p.parse::<i32>().ok()),
        );
    }
    out
}

/// A child process the test started itself, killed and reaped on drop (a failing test
/// leaves no daemon behind).
pub struct KillOnDrop(pub std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
