//! Loading the XDP object embedded in `hsrpd`, pinning its maps, attaching it to
//! interfaces (native first, generic as fallback) and detaching it cleanly.
//!
//! What this module knows about the program: it is the XDP program named [`PROGRAM_NAME`],
//! and its maps are pinned under the pin directory by their own names. Everything else
//! (which maps exist, their types) belongs to `maps.rs` and the program.
//!
//! Map lifetime: each [`Dataplane::load`] creates fresh, empty maps and replaces any pins
//! left in the pin directory (that is the "maps reset on start" rule), except with
//! [`LoadOptions::share_pinned_maps`], used by `hsrpd load` on a second interface so both
//! interfaces feed the same maps.

use std::collections::BTreeMap;
use std::ffi::CString;
use std::fmt;
use std::os::fd::{AsFd, AsRawFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use anyhow::{bail, Context, Result};
use aya::maps::Map;
use aya::programs::links::{FdLink, PinnedLink};
use aya::programs::{Xdp, XdpMode};
use aya::{Ebpf, EbpfLoader};
use aya_log::EbpfLogger;
use log::{debug, info, warn};

/// The XDP program's function name in hsrp-ebpf.
pub const PROGRAM_NAME: &str = "hsrp";

/// Where maps (and links of `hsrpd load`) are pinned by default.
pub const DEFAULT_PIN_DIR: &str = "/sys/fs/bpf/hsrpd";

/// Pinned links are named `link_<ifname>` in the pin directory; everything else there is
/// a map pinned by its name.
const LINK_PREFIX: &str = "link_";

/// aya-log's ring buffer: read by the log pump, not pinned.
const AYA_LOG_MAP: &str = "AYA_LOGS";

/// The program that writes the classifier's log lines (reached by a tail call through
/// [`LOG_PROG_MAP`]), and that map. Not pinned: the lines are only read by this process's
/// log pump, and with the map empty the classifier's tail call falls through.
const LOG_PROGRAM_NAME: &str = "hsrp_log";
const LOG_PROG_MAP: &str = "HSRP_LOG_PROG";

/// `statfs(2)` magic of the BPF filesystem (linux/magic.h).
const BPF_FS_MAGIC: u32 = 0xcafe_4a11;

/// The object built by `cargo xtask build`, embedded by build.rs (empty when the host was
/// built without it). Aligned for the ELF parser.
static EMBEDDED_OBJECT: &[u8] =
    aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/hsrp-ebpf.o"));

/// The embedded XDP object, or the error that says how to get one.
pub fn embedded_object() -> Result<&'static [u8]> {
    if EMBEDDED_OBJECT.is_empty() {
        bail!("hsrpd was built without its XDP object: build with `cargo xtask build`");
    }
    Ok(EMBEDDED_OBJECT)
}

/// The XDP mode actually in use on an interface.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttachMode {
    /// In the driver (`xdp` in `ip link`).
    Native,
    /// In the generic network stack, after the skb is built (`xdpgeneric`): slower.
    Generic,
}

impl AttachMode {
    pub fn as_str(self) -> &'static str {
        match self {
            AttachMode::Native => "native",
            AttachMode::Generic => "generic",
        }
    }
}

impl fmt::Display for AttachMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How to load.
#[derive(Clone, Debug)]
pub struct LoadOptions {
    /// Pin maps here (created, on a bpffs mounted at /sys/fs/bpf when needed). `None`:
    /// no pinning at all (BPF_PROG_TEST_RUN tests, benchmarks).
    pub pin_dir: Option<PathBuf>,
    /// Reuse maps already pinned in `pin_dir` instead of replacing them with fresh ones.
    pub share_pinned_maps: bool,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            pin_dir: Some(PathBuf::from(DEFAULT_PIN_DIR)),
            share_pinned_maps: false,
        }
    }
}

impl LoadOptions {
    /// Load without pinning anything: for BPF_PROG_TEST_RUN.
    pub fn unpinned() -> Self {
        LoadOptions {
            pin_dir: None,
            share_pinned_maps: false,
        }
    }
}

/// The loaded data plane: the program, its maps, the interfaces it is attached to. Dropping
/// it detaches from every interface it attached (links handed to [`Dataplane::pin_link`]
/// stay) and removes the map pins it created unless a pinned link still uses them.
pub struct Dataplane {
    ebpf: Ebpf,
    pin_dir: Option<PathBuf>,
    /// Map pins created by this instance.
    pinned_maps: Vec<PathBuf>,
    attached: BTreeMap<String, (aya::programs::xdp::XdpLinkId, AttachMode)>,
    logs: Option<LogPump>,
}

impl Dataplane {
    /// Loads the embedded object with `opts`.
    pub fn load(opts: &LoadOptions) -> Result<Self> {
        Self::load_object(embedded_object()?, opts)
    }

    /// Loads the given object (an hsrp-ebpf build) with `opts`. The bytes must be 8-byte
    /// aligned (`aya::include_bytes_aligned!` or a `Vec<u64>`-backed buffer).
    pub fn load_object(object: &[u8], opts: &LoadOptions) -> Result<Self> {
        let mut loader = EbpfLoader::new();
        // Owned names for map_pin_path, which borrows them for the loader's lifetime.
        let mut shared: Vec<(String, PathBuf)> = Vec::new();
        if let Some(dir) = &opts.pin_dir {
            prepare_pin_dir(dir)?;
            if opts.share_pinned_maps {
                shared = pinned_maps(dir)?;
            } else {
                clear_pin_dir(dir)?;
            }
        }
        for (name, path) in &shared {
            loader.map_pin_path(name.as_str(), path.as_path());
        }
        let mut ebpf = loader
            .load(object)
            .context("loading the XDP object (maps, BTF) into the kernel")?;

        let program = xdp_program(&mut ebpf)?;
        program
            .load()
            .with_context(|| format!("the verifier rejected the XDP program `{PROGRAM_NAME}`"))?;

        let mut pinned = Vec::new();
        if let Some(dir) = &opts.pin_dir {
            for (name, map) in ebpf.maps() {
                if name.starts_with('.') || name == AYA_LOG_MAP || name == LOG_PROG_MAP {
                    continue;
                }
                let path = dir.join(name);
                if shared.iter().any(|(n, _)| n == name) {
                    continue; // reused, already pinned
                }
                map.pin(&path)
                    .with_context(|| format!("pinning map {name} at {}", path.display()))?;
                pinned.push(path);
            }
            debug!("maps pinned under {}", dir.display());
        }

        let logs = match EbpfLogger::init(&mut ebpf) {
            Ok(logger) => Some(LogPump::start(logger)?),
            Err(e) => {
                debug!("no log output from the XDP program: {e}");
                None
            }
        };
        if logs.is_some() {
            if let Err(e) = install_log_program(&mut ebpf) {
                warn!("the XDP program's log lines are off: {e:#}");
            }
        }

        Ok(Dataplane {
            ebpf,
            pin_dir: opts.pin_dir.clone(),
            pinned_maps: pinned,
            attached: BTreeMap::new(),
            logs,
        })
    }

    /// Attaches the program to `ifname` in the mode [`attach_policy`] picks for its driver:
    /// native (driver) mode first, generic (SKB) mode if the driver refuses; generic
    /// directly where native XDP is known to be wrong for the fast path (veth). Returns the
    /// mode in use, which is also logged.
    pub fn attach(&mut self, ifname: &str) -> Result<AttachMode> {
        if self.attached.contains_key(ifname) {
            bail!("the data plane is already attached to {ifname}");
        }
        ifindex(ifname)?;
        let driver = match crate::net::driver_name(ifname) {
            Ok(d) => Some(d),
            Err(e) => {
                debug!("{e}; trying native mode first");
                None
            }
        };
        let policy = attach_policy(driver.as_deref());
        let program = xdp_program(&mut self.ebpf)?;
        let (id, mode) = match policy {
            AttachPolicy::Generic { why } => {
                let id = program
                    .attach(ifname, XdpMode::Skb)
                    .with_context(|| format!("attaching XDP to {ifname} in generic mode"))?;
                info!("{ifname}: generic (SKB) mode chosen: {why}");
                (id, AttachMode::Generic)
            }
            AttachPolicy::NativeFirst => match program.attach(ifname, XdpMode::Driver) {
                Ok(id) => (id, AttachMode::Native),
                Err(native) => {
                    let native = chain(&native);
                    warn!(
                        "{ifname}: native XDP refused ({native}); falling back to generic \
                         (SKB) mode, which is slower"
                    );
                    let id = program.attach(ifname, XdpMode::Skb).with_context(|| {
                        format!("attaching XDP to {ifname} (native mode failed too: {native})")
                    })?;
                    (id, AttachMode::Generic)
                }
            },
        };
        info!("{ifname}: XDP data plane attached in {mode} mode");
        self.attached.insert(ifname.to_string(), (id, mode));
        Ok(mode)
    }

    /// Detaches the program from `ifname`.
    pub fn detach(&mut self, ifname: &str) -> Result<()> {
        let Some((id, _)) = self.attached.remove(ifname) else {
            bail!("the data plane is not attached to {ifname}");
        };
        xdp_program(&mut self.ebpf)?
            .detach(id)
            .with_context(|| format!("detaching XDP from {ifname}"))?;
        info!("{ifname}: XDP data plane detached");
        Ok(())
    }

    /// The mode in use on `ifname`, if attached by this instance.
    pub fn mode(&self, ifname: &str) -> Option<AttachMode> {
        self.attached.get(ifname).map(|(_, m)| *m)
    }

    /// Interfaces this instance is attached to, with their modes.
    pub fn attachments(&self) -> Vec<(String, AttachMode)> {
        self.attached
            .iter()
            .map(|(n, (_, m))| (n.clone(), *m))
            .collect()
    }

    /// Hands the attachment on `ifname` to the kernel: pins its link as
    /// `<pin dir>/link_<ifname>`, so it outlives this process (`hsrpd load`). The map pins
    /// are kept too. Fails on kernels without bpf_link for XDP (before 5.9).
    pub fn pin_link(&mut self, ifname: &str) -> Result<PathBuf> {
        let dir = self
            .pin_dir
            .clone()
            .context("this data plane was loaded without a pin directory")?;
        let Some((id, _)) = self.attached.remove(ifname) else {
            bail!("the data plane is not attached to {ifname}");
        };
        let link = xdp_program(&mut self.ebpf)?.take_link(id)?;
        let fd_link = FdLink::try_from(link).with_context(|| {
            format!("{ifname}: XDP was attached through netlink (kernel < 5.9), cannot pin it")
        })?;
        let path = link_pin_path(&dir, ifname);
        fd_link
            .pin(&path)
            .with_context(|| format!("pinning the XDP link at {}", path.display()))?;
        // The maps now belong to the pinned link; leave their pins for inspection.
        self.pinned_maps.clear();
        Ok(path)
    }

    /// The pin directory, if maps are pinned.
    pub fn pin_dir(&self) -> Option<&Path> {
        self.pin_dir.as_deref()
    }

    /// The XDP program (for BPF_PROG_TEST_RUN: `aya::programs::TestRun`).
    pub fn program(&self) -> Result<&Xdp> {
        let p = self
            .ebpf
            .program(PROGRAM_NAME)
            .with_context(|| format!("the XDP object has no program `{PROGRAM_NAME}`"))?;
        Ok(p.try_into()?)
    }

    /// Moves a map out (for the typed map API); it stays pinned.
    pub fn take_map(&mut self, name: &str) -> Result<Map> {
        self.ebpf
            .take_map(name)
            .with_context(|| format!("the XDP object has no map `{name}` (or it was taken)"))
    }

    pub fn ebpf(&self) -> &Ebpf {
        &self.ebpf
    }

    pub fn ebpf_mut(&mut self) -> &mut Ebpf {
        &mut self.ebpf
    }
}

impl Drop for Dataplane {
    fn drop(&mut self) {
        let names: Vec<String> = self.attached.keys().cloned().collect();
        for name in names {
            if let Err(e) = self.detach(&name) {
                warn!("{e:#}");
            }
        }
        if let Some(dir) = &self.pin_dir {
            // A pinned link (hsrpd load) still uses the maps: keep their pins.
            if !has_pinned_links(dir) {
                for path in &self.pinned_maps {
                    let _ = std::fs::remove_file(path);
                }
            }
        }
        if let Some(logs) = self.logs.take() {
            logs.stop();
        }
    }
}

/// Which XDP mode to try on an interface, from its driver's name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttachPolicy {
    /// Native (driver) mode, generic if the driver refuses.
    NativeFirst,
    /// Generic (SKB) mode only; `why` is logged.
    Generic { why: &'static str },
}

/// The attach mode for an interface driven by `driver` (`None`: unknown).
///
/// veth gets generic mode. Its native XDP runs on a frame whose skb the peer already
/// classified and checksummed: a frame handed to the kernel after its destination MAC
/// was rewritten stays PACKET_OTHERHOST and is dropped; a redirected frame loses
/// CHECKSUM_PARTIAL (a veth sender leaves UDP/TCP checksums to offload), so the receiver
/// discards it; and XDP_TX or a redirect into a veth reaches the peer only when the peer
/// runs an XDP program or has GRO on. Generic mode runs on the skb: the kernel
/// re-classifies a frame whose destination MAC changed, keeps the checksum state, and
/// transmits XDP_TX and redirected frames through the device like any other
/// (measured in tests/tests/veth_plain_lab.rs).
pub fn attach_policy(driver: Option<&str>) -> AttachPolicy {
    match driver {
        Some("veth") => AttachPolicy::Generic {
            why: "native XDP on veth loses checksum offload state, cannot pass rewritten \
                  frames to the kernel, and its XDP_TX needs an XDP program on the peer",
        },
        _ => AttachPolicy::NativeFirst,
    }
}

/// Loads the logging program and puts it where the classifier's tail call looks.
fn install_log_program(ebpf: &mut Ebpf) -> Result<()> {
    let program: &mut Xdp = ebpf
        .program_mut(LOG_PROGRAM_NAME)
        .with_context(|| format!("the XDP object has no program `{LOG_PROGRAM_NAME}`"))?
        .try_into()
        .with_context(|| format!("`{LOG_PROGRAM_NAME}` is not an XDP program"))?;
    program
        .load()
        .with_context(|| format!("the verifier rejected `{LOG_PROGRAM_NAME}`"))?;
    let fd = program.fd()?.try_clone()?;
    let map = ebpf
        .map_mut(LOG_PROG_MAP)
        .with_context(|| format!("the XDP object has no map {LOG_PROG_MAP}"))?;
    let mut slots = aya::maps::ProgramArray::try_from(map)?;
    slots
        .set(0, &fd, 0)
        .with_context(|| format!("setting {LOG_PROG_MAP}[0]"))?;
    Ok(())
}

fn xdp_program(ebpf: &mut Ebpf) -> Result<&mut Xdp> {
    let p = ebpf
        .program_mut(PROGRAM_NAME)
        .with_context(|| format!("the XDP object has no program `{PROGRAM_NAME}`"))?;
    p.try_into()
        .with_context(|| format!("`{PROGRAM_NAME}` in the XDP object is not an XDP program"))
}

/// An error with its causes ("`bpf_link_create` failed: Operation not supported").
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cause = c.source();
    }
    s
}

/// The interface index of `ifname`, or an error naming it.
pub fn ifindex(ifname: &str) -> Result<u32> {
    match crate::net::ifindex(ifname) {
        Ok(idx) => Ok(idx),
        Err(crate::net::NetError::NoSuchInterface { .. }) => bail!("no interface named {ifname}"),
        Err(e) => Err(e).with_context(|| format!("bad interface name {ifname:?}")),
    }
}

pub fn link_pin_path(dir: &Path, ifname: &str) -> PathBuf {
    dir.join(format!("{LINK_PREFIX}{ifname}"))
}

// ---- the pin directory ---------------------------------------------------------------

fn is_bpffs(path: &Path) -> bool {
    let Ok(c) = CString::new(path.as_os_str().as_encoded_bytes()) else {
        return false;
    };
    // SAFETY: statfs writes into the zeroed struct; `c` is NUL-terminated.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::statfs(c.as_ptr(), &mut st) };
    // f_type's integer type differs between libcs; compare as the kernel's u32 magic.
    rc == 0 && st.f_type as u32 == BPF_FS_MAGIC
}

/// Makes sure `dir` exists on a bpffs. Mounts bpffs at /sys/fs/bpf when the parent is
/// /sys/fs/bpf and nothing is mounted there (common in containers and `ip netns exec`).
fn prepare_pin_dir(dir: &Path) -> Result<()> {
    let parent = dir
        .parent()
        .with_context(|| format!("pin directory {} has no parent", dir.display()))?;
    if !is_bpffs(parent) {
        if parent != Path::new("/sys/fs/bpf") {
            bail!(
                "{} is not on a BPF filesystem: mount one (`mount -t bpf bpf {}`) or use a pin \
                 directory under /sys/fs/bpf",
                parent.display(),
                parent.display()
            );
        }
        mount_bpffs(parent)?;
        info!("mounted a BPF filesystem at {}", parent.display());
    }
    std::fs::create_dir_all(dir)
        .with_context(|| format!("creating pin directory {}", dir.display()))
}

fn mount_bpffs(at: &Path) -> Result<()> {
    let target = CString::new(at.as_os_str().as_encoded_bytes())?;
    let fstype = c"bpf";
    // SAFETY: all pointers are valid NUL-terminated strings; data may be NULL.
    let rc = unsafe {
        libc::mount(
            fstype.as_ptr(),
            target.as_ptr(),
            fstype.as_ptr(),
            0,
            std::ptr::null(),
        )
    };
    if rc != 0 {
        let e = std::io::Error::last_os_error();
        bail!(
            "mounting a BPF filesystem at {} failed: {e} (hsrpd needs root)",
            at.display()
        );
    }
    Ok(())
}

fn has_pinned_links(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|entries| {
        entries
            .flatten()
            .any(|e| e.file_name().to_string_lossy().starts_with(LINK_PREFIX))
    })
}

/// Maps pinned in `dir` (everything but links), as (name, path).
fn pinned_maps(dir: &Path) -> Result<Vec<(String, PathBuf)>> {
    let entries = std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))?;
    Ok(entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            (!name.starts_with(LINK_PREFIX)).then(|| (name, e.path()))
        })
        .collect())
}

/// Removes what an earlier run left in `dir`: pinned links (which detaches their
/// programs) and map pins, so this load starts from fresh, empty maps.
fn clear_pin_dir(dir: &Path) -> Result<()> {
    let entries = std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))?;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(ifname) = name.strip_prefix(LINK_PREFIX) {
            warn!(
                "{ifname}: detaching the data plane left by an earlier `hsrpd load` ({})",
                entry.path().display()
            );
        }
        std::fs::remove_file(entry.path())
            .with_context(|| format!("removing stale pin {}", entry.path().display()))?;
    }
    Ok(())
}

/// Detaches the link pinned for `ifname` by `hsrpd load`; when it was the last, removes
/// the map pins and the directory too. Returns false if nothing was pinned for `ifname`.
pub fn unpin_link(dir: &Path, ifname: &str) -> Result<bool> {
    let path = link_pin_path(dir, ifname);
    if !path.exists() {
        return Ok(false);
    }
    let link = PinnedLink::from_pin(&path)
        .with_context(|| format!("opening the pinned link {}", path.display()))?;
    // Unpinning leaves us the last reference; dropping it destroys the link (detach).
    let fd_link = link
        .unpin()
        .with_context(|| format!("removing {}", path.display()))?;
    drop(fd_link);
    if !has_pinned_links(dir) {
        for (_, map) in pinned_maps(dir)? {
            std::fs::remove_file(&map)
                .with_context(|| format!("removing map pin {}", map.display()))?;
        }
        let _ = std::fs::remove_dir(dir);
    }
    Ok(true)
}

// ---- aya-log output ------------------------------------------------------------------

/// A thread that forwards the program's aya-log records to `log` as they arrive.
struct LogPump {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<()>,
}

impl LogPump {
    fn start(mut logger: EbpfLogger<&'static dyn log::Log>) -> Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("xdp-log".into())
            .spawn(move || {
                // Reading a ring buffer needs no privilege; capabilities are per
                // thread, so this one gives up all of its own.
                if let Err(e) = crate::privileges::drop_all() {
                    log::debug!("xdp-log thread: cannot drop capabilities: {e}");
                }
                let fd = logger.as_fd().as_raw_fd();
                while !flag.load(Ordering::Relaxed) {
                    let mut pfd = libc::pollfd {
                        fd,
                        events: libc::POLLIN,
                        revents: 0,
                    };
                    // A short timeout bounds how long `stop` waits for this thread.
                    // SAFETY: one valid pollfd; the fd lives as long as `logger`.
                    let n = unsafe { libc::poll(&mut pfd, 1, 100) };
                    if n > 0 {
                        logger.flush();
                    }
                }
                logger.flush();
            })
            .context("starting the XDP log thread")?;
        Ok(LogPump { stop, thread })
    }

    fn stop(self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.thread.join();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pin_dir_off_bpffs_is_an_error_naming_it_and_the_fix() {
        let dir = std::env::temp_dir().join("hsrpd-pin-test").join("hsrpd");
        let err = prepare_pin_dir(&dir).expect_err("/tmp is not a bpffs");
        let msg = format!("{err:#}");
        assert!(msg.contains("is not on a BPF filesystem"), "{msg}");
        assert!(msg.contains("mount -t bpf bpf"), "{msg}");
    }

    #[test]
    fn link_pins_are_named_after_the_interface() {
        let p = link_pin_path(Path::new("/sys/fs/bpf/hsrpd"), "eth0");
        assert_eq!(p, Path::new("/sys/fs/bpf/hsrpd/link_eth0"));
        assert_eq!(AttachMode::Generic.to_string(), "generic");
        assert_eq!(AttachMode::Native.to_string(), "native");
    }

    #[test]
    fn bad_interface_names_are_errors_not_panics() {
        assert!(ifindex("no\0such").is_err());
        let err = ifindex("hsrpt-none0").expect_err("missing interface");
        assert!(format!("{err}").contains("no interface named hsrpt-none0"));
    }
}

#[cfg(test)]
mod policy_tests {
    use super::*;

    #[test]
    fn veth_gets_generic_mode_and_everything_else_native_first() {
        assert!(matches!(
            attach_policy(Some("veth")),
            AttachPolicy::Generic { .. }
        ));
        for other in [Some("virtio_net"), Some("mlx5_core"), Some("ixgbe"), None] {
            assert_eq!(attach_policy(other), AttachPolicy::NativeFirst, "{other:?}");
        }
    }
}
