//! Log set-up. Level: `--log-level` when given, else `RUST_LOG` (per-module filters too),
//! else `info`.
//!
//! Two formats. On a terminal or into a file: a millisecond timestamp, the level, the
//! module and the message (today's format). When stderr is the systemd journal (the
//! `JOURNAL_STREAM` variable names stderr's device and inode), no timestamp (journald has
//! its own) and each line starts with an sd-daemon priority prefix `<N>` (sd-daemon(3)),
//! so `journalctl -p` and syslog forwarding see real severities: error 3, warn 4, info 6,
//! debug and trace 7, and group state changes, logged on [`STATE_TARGET`] at info, 5
//! (notice).

use std::io::Write;
use std::os::fd::AsRawFd;

/// The log target of group state changes (`Init -> Listen`, `Standby -> Active`, ...): at
/// info level, priority notice in the journal. Under `hsrp_user::daemon`, so module
/// filters in `RUST_LOG` still reach it.
pub const STATE_TARGET: &str = "hsrp_user::daemon::state";

/// Levels `--log-level` accepts.
pub const LEVELS: [&str; 5] = ["error", "warn", "info", "debug", "trace"];

/// Installs the logger. `level` (from `--log-level`) wins over `RUST_LOG`.
pub fn init(level: Option<&str>) {
    let mut builder = env_logger::Builder::new();
    match level {
        Some(level) => builder.parse_filters(level),
        None => builder.parse_env(env_logger::Env::default().default_filter_or("info")),
    };
    if stderr_is_journal() {
        builder.format(|buf, record| {
            writeln!(
                buf,
                "<{}>{}",
                syslog_priority(record.level(), record.target()),
                record.args()
            )
        });
    } else {
        builder.format_timestamp_millis();
    }
    builder.init();
}

/// The syslog priority of a record (sd-daemon prefixes use the same numbers).
pub fn syslog_priority(level: log::Level, target: &str) -> u8 {
    match level {
        log::Level::Error => 3,
        log::Level::Warn => 4,
        log::Level::Info if target == STATE_TARGET => 5,
        log::Level::Info => 6,
        log::Level::Debug | log::Level::Trace => 7,
    }
}

/// The prefix for a line the binary writes to stderr itself (`hsrpd: error: ...`): the
/// error priority when stderr is the journal, nothing otherwise.
pub fn error_prefix() -> &'static str {
    if stderr_is_journal() {
        "<3>"
    } else {
        ""
    }
}

/// Whether stderr is the stream systemd connected to the journal.
pub fn stderr_is_journal() -> bool {
    let Ok(stream) = std::env::var("JOURNAL_STREAM") else {
        return false;
    };
    let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: fstat writes a `stat` into the buffer when it returns 0.
    if unsafe { libc::fstat(std::io::stderr().as_raw_fd(), st.as_mut_ptr()) } != 0 {
        return false;
    }
    // SAFETY: fstat returned 0, so the buffer is initialised.
    let st = unsafe { st.assume_init() };
    journal_stream_is(&stream, st.st_dev, st.st_ino)
}

/// `JOURNAL_STREAM` is `DEVICE:INODE`, both decimal.
fn journal_stream_is(value: &str, dev: u64, ino: u64) -> bool {
    let Some((d, i)) = value.split_once(':') else {
        return false;
    };
    d.parse::<u64>().ok() == Some(dev) && i.parse::<u64>().ok() == Some(ino)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn journal_stream_must_name_this_device_and_inode() {
        assert!(journal_stream_is("8:1234", 8, 1234));
        assert!(!journal_stream_is("8:1234", 8, 1235));
        assert!(!journal_stream_is("9:1234", 8, 1234));
        assert!(!journal_stream_is("8", 8, 1234));
        assert!(!journal_stream_is("x:y", 8, 1234));
        assert!(!journal_stream_is("", 8, 1234));
    }

    #[test]
    fn priorities_follow_syslog_with_state_changes_at_notice() {
        use log::Level::*;
        assert_eq!(syslog_priority(Error, "x"), 3);
        assert_eq!(syslog_priority(Warn, "x"), 4);
        assert_eq!(syslog_priority(Info, STATE_TARGET), 5);
        assert_eq!(syslog_priority(Info, "hsrp_user::daemon"), 6);
        assert_eq!(syslog_priority(Debug, STATE_TARGET), 7);
        assert_eq!(syslog_priority(Trace, "x"), 7);
    }
}
