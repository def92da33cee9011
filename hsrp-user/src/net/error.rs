//! The one error type of `net`: every variant names the interface (or the netlink request,
//! or the sysctl file) it is about, so a log line says where things went wrong.

use std::io;
use std::path::PathBuf;

/// An error from the packet socket, netlink or a sysctl.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    /// A system call on an interface failed (`what` is the operation, e.g. "bind").
    #[error("interface {iface}: {what}: {source}")]
    Io {
        iface: String,
        what: &'static str,
        #[source]
        source: io::Error,
    },
    /// No interface has this name (in the caller's network namespace).
    #[error("interface {iface}: no such interface")]
    NoSuchInterface { iface: String },
    /// The name cannot be an interface name (empty, too long, contains '/', ...).
    #[error("interface name {iface:?} is invalid: {reason}")]
    BadInterfaceName { iface: String, reason: &'static str },
    /// A received frame was longer than the caller's buffer (it is discarded).
    #[error("interface {iface}: received a {len}-byte frame, larger than the {cap}-byte buffer")]
    Truncated {
        iface: String,
        len: usize,
        cap: usize,
    },
    /// A netlink request failed (`what` says which, with the interface or prefix).
    #[error("netlink {what}: {source}")]
    Netlink {
        what: String,
        #[source]
        source: rtnetlink::Error,
    },
    /// An nfnetlink request or notification socket failed (`what` says which).
    #[error("nfnetlink {what}: {source}")]
    Nfnetlink {
        what: String,
        #[source]
        source: io::Error,
    },
    /// Opening the netlink socket failed.
    #[error("netlink socket: {0}")]
    NetlinkSocket(#[source] io::Error),
    /// The kernel answered with something that does not fit (e.g. a MAC that is not 6 bytes).
    #[error("interface {iface}: unexpected netlink answer: {reason}")]
    Unexpected { iface: String, reason: String },
    /// Reading or writing a /proc/sys file failed.
    #[error("sysctl {}: {source}", path.display())]
    Sysctl {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// An IP prefix that does not parse ("A.B.C.D/LEN" or "X::Y/LEN").
    #[error("invalid IP prefix {text:?}: {reason}")]
    BadPrefix { text: String, reason: &'static str },
}

impl NetError {
    /// True for errors after which the same socket keeps working: the interface went down
    /// (ENETDOWN, reported once per down event; the socket resumes when it comes back up),
    /// a transmit queue that was full, or an oversized frame. The daemon logs these and
    /// carries on; anything else means re-opening the socket (e.g. the interface was deleted).
    pub fn is_transient(&self) -> bool {
        match self {
            NetError::Io { source, .. } => matches!(
                source.raw_os_error(),
                Some(libc::ENETDOWN | libc::ENOBUFS | libc::EAGAIN | libc::ENXIO)
            ),
            NetError::Truncated { .. } => true,
            _ => false,
        }
    }
}

/// Checks that `name` can be a Linux interface name (what `dev_valid_name` accepts), so it
/// is safe to use in a /proc path and fits `IFNAMSIZ`.
pub(crate) fn check_iface_name(name: &str) -> Result<(), NetError> {
    let bad = |reason| {
        Err(NetError::BadInterfaceName {
            iface: name.to_owned(),
            reason,
        })
    };
    if name.is_empty() {
        return bad("empty");
    }
    if name.len() >= libc::IFNAMSIZ {
        return bad("longer than 15 bytes");
    }
    if name == "." || name == ".." {
        return bad("'.' and '..' are not interface names");
    }
    if name
        .bytes()
        .any(|b| b == b'/' || b == b':' || b.is_ascii_whitespace() || b == 0)
    {
        return bad("contains '/', ':', whitespace or NUL");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interface_names() {
        assert!(check_iface_name("eth0").is_ok());
        assert!(check_iface_name("a-very-long-nm1").is_ok());
        for bad in ["", "a-very-long-name", ".", "..", "a/b", "a b", "a:1"] {
            let err = check_iface_name(bad).unwrap_err();
            assert!(
                matches!(err, NetError::BadInterfaceName { ref iface, .. } if iface == bad),
                "{bad:?}: {err}"
            );
        }
    }

    #[test]
    fn transient_errors() {
        let io = |errno| NetError::Io {
            iface: "eth0".into(),
            what: "recv",
            source: io::Error::from_raw_os_error(errno),
        };
        assert!(io(libc::ENETDOWN).is_transient());
        assert!(!io(libc::ENODEV).is_transient());
        assert_eq!(
            io(libc::ENETDOWN).to_string(),
            format!(
                "interface eth0: recv: {}",
                io::Error::from_raw_os_error(libc::ENETDOWN)
            )
        );
    }
}
