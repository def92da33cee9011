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
}

impl Sentinel {
    /// Spawns `<current executable> sentinel`. Call before anything the sentinel must not
    /// inherit is opened (Rust opens descriptors close-on-exec, this is belt and braces).
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
            }
        }
        debug!("sentinel running as pid {}", child.id());
        Ok(Sentinel {
            child,
            stdin,
            written: None,
            cleanup: None,
        })
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
                    "sentinel (pid {}): {e:#}; no last words if hsrpd dies",
                    self.child.id()
                );
                drop(self.stdin.take());
                let _ = self.child.kill();
                let _ = self.child.try_wait();
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
