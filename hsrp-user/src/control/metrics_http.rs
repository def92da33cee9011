//! `hsrpd run --metrics-listen ADDR:PORT`: `GET /metrics` answers the snapshot in the
//! Prometheus text format ([`prometheus::render`], the text of `hsrpd status --format
//! prometheus`), for a Prometheus server to scrape.
//!
//! Deliberately small, since anything that reaches the port may send anything: HTTP/1.x
//! requests, one response per connection (`Connection: close`), no keep-alive, no body
//! read, no TLS or authentication (bind it to loopback or a management address). It runs
//! on the aux runtime like the control socket, so a scraper never delays a hello; the loop
//! only builds the snapshot, as for `hsrpd status`. Each connection is bounded: its
//! request head to [`MAX_HEAD`] bytes, its whole life (reading and writing) to
//! [`DEADLINE`], and at most [`MAX_CONNECTIONS`] are served at once (more are closed
//! unanswered), so a slow or hostile client costs a bounded buffer and task.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot, Semaphore};

use super::{prometheus, Request};

/// The longest request head (request line and headers) read; longer ones get 431.
pub const MAX_HEAD: usize = 8 * 1024;
/// How long one connection may take, from accept to the last byte written.
pub const DEADLINE: Duration = Duration::from_secs(5);
/// Connections served at once.
pub const MAX_CONNECTIONS: usize = 16;
/// Input still read after the answer, at most (see `answer`).
const MAX_DRAIN: usize = 64 * 1024;
/// The path served.
pub const PATH: &str = "/metrics";
/// The exposition format's content type (text format 0.0.4).
const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// What a request head asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    /// `GET /metrics` (`HEAD`: the same headers, no body).
    Metrics {
        head: bool,
    },
    NotFound,
    MethodNotAllowed,
    BadRequest,
}

/// Reads the request line of a complete head (`head` holds at least the request line).
pub fn route(head: &[u8]) -> Route {
    let line_end = head.iter().position(|&b| b == b'\n').unwrap_or(head.len());
    let Ok(line) = std::str::from_utf8(&head[..line_end]) else {
        return Route::BadRequest;
    };
    let mut words = line.trim_end_matches('\r').split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (words.next(), words.next(), words.next(), words.next())
    else {
        return Route::BadRequest;
    };
    if !version.starts_with("HTTP/1.") || !target.starts_with('/') {
        return Route::BadRequest;
    }
    let path = target.split_once('?').map_or(target, |(p, _)| p);
    let head = match method {
        "GET" => false,
        "HEAD" => true,
        m if !m.is_empty() && m.bytes().all(|b| b.is_ascii_uppercase()) => {
            return if path == PATH {
                Route::MethodNotAllowed
            } else {
                Route::NotFound
            }
        }
        _ => return Route::BadRequest,
    };
    if path == PATH {
        Route::Metrics { head }
    } else {
        Route::NotFound
    }
}

/// Where a request head ends (the index after its blank line), if it has ended.
fn head_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| i + 4)
        .or_else(|| buf.windows(2).position(|w| w == b"\n\n").map(|i| i + 2))
}

/// Binds the metrics listener (called on the runtime that will serve it).
pub fn bind(addr: SocketAddr) -> Result<TcpListener> {
    let std = std::net::TcpListener::bind(addr)
        .with_context(|| format!("binding the metrics listener {addr} (--metrics-listen)"))?;
    std.set_nonblocking(true)?;
    TcpListener::from_std(std).context("registering the metrics listener")
}

/// Serves scrapes until the task is aborted; each snapshot is asked from the daemon loop
/// through `requests`, as a status request is.
pub async fn serve(listener: TcpListener, requests: mpsc::Sender<Request>) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                // Out of descriptors or similar: wait instead of spinning on the error.
                log::debug!("metrics: accept: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            log::debug!("metrics: {MAX_CONNECTIONS} connections busy, {peer} closed");
            continue;
        };
        let requests = requests.clone();
        tokio::spawn(async move {
            match tokio::time::timeout(DEADLINE, answer(stream, requests)).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => log::debug!("metrics client {peer}: {e:#}"),
                Err(_) => log::debug!("metrics client {peer}: closed after {DEADLINE:?}"),
            }
            drop(slot);
        });
    }
}

async fn answer(mut stream: TcpStream, requests: mpsc::Sender<Request>) -> Result<()> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    let route = loop {
        if let Some(end) = head_end(&buf) {
            break Some(route(&buf[..end]));
        }
        if buf.len() > MAX_HEAD {
            break None;
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(()); // closed before the head ended
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    match route {
        Some(Route::Metrics { head }) => {
            let (tx, rx) = oneshot::channel();
            requests.send(tx).await.context("daemon loop gone")?;
            let snap = rx.await.context("daemon loop dropped the request")?;
            let body = prometheus::render(&snap);
            write_response(&mut stream, "200 OK", CONTENT_TYPE, body.as_bytes(), head).await?
        }
        Some(Route::NotFound) => respond(&mut stream, "404 Not Found").await?,
        Some(Route::MethodNotAllowed) => respond(&mut stream, "405 Method Not Allowed").await?,
        Some(Route::BadRequest) => respond(&mut stream, "400 Bad Request").await?,
        None => respond(&mut stream, "431 Request Header Fields Too Large").await?,
    }
    // Closing with unread input would reset the connection, and the client could lose the
    // answer: read what it still sends (bounded, and within the deadline) until it closes.
    let mut left = MAX_DRAIN;
    while left > 0 {
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => left = left.saturating_sub(n),
        }
    }
    Ok(())
}

/// A short plain-text answer: the status line as its body.
async fn respond(stream: &mut TcpStream, status: &str) -> Result<()> {
    let body = format!("{status}\n");
    write_response(
        stream,
        status,
        "text/plain; charset=utf-8",
        body.as_bytes(),
        false,
    )
    .await
}

/// Writes the whole response, then ends the sending side.
async fn write_response(
    stream: &mut TcpStream,
    status: &str,
    content_type: &str,
    body: &[u8],
    head_only: bool,
) -> Result<()> {
    let allow = if status.starts_with("405") {
        "Allow: GET, HEAD\r\n"
    } else {
        ""
    };
    let mut out = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
         {allow}Connection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    if !head_only {
        out.extend_from_slice(body);
    }
    stream.write_all(&out).await?;
    stream.shutdown().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::Snapshot;

    #[test]
    fn routes() {
        let r = |s: &str| route(s.as_bytes());
        assert_eq!(
            r("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"),
            Route::Metrics { head: false }
        );
        assert_eq!(
            r("GET /metrics?x=1 HTTP/1.0\n\n"),
            Route::Metrics { head: false }
        );
        assert_eq!(
            r("HEAD /metrics HTTP/1.1\r\n\r\n"),
            Route::Metrics { head: true }
        );
        assert_eq!(r("GET / HTTP/1.1\r\n\r\n"), Route::NotFound);
        assert_eq!(r("GET /metricsx HTTP/1.1\r\n\r\n"), Route::NotFound);
        assert_eq!(r("POST /metrics HTTP/1.1\r\n\r\n"), Route::MethodNotAllowed);
        assert_eq!(r("POST /other HTTP/1.1\r\n\r\n"), Route::NotFound);
        for bad in [
            "",
            "\r\n\r\n",
            "GET /metrics\r\n\r\n",
            "GET /metrics HTTP/2\r\n\r\n",
            "GET  /metrics HTTP/1.1\r\n\r\n",
            "GET metrics HTTP/1.1\r\n\r\n",
            "get /metrics HTTP/1.1\r\n\r\n",
            "GET /metrics HTTP/1.1 extra\r\n\r\n",
            "\u{0}\u{1}\u{2}",
        ] {
            assert_eq!(r(bad), Route::BadRequest, "{bad:?}");
        }
        assert_eq!(route(b"GET /\xff HTTP/1.1\r\n\r\n"), Route::BadRequest);
    }

    #[test]
    fn head_ends_at_the_first_blank_line() {
        assert_eq!(head_end(b"GET / HTTP/1.1\r\nA: b\r\n\r\nbody"), Some(24));
        assert_eq!(head_end(b"GET / HTTP/1.0\n\n"), Some(16));
        assert_eq!(head_end(b"GET / HTTP/1.1\r\nA: b\r\n"), None);
    }

    /// A listener on loopback served with a fake daemon loop that answers every snapshot
    /// request with a daemon of pid 42.
    async fn server() -> SocketAddr {
        let listener = bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(serve(
            listener,
            crate::control::fake_loop(Snapshot {
                pid: 42,
                ..Default::default()
            }),
        ));
        addr
    }

    async fn exchange(addr: SocketAddr, request: &[u8]) -> String {
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(request).await.unwrap();
        let mut out = Vec::new();
        tokio::time::timeout(DEADLINE * 2, s.read_to_end(&mut out))
            .await
            .expect("the server closes the connection")
            .unwrap();
        String::from_utf8(out).unwrap()
    }

    #[tokio::test]
    async fn answers_metrics_404_and_errors_then_closes() {
        let addr = server().await;
        let got = exchange(addr, b"GET /metrics HTTP/1.1\r\nHost: h\r\n\r\n").await;
        let (head, body) = got.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
        assert!(
            head.contains(&format!("Content-Type: {CONTENT_TYPE}")),
            "{head}"
        );
        assert!(
            head.contains(&format!("Content-Length: {}", body.len())),
            "{head}"
        );
        assert!(head.contains("Connection: close"), "{head}");
        assert_eq!(
            body,
            prometheus::render(&Snapshot {
                pid: 42,
                ..Default::default()
            })
        );
        assert!(body.contains("hsrpd_up 1\n"), "{body}");

        let got = exchange(addr, b"HEAD /metrics HTTP/1.1\r\n\r\n").await;
        assert!(
            got.starts_with("HTTP/1.1 200 OK\r\n") && got.ends_with("\r\n\r\n"),
            "{got}"
        );

        for (request, status) in [
            (&b"GET / HTTP/1.1\r\n\r\n"[..], "404 Not Found"),
            (
                b"DELETE /metrics HTTP/1.1\r\n\r\n",
                "405 Method Not Allowed",
            ),
            (
                b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\n\n",
                "400 Bad Request",
            ),
        ] {
            let got = exchange(addr, request).await;
            assert!(got.starts_with(&format!("HTTP/1.1 {status}\r\n")), "{got}");
        }
        let mut huge = b"GET /metrics HTTP/1.1\r\n".to_vec();
        huge.extend(std::iter::repeat_n(b'a', MAX_HEAD + 10));
        let got = exchange(addr, &huge).await;
        assert!(got.starts_with("HTTP/1.1 431 "), "{got}");
    }

    #[tokio::test]
    async fn a_slow_client_is_closed_at_the_deadline_and_others_are_served() {
        let addr = server().await;
        let start = tokio::time::Instant::now();
        let mut slow = TcpStream::connect(addr).await.unwrap();
        slow.write_all(b"GET /metrics HTTP/1.1\r\n").await.unwrap();
        // Meanwhile a scrape is answered.
        let got = exchange(addr, b"GET /metrics HTTP/1.1\r\n\r\n").await;
        assert!(got.starts_with("HTTP/1.1 200 OK"), "{got}");
        let mut out = Vec::new();
        let n = tokio::time::timeout(DEADLINE * 2, slow.read_to_end(&mut out))
            .await
            .expect("closed by the server")
            .unwrap();
        assert_eq!(n, 0, "closed without an answer");
        // Bound, not a figure: closed at the deadline, give or take the test's scheduling.
        let took = start.elapsed();
        assert!(
            took >= DEADLINE && took < DEADLINE + Duration::from_secs(2),
            "{took:?}"
        );
    }
}
