//! Per-test wall times of a `cargo test` run with one test thread, read from libtest's own
//! output as it streams (stable libtest has no per-test timing of its own). With one test
//! thread a result line ends each test, so the time between a binary's `running N tests`
//! line or the previous result line and this result line is that test's time.

use std::io::{BufRead, BufReader};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::util::{say, show};

/// One finished test: its binary (the last `Running` line cargo printed), name, time.
#[derive(Debug, Clone, PartialEq)]
pub struct TestTime {
    pub binary: String,
    pub name: String,
    pub took: Duration,
}

/// Follows libtest's output line by line and turns result lines into [`TestTime`]s.
#[derive(Default)]
pub struct Timer {
    binary: String,
    since: Option<Instant>,
    pub finished: Vec<TestTime>,
}

impl Timer {
    /// Feeds one line of output seen at `now`.
    pub fn line(&mut self, line: &str, now: Instant) {
        let line = line.trim_end();
        if let Some(rest) = line.trim_start().strip_prefix("Running ") {
            // cargo: "     Running tests/foo.rs (target/debug/deps/foo-0123)"
            self.binary = rest.split_whitespace().next().unwrap_or(rest).to_string();
            self.since = None;
        } else if line.starts_with("running ") && line.ends_with(" tests")
            || line == "running 1 test"
        {
            self.since = Some(now);
        } else if let Some(name) = result_line(line) {
            if let Some(since) = self.since {
                self.finished.push(TestTime {
                    binary: self.binary.clone(),
                    name: name.to_string(),
                    took: now.saturating_duration_since(since),
                });
            }
            self.since = Some(now);
        }
    }

    /// The `n` slowest tests, slowest first.
    pub fn slowest(&self, n: usize) -> Vec<TestTime> {
        let mut all = self.finished.clone();
        all.sort_by_key(|t| std::cmp::Reverse(t.took));
        all.truncate(n);
        all
    }
}

/// The test name of a libtest result line (`test NAME ... ok|FAILED|ignored`).
fn result_line(line: &str) -> Option<&str> {
    let rest = line.strip_prefix("test ")?;
    let (name, verdict) = rest.rsplit_once(" ... ")?;
    let verdict = verdict.split(|c: char| !c.is_ascii_alphabetic()).next()?;
    matches!(verdict, "ok" | "FAILED" | "ignored").then_some(name)
}

/// Runs `cmd` (a `cargo test` with `--test-threads=1`), passing its output through, and
/// returns the per-test times; fails when the command fails.
pub fn run_timed(mut cmd: Command) -> Result<Vec<TestTime>> {
    let shown = show(&cmd);
    say(format!("$ {shown}"));
    // One pipe for both streams: cargo names each test binary on stderr, libtest reports
    // on stdout, and the order between them is what attributes a test to its binary.
    let (reader, writer) = std::io::pipe().context("creating a pipe")?;
    let mut child = cmd
        .stdout(writer.try_clone().context("pipe")?)
        .stderr(writer)
        .spawn()
        .with_context(|| format!("spawning {shown}"))?;
    // The command holds the write ends: drop it so the reader sees the end of output.
    drop(cmd);
    let mut timer = Timer::default();
    for line in BufReader::new(reader).lines() {
        let line = line.context("reading test output")?;
        println!("{line}");
        timer.line(&line, Instant::now());
    }
    let status = child.wait().context("waiting for cargo test")?;
    print_slowest(&timer.slowest(10));
    if !status.success() {
        bail!("`{shown}` failed ({status})");
    }
    Ok(timer.finished)
}

fn print_slowest(slowest: &[TestTime]) {
    if slowest.is_empty() {
        return;
    }
    say("the slowest tests:");
    for t in slowest {
        let binary = t.binary.rsplit('/').next().unwrap_or(&t.binary);
        eprintln!("  {:>7.1}s  {binary}::{}", t.took.as_secs_f64(), t.name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_each_test_from_the_previous_result() {
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        let mut timer = Timer::default();
        timer.line("     Running tests/a.rs (target/debug/deps/a-1)", at(0));
        timer.line("", at(0));
        timer.line("running 2 tests", at(100));
        timer.line("test one ... ok", at(1100));
        timer.line("test two ... FAILED", at(4100));
        timer.line("     Running tests/b.rs (target/debug/deps/b-2)", at(5000));
        timer.line("running 1 test", at(5200));
        timer.line("some output of the test", at(5300));
        timer.line("test b_only ... ignored, needs root", at(5400));
        timer.line("test result: ok. 1 passed; 0 failed", at(5500));
        let got: Vec<(String, String, u128)> = timer
            .finished
            .iter()
            .map(|t| (t.binary.clone(), t.name.clone(), t.took.as_millis()))
            .collect();
        assert_eq!(
            got,
            [
                ("tests/a.rs".into(), "one".into(), 1000),
                ("tests/a.rs".into(), "two".into(), 3000),
                ("tests/b.rs".into(), "b_only".into(), 200),
            ]
        );
        let slowest: Vec<String> = timer.slowest(2).into_iter().map(|t| t.name).collect();
        assert_eq!(slowest, ["two", "one"]);
    }

    #[test]
    fn result_lines_only() {
        assert_eq!(result_line("test a::b ... ok"), Some("a::b"));
        assert_eq!(result_line("test x ... FAILED"), Some("x"));
        assert_eq!(result_line("test result: ok. 3 passed"), None);
        assert_eq!(result_line("test x has output ... but no verdict"), None);
    }
}
