//! The operator's window into the running daemon: a Unix socket that answers status
//! requests with a [`Snapshot`], and the `hsrpd status` client that prints it.
//!
//! Protocol: the client connects, writes one request line (`status`), and reads one JSON
//! document until the daemon closes the connection. Plain enough for `socat` too.

pub mod format;
pub mod snapshot;

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot};

pub use snapshot::{
    BfdDropCounters, BfdSessionStatus, DataplaneCounters, GroupStatus, InterfaceStatus, PeerStatus,
    Snapshot,
};

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

/// Serves status requests until the listener fails: each connection's request goes to the
/// daemon loop through `requests`, and the answer is written back as JSON.
pub async fn serve(listener: tokio::net::UnixListener, requests: mpsc::Sender<Request>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let requests = requests.clone();
        tokio::spawn(async move {
            if let Err(e) = answer(stream, requests).await {
                log::debug!("status client: {e:#}");
            }
        });
    }
}

async fn answer(stream: tokio::net::UnixStream, requests: mpsc::Sender<Request>) -> Result<()> {
    let (read, mut write) = stream.into_split();
    let mut line = String::new();
    let mut reader = tokio::io::BufReader::new(read);
    tokio::time::timeout(Duration::from_secs(2), reader.read_line(&mut line))
        .await
        .context("request timed out")??;
    if line.trim() != "status" {
        write
            .write_all(b"{\"error\":\"unknown request; send `status`\"}\n")
            .await?;
        return Ok(());
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
    let mut stream = UnixStream::connect(socket).with_context(|| {
        format!(
            "cannot reach hsrpd at {} (is it running? `hsrpd run -c FILE`)",
            socket.display()
        )
    })?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    stream.write_all(b"status\n")?;
    let mut body = String::new();
    BufReader::new(stream.try_clone()?).read_line(&mut body)?;
    let mut rest = String::new();
    let _ = stream.read_to_string(&mut rest);
    serde_json::from_str(&body).with_context(|| format!("bad answer from hsrpd: {body:?}"))
}

/// Entry point of `hsrpd status`.
pub fn status(detail: bool, json: bool, socket: Option<PathBuf>) -> Result<ExitCode> {
    let socket = socket.unwrap_or_else(|| PathBuf::from(DEFAULT_SOCKET));
    let snap = query(&socket)?;
    let text = match (json, detail) {
        (true, _) => serde_json::to_string_pretty(&snap)? + "\n",
        (false, true) => format::detail(&snap),
        (false, false) => format::brief(&snap),
    };
    print!("{text}");
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn socket_round_trip_and_second_instance_refused() {
        let dir = std::env::temp_dir().join(format!("hsrpd-ctl-{}", std::process::id()));
        let path = dir.join("s.sock");
        let listener = bind(&path).unwrap();
        let (tx, mut rx) = mpsc::channel::<Request>(4);
        tokio::spawn(serve(listener, tx));
        tokio::spawn(async move {
            while let Some(reply) = rx.recv().await {
                let _ = reply.send(Snapshot {
                    pid: 42,
                    config: "x.conf".into(),
                    ..Default::default()
                });
            }
        });
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
