//! The daemon's end of the sentinel: spawning it, and the pipe the last words go down
//! (non-blocking, bounded, moved to the highest descriptor).

use std::fs::File;
use std::io::{self, Write};
use std::os::fd::AsRawFd;
use std::os::fd::OwnedFd;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use log::{debug, warn};

use super::message::{encode_cleanup, encode_frames, message, LastWord, TAG_DISARM};

/// Longest a clean stop waits for the disarm to go down the pipe.
const WRITE_LIMIT: Duration = Duration::from_millis(50);
/// Longest the pipe may stay full (the sentinel reading nothing) before the sentinel is
/// given up and replaced. Far longer than a busy host keeps a process off the CPU: under
/// reload churn on a loaded machine the last words change every few milliseconds, and a
/// sentinel not scheduled for 50 ms (the limit when the loop waited for it) was replaced
/// for nothing.
const STUCK_LIMIT: Duration = Duration::from_secs(2);
/// Longest a clean stop waits for the sentinel to exit.
const EXIT_LIMIT: Duration = Duration::from_millis(500);
/// How long after a sentinel was lost a new one is spawned, and how often the daemon
/// checks that its sentinel still runs.
pub const RESPAWN_AFTER: Duration = Duration::from_secs(1);
/// The pipe's capacity: a thousand groups' last words are about 100 KB, more than a pipe's
/// default 64 KiB; with room for several sets a sentinel that was not scheduled for a while
/// finds them waiting and the daemon rarely has anything left in its outbox. 1 MiB is the
/// kernel's default `fs.pipe-max-size`.
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
    /// The newest set handed over (written, or in `outbox`), so an unchanged set is not
    /// sent again.
    armed: Option<Vec<LastWord>>,
    /// What is on its way down the pipe.
    outbox: Outbox,
    /// The last netlink cleanup set handed over.
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
            armed: None,
            outbox: Outbox::default(),
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
    /// down the pipe as far as it takes them now, the rest by [`Sentinel::flush`].
    pub fn arm(&mut self, words: Vec<LastWord>) {
        if self.armed.as_ref() == Some(&words) {
            return;
        }
        self.outbox.frames = Some(encode_frames(&words));
        self.armed = Some(words);
        self.flush();
    }

    /// Tells the sentinel the netlink requests to send if the daemon dies (replacing the
    /// previous set).
    pub fn arm_cleanup(&mut self, requests: Vec<Vec<u8>>) {
        if self.cleanup.as_ref() == Some(&requests) {
            return;
        }
        self.outbox
            .begun
            .extend_from_slice(&encode_cleanup(&requests));
        self.cleanup = Some(requests);
        self.flush();
    }

    /// Writes what the pipe takes now, never waiting for the sentinel: a sentinel merely
    /// not scheduled must not hold up the loop. One that has read nothing for
    /// [`STUCK_LIMIT`] is given up (and replaced).
    pub fn flush(&mut self) {
        let Some(stdin) = self.stdin.as_mut() else {
            return;
        };
        match self.outbox.flush(stdin) {
            Ok(_) if self.outbox.stuck_for() < STUCK_LIMIT => {}
            Ok(_) => self.give_up(&format!(
                "the sentinel has not read for {} s",
                STUCK_LIMIT.as_secs()
            )),
            Err(e) => self.give_up(&format!("writing to the sentinel: {e}")),
        }
    }

    /// Clean stop: the sentinel sends nothing and exits; waits for it (bounded).
    pub fn disarm(mut self) {
        // What was begun is finished first; a frame set not begun is moot now.
        self.outbox.frames = None;
        self.outbox
            .begun
            .extend_from_slice(&message(TAG_DISARM, &[]));
        if let Some(stdin) = self.stdin.as_mut() {
            let until = Instant::now() + WRITE_LIMIT;
            loop {
                match self.outbox.flush(stdin) {
                    Ok(true) => break,
                    Ok(false) if Instant::now() < until => wait_writable(stdin, until),
                    Ok(false) => {
                        warn!(
                            "the sentinel has not read for {} ms",
                            WRITE_LIMIT.as_millis()
                        );
                        break;
                    }
                    Err(e) => {
                        warn!("writing to the sentinel: {e}");
                        break;
                    }
                }
            }
        }
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

    /// The sentinel is lost: killed, and a new one spawned [`RESPAWN_AFTER`] from now.
    fn give_up(&mut self, why: &str) {
        warn!(
            "sentinel (pid {}): {why}; no last words if hsrpd dies until a new sentinel \
             runs ({} s)",
            self.child.id(),
            RESPAWN_AFTER.as_secs()
        );
        drop(self.stdin.take());
        self.outbox = Outbox::default();
        let _ = self.child.kill();
        let _ = self.child.try_wait();
        self.lost_at = Some(Instant::now());
    }
}

/// What is on its way to the sentinel: the rest of messages the pipe could not take at
/// once, finished before anything else goes (the sentinel never reads half a message
/// followed by another), then the newest frame set not yet begun (a newer one replaces
/// it: only the last set counts).
#[derive(Debug, Default)]
struct Outbox {
    begun: Vec<u8>,
    frames: Option<Vec<u8>>,
    /// Since when the pipe has been full with no byte taken, if it is.
    full_since: Option<Instant>,
}

impl Outbox {
    /// Writes to the non-blocking `w` what it takes now: Ok(true) when all is written.
    fn flush(&mut self, w: &mut impl Write) -> io::Result<bool> {
        loop {
            if self.begun.is_empty() {
                match self.frames.take() {
                    Some(m) => self.begun = m,
                    None => {
                        self.full_since = None;
                        return Ok(true);
                    }
                }
            }
            match w.write(&self.begun) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => {
                    self.begun.drain(..n);
                    self.full_since = None;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.full_since.get_or_insert_with(Instant::now);
                    return Ok(false);
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// How long the pipe has been full without taking a byte.
    fn stuck_for(&self) -> Duration {
        self.full_since.map_or(Duration::ZERO, |t| t.elapsed())
    }
}

/// Waits until the pipe `w` takes more, or `until`.
fn wait_writable(w: &File, until: Instant) {
    let left = until.saturating_duration_since(Instant::now());
    let mut pfd = libc::pollfd {
        fd: w.as_raw_fd(),
        events: libc::POLLOUT,
        revents: 0,
    };
    // SAFETY: one valid pollfd, for the duration of the call.
    unsafe {
        libc::poll(&mut pfd, 1, left.as_millis().max(1) as i32);
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
    fn a_message_the_pipe_cannot_take_is_finished_before_the_next_and_only_the_last_set_goes() {
        let (mut r, mut w, size) = pipe();
        // A first set bigger than the pipe: part of it goes, the loop does not wait.
        let first = vec![1u8; size + 5000];
        let mut out = Outbox {
            frames: Some(first.clone()),
            ..Outbox::default()
        };
        let t = Instant::now();
        assert!(!out.flush(&mut w).unwrap());
        assert!(
            t.elapsed() < Duration::from_millis(50),
            "it waited for the reader"
        );
        assert!(out.full_since.is_some());
        // Two newer sets while the pipe is full: the last replaces the other, unwritten.
        out.frames = Some(vec![2u8; 300]);
        out.frames = Some(vec![3u8; 700]);
        // A cleanup set goes right after what was begun.
        out.begun.extend_from_slice(&[4u8; 10]);
        assert!(!out.flush(&mut w).unwrap());
        // The reader reads; each flush takes the rest as far as the pipe allows.
        let mut got = Vec::new();
        let mut buf = vec![0u8; 8192];
        for _ in 0..100 {
            match r.read(&mut buf) {
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(e) => assert_eq!(e.kind(), io::ErrorKind::WouldBlock),
            }
            if out.flush(&mut w).unwrap() && got.len() == size + 5000 + 10 + 700 {
                break;
            }
        }
        let mut want = first;
        want.extend_from_slice(&[4u8; 10]);
        want.extend_from_slice(&[3u8; 700]);
        assert_eq!(got.len(), want.len());
        assert!(
            got == want,
            "the stream is not the messages in order, whole"
        );
        assert!(out.full_since.is_none());
        assert_eq!(out.stuck_for(), Duration::ZERO);
    }

    #[test]
    fn a_pipe_nobody_reads_is_stuck_and_a_closed_one_an_error() {
        let (r, mut w, size) = pipe();
        let mut out = Outbox {
            frames: Some(vec![0u8; size + 1]),
            ..Outbox::default()
        };
        assert!(!out.flush(&mut w).unwrap());
        std::thread::sleep(Duration::from_millis(20));
        assert!(!out.flush(&mut w).unwrap());
        assert!(out.stuck_for() >= Duration::from_millis(20));
        drop(r);
        let e = out.flush(&mut w).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::BrokenPipe);
    }
}
