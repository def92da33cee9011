//! The operator's notify program (`hsrpd notify PROGRAM [timeout S]`), run on every state
//! change, keepalived-style. It never holds up the state machine: the loop only queues
//! the change (a non-blocking send); each group has its own queue and worker task, so a
//! group's changes run in order, one at a time, while other groups' run concurrently. A
//! run is bounded: past the timeout its whole process group is killed. Failures are
//! logged, nothing else.
//!
//! Arguments: `PROGRAM IFACE GROUP OLD-STATE NEW-STATE REASON VIPS` (VIPS space-separated);
//! the same and more in the environment (`HSRPD_*`, see `Hook::env`).

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use log::{debug, warn};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::groups::GroupKey;
use crate::config::operator::NotifySpec;

/// Changes waiting for one group's program runs; beyond this they are dropped (logged):
/// a program that cannot keep up must not make the daemon's memory grow.
const QUEUE: usize = 64;
/// Longest a clean stop waits for queued runs to finish.
const STOP_WAIT: Duration = Duration::from_secs(5);

/// One state change, as the program sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hook {
    pub iface: String,
    pub group: u16,
    pub family: &'static str,
    pub version: u8,
    pub from: String,
    pub to: String,
    pub reason: String,
    pub vips: Vec<String>,
    pub vmac: String,
    pub name: Option<String>,
    /// Counts state changes of the daemon (same as the events stream's `seq`).
    pub seq: u64,
    pub time_ms: u64,
}

impl Hook {
    pub fn args(&self) -> Vec<String> {
        vec![
            self.iface.clone(),
            self.group.to_string(),
            self.from.clone(),
            self.to.clone(),
            self.reason.clone(),
            self.vips.join(" "),
        ]
    }

    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("HSRPD_INTERFACE", self.iface.clone()),
            ("HSRPD_GROUP", self.group.to_string()),
            ("HSRPD_FAMILY", self.family.to_string()),
            ("HSRPD_VERSION", self.version.to_string()),
            ("HSRPD_OLD_STATE", self.from.clone()),
            ("HSRPD_NEW_STATE", self.to.clone()),
            ("HSRPD_REASON", self.reason.clone()),
            ("HSRPD_VIPS", self.vips.join(" ")),
            ("HSRPD_VMAC", self.vmac.clone()),
            ("HSRPD_NAME", self.name.clone().unwrap_or_default()),
            ("HSRPD_SEQ", self.seq.to_string()),
            ("HSRPD_TIME_MS", self.time_ms.to_string()),
        ]
    }
}

/// The program and the per-group queues.
pub struct Notifier {
    program: PathBuf,
    timeout: Duration,
    queues: HashMap<GroupKey, (mpsc::Sender<Hook>, JoinHandle<()>)>,
}

impl Notifier {
    pub fn new(spec: &NotifySpec) -> Notifier {
        Notifier {
            program: PathBuf::from(&spec.program),
            timeout: Duration::from_secs(spec.timeout_s.into()),
            queues: HashMap::new(),
        }
    }

    /// Whether this notifier runs what `spec` says (a reload that keeps it keeps queues).
    pub fn is(&self, spec: &NotifySpec) -> bool {
        self.program.as_path() == std::path::Path::new(&spec.program)
            && self.timeout == Duration::from_secs(spec.timeout_s.into())
    }

    /// Queues a run for `key`'s change; never waits.
    pub fn notify(&mut self, key: &GroupKey, hook: Hook) {
        let (tx, _) = self.queues.entry(key.clone()).or_insert_with(|| {
            let (tx, rx) = mpsc::channel(QUEUE);
            let task = tokio::spawn(worker(self.program.clone(), self.timeout, rx));
            (tx, task)
        });
        if let Err(e) = tx.try_send(hook) {
            let hook = match &e {
                mpsc::error::TrySendError::Full(h) | mpsc::error::TrySendError::Closed(h) => h,
            };
            warn!(
                "{} grp {}: notify {} -> {} not run: {} runs already waiting for {}",
                hook.iface,
                hook.group,
                hook.from,
                hook.to,
                QUEUE,
                self.program.display()
            );
        }
    }

    /// Lets the queued runs finish (each is bounded by the timeout), at most [`STOP_WAIT`]
    /// in all; whatever still runs then is killed with its process group when its task is
    /// dropped.
    pub async fn finish(self) {
        let deadline = tokio::time::Instant::now() + STOP_WAIT.min(self.timeout * 2);
        for (_, (tx, task)) in self.queues {
            drop(tx);
            let abort = task.abort_handle();
            if tokio::time::timeout_at(deadline, task).await.is_err() {
                abort.abort();
            }
        }
    }
}

async fn worker(program: PathBuf, timeout: Duration, mut rx: mpsc::Receiver<Hook>) {
    while let Some(hook) = rx.recv().await {
        run(&program, timeout, &hook).await;
    }
}

/// Kills the process group on drop: a run cut short by a stop (or an aborted task) leaves
/// nothing behind, nor does a program whose children outlive it.
struct GroupKill(Option<i32>);

impl Drop for GroupKill {
    fn drop(&mut self) {
        if let Some(pgid) = self.0.take() {
            // SAFETY: kill(2) on a process group we created (process_group(0) below).
            unsafe { libc::kill(-pgid, libc::SIGKILL) };
        }
    }
}

async fn run(program: &std::path::Path, timeout: Duration, hook: &Hook) {
    let what = format!(
        "{} grp {}: notify {} -> {}",
        hook.iface, hook.group, hook.from, hook.to
    );
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(hook.args())
        .envs(hook.env())
        .stdin(Stdio::null())
        .process_group(0)
        .kill_on_drop(true);
    let mut child = match spawn(&mut cmd).await {
        Ok(c) => c,
        Err(e) => {
            warn!("{what}: cannot run {}: {e}", program.display());
            return;
        }
    };
    let mut kill = GroupKill(child.id().map(|p| p as i32));
    match tokio::time::timeout(timeout, child.wait()).await {
        Ok(Ok(status)) if status.success() => {
            debug!("{what}: {} done", program.display());
            // A program that exited may leave a daemon of its own behind on purpose.
            kill.0 = None;
        }
        Ok(Ok(status)) => {
            warn!("{what}: {} failed: {status}", program.display());
            kill.0 = None;
        }
        Ok(Err(e)) => warn!("{what}: waiting for {}: {e}", program.display()),
        Err(_) => {
            drop(kill); // SIGKILL to the whole group
            let _ = child.wait().await;
            warn!(
                "{what}: {} killed after {} s (its timeout)",
                program.display(),
                timeout.as_secs()
            );
        }
    }
}

/// Spawns, trying again a few times on ETXTBSY: a program just written (a deploy replacing
/// the script, or any file whose write descriptor a concurrently forked process still
/// holds until its exec) cannot be executed for a moment.
async fn spawn(cmd: &mut tokio::process::Command) -> std::io::Result<tokio::process::Child> {
    const TRIES: u32 = 5;
    let mut tries = 1;
    loop {
        match cmd.spawn() {
            Err(e) if e.raw_os_error() == Some(libc::ETXTBSY) && tries < TRIES => {
                tries += 1;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            r => return r,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn hook(seq: u64, to: &str) -> Hook {
        Hook {
            iface: "lan0".into(),
            group: 7,
            family: "ipv4",
            version: 2,
            from: "Standby".into(),
            to: to.into(),
            reason: "Active timer expired".into(),
            vips: vec!["10.0.0.1".into(), "10.0.0.2".into()],
            vmac: "0000.0c9f.f007".into(),
            name: None,
            seq,
            time_ms: 1,
        }
    }

    fn script(dir: &std::path::Path, body: &str) -> NotifySpec {
        let path = dir.join("hook.sh");
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        NotifySpec {
            program: path.display().to_string(),
            timeout_s: 1,
            line: 1,
        }
    }

    fn tmp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("hsrpd-notify-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[tokio::test]
    async fn runs_in_order_with_arguments_and_environment() {
        let dir = tmp("order");
        let out = dir.join("out");
        let spec = script(
            &dir,
            &format!(
                "printf '%s|' \"$@\" >> {0}; echo \"$HSRPD_SEQ $HSRPD_NEW_STATE $HSRPD_VIPS $HSRPD_FAMILY $HSRPD_VERSION\" >> {0}",
                out.display()
            ),
        );
        let mut n = Notifier::new(&spec);
        let key = GroupKey {
            iface: "lan0".into(),
            group: 7,
            ipv6: false,
        };
        for seq in 0..20 {
            n.notify(
                &key,
                hook(seq, if seq % 2 == 0 { "Active" } else { "Speak" }),
            );
        }
        n.finish().await;
        let text = std::fs::read_to_string(&out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 20, "{text}");
        for (seq, l) in lines.iter().enumerate() {
            let to = if seq % 2 == 0 { "Active" } else { "Speak" };
            assert_eq!(
                *l,
                format!("lan0|7|Standby|{to}|Active timer expired|10.0.0.1 10.0.0.2|{seq} {to} 10.0.0.1 10.0.0.2 ipv4 2")
            );
        }
        let _ = std::fs::remove_dir_all(dir);
    }

    #[tokio::test]
    async fn a_hung_program_is_killed_with_its_children_and_the_next_runs() {
        let dir = tmp("hang");
        let out = dir.join("out");
        // The first run hangs (and leaves a child that would keep it alive); later runs
        // record themselves.
        let spec = script(
            &dir,
            &format!(
                "if [ \"$HSRPD_SEQ\" = 0 ]; then sleep 60 & echo $! > {0}/child; sleep 60; fi; echo \"$HSRPD_SEQ\" >> {0}/out",
                dir.display()
            ),
        );
        let mut n = Notifier::new(&spec);
        let key = GroupKey {
            iface: "lan0".into(),
            group: 7,
            ipv6: false,
        };
        let started = std::time::Instant::now();
        n.notify(&key, hook(0, "Active"));
        n.notify(&key, hook(1, "Speak"));
        n.finish().await;
        // Bound: the 1 s timeout plus scheduling slack on a loaded machine; the hang is 60 s.
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "1\n");
        let child: i32 = std::fs::read_to_string(dir.join("child"))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        // The background child went with its group (reaped by init: gone or a zombie).
        // SIGKILL is delivered when the child next runs: on a loaded machine that can take
        // a while, so it gets 5 s (its own sleep is 60 s).
        let alive = || {
            std::fs::read_to_string(format!("/proc/{child}/stat"))
                .map(|s| !s.contains(") Z "))
                .unwrap_or(false)
        };
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while alive() && std::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(!alive(), "child {child} of the hung program survived");
        let _ = std::fs::remove_dir_all(dir);
    }
}
