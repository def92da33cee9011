//! `hsrpd events`: the daemon's state changes (and track changes and operator commands)
//! as JSON lines on the control socket, for monitoring agents. A client sends `events`
//! and reads one JSON object per line until it disconnects; a client too slow to keep up
//! gets a `lagged` line saying how many it missed, never a stalled daemon.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use serde::Serialize;
use tokio::io::AsyncWriteExt;
use tokio::sync::broadcast;

/// Events kept for a client that has not read them yet; beyond this it lags.
const BACKLOG: usize = 1024;

/// One line of `hsrpd events`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// A group changed state. `seq` counts state changes since the daemon started (the
    /// notify program gets the same number in HSRPD_SEQ).
    State {
        time_ms: u64,
        seq: u64,
        interface: String,
        group: u16,
        family: &'static str,
        from: String,
        to: String,
        reason: String,
        vips: Vec<String>,
    },
    /// A track object went up or down (or was forced by `hsrpd control track`).
    Track { time_ms: u64, object: u32, up: bool },
    /// An operator command over the control socket, and what it did.
    Control {
        time_ms: u64,
        command: String,
        ok: bool,
        result: String,
    },
}

/// Milliseconds since the Unix epoch (wall clock, for humans and log correlation).
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// The daemon's side: events are serialised once and handed to every connected client.
#[derive(Clone, Debug)]
pub struct EventBus {
    tx: broadcast::Sender<Arc<str>>,
}

impl Default for EventBus {
    fn default() -> Self {
        EventBus {
            tx: broadcast::channel(BACKLOG).0,
        }
    }
}

impl EventBus {
    /// Sends `event` to the clients connected now; costs nothing without clients.
    pub fn publish(&self, event: &Event) {
        if self.tx.receiver_count() == 0 {
            return;
        }
        match serde_json::to_string(event) {
            Ok(line) => {
                let _ = self.tx.send(line.into());
            }
            Err(e) => log::error!("event not serialisable: {e}"),
        }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<str>> {
        self.tx.subscribe()
    }
}

/// Writes the events of `rx` (subscribed before this is called) to one client until it
/// goes away; a client that has read the first line, `{"event":"subscribed"}`, misses
/// nothing after it.
pub async fn stream<W: AsyncWriteExt + Unpin>(
    mut rx: broadcast::Receiver<Arc<str>>,
    mut out: W,
) -> Result<()> {
    out.write_all(b"{\"event\":\"subscribed\"}\n").await?;
    loop {
        let line = match rx.recv().await {
            Ok(line) => line,
            Err(broadcast::error::RecvError::Lagged(n)) => {
                format!("{{\"event\":\"lagged\",\"missed\":{n}}}").into()
            }
            Err(broadcast::error::RecvError::Closed) => return Ok(()),
        };
        out.write_all(line.as_bytes()).await?;
        out.write_all(b"\n").await?;
    }
}

/// Entry point of `hsrpd events`: prints every line the daemon streams, flushed one by
/// one (for pipes into `jq` or an agent), until the daemon stops.
pub fn client(socket: &Path) -> Result<ExitCode> {
    let mut stream = UnixStream::connect(socket).with_context(|| {
        format!(
            "cannot reach hsrpd at {} (is it running? `hsrpd run -c FILE`)",
            socket.display()
        )
    })?;
    stream.write_all(b"events\n")?;
    let stdout = std::io::stdout();
    for line in BufReader::new(stream).lines() {
        let line = line.context("reading from hsrpd")?;
        let mut out = stdout.lock();
        if writeln!(out, "{line}").and_then(|()| out.flush()).is_err() {
            return Ok(ExitCode::SUCCESS); // the reader went away (`| head`)
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_serialise_as_tagged_json_lines() {
        let e = Event::State {
            time_ms: 1,
            seq: 7,
            interface: "eth0".into(),
            group: 1,
            family: "ipv4",
            from: "Standby".into(),
            to: "Active".into(),
            reason: "Active timer expired".into(),
            vips: vec!["10.0.0.1".into()],
        };
        assert_eq!(
            serde_json::to_string(&e).unwrap(),
            r#"{"event":"state","time_ms":1,"seq":7,"interface":"eth0","group":1,"family":"ipv4","from":"Standby","to":"Active","reason":"Active timer expired","vips":["10.0.0.1"]}"#
        );
        let t = Event::Track {
            time_ms: 2,
            object: 3,
            up: false,
        };
        assert_eq!(
            serde_json::to_string(&t).unwrap(),
            r#"{"event":"track","time_ms":2,"object":3,"up":false}"#
        );
    }

    #[tokio::test]
    async fn a_slow_client_is_told_what_it_missed() {
        let bus = EventBus::default();
        let (mut client, server) = tokio::io::duplex(1 << 20);
        let rx = bus.subscribe();
        let task = tokio::spawn(async move { stream(rx, server).await });
        // Wait for the subscription (its acknowledgement).
        let mut buf = vec![0u8; 64];
        let n = tokio::io::AsyncReadExt::read(&mut client, &mut buf)
            .await
            .unwrap();
        assert_eq!(&buf[..n], b"{\"event\":\"subscribed\"}\n");
        for object in 0..(BACKLOG as u32 + 10) {
            bus.publish(&Event::Track {
                time_ms: 0,
                object,
                up: true,
            });
        }
        drop(bus);
        let mut text = String::new();
        tokio::io::AsyncReadExt::read_to_string(&mut client, &mut text)
            .await
            .unwrap();
        task.await.unwrap().unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], r#"{"event":"lagged","missed":10}"#);
        assert_eq!(lines.len(), BACKLOG + 1);
        assert!(lines[1].contains(r#""object":10,"#), "{}", lines[1]);
    }
}
