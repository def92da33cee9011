//! Man pages and shell completions generated from the command-line definition, so they
//! cannot drift from `--help`: `hsrpd generate-docs DIR` (hidden) writes them for
//! `cargo xtask dist`, which packages them.
//!
//! Written: `DIR/man/hsrpd.8` (overview, exit status, files, environment) and one
//! `DIR/man/hsrpd-SUBCOMMAND.8` per visible subcommand; `DIR/completions/hsrpd.bash`,
//! `_hsrpd` (zsh) and `hsrpd.fish`.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};
use clap_complete::Shell;

/// Exit statuses of `hsrpd` (sysexits.h spellings where one applies), the one table the
/// binary and the man page share.
pub mod exit {
    /// Success.
    pub const OK: u8 = 0;
    /// Any failure not listed below (the message says what).
    pub const FAILURE: u8 = 1;
    /// Bad command-line usage (clap's own status).
    pub const USAGE: u8 = 2;
    /// The configuration file is invalid or unreadable (EX_CONFIG): restarting cannot
    /// help, so the unit file lists it in `RestartPreventExitStatus=`.
    pub const CONFIG: u8 = 78;
}

/// Man page section of every page.
const SECTION: &str = "8";

/// Writes the man pages and completions of `cmd` (the `hsrpd` command) under `dir`.
pub fn generate(cmd: clap::Command, dir: &Path) -> Result<()> {
    let mut cmd = cmd.disable_help_subcommand(true);
    cmd.build();
    let man = dir.join("man");
    std::fs::create_dir_all(&man).with_context(|| format!("creating {}", man.display()))?;
    let version = cmd.get_version().unwrap_or_default().to_string();
    write_page(&man, page(&cmd, &version), main_page_extra())?;
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let extra = ".SH SEE ALSO\n\\fBhsrpd\\fR(8), \\fBhsrpd.conf\\fR(5)\n".to_string();
        write_page(&man, page(sub, &version), extra)?;
    }

    let completions = dir.join("completions");
    std::fs::create_dir_all(&completions)
        .with_context(|| format!("creating {}", completions.display()))?;
    for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
        clap_complete::generate_to(shell, &mut cmd.clone(), "hsrpd", &completions)
            .with_context(|| format!("writing the {shell} completions"))?;
    }
    Ok(())
}

fn page(cmd: &clap::Command, version: &str) -> clap_mangen::Man {
    clap_mangen::Man::new(cmd.clone())
        .section(SECTION)
        .source(format!("hsrpd {version}"))
        .manual("System Manager's Manual")
}

fn write_page(dir: &Path, man: clap_mangen::Man, extra: String) -> Result<()> {
    let path = dir.join(man.get_filename());
    let mut body = Vec::new();
    man.render(&mut body)?;
    body.extend_from_slice(extra.as_bytes());
    let mut file =
        std::fs::File::create(&path).with_context(|| format!("creating {}", path.display()))?;
    file.write_all(&body)
        .with_context(|| format!("writing {}", path.display()))
}

/// The sections of `hsrpd(8)` that clap does not know: exit status, files, environment,
/// signals.
fn main_page_extra() -> String {
    format!(
        r#".SH EXIT STATUS
.TP
\fB{ok}\fR
Success (for \fBrun\fR: a clean stop after SIGTERM or SIGINT).
.TP
\fB{failure}\fR
Any other failure; the message on standard error says what and where.
.TP
\fB{usage}\fR
Bad command-line usage.
.TP
\fB{config}\fR
The configuration file is invalid or cannot be read (EX_CONFIG); \fBhsrpd check\fR,
\fBhsrpd run\fR and \fBhsrpd reload\fR (a refused reload; the running configuration
stays) print one \fIFILE\fR:\fILINE\fR: message per problem.
.SH SIGNALS
.TP
\fBSIGTERM\fR, \fBSIGINT\fR
Graceful stop: every Active group sends a Resign and keeps forwarding until the new Active
has taken over, then the maps are cleared and XDP is detached.
.TP
\fBSIGHUP\fR
Reload the configuration; a file that fails the checks keeps the running configuration.
.SH ENVIRONMENT
.TP
\fBRUST_LOG\fR
Log filter (\fBerror\fR, \fBwarn\fR, \fBinfo\fR, \fBdebug\fR, or per module), default
\fBinfo\fR; \fB\-\-log\-level\fR overrides it.
.TP
\fBJOURNAL_STREAM\fR
Set by systemd when standard error is the journal: log lines then carry sd\-daemon
priority prefixes (error 3, warning 4, group state changes 5, info 6, debug 7) and no
timestamp.
.TP
\fBHSRPD_SOCKET\fR
The control socket (default \fI/run/hsrpd/hsrpd.sock\fR, mode 0660).
.TP
\fBHSRPD_SOCKET_GROUP\fR
The group of the control socket (\fB\-\-socket\-group\fR).
.TP
\fBHSRPD_METRICS_LISTEN\fR
\fIADDR\fR:\fIPORT\fR to serve Prometheus metrics on (\fB\-\-metrics\-listen\fR,
\fBGET /metrics\fR); off when unset.
.TP
\fBNOTIFY_SOCKET\fR, \fBWATCHDOG_USEC\fR
Set by systemd: readiness and watchdog notifications (\fBType=notify\fR).
.SH FILES
.TP
\fI/etc/hsrpd/hsrpd.conf\fR
The configuration, see \fBhsrpd.conf\fR(5).
.TP
\fI/run/hsrpd/hsrpd.sock\fR
The control socket \fBhsrpd status\fR asks.
.TP
\fI/sys/fs/bpf/hsrpd/\fR
Pinned maps of \fBhsrpd load\fR.
.SH SEE ALSO
\fBhsrpd.conf\fR(5), \fBsystemctl\fR(1), \fBbpftool\fR(8)
"#,
        ok = exit::OK,
        failure = exit::FAILURE,
        usage = exit::USAGE,
        config = exit::CONFIG,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cli() -> clap::Command {
        clap::Command::new("hsrpd")
            .version("9.9.9")
            .about("test command")
            .subcommand(clap::Command::new("run").about("Run it"))
            .subcommand(clap::Command::new("secret").hide(true))
    }

    #[test]
    fn writes_one_page_per_visible_subcommand_and_three_completions() {
        let dir = std::env::temp_dir().join(format!("hsrpd-manual-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        generate(cli(), &dir).unwrap();
        let mut man: Vec<String> = std::fs::read_dir(dir.join("man"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        man.sort();
        assert_eq!(man, ["hsrpd-run.8", "hsrpd.8"]);
        let main = std::fs::read_to_string(dir.join("man/hsrpd.8")).unwrap();
        assert!(main.starts_with(".ie \\n(.g .ds Aq"), "{main}");
        assert!(main.contains(".TH hsrpd 8  \"hsrpd 9.9.9\""), "{main}");
        assert!(main.contains(".SH EXIT STATUS"));
        assert!(main.contains("\\fB78\\fR"));
        assert!(!main.contains("secret"));
        let mut comp: Vec<String> = std::fs::read_dir(dir.join("completions"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        comp.sort();
        assert_eq!(comp, ["_hsrpd", "hsrpd.bash", "hsrpd.fish"]);
        let _ = std::fs::remove_dir_all(dir);
    }
}
