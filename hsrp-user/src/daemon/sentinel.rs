//! The sentinel: last words when the daemon dies without a clean stop.
//!
//! A SIGKILLed (or panicking, or aborting) daemon cannot send Resign, so its Standby would
//! wait a full hold time, though the dead router stopped forwarding the moment its XDP
//! link closed. keepalived is fast there because its VRRP child outlives its parent and
//! sends a priority-0 advert; this is the HSRP equivalent.
//!
//! At the start of `hsrpd run`, before the data plane is loaded or any socket opened (so it
//! inherits no XDP link, map or socket), the daemon spawns its own executable as
//! `hsrpd sentinel` with stdin piped and SIGINT/SIGTERM/SIGHUP ignored. Whenever the last
//! words change (the set of Active groups, or what their Resign would say), the daemon
//! writes them down the pipe: per Active group, the interface index and the complete
//! Resign frame, built exactly as `actions` builds it. The sentinel only reads, never
//! sends, while the daemon lives. On a clean stop the daemon writes a disarm and closes
//! the pipe; the sentinel exits silently. On end of input without a disarm the daemon is
//! gone: the sentinel sends each frame twice, 1 ms apart, on a packet socket of its
//! interface, logs a line per group and exits. A Resign is truthful then: with the daemon
//! gone, its XDP program is detached and the router no longer forwards for the VIP.
//!
//! Pipe format, one message after another: a tag byte, a big-endian u32 body length, the
//! body. [`TAG_FRAMES`]: zero or more `ifindex u32, label length u16, label, frame length
//! u16, frame`; it replaces the previous set. [`TAG_DISARM`]: empty body. [`TAG_CLEANUP`]:
//! zero or more `length u16, netlink request`, sent on a NETLINK_ROUTE socket after the
//! Resigns (the local routes of `standby G accept` groups, see `net::local_route`); it
//! replaces the previous set.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::os::fd::OwnedFd;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use log::{debug, warn};

/// A message replacing the frames to send on the daemon's death.
const TAG_FRAMES: u8 = 1;
/// The daemon stops cleanly: send nothing.
const TAG_DISARM: u8 = 2;
/// A message replacing the netlink requests to send on the daemon's death.
const TAG_CLEANUP: u8 = 3;
/// Largest message body accepted (4096 groups of a few hundred bytes fit easily).
const MAX_BODY: usize = 16 << 20;
/// Longest a write to the sentinel may block the daemon's loop.
const WRITE_LIMIT: Duration = Duration::from_millis(50);
/// Longest a clean stop waits for the sentinel to exit.
const EXIT_LIMIT: Duration = Duration::from_millis(500);
/// Gap between the two copies of each frame.
const REPEAT_GAP: Duration = Duration::from_millis(1);

/// One frame the sentinel sends if the daemon dies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LastWord {
    pub ifindex: u32,
    /// For the log line, e.g. "lan0 grp 1".
    pub label: String,
    /// The complete Ethernet frame.
    pub frame: Vec<u8>,
}

/// Encodes a [`TAG_FRAMES`] message.
pub fn encode_frames(words: &[LastWord]) -> Vec<u8> {
    let mut body = Vec::new();
    for w in words {
        let label = &w.label.as_bytes()[..w.label.len().min(u16::MAX as usize)];
        let frame = &w.frame[..w.frame.len().min(u16::MAX as usize)];
        body.extend_from_slice(&w.ifindex.to_be_bytes());
        body.extend_from_slice(&(label.len() as u16).to_be_bytes());
        body.extend_from_slice(label);
        body.extend_from_slice(&(frame.len() as u16).to_be_bytes());
        body.extend_from_slice(frame);
    }
    message(TAG_FRAMES, &body)
}

fn message(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(5 + body.len());
    m.push(tag);
    m.extend_from_slice(&(body.len() as u32).to_be_bytes());
    m.extend_from_slice(body);
    m
}

/// Decodes a [`TAG_FRAMES`] body.
fn decode_frames(mut body: &[u8]) -> Result<Vec<LastWord>> {
    fn take<'a>(b: &mut &'a [u8], n: usize, what: &str) -> Result<&'a [u8]> {
        if b.len() < n {
            bail!("truncated {what}: {} byte(s) left, {n} needed", b.len());
        }
        let (head, tail) = b.split_at(n);
        *b = tail;
        Ok(head)
    }
    let u16_of = |s: &[u8]| usize::from(u16::from_be_bytes([s[0], s[1]]));
    let mut words = Vec::new();
    while !body.is_empty() {
        let ifindex = take(&mut body, 4, "ifindex")?;
        let ifindex = u32::from_be_bytes([ifindex[0], ifindex[1], ifindex[2], ifindex[3]]);
        let n = u16_of(take(&mut body, 2, "label length")?);
        let label = String::from_utf8_lossy(take(&mut body, n, "label")?).into_owned();
        let n = u16_of(take(&mut body, 2, "frame length")?);
        let frame = take(&mut body, n, "frame")?.to_vec();
        words.push(LastWord {
            ifindex,
            label,
            frame,
        });
    }
    Ok(words)
}

/// What the sentinel read before its input ended.
#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    /// The daemon stopped cleanly.
    Disarmed,
    /// The daemon died: these are its last words (possibly none).
    Died(Vec<LastWord>),
}

/// Encodes a [`TAG_CLEANUP`] message.
pub fn encode_cleanup(requests: &[Vec<u8>]) -> Vec<u8> {
    let mut body = Vec::new();
    for r in requests.iter().filter(|r| r.len() <= usize::from(u16::MAX)) {
        body.extend_from_slice(&(r.len() as u16).to_be_bytes());
        body.extend_from_slice(r);
    }
    message(TAG_CLEANUP, &body)
}

fn decode_cleanup(mut body: &[u8]) -> Result<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    while !body.is_empty() {
        if body.len() < 2 {
            bail!("truncated cleanup length");
        }
        let n = usize::from(u16::from_be_bytes([body[0], body[1]]));
        if body.len() < 2 + n {
            bail!("truncated cleanup request");
        }
        out.push(body[2..2 + n].to_vec());
        body = &body[2 + n..];
    }
    Ok(out)
}

/// Reads messages until end of input. A truncated or malformed message (the daemon died
/// mid-write) is ignored: the last complete set stands.
#[cfg(test)]
fn read_until_eof(input: &mut impl Read) -> Verdict {
    read_all(input, &mut Vec::new())
}

/// [`read_until_eof`], also keeping the last [`TAG_CLEANUP`] set in `cleanup`.
fn read_all(input: &mut impl Read, cleanup: &mut Vec<Vec<u8>>) -> Verdict {
    let mut words = Vec::new();
    loop {
        let mut head = [0u8; 5];
        if let Err(e) = input.read_exact(&mut head) {
            if e.kind() != io::ErrorKind::UnexpectedEof {
                eprintln!("hsrpd sentinel: reading from the daemon: {e}");
            }
            return Verdict::Died(words);
        }
        let len = u32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize;
        if len > MAX_BODY {
            eprintln!("hsrpd sentinel: message of {len} bytes from the daemon ignored");
            // Out of step with the stream from here on: wait for the end of input.
            let _ = io::copy(input, &mut io::sink());
            return Verdict::Died(words);
        }
        let mut body = vec![0u8; len];
        if input.read_exact(&mut body).is_err() {
            return Verdict::Died(words);
        }
        match head[0] {
            TAG_DISARM => {
                // Nothing more to do; wait for the pipe to close so the daemon never sees
                // a broken pipe.
                let _ = io::copy(input, &mut io::sink());
                return Verdict::Disarmed;
            }
            TAG_FRAMES => match decode_frames(&body) {
                Ok(w) => words = w,
                Err(e) => eprintln!("hsrpd sentinel: bad message from the daemon: {e:#}"),
            },
            TAG_CLEANUP => match decode_cleanup(&body) {
                Ok(c) => *cleanup = c,
                Err(e) => eprintln!("hsrpd sentinel: bad message from the daemon: {e:#}"),
            },
            t => eprintln!("hsrpd sentinel: unknown message tag {t} from the daemon"),
        }
    }
}

/// `hsrpd sentinel`: waits for the daemon's end and speaks its last words if it died.
pub fn main() -> Result<ExitCode> {
    ignore_stop_signals();
    let mut cleanup = Vec::new();
    let verdict = read_all(&mut io::stdin().lock(), &mut cleanup);
    let Verdict::Died(words) = verdict else {
        return Ok(ExitCode::SUCCESS);
    };
    resign(&words);
    for request in &cleanup {
        match crate::net::local_route::request(request) {
            Ok(_) => eprintln!("hsrpd died: removed a local route of an accept group"),
            Err(e) => eprintln!("hsrpd died: removing a local route: {e}"),
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Sends each Resign frame twice, 1 ms apart, and says what was sent.
fn resign(words: &[LastWord]) {
    if words.is_empty() {
        return;
    }
    let mut sockets: Vec<(u32, Option<RawPacketSocket>)> = Vec::new();
    // Per frame: did any copy go out.
    let mut sent = vec![false; words.len()];
    for round in 0..2 {
        if round > 0 {
            std::thread::sleep(REPEAT_GAP);
        }
        for (k, w) in words.iter().enumerate() {
            let at = match sockets.iter().position(|(i, _)| *i == w.ifindex) {
                Some(at) => at,
                None => {
                    let s = RawPacketSocket::open(w.ifindex)
                        .map_err(|e| {
                            eprintln!("hsrpd sentinel: ifindex {}: {e:#}", w.ifindex);
                        })
                        .ok();
                    sockets.push((w.ifindex, s));
                    sockets.len() - 1
                }
            };
            let Some(socket) = &sockets[at].1 else {
                continue;
            };
            match socket.send(&w.frame) {
                Ok(()) => sent[k] = true,
                Err(e) => eprintln!("hsrpd sentinel: {}: sending Resign: {e:#}", w.label),
            }
        }
    }
    for (w, sent) in words.iter().zip(sent) {
        if sent {
            eprintln!("hsrpd died: sent Resign for {}", w.label);
        } else {
            eprintln!("hsrpd died: could not send Resign for {}", w.label);
        }
    }
}

/// The sentinel lives until its input ends: a Ctrl-C to the terminal's process group or a
/// SIGTERM/SIGHUP meant for the daemon must not take it away first.
fn ignore_stop_signals() {
    for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        // SAFETY: setting a signal's disposition to SIG_IGN has no memory effects.
        unsafe {
            libc::signal(sig, libc::SIG_IGN);
        }
    }
}

/// A send-only AF_PACKET socket bound to one interface (protocol 0: it receives nothing).
struct RawPacketSocket {
    fd: std::os::fd::OwnedFd,
    ifindex: u32,
}

impl RawPacketSocket {
    fn open(ifindex: u32) -> Result<RawPacketSocket> {
        use std::os::fd::FromRawFd;
        // SAFETY: plain socket(2); the result is checked before use.
        let fd = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
        if fd < 0 {
            return Err(io::Error::last_os_error()).context("opening a packet socket");
        }
        // SAFETY: `fd` is a fresh descriptor owned by nobody else.
        let fd = unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) };
        Ok(RawPacketSocket { fd, ifindex })
    }

    fn send(&self, frame: &[u8]) -> Result<()> {
        if frame.len() < 14 {
            bail!(
                "frame of {} bytes is shorter than an Ethernet header",
                frame.len()
            );
        }
        // SAFETY: sockaddr_ll is plain old data; all-zero is a valid value.
        let mut addr: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        addr.sll_family = libc::AF_PACKET as u16;
        addr.sll_ifindex = self.ifindex as i32;
        addr.sll_halen = 6;
        addr.sll_addr[..6].copy_from_slice(&frame[..6]);
        // SAFETY: the buffer and the address are valid for the lengths given.
        let n = unsafe {
            libc::sendto(
                self.fd.as_raw_fd(),
                frame.as_ptr().cast(),
                frame.len(),
                0,
                (&addr as *const libc::sockaddr_ll).cast(),
                std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        };
        if n < 0 {
            return Err(io::Error::last_os_error()).context("sendto");
        }
        Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

    fn word(ifindex: u32, label: &str, frame: &[u8]) -> LastWord {
        LastWord {
            ifindex,
            label: label.into(),
            frame: frame.to_vec(),
        }
    }

    #[test]
    fn frames_round_trip() {
        let words = vec![
            word(3, "lan0 grp 1", &[1; 62]),
            word(7, "lan1 grp 2", &[2; 80]),
        ];
        let msg = encode_frames(&words);
        assert_eq!(msg[0], TAG_FRAMES);
        assert_eq!(
            read_until_eof(&mut msg.as_slice()),
            Verdict::Died(words.clone())
        );
        assert_eq!(decode_frames(&msg[5..]).unwrap(), words);
    }

    #[test]
    fn the_last_complete_set_stands() {
        let first = vec![word(3, "lan0 grp 1", &[1; 62])];
        let second = vec![
            word(3, "lan0 grp 1", &[1; 62]),
            word(3, "lan0 grp 2", &[2; 62]),
        ];
        let mut input = encode_frames(&first);
        input.extend(encode_frames(&second));
        assert_eq!(
            read_until_eof(&mut input.as_slice()),
            Verdict::Died(second.clone())
        );
        // The daemon died half-way through a third message.
        let third = encode_frames(&[word(4, "x", &[9; 70])]);
        input.extend_from_slice(&third[..third.len() - 5]);
        assert_eq!(read_until_eof(&mut input.as_slice()), Verdict::Died(second));
    }

    #[test]
    fn an_empty_set_or_a_disarm_sends_nothing() {
        let mut input = encode_frames(&[word(3, "lan0 grp 1", &[1; 62])]);
        input.extend(encode_frames(&[]));
        assert_eq!(read_until_eof(&mut input.as_slice()), Verdict::Died(vec![]));
        let mut input = encode_frames(&[word(3, "lan0 grp 1", &[1; 62])]);
        input.extend(message(TAG_DISARM, &[]));
        assert_eq!(read_until_eof(&mut input.as_slice()), Verdict::Disarmed);
    }

    #[test]
    fn malformed_messages_are_ignored() {
        let good = vec![word(3, "lan0 grp 1", &[1; 62])];
        let mut input = encode_frames(&good);
        // A frames message whose body ends inside an entry.
        input.extend(message(TAG_FRAMES, &[0, 0, 0, 1, 0, 9, b'a']));
        input.extend(message(99, &[1, 2, 3]));
        assert_eq!(
            read_until_eof(&mut input.as_slice()),
            Verdict::Died(good.clone())
        );
        let mut input = encode_frames(&good);
        input.extend([TAG_FRAMES, 0xff, 0xff, 0xff, 0xff]);
        assert_eq!(read_until_eof(&mut input.as_slice()), Verdict::Died(good));
    }

    #[test]
    fn cleanup_requests_replace_each_other_and_survive_frames() {
        let a = vec![vec![1u8, 2, 3], vec![4u8; 52]];
        let b = vec![vec![9u8; 52]];
        let mut input = encode_cleanup(&a);
        input.extend(encode_frames(&[]));
        input.extend(encode_cleanup(&b));
        let mut cleanup = Vec::new();
        assert_eq!(
            read_all(&mut input.as_slice(), &mut cleanup),
            Verdict::Died(vec![])
        );
        assert_eq!(cleanup, b);
        // A truncated last message leaves the previous set.
        let mut input = encode_cleanup(&a);
        let partial = encode_cleanup(&b);
        input.extend(&partial[..partial.len() - 1]);
        assert_eq!(
            read_all(&mut input.as_slice(), &mut cleanup),
            Verdict::Died(vec![])
        );
        assert_eq!(cleanup, a);
    }
}
