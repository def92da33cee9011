//! Keeps `HSRP_FWD_MODE` right for the namespace's netfilter hooks: reads them
//! (`net::nfhooks`: nftables base chains, legacy x_tables tables, and the hook dump where
//! the kernel has one) at start, after every nftables change notification, and every
//! [`RECHECK_INTERVAL`] (legacy iptables and interfaces created later send us nothing),
//! decides (`fastpath::decide`) and writes the map when the mode changes, logging each
//! change with its reason.
//!
//! The first decision is written before any group can be Active (the daemon starts it
//! before creating the groups), so no frame is forwarded past rules that were there
//! first. A change of rules while running takes effect after the notification (the kernel
//! sends it when the transaction commits) plus [`SETTLE`].

use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result};
use log::{info, warn};
use tokio::io::unix::AsyncFd;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::dataplane::fwd_mode::{ForwardMode, FwdModeMap};
use crate::fastpath::{decide, hook_queries, Decision, Setting};
use crate::net::nfhooks::{
    dump_hooks, dump_nft_base_chains, hook_dump_unsupported, xtables_tables, NftablesEvents,
};

/// Re-read the hooks this often without a notification (legacy x_tables, new links).
pub const RECHECK_INTERVAL: Duration = Duration::from_secs(1);
/// Wait after a notification before reading: one `nft -f` commits many objects.
const SETTLE: Duration = Duration::from_millis(10);

/// The running keeper; dropping it stops the task (the map keeps its last value).
pub struct FastPathKeeper {
    task: JoinHandle<()>,
    status: Arc<Mutex<String>>,
    setting: watch::Sender<Setting>,
}

impl FastPathKeeper {
    /// Decides once and writes the map (before returning), then keeps it in a task.
    /// Must be called inside a tokio runtime, in the data plane's network namespace.
    pub async fn start(mut map: FwdModeMap, setting: Setting) -> Result<FastPathKeeper> {
        let events =
            match NftablesEvents::subscribe() {
                // SAFETY: NftablesEvents owns its netlink socket for its whole life and
                // always returns that same descriptor; it closes it only when dropped.
                Ok(e) => Some(unsafe { AsyncFd::register(e) }.map_err(|e| {
                    anyhow::anyhow!("polling the nfnetlink socket: {}", io_error(e))
                })?),
                Err(e) => {
                    warn!(
                        "no nftables change notifications ({e}): netfilter hooks are re-read \
                     every {RECHECK_INTERVAL:?} only"
                    );
                    None
                }
            };
        let decision = evaluate(setting).await;
        apply(&mut map, None, &decision)?;
        let status = Arc::new(Mutex::new(decision.describe()));
        let (tx, rx) = watch::channel(setting);
        let task = tokio::spawn(run(map, events, rx, decision, status.clone()));
        Ok(FastPathKeeper {
            task,
            status,
            setting: tx,
        })
    }

    /// "fast path: REASON" or "kernel path: REASON".
    pub fn status(&self) -> String {
        self.status
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// A reloaded configuration's `fast-path` setting (applied at the next check, at once).
    pub fn set_setting(&self, setting: Setting) {
        self.setting.send_replace(setting);
    }
}

impl Drop for FastPathKeeper {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn run(
    mut map: FwdModeMap,
    mut events: Option<AsyncFd<NftablesEvents>>,
    mut setting: watch::Receiver<Setting>,
    mut current: Decision,
    status: Arc<Mutex<String>>,
) {
    let mut tick = tokio::time::interval(RECHECK_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            changed = setting.changed() => {
                if changed.is_err() {
                    return; // the keeper is gone
                }
            }
            ready = readable(&events) => {
                match ready {
                    Ok(()) => tokio::time::sleep(SETTLE).await,
                    Err(e) => {
                        // Without the socket, the periodic check remains.
                        warn!(
                            "nftables notifications failed ({e:#}); re-reading the hooks \
                             every {RECHECK_INTERVAL:?} only"
                        );
                        events = None;
                    }
                }
                if let Some(Err(e)) = events.as_ref().map(|ev| ev.get_ref().drain()) {
                    // A socket that keeps failing would wake us at once, again and again.
                    warn!("{e}; re-reading the hooks every {RECHECK_INTERVAL:?} only");
                    events = None;
                }
            }
        }
        let now = *setting.borrow();
        let decision = evaluate(now).await;
        if decision != current {
            if let Err(e) = apply(&mut map, Some(&current), &decision) {
                warn!("{e:#}");
                continue;
            }
            *status.lock().unwrap_or_else(|e| e.into_inner()) = decision.describe();
            current = decision;
        }
    }
}

/// Waits until the notification socket is readable (never, without one).
async fn readable(events: &Option<AsyncFd<NftablesEvents>>) -> Result<()> {
    match events {
        Some(ev) => {
            let mut guard = ev.readable().await.context("nfnetlink socket")?;
            guard.clear_ready();
            Ok(())
        }
        None => std::future::pending().await,
    }
}

/// Reads the hooks (off the event loop: a few blocking netlink round trips) and decides.
async fn evaluate(setting: Setting) -> Decision {
    let read = tokio::task::spawn_blocking(|| {
        let mut hooks = dump_nft_base_chains().map_err(|e| e.to_string())?;
        hooks.extend(xtables_tables());
        let links = link_names();
        match dump_hooks(&hook_queries(&links)) {
            Ok(more) => hooks.extend(more),
            // Without the hook dump the two sources above remain (BPF netfilter programs
            // are then not seen; see docs/security.md).
            Err(e) if hook_dump_unsupported(&e) => {}
            Err(e) => return Err(e.to_string()),
        }
        Ok(hooks)
    })
    .await
    .unwrap_or_else(|e| Err(format!("hook reader failed: {e}")));
    match &read {
        Ok(hooks) => decide(setting, Ok(hooks)),
        Err(e) => decide(setting, Err(e.as_str())),
    }
}

/// Writes the decision when the mode changes, and logs every change of mode or reason.
fn apply(map: &mut FwdModeMap, old: Option<&Decision>, new: &Decision) -> Result<()> {
    if old.map(|o| o.mode) != Some(new.mode) {
        map.set(new.mode)?;
    }
    if new.forced_over_hooks {
        warn!(
            "DATA PLANE BYPASSES THE FIREWALL: {} — frames through the virtual IP skip these \
             rules (set `fast-path auto` to obey them)",
            new.describe()
        );
    } else if new.mode == ForwardMode::Kernel {
        info!("forwarding through the kernel: {}", new.describe());
    } else {
        info!("forwarding in XDP: {}", new.describe());
    }
    Ok(())
}

/// Every interface name of the namespace (none if they cannot be listed).
fn link_names() -> Vec<String> {
    crate::net::interfaces()
        .map(|links| links.into_iter().map(|l| l.name).collect())
        .unwrap_or_default()
}

fn io_error(e: tokio::io::unix::AsyncFdRegisterError<NftablesEvents>) -> std::io::Error {
    e.into()
}
