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

/// Longest a write to the sentinel may block the daemon's loop (a message the pipe can not
/// hold whole, or a pipe whose fill level is unknown).
const WRITE_LIMIT: Duration = Duration::from_millis(50);
/// Longest a set of last words may wait for room in the pipe before the sentinel, which
/// has not read all that time, is given up and replaced. Far longer than a busy host keeps
/// a process off the CPU: under reload churn on a loaded machine the set changes every few
/// milliseconds, and a sentinel not scheduled for 50 ms was replaced for nothing.
const STUCK_LIMIT: Duration = Duration::from_secs(2);
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
    /// The newest set, not written yet for want of room in the pipe: written whole once
    /// the sentinel has read enough (a newer set replaces it unwritten).
    pending: Option<Pending>,
    /// The pipe's capacity (0: unknown, every write waits up to [`WRITE_LIMIT`]).
    pipe_size: usize,
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
        let mut pipe_size = 0;
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
                pipe_size = usize::try_from(libc::fcntl(fd, libc::F_GETPIPE_SZ)).unwrap_or(0);
            }
        }
        debug!("sentinel running as pid {}", child.id());
        Ok(Sentinel {
            child,
            stdin,
            written: None,
            pending: None,
            pipe_size,
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

    /// Tells the sentinel the frames to send if the daemon dies (replacing the previous):
    /// at once if the pipe has room for the whole set, else as soon as it has
    /// ([`Sentinel::flush`]).
    pub fn arm(&mut self, words: Vec<LastWord>) {
        if self.written.as_ref() == Some(&words) {
            self.pending = None;
            return;
        }
        let msg = encode_frames(&words);
        // A set that replaces one still waiting waits since the first.
        let since = self.pending.take().map_or_else(Instant::now, |p| p.since);
        self.pending = Some(Pending { words, msg, since });
        self.flush();
    }

    /// Writes the waiting set if the pipe now has room for all of it. Never blocks the
    /// loop on a sentinel that is merely not scheduled, never writes half a message; a
    /// sentinel that has not made room for [`STUCK_LIMIT`] is given up (and replaced).
    pub fn flush(&mut self) {
        let Some(p) = self.pending.take() else {
            return;
        };
        let Some(stdin) = self.stdin.as_mut() else {
            return;
        };
        match write_if_room(stdin, &p.msg, self.pipe_size) {
            Ok(true) => self.written = Some(p.words),
            Ok(false) if p.since.elapsed() < STUCK_LIMIT => self.pending = Some(p),
            Ok(false) => self.give_up(&format!(
                "the sentinel has not read for {} s",
                STUCK_LIMIT.as_secs()
            )),
            Err(e) => self.give_up(&format!("{e:#}")),
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
                self.give_up(&format!("{e:#}"));
                false
            }
        }
    }

    /// The sentinel is lost: killed, and a new one spawned [`RESPAWN_AFTER`] from now.
    fn give_up(&mut self, why: &str) {
        warn!(
            "sentinel (pid {}): {why}; no last words if hsrpd dies until a new sentinel \
             runs ({} s)",
            self.child.id(),
            RESPAWN_AFTER.as_secs()
        );
        drop(self.stdin.take());
        self.pending = None;
        let _ = self.child.kill();
        let _ = self.child.try_wait();
        self.lost_at = Some(Instant::now());
    }
}

/// A set of last words waiting for room in the pipe.
struct Pending {
    words: Vec<LastWord>,
    msg: Vec<u8>,
    since: Instant,
}

/// Writes `msg` whole to the non-blocking pipe `w` of capacity `pipe_size` if it has room
/// for all of it now: Ok(false) when not (nothing written, so the stream stays in step). A
/// message longer than the pipe, or a pipe whose fill level is unknown, is written as
/// before, waiting up to [`WRITE_LIMIT`] for the sentinel to read.
fn write_if_room(w: &mut File, msg: &[u8], pipe_size: usize) -> Result<bool> {
    let page = page_size();
    if msg.len() + 2 * page <= pipe_size {
        if let Some(queued) = unread_bytes(w) {
            if !fits(queued, msg.len(), pipe_size, page) {
                return Ok(false);
            }
        }
    }
    write_all(w, msg, WRITE_LIMIT)?;
    Ok(true)
}

/// Whether `len` more bytes fit in a pipe of `size` bytes holding `queued` unread ones. A
/// pipe is a ring of page-sized buffers, not of bytes: a page the reader has partly
/// consumed, or the writer partly filled, takes a whole slot. Writes fill the last page
/// before taking a new one, so at most two slots (first and last) are partly used: the
/// queued bytes take at most `ceil(queued / page) + 1` slots, the message at most
/// `ceil(len / page)`.
fn fits(queued: usize, len: usize, size: usize, page: usize) -> bool {
    queued.div_ceil(page) + 1 + len.div_ceil(page) <= size / page
}

fn page_size() -> usize {
    // SAFETY: sysconf reads a constant of the system.
    usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) })
        .ok()
        .filter(|&p| p > 0)
        .unwrap_or(4096)
}

/// Bytes written to the pipe `w` and not yet read (FIONREAD), if the kernel says.
fn unread_bytes(w: &File) -> Option<usize> {
    let mut n: libc::c_int = 0;
    // SAFETY: FIONREAD writes one int through the valid pointer; `w` is an open pipe.
    let rc = unsafe { libc::ioctl(w.as_raw_fd(), libc::FIONREAD, &mut n) };
    if rc < 0 {
        return None;
    }
    usize::try_from(n).ok()
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::os::fd::FromRawFd;

    /// A non-blocking pipe: (read end, write end, capacity).
    fn pipe() -> (File, File, usize) {
        let mut fds = [0; 2];
        // SAFETY: pipe2 writes two descriptors into the array, which we then own.
        assert_eq!(
            unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_NONBLOCK) },
            0
        );
        // SAFETY: fresh descriptors owned by nobody else.
        let (r, w) = unsafe { (File::from_raw_fd(fds[0]), File::from_raw_fd(fds[1])) };
        // SAFETY: fcntl on a descriptor we own.
        let size = unsafe { libc::fcntl(w.as_raw_fd(), libc::F_GETPIPE_SZ) };
        (r, w, usize::try_from(size).unwrap())
    }

    #[test]
    fn a_message_waits_whole_until_the_pipe_has_room_for_it() {
        let (mut r, mut w, size) = pipe();
        let first = vec![1u8; size - 100];
        assert!(write_if_room(&mut w, &first, size).unwrap());
        assert_eq!(unread_bytes(&w), Some(size - 100));
        // 200 bytes do not fit in the 100 left: nothing of them is written.
        let second = vec![2u8; 200];
        let t = Instant::now();
        assert!(!write_if_room(&mut w, &second, size).unwrap());
        assert!(t.elapsed() < WRITE_LIMIT, "it waited for the reader");
        assert_eq!(unread_bytes(&w), Some(size - 100));
        // The reader takes 1000 bytes: bytes, but no page, are free (the kernel would take
        // 96 bytes and refuse the rest): still not written.
        let page = page_size();
        let mut buf = vec![0u8; 1000];
        r.read_exact(&mut buf).unwrap();
        assert!(!write_if_room(&mut w, &second, size).unwrap());
        // Two more pages read: the message goes, whole and after the first.
        let mut buf = vec![0u8; 2 * page];
        r.read_exact(&mut buf).unwrap();
        assert!(write_if_room(&mut w, &second, size).unwrap());
        let taken = 1000 + 2 * page;
        let mut rest = Vec::new();
        let _ = r.read_to_end(&mut rest);
        assert_eq!(rest.len(), size - 100 - taken + 200);
        assert!(rest[..size - 100 - taken].iter().all(|&b| b == 1));
        assert!(rest[size - 100 - taken..].iter().all(|&b| b == 2));
    }

    #[test]
    fn room_is_counted_in_pages() {
        // 16 pages of 4 KiB.
        let (size, page) = (16 * 4096, 4096);
        assert!(fits(0, 14 * 4096, size, page));
        assert!(fits(0, 15 * 4096, size, page));
        assert!(!fits(1, 15 * 4096, size, page));
        // 10 pages and a bit queued: at most 12 slots, 4 left.
        assert!(fits(10 * 4096 + 1, 4 * 4096, size, page));
        assert!(!fits(10 * 4096 + 1, 4 * 4096 + 1, size, page));
    }

    #[test]
    fn a_message_longer_than_the_pipe_waits_for_the_reader_bounded() {
        let (_r, mut w, size) = pipe();
        // Nobody reads: the write gives up after WRITE_LIMIT with an error naming why.
        let e = write_if_room(&mut w, &vec![0u8; size + 1], size).unwrap_err();
        assert!(e.to_string().contains("has not read"), "{e:#}");
    }
}
