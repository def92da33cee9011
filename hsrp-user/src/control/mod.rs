//! The operator's window into the running daemon: a Unix socket that answers status
//! requests with a [`Snapshot`], and the `hsrpd status` client that prints it.
//!
//! Protocol: the client connects, writes one request line (`status`), and reads one JSON
//! document until the daemon closes the connection. Plain enough for `socat` too. Other
//! requests (`events`, operator commands) are served by `ops`.

pub mod events;
pub mod format;
pub mod metrics_http;
pub mod ops;
pub mod prometheus;
pub mod snapshot;
pub mod track_format;

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot};

pub use snapshot::{
    BfdDropCounters, BfdSessionStatus, BfdTotals, ControlCounters, DataplaneCounters, GroupStatus,
    InterfaceStatus, PeerStatus, Snapshot, TimerLateness,
};
pub use snapshot::{TrackPending, TrackStatus, TrackedBy};

/// Where the daemon listens unless told otherwise.
pub const DEFAULT_SOCKET: &str = "/run/hsrpd/hsrpd.sock";

/// A status request on its way to the daemon loop, which answers with a fresh snapshot.
pub type Request = oneshot::Sender<Snapshot>;

/// Binds the status socket. A socket file that nobody answers on is a leftover of a crashed
/// daemon and is replaced; one that answers means another hsrpd runs: refuse.
pub fn bind(path: &Path) -> Result<tokio::net::UnixListener> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating the socket directory {}", dir.display()))?;
    }
    if path.exists() {
        if UnixStream::connect(path).is_ok() {
            bail!(
                "another hsrpd is already running (its status socket {} answers); stop it first",
                path.display()
            );
        }
        std::fs::remove_file(path)
            .with_context(|| format!("removing the stale socket {}", path.display()))?;
    }
    tokio::net::UnixListener::bind(path)
        .with_context(|| format!("binding the status socket {}", path.display()))
}

/// Mode of the control socket: root and the socket's group may ask; others get EACCES.
pub const SOCKET_MODE: u32 = 0o660;

/// Gives the bound socket [`SOCKET_MODE`] and, when `gid` is set, that group (so its
/// members can run `hsrpd status` without root). Changing the group needs CAP_CHOWN: done
/// at start-up, before the capabilities are dropped.
pub fn set_access(path: &Path, gid: Option<u32>) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    if let Some(gid) = gid {
        std::os::unix::fs::chown(path, None, Some(gid)).with_context(|| {
            format!(
                "giving the control socket {} group id {gid}",
                path.display()
            )
        })?;
    }
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(SOCKET_MODE))
        .with_context(|| format!("chmod {SOCKET_MODE:o} {}", path.display()))
}

/// The id of group `name` (for `--socket-group`).
pub fn group_id(name: &str) -> Result<u32> {
    let c_name =
        std::ffi::CString::new(name).map_err(|_| anyhow::anyhow!("bad group name {name:?}"))?;
    let mut grp = std::mem::MaybeUninit::<libc::group>::uninit();
    let mut buf = vec![0 as libc::c_char; 16 * 1024];
    let mut found: *mut libc::group = std::ptr::null_mut();
    // SAFETY: every pointer is valid for the call; getgrnam_r writes `grp` and strings
    // into `buf` and sets `found` to `grp` or null.
    let r = unsafe {
        libc::getgrnam_r(
            c_name.as_ptr(),
            grp.as_mut_ptr(),
            buf.as_mut_ptr(),
            buf.len(),
            &mut found,
        )
    };
    if r != 0 {
        bail!(
            "looking up group {name}: {}",
            std::io::Error::from_raw_os_error(r)
        );
    }
    if found.is_null() {
        bail!("no group named {name} (--socket-group)");
    }
    // SAFETY: getgrnam_r succeeded and found the entry, so `grp` is initialised.
    Ok(unsafe { grp.assume_init() }.gr_gid)
}

/// Serves status requests until the listener fails: each connection's request goes to the
/// daemon loop through `requests`, and the answer is written back as JSON.
pub async fn serve(listener: tokio::net::UnixListener, requests: mpsc::Sender<Request>) {
    serve_with(listener, requests, ops::Ops::default()).await
}

/// [`serve`], with events and operator commands (`ops`).
pub async fn serve_with(
    listener: tokio::net::UnixListener,
    requests: mpsc::Sender<Request>,
    ops: ops::Ops,
) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let requests = requests.clone();
        let ops = ops.clone();
        tokio::spawn(async move {
            if let Err(e) = answer(stream, requests, &ops).await {
                log::debug!("status client: {e:#}");
            }
        });
    }
}

async fn answer(
    stream: tokio::net::UnixStream,
    requests: mpsc::Sender<Request>,
    ops: &ops::Ops,
) -> Result<()> {
    let uid = stream.peer_cred().ok().map(|c| c.uid());
    let (read, mut write) = stream.into_split();
    let mut line = String::new();
    let mut reader = tokio::io::BufReader::new(read);
    tokio::time::timeout(Duration::from_secs(2), reader.read_line(&mut line))
        .await
        .context("request timed out")??;
    if line.trim() != "status" {
        return ops::answer(line.trim(), uid, write, ops).await;
    }
    let (tx, rx) = oneshot::channel();
    requests.send(tx).await.context("daemon loop gone")?;
    let snap = rx.await.context("daemon loop dropped the request")?;
    let mut json = serde_json::to_vec(&snap)?;
    json.push(b'\n');
    write.write_all(&json).await?;
    Ok(())
}

/// Asks the daemon at `socket` for its snapshot.
pub fn query(socket: &Path) -> Result<Snapshot> {
    let mut stream = UnixStream::connect(socket).map_err(|e| match e.kind() {
        std::io::ErrorKind::PermissionDenied => anyhow::anyhow!(
            "permission denied on the control socket {}: it is open to root and its group \
             (`hsrpd run --socket-group GROUP`); run as root or as a member of that group",
            socket.display()
        ),
        _ => anyhow::Error::new(e).context(format!(
            "cannot reach hsrpd at {} (is it running? `hsrpd run -c FILE`)",
            socket.display()
        )),
    })?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    stream.write_all(b"status\n")?;
    let mut body = String::new();
    BufReader::new(stream.try_clone()?).read_line(&mut body)?;
    let mut rest = String::new();
    let _ = stream.read_to_string(&mut rest);
    serde_json::from_str(&body).with_context(|| format!("bad answer from hsrpd: {body:?}"))
}

/// What `hsrpd status` prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// The `show standby brief` table.
    Brief,
    /// Per group, like `show standby`.
    Detail,
    /// The snapshot as JSON (docs/status.md).
    Json,
    /// Prometheus text exposition (node_exporter textfile collector).
    Prometheus,
}

/// Entry point of `hsrpd status`.
pub fn status(detail: bool, json: bool, socket: Option<PathBuf>) -> Result<ExitCode> {
    let format = match (json, detail) {
        (true, _) => Format::Json,
        (false, true) => Format::Detail,
        (false, false) => Format::Brief,
    };
    status_as(format, socket)
}

/// `hsrpd status` in the given format.
pub fn status_as(format: Format, socket: Option<PathBuf>) -> Result<ExitCode> {
    let socket = socket.unwrap_or_else(|| PathBuf::from(DEFAULT_SOCKET));
    let snap = query(&socket)?;
    let text = match format {
        Format::Json => serde_json::to_string_pretty(&snap)? + "\n",
        Format::Detail => format::detail(&snap),
        Format::Brief => format::brief(&snap),
        Format::Prometheus => prometheus::render(&snap),
    };
    print!("{text}");
    Ok(ExitCode::SUCCESS)
}

/// A stand-in for the daemon loop: answers every snapshot request with `snap`.
#[cfg(test)]
pub(crate) fn fake_loop(snap: Snapshot) -> mpsc::Sender<Request> {
    let (tx, mut rx) = mpsc::channel::<Request>(4);
    tokio::spawn(async move {
        while let Some(reply) = rx.recv().await {
            let _ = reply.send(snap.clone());
        }
    });
    tx
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn socket_round_trip_and_second_instance_refused() {
        let dir = std::env::temp_dir().join(format!("hsrpd-ctl-{}", std::process::id()));
        let path = dir.join("s.sock");
        let listener = bind(&path).unwrap();
        tokio::spawn(serve(
            listener,
            fake_loop(Snapshot {
                pid: 42,
                config: "x.conf".into(),
                ..Default::default()
            }),
        ));
        let p = path.clone();
        let snap = tokio::task::spawn_blocking(move || query(&p))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(snap.pid, 42);
        assert_eq!(snap.config, "x.conf");
        let err = bind(&path).unwrap_err().to_string();
        assert!(err.contains("already running"), "{err}");
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn socket_is_0660_and_a_caller_without_access_is_told_so() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("hsrpd-ctl-perm-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("s.sock");
        let _ = std::fs::remove_file(&path);
        let _listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
        // SAFETY: getegid has no preconditions.
        let gid = unsafe { libc::getegid() };
        set_access(&path, Some(gid)).unwrap();
        let meta = std::fs::metadata(&path).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o660);
        assert_eq!(std::os::unix::fs::MetadataExt::gid(&meta), gid);
        // A caller that is neither the owner nor in the group: mode 0000 stands for it
        // (root would pass 0660 through CAP_DAC_OVERRIDE, so the test thread also drops
        // its capabilities; they are per thread).
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o000)).unwrap();
        let p = path.clone();
        let err = std::thread::spawn(move || {
            crate::privileges::drop_all().unwrap();
            query(&p).unwrap_err().to_string()
        })
        .join()
        .unwrap();
        assert!(
            err.starts_with("permission denied on the control socket"),
            "{err}"
        );
        assert!(!err.contains("is it running"), "{err}");
        assert!(group_id("no-such-group-hsrpd").is_err());
        assert_eq!(group_id("root").unwrap(), 0);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn stale_socket_is_replaced_and_missing_daemon_is_explained() {
        let dir = std::env::temp_dir().join(format!("hsrpd-ctl-stale-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("s.sock");
        drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
        assert!(path.exists());
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async { bind(&path).unwrap() });
        let _ = std::fs::remove_file(&path);
        let err = query(&path).unwrap_err().to_string();
        assert!(err.contains("is it running"), "{err}");
        let _ = std::fs::remove_dir_all(dir);
    }
}
