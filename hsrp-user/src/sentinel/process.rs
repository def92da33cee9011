//! The daemon's end of the sentinel: spawning it, and the pipe the last words go down
//! (non-blocking, bounded, moved to the highest descriptor).

use std::fs::File;
use std::io::{self, Write};
use std::os::fd::AsRawFd;
use std::os::fd::OwnedFd;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use log::{debug, warn};

use super::message::{encode_cleanup, encode_frames, message, LastWord, TAG_DISARM};

/// Longest a write to the sentinel may block the daemon's loop.
const WRITE_LIMIT: Duration = Duration::from_millis(50);
/// Longest a clean stop waits for the sentinel to exit.
const EXIT_LIMIT: Duration = Duration::from_millis(500);
/// How long after a sentinel was lost a new one is spawned, and how often the daemon
/// checks that its sentinel still runs.
pub const RESPAWN_AFTER: Duration = Duration::from_secs(1);
/// The pipe's capacity: a thousand groups' last words are about 100 KB, more than a pipe's
/// default 64 KiB, so without it a sentinel not scheduled for [`WRITE_LIMIT`] on a loaded
/// host would be given up. 1 MiB is the kernel's default `fs.pipe-max-size`.
const PIPE_SIZE: i32 = 1 << 20;
/// The sentinel lives until its input ends: a Ctrl-C to the terminal's process group or a
/// SIGTERM/SIGHUP meant for the daemon must not take it away first.
pub(super) fn ignore_stop_signals() {
    for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        // SAFETY: setting a signal's disposition to SIG_IGN has no memory effects.
        unsafe {
            libc::signal(sig, libc::SIG_IGN);
        }
    }
}

/// The daemon's end: the sentinel process and the pipe to it.
pub struct Sentinel {
    child: Child,
    stdin: Option<File>,
    /// The last set written, so an unchanged set is not written again.
    written: Option<Vec<LastWord>>,
    /// The last netlink cleanup set written.
    cleanup: Option<Vec<Vec<u8>>>,
    /// When the sentinel was found lost (a write failed, or it exited), if it was.
    lost_at: Option<Instant>,
    /// When the daemon last checked that the process still runs.
    checked_at: Instant,
}

impl Sentinel {
    /// Spawns `<current executable> sentinel`. Call before anything the sentinel must not
    /// inherit is opened where possible; a replacement (`keep_running`) is spawned later and
    /// relies on every descriptor of the daemon being close-on-exec (Rust's, tokio's, the
    /// kernel's BPF objects, and `net`'s sockets, all opened with CLOEXEC).
    pub fn spawn() -> Result<Sentinel> {
        let exe = std::env::current_exe().context("locating the hsrpd executable")?;
        let mut cmd = Command::new(&exe);
        cmd.arg("sentinel")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        // SAFETY: only async-signal-safe calls (signal(2)) between fork and exec. Ignored
        // dispositions survive exec, so the sentinel is never without them.
        unsafe {
            cmd.pre_exec(|| {
                ignore_stop_signals();
                Ok(())
            });
        }
        let mut child = cmd
            .spawn()
            .with_context(|| format!("spawning the sentinel ({} sentinel)", exe.display()))?;
        let stdin = child.stdin.take().map(|s| to_top_fd(OwnedFd::from(s)));
        if let Some(s) = &stdin {
            // Never block the loop on a stuck sentinel for long: writes poll (`write_all`).
            // SAFETY: fcntl on a descriptor we own.
            unsafe {
                let fd = s.as_raw_fd();
                let flags = libc::fcntl(fd, libc::F_GETFL);
                if flags >= 0 {
                    libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK);
                }
                if libc::fcntl(fd, libc::F_SETPIPE_SZ, PIPE_SIZE) < 0 {
                    debug!(
                        "sentinel pipe: keeping the default size: {}",
                        io::Error::last_os_error()
                    );
                }
            }
        }
        debug!("sentinel running as pid {}", child.id());
        Ok(Sentinel {
            child,
            stdin,
            written: None,
            cleanup: None,
            lost_at: None,
            checked_at: Instant::now(),
        })
    }

    /// Keeps a sentinel running: at most every [`RESPAWN_AFTER`] checks that the process
    /// lives, and [`RESPAWN_AFTER`] after it was lost spawns a new one, armed with the
    /// cleanup set the old one had. Returns true when a new sentinel was spawned: its last
    /// words are then to be written again in full.
    pub fn keep_running(&mut self) -> bool {
        let now = Instant::now();
        if self.lost_at.is_none() && now.duration_since(self.checked_at) >= RESPAWN_AFTER {
            self.checked_at = now;
            if let Ok(Some(status)) = self.child.try_wait() {
                warn!(
                    "sentinel (pid {}) exited ({status}); a new one in {} s",
                    self.child.id(),
                    RESPAWN_AFTER.as_secs()
                );
                drop(self.stdin.take());
                self.lost_at = Some(now);
            }
        }
        match self.lost_at {
            Some(at) if now.duration_since(at) >= RESPAWN_AFTER => {}
            _ => return false,
        }
        match Sentinel::spawn() {
            Ok(mut new) => {
                if let Some(cleanup) = self.cleanup.take() {
                    new.arm_cleanup(cleanup);
                }
                let old = std::mem::replace(self, new);
                warn!(
                    "sentinel replaced: pid {} (was {})",
                    self.child.id(),
                    old.child.id()
                );
                old.reap();
                true
            }
            Err(e) => {
                warn!("{e:#}; trying again in {} s", RESPAWN_AFTER.as_secs());
                self.lost_at = Some(now);
                false
            }
        }
    }

    /// Waits for a lost sentinel (already killed or exited) off the loop's thread.
    fn reap(mut self) {
        drop(self.stdin.take());
        let _ = self.child.kill();
        let spawned = std::thread::Builder::new()
            .name("sentinel-reap".into())
            .spawn(move || {
                let _ = self.child.wait();
            });
        if let Err(e) = spawned {
            debug!("reaping the old sentinel: {e}");
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Tells the sentinel the frames to send if the daemon dies (replacing the previous).
    pub fn arm(&mut self, words: Vec<LastWord>) {
        if self.written.as_ref() == Some(&words) {
            return;
        }
        let msg = encode_frames(&words);
        if self.write(&msg) {
            self.written = Some(words);
        }
    }

    /// Tells the sentinel the netlink requests to send if the daemon dies (replacing the
    /// previous set).
    pub fn arm_cleanup(&mut self, requests: Vec<Vec<u8>>) {
        if self.cleanup.as_ref() == Some(&requests) {
            return;
        }
        if self.write(&encode_cleanup(&requests)) {
            self.cleanup = Some(requests);
        }
    }

    /// Clean stop: the sentinel sends nothing and exits; waits for it (bounded).
    pub fn disarm(mut self) {
        self.write(&message(TAG_DISARM, &[]));
        drop(self.stdin.take());
        let until = Instant::now() + EXIT_LIMIT;
        loop {
            match self.child.try_wait() {
                Ok(Some(_)) => return,
                Ok(None) if Instant::now() < until => std::thread::sleep(Duration::from_millis(2)),
                Ok(None) => {
                    warn!("the sentinel did not exit after the disarm; killing it");
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    return;
                }
                Err(e) => {
                    warn!("waiting for the sentinel: {e}");
                    return;
                }
            }
        }
    }

    /// Writes `msg` whole within [`WRITE_LIMIT`]; on failure the sentinel is given up
    /// (a half-written message would desynchronise it), with a warning.
    fn write(&mut self, msg: &[u8]) -> bool {
        let Some(stdin) = self.stdin.as_mut() else {
            return false;
        };
        match write_all(stdin, msg, WRITE_LIMIT) {
            Ok(()) => true,
            Err(e) => {
                warn!(
                    "sentinel (pid {}): {e:#}; no last words if hsrpd dies until a new \
                     sentinel runs ({} s)",
                    self.child.id(),
                    RESPAWN_AFTER.as_secs()
                );
                drop(self.stdin.take());
                let _ = self.child.kill();
                let _ = self.child.try_wait();
                self.lost_at = Some(Instant::now());
                false
            }
        }
    }
}

/// Moves the pipe to the highest descriptor number the process may have. Why: a dying
/// process's files are released in reverse order of closing (the kernel runs the deferred
/// releases last-in first-out, and closes descriptors in ascending order), so the highest
/// descriptor is released first. Releasing the XDP link and the BPF objects can take tens
/// of milliseconds (RCU grace periods); the sentinel should hear of the death before that,
/// not after. (The data plane stops forwarding moments later either way, and the Standby
/// needs the moments to take over.) Falls back to the descriptor as it is.
fn to_top_fd(fd: OwnedFd) -> File {
    use std::os::fd::FromRawFd;
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit into a valid struct.
    let top = if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } == 0 {
        lim.rlim_cur.min(1 << 16).saturating_sub(1)
    } else {
        0
    };
    if top > 64 {
        // SAFETY: fcntl on a descriptor we own; the result is checked.
        let high = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_DUPFD_CLOEXEC, top as i32) };
        if high >= 0 {
            // SAFETY: `high` is a fresh descriptor owned by nobody else.
            return unsafe { File::from_raw_fd(high) };
        }
        debug!(
            "moving the sentinel pipe up: {}",
            io::Error::last_os_error()
        );
    }
    File::from(fd)
}

/// Writes all of `buf` to a non-blocking pipe, polling while it is full, within `limit`.
fn write_all(w: &mut File, mut buf: &[u8], limit: Duration) -> Result<()> {
    let until = Instant::now() + limit;
    while !buf.is_empty() {
        match w.write(buf) {
            Ok(0) => bail!("the pipe to the sentinel is closed"),
            Ok(n) => buf = &buf[n..],
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                let left = until.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    bail!("the sentinel has not read for {} ms", limit.as_millis());
                }
                let mut pfd = libc::pollfd {
                    fd: w.as_raw_fd(),
                    events: libc::POLLOUT,
                    revents: 0,
                };
                // SAFETY: one valid pollfd.
                unsafe {
                    libc::poll(&mut pfd, 1, left.as_millis().max(1) as i32);
                }
            }
            Err(e) => return Err(e).context("writing to the sentinel"),
        }
    }
    Ok(())
}
