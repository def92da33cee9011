//! The control socket beyond `status`: `events` (a stream, see `events`) and the
//! operator's commands (`hsrpd control ...`, `hsrpd reload`), root only.
//!
//! A request is one line of words, the same words the CLI takes:
//!
//! ```text
//! events
//! reload
//! resign   {all | GROUP | IFACE GROUP}      hold out of the election until `release`
//! release  {all | GROUP | IFACE GROUP}
//! priority {GROUP | IFACE GROUP} {1-255 | default}
//! track    N {up | down | auto}
//! ```
//!
//! A command is answered with one JSON line, `{"ok":true,"result":"..."}` or
//! `{"ok":false,"error":"..."}`; the daemon loop carries it out between two events.

use std::fmt;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use tokio::io::AsyncWriteExt;
use tokio::sync::{mpsc, oneshot};

use super::events::EventBus;

/// Which groups a command is for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    All,
    /// A group number, on the one interface that has it unless `iface` says which.
    Group {
        iface: Option<String>,
        group: u16,
    },
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::All => f.write_str("all"),
            Target::Group {
                iface: Some(i),
                group,
            } => write!(f, "{i} {group}"),
            Target::Group { iface: None, group } => write!(f, "{group}"),
        }
    }
}

/// A forced track object state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum TrackForce {
    Up,
    Down,
    /// Back to the real state.
    Auto,
}

/// An operator command for the daemon loop.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    Resign(Target),
    Release(Target),
    /// `None`: back to the configured priority.
    Priority(Target, Option<u8>),
    Track(u32, TrackForce),
    Reload,
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Command::Resign(t) => write!(f, "resign {t}"),
            Command::Release(t) => write!(f, "release {t}"),
            Command::Priority(t, Some(p)) => write!(f, "priority {t} {p}"),
            Command::Priority(t, None) => write!(f, "priority {t} default"),
            Command::Track(n, force) => write!(
                f,
                "track {n} {}",
                match force {
                    TrackForce::Up => "up",
                    TrackForce::Down => "down",
                    TrackForce::Auto => "auto",
                }
            ),
            Command::Reload => f.write_str("reload"),
        }
    }
}

/// A request line, parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    Status,
    Events,
    Command(Command),
}

/// Parses one request line; the error says what was expected.
pub fn parse_request(line: &str) -> Result<Request, String> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let target = |args: &[&str]| -> Result<Target, String> {
        match args {
            ["all"] => Ok(Target::All),
            [g] => Ok(Target::Group {
                iface: None,
                group: group_number(g)?,
            }),
            [i, g] => Ok(Target::Group {
                iface: Some(i.to_string()),
                group: group_number(g)?,
            }),
            _ => Err("expected a group: all, GROUP or IFACE GROUP".into()),
        }
    };
    match words.as_slice() {
        ["status"] => Ok(Request::Status),
        ["events"] => Ok(Request::Events),
        ["reload"] => Ok(Request::Command(Command::Reload)),
        ["resign", args @ ..] => target(args).map(|t| Request::Command(Command::Resign(t))),
        ["release", args @ ..] => target(args).map(|t| Request::Command(Command::Release(t))),
        ["priority", args @ .., p] if !args.is_empty() => {
            let t = target(args)?;
            if matches!(t, Target::All) {
                return Err("priority is set per group: GROUP or IFACE GROUP".into());
            }
            let p = match *p {
                "default" => None,
                p => Some(
                    p.parse::<u8>()
                        .ok()
                        .filter(|p| *p >= 1)
                        .ok_or_else(|| format!("priority must be 1-255 or default (got `{p}`)"))?,
                ),
            };
            Ok(Request::Command(Command::Priority(t, p)))
        }
        ["track", n, mode] => {
            let n = n
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=1000).contains(n))
                .ok_or_else(|| format!("track object must be 1-1000 (got `{n}`)"))?;
            let force = match *mode {
                "up" => TrackForce::Up,
                "down" => TrackForce::Down,
                "auto" => TrackForce::Auto,
                m => return Err(format!("expected up, down or auto (got `{m}`)")),
            };
            Ok(Request::Command(Command::Track(n, force)))
        }
        [] => Err("empty request".into()),
        [verb, ..] => Err(format!(
            "unknown request `{verb}`: expected status, events, reload, resign, release, priority or track"
        )),
    }
}

fn group_number(g: &str) -> Result<u16, String> {
    g.parse::<u16>()
        .ok()
        .filter(|g| *g <= 4095)
        .ok_or_else(|| format!("group must be 0-4095 (got `{g}`)"))
}

/// Why the daemon refused a command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refused {
    pub message: String,
    /// The configuration file is invalid or unreadable (a refused reload): the client
    /// exits with EX_CONFIG, as `hsrpd check` and `hsrpd run` do.
    pub config: bool,
}

impl From<String> for Refused {
    fn from(message: String) -> Refused {
        Refused {
            message,
            config: false,
        }
    }
}

/// A command on its way to the daemon loop, and where its answer goes.
pub struct CommandRequest {
    pub command: Command,
    pub reply: oneshot::Sender<Result<String, Refused>>,
}

/// What the socket server needs beyond status requests.
#[derive(Clone, Debug, Default)]
pub struct Ops {
    pub events: Option<EventBus>,
    pub commands: Option<mpsc::Sender<CommandRequest>>,
}

/// The answer to a command, as written on the socket.
#[derive(Debug, Serialize, Deserialize)]
struct Answer {
    ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    result: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    /// The refusal is the configuration file's (see [`Refused::config`]).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    config_error: bool,
}

fn answer_line(result: Result<String, Refused>) -> Vec<u8> {
    let a = match result {
        Ok(r) => Answer {
            ok: true,
            result: Some(r),
            error: None,
            config_error: false,
        },
        Err(e) => Answer {
            ok: false,
            result: None,
            error: Some(e.message),
            config_error: e.config,
        },
    };
    let mut v = serde_json::to_vec(&a).unwrap_or_default();
    v.push(b'\n');
    v
}

/// Serves a request other than `status`. `uid` is the client's (SO_PEERCRED); commands
/// need root, `events` does not (it only reads).
pub async fn answer<W: AsyncWriteExt + Unpin>(
    line: &str,
    uid: Option<u32>,
    mut out: W,
    ops: &Ops,
) -> Result<()> {
    let command = match parse_request(line) {
        Ok(Request::Events) => {
            return match &ops.events {
                Some(bus) => super::events::stream(bus.subscribe(), out).await,
                None => {
                    out.write_all(&answer_line(Err("this daemon serves no events"
                        .to_string()
                        .into())))
                        .await?;
                    Ok(())
                }
            }
        }
        Ok(Request::Command(c)) => c,
        Ok(Request::Status) => anyhow::bail!("`status` is served by control::answer"),
        Err(e) => {
            out.write_all(&answer_line(Err(e.into()))).await?;
            return Ok(());
        }
    };
    let result = match (uid, &ops.commands) {
        (Some(0), Some(tx)) => {
            let (reply, rx) = oneshot::channel();
            match tx.send(CommandRequest { command, reply }).await {
                Ok(()) => rx
                    .await
                    .unwrap_or_else(|_| Err("the daemon dropped the command".to_string().into())),
                Err(_) => Err("the daemon loop is gone".to_string().into()),
            }
        }
        (Some(0), None) => Err("this daemon takes no commands".to_string().into()),
        (uid, _) => Err(format!(
            "permission denied: control commands need root (uid 0){}",
            uid.map(|u| format!("; you are uid {u}"))
                .unwrap_or_default()
        )
        .into()),
    };
    out.write_all(&answer_line(result)).await?;
    Ok(())
}

/// Entry point of `hsrpd control ...` and `hsrpd reload`: sends the words, prints the
/// result (stdout) or the error (stderr, exit 1; 78, EX_CONFIG, when a reload refused an
/// invalid or unreadable configuration file). The daemon answers when the command has
/// been carried out; a reload of a large configuration may take a while, hence the
/// generous timeout.
pub fn client(socket: &Path, words: &[String]) -> Result<ExitCode> {
    let line = words.join(" ");
    // Refuse locally what the daemon would refuse, with the same message.
    if let Err(e) = parse_request(&line) {
        eprintln!("hsrpd: {e}");
        return Ok(ExitCode::FAILURE);
    }
    let mut stream = UnixStream::connect(socket).with_context(|| {
        format!(
            "cannot reach hsrpd at {} (is it running? `hsrpd run -c FILE`)",
            socket.display()
        )
    })?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    stream.write_all(format!("{line}\n").as_bytes())?;
    let mut body = String::new();
    BufReader::new(stream).read_line(&mut body)?;
    let a: Answer =
        serde_json::from_str(&body).with_context(|| format!("bad answer from hsrpd: {body:?}"))?;
    if a.ok {
        println!("{}", a.result.unwrap_or_default());
        Ok(ExitCode::SUCCESS)
    } else {
        for l in a.error.unwrap_or_default().lines() {
            eprintln!("{l}");
        }
        Ok(if a.config_error {
            ExitCode::from(crate::manual::exit::CONFIG)
        } else {
            ExitCode::FAILURE
        })
    }
}

/// `hsrpd control ...` subcommands (the request words).
#[derive(Clone, Debug, clap::Subcommand)]
pub enum ControlCommand {
    /// Hold groups out of the election (maintenance): an Active resigns, handing over
    /// without loss, and the groups stay in Init until `release`.
    Resign {
        /// `all`, GROUP, or IFACE GROUP.
        #[arg(required = true, num_args = 1..=2, value_name = "all|GROUP|IFACE GROUP")]
        target: Vec<String>,
    },
    /// End maintenance: the groups rejoin the election.
    Release {
        #[arg(required = true, num_args = 1..=2, value_name = "all|GROUP|IFACE GROUP")]
        target: Vec<String>,
    },
    /// Set a group's priority until `priority ... default` or a restart (the
    /// configuration file is not changed; track decrements still apply).
    Priority {
        /// [IFACE] GROUP, then 1-255 or `default`.
        #[arg(required = true, num_args = 2..=3, value_name = "[IFACE] GROUP PRIORITY")]
        args: Vec<String>,
    },
    /// Force a track object up or down (testing a failover), or back to its real state.
    Track {
        object: u32,
        #[arg(value_enum)]
        state: TrackForce,
    },
}

impl ControlCommand {
    /// The request words.
    pub fn words(&self) -> Vec<String> {
        let mut w = Vec::new();
        match self {
            ControlCommand::Resign { target } => {
                w.push("resign".to_string());
                w.extend(target.iter().cloned());
            }
            ControlCommand::Release { target } => {
                w.push("release".to_string());
                w.extend(target.iter().cloned());
            }
            ControlCommand::Priority { args } => {
                w.push("priority".to_string());
                w.extend(args.iter().cloned());
            }
            ControlCommand::Track { object, state } => {
                w.push("track".into());
                w.push(object.to_string());
                w.push(
                    match state {
                        TrackForce::Up => "up",
                        TrackForce::Down => "down",
                        TrackForce::Auto => "auto",
                    }
                    .into(),
                );
            }
        }
        w
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmd(line: &str) -> Command {
        match parse_request(line) {
            Ok(Request::Command(c)) => c,
            other => panic!("{line}: {other:?}"),
        }
    }

    #[test]
    fn requests_parse_and_print_back() {
        for line in [
            "resign all",
            "resign 1",
            "resign eth0 1",
            "release eth0 4095",
            "priority eth0 1 90",
            "priority 1 default",
            "track 7 down",
            "track 7 auto",
            "reload",
        ] {
            assert_eq!(cmd(line).to_string(), line);
        }
        assert_eq!(parse_request("events"), Ok(Request::Events));
        assert_eq!(parse_request(" status "), Ok(Request::Status));
    }

    #[test]
    fn bad_requests_say_what_was_expected() {
        for (line, err) in [
            ("resign", "expected a group"),
            ("resign 4096", "group must be 0-4095"),
            ("resign a b c", "expected a group"),
            ("priority all 50", "per group"),
            ("priority 1 0", "priority must be 1-255 or default"),
            ("priority 1 256", "priority must be 1-255"),
            ("track 0 up", "track object must be 1-1000"),
            ("track 1 sideways", "expected up, down or auto"),
            ("frobnicate", "unknown request `frobnicate`"),
            ("", "empty request"),
        ] {
            let e = parse_request(line).unwrap_err();
            assert!(e.contains(err), "{line}: {e}");
        }
    }

    #[test]
    fn a_refused_configuration_exits_78_other_refusals_1() {
        let dir = std::env::temp_dir().join(format!("hsrpd-ops-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for (refused, code) in [
            (
                Refused {
                    message: "f:1: bad".into(),
                    config: true,
                },
                crate::manual::exit::CONFIG,
            ),
            (Refused::from("interfaces changed".to_string()), 1),
        ] {
            let line = answer_line(Err(refused.clone()));
            assert_eq!(
                String::from_utf8_lossy(&line).contains("\"config_error\":true"),
                refused.config
            );
            let path = dir.join("s.sock");
            let _ = std::fs::remove_file(&path);
            let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
            let daemon = std::thread::spawn(move || {
                let (mut s, _) = listener.accept().unwrap();
                let mut req = String::new();
                BufReader::new(&s).read_line(&mut req).unwrap();
                assert_eq!(req, "reload\n");
                s.write_all(&line).unwrap();
            });
            let got = client(&path, &["reload".into()]).unwrap();
            daemon.join().unwrap();
            assert_eq!(got, ExitCode::from(code), "{refused:?}");
        }
        let _ = std::fs::remove_dir_all(dir);
    }

    #[tokio::test]
    async fn commands_need_root() {
        let (tx, mut rx) = mpsc::channel(1);
        let ops = Ops {
            events: None,
            commands: Some(tx),
        };
        let mut out = Vec::new();
        answer("resign all", Some(1000), &mut out, &ops)
            .await
            .unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "{\"ok\":false,\"error\":\"permission denied: control commands need root (uid 0); you are uid 1000\"}\n"
        );
        assert!(rx.try_recv().is_err(), "nothing reached the daemon");
        let task = tokio::spawn(async move {
            let req = rx.recv().await.unwrap();
            assert_eq!(req.command, Command::Resign(Target::All));
            req.reply
                .send(Ok("1 group(s) in maintenance".into()))
                .unwrap();
        });
        let mut out = Vec::new();
        answer("resign all", Some(0), &mut out, &ops).await.unwrap();
        task.await.unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "{\"ok\":true,\"result\":\"1 group(s) in maintenance\"}\n"
        );
    }
}
