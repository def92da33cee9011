//! `hsrpd`: the command line. Thin: each subcommand calls into the library.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "hsrpd",
    version = hsrp_user::VERSION,
    about = "Cisco-compatible HSRP gateway for Linux, data plane in XDP"
)]
struct Cli {
    /// Log level (default info; RUST_LOG when not given, with per-module filters).
    #[arg(long, global = true, value_name = "LEVEL", value_parser = hsrp_user::logging::LEVELS)]
    log_level: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the daemon in the foreground with the given configuration.
    Run {
        /// Configuration file (IOS syntax).
        #[arg(short, long, default_value = "/etc/hsrpd/hsrpd.conf")]
        config: PathBuf,
        /// Status socket to serve.
        #[arg(long, env = "HSRPD_SOCKET", default_value = hsrp_user::control::DEFAULT_SOCKET)]
        socket: PathBuf,
        /// Leave the XDP next-hop cache off: every forwarded frame takes the fib lookup.
        #[arg(long, env = "HSRPD_NO_NEXTHOP_CACHE")]
        no_nexthop_cache: bool,
        /// Group whose members may use the status socket (mode 0660; default: root's).
        #[arg(long, env = "HSRPD_SOCKET_GROUP", value_name = "GROUP")]
        socket_group: Option<String>,
        /// Real-time mode: the timer thread runs SCHED_FIFO at PRIO (1-99, default 20)
        /// with memory locked; overrides `hsrpd realtime priority N` in the configuration.
        /// See docs/configuration.md for the risks and bounds.
        #[arg(long, value_name = "PRIO", num_args = 0..=1, require_equals = true,
              value_parser = clap::value_parser!(u8).range(1..=99))]
        realtime: Option<Option<u8>>,
        /// Serve the metrics of `status --format prometheus` over HTTP: `GET /metrics` on
        /// ADDR:PORT (e.g. 127.0.0.1:9712 or [::1]:9712; no TLS, no authentication: bind
        /// a loopback or management address). Off unless given.
        #[arg(long, env = "HSRPD_METRICS_LISTEN", value_name = "ADDR:PORT")]
        metrics_listen: Option<std::net::SocketAddr>,
    },
    /// Validate a configuration file without touching the system (read-only checks of the
    /// interfaces, warnings about forwarding and rp_filter).
    Check {
        #[arg(short, long, default_value = "/etc/hsrpd/hsrpd.conf")]
        config: PathBuf,
        /// The file alone: syntax and whole-file rules, nothing read from the system.
        #[arg(long)]
        offline: bool,
    },
    /// Show the groups of the running daemon (like `show standby brief`).
    Status {
        /// Per-group detail (like `show standby`).
        #[arg(long)]
        detail: bool,
        /// Machine-readable output (same as --format json).
        #[arg(long)]
        json: bool,
        /// Output format.
        #[arg(long, value_enum, conflicts_with_all = ["detail", "json", "track"])]
        format: Option<hsrp_user::control::Format>,
        /// The tracked objects (like `show track`); with --json, their JSON.
        #[arg(long, conflicts_with = "detail")]
        track: bool,
        /// Status socket of the daemon to ask.
        #[arg(long, env = "HSRPD_SOCKET", default_value = hsrp_user::control::DEFAULT_SOCKET)]
        socket: PathBuf,
    },
    /// Stream the daemon's state changes, track changes and operator commands as JSON
    /// lines (one object per line) until it stops.
    Events {
        #[arg(long, env = "HSRPD_SOCKET", default_value = hsrp_user::control::DEFAULT_SOCKET)]
        socket: PathBuf,
    },
    /// Operator commands to the running daemon (root): maintenance, temporary priority,
    /// forced track objects. Prints what was done; exit 1 with the reason when refused.
    Control {
        #[command(subcommand)]
        command: hsrp_user::control::ops::ControlCommand,
        /// Control socket of the daemon (also accepted after the command's arguments).
        #[arg(long, global = true, env = "HSRPD_SOCKET", default_value = hsrp_user::control::DEFAULT_SOCKET)]
        socket: PathBuf,
    },
    /// Reload the running daemon's configuration file (root) and report the result: exit
    /// 78 (EX_CONFIG) with every error when the file is invalid or unreadable, 1 when the
    /// daemon refuses it otherwise (e.g. interfaces added); the running configuration stays.
    Reload {
        #[arg(long, env = "HSRPD_SOCKET", default_value = hsrp_user::control::DEFAULT_SOCKET)]
        socket: PathBuf,
    },
    /// Print every HSRP message in a pcap/pcapng capture.
    Decode {
        /// The capture file.
        file: PathBuf,
        /// MD5 key to verify digests with (visible in `ps`: prefer --key-file).
        #[arg(long, conflicts_with = "key_file")]
        key: Option<String>,
        /// File holding the MD5 key (one line; a trailing newline is not part of it).
        #[arg(long, value_name = "FILE")]
        key_file: Option<PathBuf>,
    },
    /// Attach the XDP data plane alone to an interface and pin its maps (for inspection).
    Load {
        #[arg(long)]
        iface: String,
    },
    /// Detach the data plane from an interface and remove its pinned maps.
    Unload {
        #[arg(long)]
        iface: String,
    },
    /// Convert a Cisco IOS `show running-config` into an hsrpd configuration; the lines
    /// left behind, and why, go to standard error (or --report).
    Import {
        /// The running-config (`-`: standard input).
        input: PathBuf,
        /// IOS interface = Linux interface, repeatable: `--map Gi0/1=eth1`,
        /// `--map Vlan*=vlan*` (every VLAN interface). Subinterfaces of a mapped interface
        /// become PARENT.VLAN.
        #[arg(long = "map", value_name = "IOS=LINUX")]
        maps: Vec<String>,
        /// A file of map entries, one `IOS LINUX` (or `IOS=LINUX`) a line.
        #[arg(long, value_name = "FILE")]
        map_file: Option<PathBuf>,
        /// Write the configuration here (mode 0600: it may hold keys) instead of stdout.
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// Write the report here instead of stderr.
        #[arg(long)]
        report: Option<PathBuf>,
    },
    /// Internal: spawned by `run`; sends its Active groups' Resign if it dies.
    #[command(hide = true)]
    Sentinel,
    /// Internal: writes the man pages and shell completions into DIR (`cargo xtask dist`).
    #[command(hide = true)]
    GenerateDocs { dir: PathBuf },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    hsrp_user::logging::init(cli.log_level.as_deref());
    match dispatch(cli.command) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("{}hsrpd: error: {e:#}", hsrp_user::logging::error_prefix());
            ExitCode::FAILURE
        }
    }
}

/// Carries out one subcommand.
fn dispatch(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Decode {
            file,
            key,
            key_file,
        } => match key_file.map(|f| hsrp_user::decode::read_key_file(&f)) {
            Some(Err(e)) => Err(e),
            Some(Ok(k)) => hsrp_user::decode::main(&file, Some(&k)),
            None => hsrp_user::decode::main(&file, key.as_deref()),
        },
        Command::Load { iface } => hsrp_user::dataplane::cli::load(&iface),
        Command::Unload { iface } => hsrp_user::dataplane::cli::unload(&iface),
        Command::Run {
            config,
            socket,
            no_nexthop_cache,
            socket_group,
            realtime,
            metrics_listen,
        } => {
            let socket_gid = socket_group
                .map(|g| hsrp_user::control::group_id(&g))
                .transpose()?;
            let options = hsrp_user::daemon::RunOptions {
                nexthop_cache: !no_nexthop_cache,
                socket_gid,
                realtime: realtime
                    .map(|p| p.unwrap_or(hsrp_user::daemon::realtime::DEFAULT_PRIORITY)),
                metrics_listen,
            };
            hsrp_user::daemon::run_with(&config, &socket, options)
        }
        Command::Sentinel => hsrp_user::sentinel::main(),
        Command::Events { socket } => hsrp_user::control::events::client(&socket),
        Command::Control { command, socket } => {
            hsrp_user::control::ops::client(&socket, &command.words())
        }
        Command::Reload { socket } => hsrp_user::control::ops::client(&socket, &["reload".into()]),
        Command::Import {
            input,
            maps,
            map_file,
            output,
            report,
        } => hsrp_user::import::cli::main(&hsrp_user::import::cli::Options {
            input,
            maps,
            map_file,
            output,
            report,
        }),
        Command::GenerateDocs { dir } => {
            hsrp_user::manual::generate(Cli::command(), &dir).map(|()| ExitCode::SUCCESS)
        }
        Command::Check { config, offline } => hsrp_user::config::check_with(&config, offline),
        Command::Status {
            track: true,
            json,
            socket,
            ..
        } => hsrp_user::control::track_format::status_tracks(json, Some(socket)),
        Command::Status {
            detail,
            json,
            format,
            socket,
            ..
        } => match format {
            Some(format) => hsrp_user::control::status_as(format, Some(socket)),
            None => hsrp_user::control::status(detail, json, Some(socket)),
        },
    }
}
