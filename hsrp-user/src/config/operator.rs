//! hsrpd's own top-level lines, which IOS does not have, all spelled `hsrpd ...` so they
//! can never be mistaken for (or clash with) an IOS command:
//!
//! ```text
//! hsrpd notify PROGRAM [timeout SECONDS]     run PROGRAM on every state change
//! ```

use std::path::Path;

use super::parse::At;

/// Bounds of `hsrpd notify ... timeout S`: long enough for a script that talks to a load
/// balancer or a monitoring system, short enough that a hung one is noticed.
pub const NOTIFY_TIMEOUT_RANGE_S: (u32, u32) = (1, 3600);
/// Default run-time bound of the notify program.
pub const DEFAULT_NOTIFY_TIMEOUT_S: u32 = 10;

/// `hsrpd notify PROGRAM [timeout S]`: a program run on every state change of every group
/// (docs/operations.md says which arguments and environment it gets).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotifySpec {
    /// Absolute path of the program.
    pub program: String,
    /// Killed (with its process group) when it runs longer than this.
    pub timeout_s: u32,
    pub line: usize,
}

/// What the `hsrpd ...` lines of a file set.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OperatorSettings {
    pub notify: Option<NotifySpec>,
}

/// The `hsrpd ...` lines as read so far.
#[derive(Debug, Default)]
pub(crate) struct OperatorDraft {
    pub notify: At<NotifySpec>,
}

impl OperatorDraft {
    pub(crate) fn finish(&self) -> OperatorSettings {
        OperatorSettings {
            notify: self.notify.as_ref().map(|(n, _)| n.clone()),
        }
    }
}

/// A top-level `hsrpd ...` line.
pub(crate) fn hsrpd_line(d: &mut OperatorDraft, line: usize, toks: &[&str]) -> Result<(), String> {
    const USAGE: &str = "incomplete command: hsrpd notify /PATH/TO/PROGRAM [timeout SECONDS]";
    match toks.get(1).map(|t| t.to_ascii_lowercase()).as_deref() {
        Some("notify") => {
            let program = *toks.get(2).ok_or(USAGE)?;
            if !program.starts_with('/') {
                return Err(format!(
                    "the notify program must be an absolute path (got `{program}`)"
                ));
            }
            let timeout_s = match (toks.get(3).map(|t| t.to_ascii_lowercase()), toks.get(4)) {
                (None, _) => DEFAULT_NOTIFY_TIMEOUT_S,
                (Some(kw), Some(s)) if kw == "timeout" => {
                    if let Some(extra) = toks.get(5) {
                        return Err(format!("unexpected `{extra}`"));
                    }
                    let (lo, hi) = NOTIFY_TIMEOUT_RANGE_S;
                    super::values::number(s, lo, hi, "notify timeout")?
                }
                (Some(_), None) if toks[3].eq_ignore_ascii_case("timeout") => {
                    return Err(USAGE.into())
                }
                (Some(_), _) => {
                    return Err(format!(
                        "unexpected `{}` (expected timeout SECONDS)",
                        toks[3]
                    ))
                }
            };
            let spec = NotifySpec {
                program: program.to_string(),
                timeout_s,
                line,
            };
            match &d.notify {
                Some((old, at))
                    if (&old.program, old.timeout_s) != (&spec.program, spec.timeout_s) =>
                {
                    Err(format!("hsrpd notify already set differently at line {at}"))
                }
                Some(_) => Ok(()),
                None => {
                    d.notify = Some((spec, line));
                    Ok(())
                }
            }
        }
        Some(_) => Err(format!(
            "unknown hsrpd command `{}` (expected notify or realtime)",
            toks[1]
        )),
        None => Err(USAGE.into()),
    }
}

/// The system half of the check: the notify program exists and is executable (a hook
/// that cannot run would only fail at the first state change).
pub(crate) fn check_program(spec: &NotifySpec) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(Path::new(&spec.program))
        .map_err(|e| format!("notify program {}: {e}", spec.program))?;
    if !meta.is_file() || meta.permissions().mode() & 0o111 == 0 {
        return Err(format!(
            "notify program {} is not an executable file",
            spec.program
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(text: &str) -> Result<OperatorDraft, String> {
        let mut d = OperatorDraft::default();
        let toks: Vec<&str> = text.split_whitespace().collect();
        hsrpd_line(&mut d, 3, &toks).map(|()| d)
    }

    #[test]
    fn notify_lines() {
        let d = line("hsrpd notify /usr/local/bin/hook").unwrap().finish();
        assert_eq!(
            d.notify,
            Some(NotifySpec {
                program: "/usr/local/bin/hook".into(),
                timeout_s: DEFAULT_NOTIFY_TIMEOUT_S,
                line: 3
            })
        );
        let d = line("hsrpd notify /x timeout 2").unwrap().finish();
        assert_eq!(d.notify.unwrap().timeout_s, 2);
        for (text, err) in [
            ("hsrpd notify hook.sh", "must be an absolute path"),
            ("hsrpd notify", "incomplete command"),
            ("hsrpd notify /x timeout", "incomplete command"),
            ("hsrpd notify /x timeout 0", "notify timeout must be 1-3600"),
            ("hsrpd notify /x after 3", "unexpected `after`"),
            ("hsrpd notify /x timeout 3 now", "unexpected `now`"),
            ("hsrpd frobnicate", "unknown hsrpd command `frobnicate`"),
        ] {
            let e = line(text).unwrap_err();
            assert!(e.contains(err), "{text}: {e}");
        }
    }
}
