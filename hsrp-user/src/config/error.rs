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

    /// Records a problem at 1-based `line`.
    pub(crate) fn at(&mut self, line: usize, reason: impl Into<String>) {
        let text = self
            .lines
            .get(line.wrapping_sub(1))
            .map(|l| l.trim().to_string())
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
