//! The service manager's notification socket (sd_notify(3)): one datagram per message, to
//! the `AF_UNIX` address in `NOTIFY_SOCKET` (a path, or `@name` for the abstract
//! namespace). systemd's `Type=notify` waits for `READY=1`; with `WatchdogSec=` it sets
//! `WATCHDOG_USEC` and expects `WATCHDOG=1` at least that often.
//!
//! The protocol is a few lines of text on a datagram socket, so it is written here rather
//! than taken from a crate.

use std::io;
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::time::Duration;

/// A connection to the service manager, when there is one.
#[derive(Debug)]
pub struct Notifier {
    socket: UnixDatagram,
    to: SocketAddr,
}

impl Notifier {
    /// The notifier `NOTIFY_SOCKET` names; `None` when unset or empty (not started by a
    /// service manager that listens). An address that cannot be used is an error.
    pub fn from_env() -> io::Result<Option<Notifier>> {
        match std::env::var("NOTIFY_SOCKET") {
            Ok(addr) if !addr.is_empty() => Notifier::new(&addr).map(Some),
            _ => Ok(None),
        }
    }

    /// A notifier for `addr`: a socket path, or `@name` for an abstract address.
    pub fn new(addr: &str) -> io::Result<Notifier> {
        let to = match addr.strip_prefix('@') {
            Some(name) => SocketAddr::from_abstract_name(name.as_bytes())?,
            None if addr.starts_with('/') => SocketAddr::from_pathname(addr)?,
            None => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("NOTIFY_SOCKET={addr:?} is neither a path nor @abstract"),
                ))
            }
        };
        let socket = UnixDatagram::unbound()?;
        Ok(Notifier { socket, to })
    }

    /// Sends one message, e.g. `READY=1` or `STATUS=...` (several as `A=1\nB=2`).
    pub fn notify(&self, message: &str) -> io::Result<()> {
        self.socket
            .send_to_addr(message.as_bytes(), &self.to)
            .map(|_| ())
    }
}

/// How often the service manager expects `WATCHDOG=1`: `WATCHDOG_USEC`, when set for this
/// process (`WATCHDOG_PID`, when present, names it).
pub fn watchdog_timeout() -> Option<Duration> {
    watchdog_timeout_from(
        std::env::var("WATCHDOG_USEC").ok().as_deref(),
        std::env::var("WATCHDOG_PID").ok().as_deref(),
        std::process::id(),
    )
}

fn watchdog_timeout_from(usec: Option<&str>, pid: Option<&str>, me: u32) -> Option<Duration> {
    if let Some(pid) = pid {
        if pid.parse::<u32>().ok() != Some(me) {
            return None;
        }
    }
    let usec: u64 = usec?.parse().ok()?;
    (usec > 0).then(|| Duration::from_micros(usec))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn watchdog_timeout_is_read_for_this_process_only() {
        assert_eq!(
            watchdog_timeout_from(Some("2000000"), None, 7),
            Some(Duration::from_secs(2))
        );
        assert_eq!(
            watchdog_timeout_from(Some("2000000"), Some("7"), 7),
            Some(Duration::from_secs(2))
        );
        assert_eq!(watchdog_timeout_from(Some("2000000"), Some("8"), 7), None);
        assert_eq!(watchdog_timeout_from(Some("0"), None, 7), None);
        assert_eq!(watchdog_timeout_from(Some("x"), None, 7), None);
        assert_eq!(watchdog_timeout_from(None, None, 7), None);
    }

    #[test]
    fn messages_arrive_on_path_and_abstract_sockets() {
        let dir = std::env::temp_dir().join(format!("hsrpd-notify-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("notify.sock");
        let _ = std::fs::remove_file(&path);
        let rx = UnixDatagram::bind(&path).unwrap();
        Notifier::new(path.to_str().unwrap())
            .unwrap()
            .notify("READY=1")
            .unwrap();
        let mut buf = [0u8; 64];
        let n = rx.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"READY=1");

        let name = format!("hsrpd-notify-test-{}", std::process::id());
        let rx = UnixDatagram::bind_addr(&SocketAddr::from_abstract_name(&name).unwrap()).unwrap();
        Notifier::new(&format!("@{name}"))
            .unwrap()
            .notify("WATCHDOG=1")
            .unwrap();
        let n = rx.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"WATCHDOG=1");

        assert!(Notifier::new("relative/path").is_err());
        let _ = std::fs::remove_dir_all(dir);
    }
}
