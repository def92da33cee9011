//! Configuration errors: every problem found, each pointing at a file, a line and the text
//! of that line, so an operator can fix them all in one pass.

use std::fmt;

/// One problem in a configuration file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// 1-based line number; `None` for problems with the file as a whole.
    pub line: Option<usize>,
    /// The offending line, trimmed (empty when `line` is `None`).
    pub text: String,
    /// Why it is wrong, phrased so the fix is obvious.
    pub reason: String,
}

/// All the problems found in one configuration file (never empty).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// The file name used in messages.
    pub source: String,
    pub diagnostics: Vec<Diagnostic>,
}

impl ConfigError {
    /// The messages, one per problem: `FILE:LINE: TEXT: reason`.
    pub fn lines(&self) -> Vec<String> {
        self.diagnostics
            .iter()
            .map(|d| match d.line {
                Some(n) => format!("{}:{}: {}: {}", self.source, n, d.text, d.reason),
                None => format!("{}: {}", self.source, d.reason),
            })
            .collect()
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.lines().join("\n"))
    }
}

impl std::error::Error for ConfigError {}

/// Collects diagnostics while a pass walks the file; the line texts come from the source.
pub(crate) struct Diagnostics<'a> {
    lines: Vec<&'a str>,
    found: Vec<Diagnostic>,
}

impl<'a> Diagnostics<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        Diagnostics {
            lines: text.lines().collect(),
            found: Vec::new(),
        }
    }

    /// Records a problem at 1-based `line`. The line is echoed with its secrets redacted.
    pub(crate) fn at(&mut self, line: usize, reason: impl Into<String>) {
        let text = self
            .lines
            .get(line.wrapping_sub(1))
            .map(|l| redact_secrets(l.trim()))
            .unwrap_or_default();
        self.found.push(Diagnostic {
            line: Some(line),
            text,
            reason: reason.into(),
        });
    }

    /// Records a problem with the file as a whole.
    pub(crate) fn file(&mut self, reason: impl Into<String>) {
        self.found.push(Diagnostic {
            line: None,
            text: String::new(),
            reason: reason.into(),
        });
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.found.is_empty()
    }

    /// The collected problems in line order (file-wide ones last), or `Ok` if none.
    pub(crate) fn finish(mut self, source: &str) -> Result<(), ConfigError> {
        if self.found.is_empty() {
            return Ok(());
        }
        // Stable sort: problems on the same line keep the order they were found in.
        self.found.sort_by_key(|d| d.line.unwrap_or(usize::MAX));
        Err(ConfigError {
            source: source.to_string(),
            diagnostics: self.found,
        })
    }
}

/// What replaces a secret in an echoed line.
pub const REDACTED: &str = "<redacted>";

/// A configuration line as it may be shown in a message or a log: the text after
/// `key-string [0|7]` (a key chain's key or `authentication md5 key-string`, up to a
/// trailing `timeout T`), after `authentication text`, and after a bare `authentication`
/// (the IOS short form of `text`) is replaced by [`REDACTED`]. Key chain names
/// (`authentication md5 key-chain NAME`) are not secrets and stay. Keywords are matched
/// case-insensitively, as the parser matches them.
pub fn redact_secrets(line: &str) -> String {
    let words: Vec<&str> = line.split_whitespace().collect();
    let is = |i: usize, kw: &str| words.get(i).is_some_and(|w| w.eq_ignore_ascii_case(kw));
    // Index of the first secret word, if the line has one.
    let mut secret_from = None;
    for i in 0..words.len() {
        if is(i, "key-string") {
            // `key-string 7 K` / `key-string 0 K`; a lone `key-string 7` is the key "7".
            let type_word = (is(i + 1, "0") || is(i + 1, "7")) && words.len() > i + 2;
            secret_from = Some(i + 1 + usize::from(type_word));
            break;
        }
        if is(i, "authentication") && !is(i + 1, "md5") {
            secret_from = Some(i + 1 + usize::from(is(i + 1, "text")));
            break;
        }
    }
    let Some(from) = secret_from.filter(|&f| f < words.len()) else {
        return line.to_string();
    };
    // `... key-string K timeout T`: the timeout is not secret.
    let n = words.len();
    let until = if n >= from + 3 && words[n - 2].eq_ignore_ascii_case("timeout") {
        n - 2
    } else {
        n
    };
    let mut out: Vec<&str> = words[..from].to_vec();
    out.push(REDACTED);
    out.extend_from_slice(&words[until..]);
    out.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_redacted_and_everything_else_kept() {
        let cases = [
            (
                "standby 1 authentication md5 key-string S3cr3t",
                "standby 1 authentication md5 key-string <redacted>",
            ),
            (
                "standby 1 authentication md5 key-string 0 S3cr3t timeout 30",
                "standby 1 authentication md5 key-string 0 <redacted> timeout 30",
            ),
            (
                "standby 1 authentication md5 key-string 7 0822455D0A16",
                "standby 1 authentication md5 key-string 7 <redacted>",
            ),
            (
                "STANDBY 1 AUTHENTICATION TEXT hunter2",
                "STANDBY 1 AUTHENTICATION TEXT <redacted>",
            ),
            (
                "standby 1 authentication hunter2",
                "standby 1 authentication <redacted>",
            ),
            (
                "standby authentication text two words",
                "standby authentication text <redacted>",
            ),
            ("key-string the rest of the line", "key-string <redacted>"),
            ("key-string 7", "key-string <redacted>"),
            (
                "standby 1 authentication md5 key-chain CHAIN",
                "standby 1 authentication md5 key-chain CHAIN",
            ),
            ("standby 1 priority 300", "standby 1 priority 300"),
            ("standby 1 authentication", "standby 1 authentication"),
        ];
        for (line, want) in cases {
            assert_eq!(redact_secrets(line), want, "{line}");
        }
    }

    #[test]
    fn an_error_on_a_line_with_a_key_does_not_show_the_key() {
        let text = "key chain C\n key 1\n  key-string 7 TOPSECRETKEY\n\
                    interface eth0\n standby 1 ip 10.0.0.1\n \
                    standby 1 authentication md5 key-string WAYTOOLONGKEY-0123456789012345678901234567890123456789012345678901234567890\n \
                    standby 2 authentication text SECRET123\n";
        let err = crate::config::parse(text, "t.conf")
            .unwrap_err()
            .to_string();
        for secret in ["TOPSECRETKEY", "WAYTOOLONGKEY", "SECRET123"] {
            assert!(!err.contains(secret), "{secret} leaked: {err}");
        }
        assert!(
            err.contains("t.conf:3: key-string 7 <redacted>: encrypted (type 7)"),
            "{err}"
        );
        assert!(err.contains("t.conf:6: standby 1 authentication md5 key-string <redacted>: MD5 key must be 1-64 characters"), "{err}");
        assert!(err.contains("t.conf:7: standby 2 authentication text <redacted>: text authentication string must be 1-8 characters"), "{err}");
    }
}
